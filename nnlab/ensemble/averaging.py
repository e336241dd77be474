"""Parameter averaging during training (Polyak averaging).

Late in training SGD hops around the bottom of the bowl; the average of the recent iterates
lies nearer the bottom than any one of them, so evaluating with averaged weights usually gives a
slightly lower error at no training cost. The average is kept beside the weights (one extra
copy); training continues on the raw weights, and evaluation swaps the averaged copy in.

Two kinds:
    exact running mean from step ``start`` on:  a_n = a_{n-1} + (w_n - a_{n-1}) / n
    exponential moving average (``decay``):     a_t = decay * a_{t-1} + (1 - decay) * w_t

Batch norm: its running mean/variance are buffers, not parameters, and were gathered under the
raw weights; they do not match the averaged weights (a layer after an averaged one sees other
activations). ``buffers`` says what the averaged copy uses: ``"model"`` (default) the model's
current statistics, ``"average"`` the running/exponential average of the buffers themselves, and
``bn_data`` recomputes them with the averaged weights by one pass over training data
(``update_bn``), which is the right choice for networks with batch norm.
"""

from __future__ import annotations

import contextlib
import copy

import numpy as np

from nnlab.train.callbacks import Callback

__all__ = ["PolyakAveraging", "update_bn"]


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
        buffers: what the averaged copy uses for buffers (batch-norm running statistics):
            "model" (default) the model's current ones, gathered under the raw weights;
            "average" their running/exponential average, kept like the parameters'.
        bn_data: training inputs (array, (X, y) or dataset); when given, batch-norm statistics of
            the averaged copy are recomputed on them with the averaged weights (``update_bn``)
            whenever it is used (costs one forward pass over ``bn_data`` each time).
    """

    BUFFERS = ("model", "average")

    def __init__(
        self,
        decay: float | None = None,
        start: int = 0,
        val=None,
        apply_at_end: bool = False,
        buffers: str = "model",
        bn_data=None,
        bn_batch_size: int = 256,
    ):
        if decay is not None and not 0 < decay < 1:
            raise ValueError(f"PolyakAveraging: decay must be in (0, 1) or None, got {decay!r}")
        if int(start) != start or start < 0:
            raise ValueError(f"PolyakAveraging: start must be a non-negative step count, got {start!r}")
        if buffers not in self.BUFFERS:
            raise ValueError(f"PolyakAveraging: buffers must be 'model' or 'average', got {buffers!r}")
        self.decay, self.start, self.val, self.apply_at_end = decay, int(start), val, apply_at_end
        self.buffers, self.bn_data, self.bn_batch_size = buffers, bn_data, int(bn_batch_size)
        self.avg: dict[str, np.ndarray] | None = None
        self.count = 0

    # ------------------------------------------------------------------------------------
    def _params(self):
        return [(n, p) for n, p in self.model.named_parameters() if p.requires_grad]

    def _buffers(self):
        """Floating buffers that are averaged with ``buffers="average"`` (none otherwise)."""
        if self.buffers != "average":
            return []
        return [
            (n, b)
            for n, b in self.model.named_buffers()
            if isinstance(b, np.ndarray) and np.issubdtype(b.dtype, np.floating)
        ]

    def _arrays(self):
        """(name, array) of everything averaged: parameters' data and, optionally, buffers."""
        return [(n, p.data) for n, p in self._params()] + self._buffers()

    def on_train_begin(self, logs=None):
        if self.avg is None or set(self.avg) != {n for n, _ in self._arrays()}:
            self.avg = {n: np.array(a, dtype=np.float64) for n, a in self._arrays()}
            self.count = 0

    def on_train_batch_end(self, batch, logs=None):
        if self.trainer.global_step <= self.start:
            return
        self.count += 1
        if self.decay is None:
            w = 1.0 / self.count
        else:
            w = 1.0 - self.decay if self.count > 1 else 1.0  # the first averaged step starts the EMA
        for n, x in self._arrays():
            a = self.avg[n]
            a += w * (x - a)

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
        """The model's state_dict with the averaged parameters (in the parameters' dtypes), and
        the buffers as ``buffers``/``bn_data`` say."""
        if self.avg is None:
            raise ValueError("PolyakAveraging: nothing averaged yet (train first)")
        if self.bn_data is not None:
            with self.swapped() as m:
                return {k: np.array(v, copy=True) for k, v in m.state_dict().items()}
        state = {k: np.array(v, copy=True) for k, v in self.model.state_dict().items()}
        for n, x in self._arrays():
            state[n] = self.avg[n].astype(x.dtype)
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
        """Evaluate with the averaged weights inside the block; the raw ones (and buffers) come back after."""
        if self.avg is None:
            raise ValueError("PolyakAveraging: nothing averaged yet (train first)")
        raw = {n: p.data.copy() for n, p in self._params()}
        raw_buffers = {n: np.array(b, copy=True) for n, b in self.model.named_buffers() if isinstance(b, np.ndarray)}
        try:
            for n, x in self._arrays():
                x[...] = self.avg[n]
            if self.bn_data is not None:
                update_bn(self.model, self.bn_data, batch_size=self.bn_batch_size)
            yield self.model
        finally:
            for n, p in self._params():
                p.data[...] = raw[n]
            for n, b in self.model.named_buffers():
                if n in raw_buffers:
                    b[...] = raw_buffers[n]

    def state_dict(self) -> dict:
        if self.avg is None:
            return {}
        return {"count": self.count, "avg": {n: a.copy() for n, a in self.avg.items()}}

    def load_state_dict(self, state: dict) -> None:
        if state:
            self.count = int(state["count"])
            self.avg = {n: np.array(a, dtype=np.float64) for n, a in state["avg"].items()}


def update_bn(model, data, batch_size: int = 256) -> int:
    """Recompute every batch-norm layer's running mean/variance for ``model``'s current weights:
    one pass over ``data`` (array, (X, y) or dataset; inputs as the model takes them) with the
    statistics set to the plain mean over the batches. Everything else (dropout) stays in eval
    mode. Returns the number of batch-norm layers updated.
    """
    from nnlab.engine import Tensor, no_grad
    from nnlab.nn.normalization import _BatchNorm

    X = data[0] if isinstance(data, tuple) else getattr(data, "X", data)
    X = np.asarray(X, dtype=np.float32)
    if len(X) == 0:
        raise ValueError("update_bn: no data given")
    bns = [m for m in model.modules() if isinstance(m, _BatchNorm) and m.track_running_stats]
    if not bns:
        return 0
    was, momenta = model.training, [m.momentum for m in bns]
    model.eval()
    try:
        for m in bns:
            m.reset_running_stats()
            m.train()
        with no_grad():
            for i, lo in enumerate(range(0, len(X), int(batch_size))):
                for m in bns:
                    m.momentum = 1.0 / (i + 1)  # running = mean of the batch statistics so far
                model(Tensor(X[lo : lo + int(batch_size)]))
    finally:
        for m, mom in zip(bns, momenta):
            m.momentum = mom
        model.train(was)
    return len(bns)
