"""Parameter averaging during training (Polyak averaging).

Late in training SGD hops around the bottom of the bowl; the average of the recent iterates
lies nearer the bottom than any one of them, so evaluating with averaged weights usually gives a
slightly lower error at no training cost. The average is kept beside the weights (one extra
copy); training continues on the raw weights, and evaluation swaps the averaged copy in.

Two kinds:
    exact running mean from step ``start`` on:  a_n = a_{n-1} + (w_n - a_{n-1}) / n
    exponential moving average (``decay``):     a_t = decay * a_{t-1} + (1 - decay) * w_t
"""
from __future__ import annotations

import contextlib
import copy

import numpy as np

from nnlab.train.callbacks import Callback

__all__ = ["PolyakAveraging"]


class PolyakAveraging(Callback):
    """Keep a running (or exponential) average of the parameters during ``fit``.

    Args:
        decay: None for the exact mean of all iterates since ``start``; a float in (0, 1) for an
            exponential moving average.
        start: the global step from which to average (e.g. the second half of training: early
            iterates are far from the optimum and would drag the mean away from it).
        val: optional validation data (ArrayDataset or (X, y)); at each epoch end the averaged
            weights are evaluated on it and ``val_avg_loss``/``val_avg_accuracy`` are added to the
            epoch logs and the trainer's History.
        apply_at_end: copy the averaged weights into the model when training ends.

    Buffers (batch-norm running statistics) are not averaged; the averaged copy uses the model's.
    """

    def __init__(self, decay: float | None = None, start: int = 0, val=None, apply_at_end: bool = False):
        if decay is not None and not 0 < decay < 1:
            raise ValueError(f"PolyakAveraging: decay must be in (0, 1) or None, got {decay!r}")
        if int(start) != start or start < 0:
            raise ValueError(f"PolyakAveraging: start must be a non-negative step count, got {start!r}")
        self.decay, self.start, self.val, self.apply_at_end = decay, int(start), val, apply_at_end
        self.avg: dict[str, np.ndarray] | None = None
        self.count = 0

    # ------------------------------------------------------------------------------------
    def _params(self):
        return [(n, p) for n, p in self.model.named_parameters() if p.requires_grad]

    def on_train_begin(self, logs=None):
        if self.avg is None or set(self.avg) != {n for n, _ in self._params()}:
            self.avg = {n: np.array(p.data, dtype=np.float64) for n, p in self._params()}
            self.count = 0

    def on_train_batch_end(self, batch, logs=None):
        if self.trainer.global_step <= self.start:
            return
        self.count += 1
        if self.decay is None:
            w = 1.0 / self.count
        else:
            w = 1.0 - self.decay if self.count > 1 else 1.0  # the first averaged step starts the EMA
        for n, p in self._params():
            a = self.avg[n]
            a += w * (p.data - a)

    def on_epoch_end(self, epoch, logs=None):
        if self.val is None or self.count == 0:
            return
        with self.swapped():
            res = self.trainer.evaluate(self.val)
        hist = self.trainer.history
        n = len(hist.epoch)
        for k, v in res.items():
            key = "val_avg_" + k
            if logs is not None:
                logs[key] = v
            col = hist.history.setdefault(key, [])
            col.extend([None] * (n - len(col)))  # History ran first and padded this epoch's entry
            if n:
                col[n - 1] = v

    def on_train_end(self, logs=None):
        if self.apply_at_end and self.count:
            self.apply()

    # ------------------------------------------------------------------------------------
    def averaged_state(self) -> dict:
        """The model's state_dict with the averaged parameters (in the parameters' dtypes)."""
        if self.avg is None:
            raise ValueError("PolyakAveraging: nothing averaged yet (train first)")
        state = {k: np.array(v, copy=True) for k, v in self.model.state_dict().items()}
        for n, p in self._params():
            state[n] = self.avg[n].astype(p.data.dtype)
        return state

    def apply(self, model=None) -> None:
        """Load the averaged parameters into ``model`` (default: the trained model)."""
        (model or self.model).load_state_dict(self.averaged_state())

    def averaged_model(self):
        """A copy of the model holding the averaged parameters (eval mode)."""
        m = copy.deepcopy(self.model)
        m.load_state_dict(self.averaged_state())
        m.eval()
        return m

    @contextlib.contextmanager
    def swapped(self):
        """Evaluate with the averaged weights inside the block; the raw ones come back after."""
        raw = {n: p.data.copy() for n, p in self._params()}
        try:
            for n, p in self._params():
                p.data[...] = self.avg[n]
            yield self.model
        finally:
            for n, p in self._params():
                p.data[...] = raw[n]

    def state_dict(self) -> dict:
        if self.avg is None:
            return {}
        return {"count": self.count, "avg": {n: a.copy() for n, a in self.avg.items()}}

    def load_state_dict(self, state: dict) -> None:
        if state:
            self.count = int(state["count"])
            self.avg = {n: np.array(a, dtype=np.float64) for n, a in state["avg"].items()}
