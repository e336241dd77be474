"""The update/parameter ratio monitor: is the learning rate in the notes' ~1e-3 band?"""

from __future__ import annotations

import numpy as np

from nnlab.diagnostics.findings import Finding
from nnlab.train.callbacks import Callback


def _weights(model):
    """(name, parameter) for trainable weight tensors (2-D or more: the ones the notes' ratio is about)."""
    return [(n, p) for n, p in model.named_parameters() if p.requires_grad]


class UpdateRatioMonitor(Callback):
    """||w_after - w_before|| / ||w_before|| for each parameter tensor, every ``every`` steps.

    The notes: "about 1e-3; much lower and the learning rate is probably too low, much higher and it
    is too high". The verdict uses the median over the weight tensors (2-D and up; biases start at
    zero, so their ratio says little) of each tensor's median ratio after ``warmup`` steps.
    """

    def __init__(self, every: int = 1, low: float = 1e-4, high: float = 5e-2, warmup: int = 10):
        if every < 1:
            raise ValueError(f"UpdateRatioMonitor: every must be >= 1, got {every}")
        self.every, self.low, self.high, self.warmup = int(every), float(low), float(high), int(warmup)
        self.steps: list[int] = []
        self.ratios: dict[str, list[float]] = {}
        self._buf, self._armed = [], False

    def on_train_begin(self, logs=None):
        self._params = _weights(self.model)
        self.steps, self.ratios = [], {n: [] for n, _ in self._params}
        self._buf = [np.empty_like(p.data) for _, p in self._params]  # reused: no allocation per step
        self._armed = False

    def on_train_batch_begin(self, batch, logs=None):
        if self.trainer.global_step % self.every == 0:
            for i, (_, p) in enumerate(self._params):
                if self._buf[i].shape != p.data.shape or self._buf[i].dtype != p.data.dtype:
                    self._buf[i] = np.empty_like(p.data)
                np.copyto(self._buf[i], p.data)
            self._armed = True

    def on_train_batch_end(self, batch, logs=None):
        if not self._armed:
            return
        self._armed = False
        self.steps.append(self.trainer.global_step)
        for (name, p), b in zip(self._params, self._buf):
            w = b.reshape(-1)
            wn = float(np.sqrt(np.dot(w, w)))
            np.subtract(p.data, b, out=b)  # b is now the update
            un = float(np.sqrt(np.dot(w, w)))
            self.ratios[name].append(un / wn if wn > 0 else (0.0 if un == 0 else np.inf))

    def summary(self) -> dict:
        """Median ratio per parameter after the warm-up."""
        out = {}
        for name, r in self.ratios.items():
            r = np.asarray(r[self.warmup // self.every :] or r, dtype=np.float64)
            r = r[np.isfinite(r)]
            out[name] = float(np.median(r)) if r.size else float("nan")
        return out

    def median(self) -> float:
        """Median over the weight tensors (2-D and up) of their median ratio after the warm-up."""
        s = self.summary()
        shapes = {n: p.data.ndim for n, p in getattr(self, "_params", [])}
        ws = [v for n, v in s.items() if shapes.get(n, 2) >= 2 and np.isfinite(v)]
        return float(np.median(ws)) if ws else float("nan")

    def diagnose(self) -> list:
        s = self.summary()
        shapes = {n: p.data.ndim for n, p in getattr(self, "_params", [])}
        ws = [v for n, v in s.items() if shapes.get(n, 2) >= 2 and np.isfinite(v)]
        if not ws:
            return []
        med = float(np.median(ws))
        if max(ws) == 0.0:
            return [
                Finding(
                    "no_updates",
                    "the weights do not change (update/parameter ratio 0)",
                    "the gradients are zero: dead ReLUs, a detached graph or frozen parameters",
                    "update ratio",
                )
            ]
        detail = ", ".join(f"{n} {v:.1e}" for n, v in s.items() if shapes.get(n, 2) >= 2)
        if med < self.low:
            return [
                Finding(
                    "lr_too_low",
                    f"update/parameter ratio {med:.1e} (median over weights; {detail}), far below ~1e-3",
                    "the learning rate is probably too low: raise it (try 3-10x)",
                    "update ratio",
                )
            ]
        if med > self.high:
            return [
                Finding(
                    "lr_too_high",
                    f"update/parameter ratio {med:.1e} (median over weights; {detail}), far above ~1e-3",
                    "the learning rate is probably too high: lower it (try 3-10x)",
                    "update ratio",
                )
            ]
        side = "" if 3e-4 <= med <= 3e-3 else (" (on the high side)" if med > 3e-3 else " (on the low side)")
        return [
            Finding(
                "ok",
                f"update/parameter ratio {med:.1e} (median over weights): within [{self.low:.0e}, "
                f"{self.high:.0e}] around ~1e-3{side}",
                "",
                "update ratio",
            )
        ]
