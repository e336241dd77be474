"""What the monitors report: a Finding (what, the numbers, the advice) and the divergence error."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Finding:
    """One diagnosis: ``kind`` is a stable tag (e.g. "lr_too_high"), ``message`` the numbers,
    ``advice`` what to do."""

    kind: str
    message: str
    advice: str = ""
    source: str = ""

    def __str__(self) -> str:
        return f"{self.message}" + (f" -> {self.advice}" if self.advice else "")


class TrainingDiverged(RuntimeError):
    """The loss became NaN/Inf; training stopped at once. ``checkpoint_path`` is the last good
    checkpoint (or None), ``step``/``epoch`` where it happened."""

    def __init__(self, message, step: int, epoch: int, checkpoint_path=None):
        super().__init__(message)
        self.step, self.epoch, self.checkpoint_path = step, epoch, checkpoint_path
