"""Coarse-to-fine stages: each trains its trials for more epochs than the one before and passes on
its best fraction (successive halving)."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Stage", "parse_stages"]


@dataclass
class Stage:
    """A stage trains each of its trials for ``epochs``; the best ``keep`` fraction goes on."""

    epochs: int
    keep: float = 1 / 3

    def __post_init__(self):
        if (
            isinstance(self.epochs, bool)
            or not isinstance(self.epochs, (int, float))
            or int(self.epochs) != self.epochs
            or self.epochs < 1
        ):
            raise ValueError(f"stages: epochs must be a positive integer, got {self.epochs!r}")
        if isinstance(self.keep, bool) or not isinstance(self.keep, (int, float)) or not 0 < self.keep <= 1:
            raise ValueError(f"stages: keep fraction must be in (0, 1], got {self.keep!r}")
        self.epochs = int(self.epochs)


def parse_stages(text, keep: float = 1 / 3) -> list[Stage]:
    """``"1,5,20"`` (epochs per stage) or ``"1:0.25,5:0.5,20"`` (epochs:keep fraction)."""
    if isinstance(text, (list, tuple)):
        return [s if isinstance(s, Stage) else Stage(s, keep) for s in text]
    stages = []
    for item in str(text).replace(" ", "").split(","):
        if not item:
            continue
        e, _, k = item.partition(":")
        try:
            stages.append(Stage(int(e), float(k) if k else keep))
        except ValueError as err:
            if "stages:" in str(err):
                raise
            raise ValueError(f"--stages expects epochs per stage such as 1,5,20 or 1:0.25,5, got {text!r}") from None
    if not stages:
        raise ValueError(f"--stages expects at least one stage, got {text!r}")
    return stages


def stages_config(stages) -> list:
    """The stages as JSON data ([[epochs, keep], ...]), as a study records them."""
    return [[s.epochs, s.keep] for s in stages]
