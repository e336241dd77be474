"""Mini-batches with per-epoch shuffling that a resumed run reproduces exactly.

One epoch is one pass over every training sample. The order of epoch e is drawn from
``np.random.default_rng([seed, e])`` alone, so it does not depend on how many epochs ran in
this process: a run resumed at epoch e (``set_epoch(e)`` or ``load_state_dict``) sees the same
batches as an uninterrupted one. Augmentation gets its own generator per (seed, epoch, batch).
"""

from __future__ import annotations

from typing import Callable, Iterator

import numpy as np

from .datasets import ArrayDataset

__all__ = ["DataLoader"]

_TRANSFORM_STREAM = 0x7A4F  # non-zero tag: keeps augmentation draws apart from shuffling draws


def epoch_order(n: int, shuffle: bool, seed: int, epoch: int) -> np.ndarray:
    """Sample order of one epoch: drawn from (seed, epoch) alone, so a resumed run repeats it."""
    if not shuffle:
        return np.arange(n)
    return np.random.default_rng([seed, epoch]).permutation(n)


class DataLoader:
    """Iterate over (xb, yb) NumPy batches (float32, int64).

    Args:
        data: an ArrayDataset or an (X, y) pair.
        batch_size: samples per batch; ``None`` = the whole set in one batch (batch gradient
            descent), 1 = stochastic gradient descent.
        shuffle: a fresh permutation each epoch (else the stored order).
        drop_last: drop a final batch smaller than ``batch_size``.
        seed: non-negative integer; with the epoch number it fixes the order.
        transform: augmentation ``t(xb, rng) -> xb`` applied to every batch (use on training
            data only).
    """

    def __init__(
        self,
        data,
        batch_size: int | None = 32,
        shuffle: bool = True,
        drop_last: bool = False,
        seed: int = 0,
        transform: Callable | None = None,
    ):
        if isinstance(data, ArrayDataset):
            X, y = data.X, data.y
        elif isinstance(data, (tuple, list)) and len(data) == 2:
            X, y = data
        elif hasattr(data, "X") and hasattr(data, "y"):
            X, y = data.X, data.y
        else:
            raise TypeError(f"DataLoader: data must be an ArrayDataset or an (X, y) pair, got {type(data).__name__}")
        X = np.asarray(X)
        X = X if X.dtype == np.float32 else X.astype(np.float32)
        y = np.asarray(y)
        if y.ndim != 1 or len(X) != len(y):
            raise ValueError(f"DataLoader: need X (N, ...) and y (N,), got X {X.shape} and y {y.shape}")
        y = y if y.dtype == np.int64 else y.astype(np.int64)
        n = len(y)
        if n == 0:
            raise ValueError("DataLoader: the dataset is empty")
        if batch_size is not None and (
            isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1
        ):
            raise ValueError(
                f"DataLoader: batch_size must be a positive integer or None (full batch), got {batch_size!r}"
            )
        if drop_last and batch_size is not None and batch_size > n:
            raise ValueError(
                f"DataLoader: batch_size={batch_size} with drop_last=True would drop all {n} samples; "
                "use a smaller batch_size or drop_last=False"
            )
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
            raise ValueError(f"DataLoader: seed must be a non-negative integer, got {seed!r}")
        if transform is not None and not callable(transform):
            raise TypeError(f"DataLoader: transform must be callable t(x, rng), got {type(transform).__name__}")
        self.X, self.y = X, y
        self.batch_size = None if batch_size is None else int(batch_size)
        self.shuffle = bool(shuffle)
        self.drop_last = bool(drop_last)
        self.seed = int(seed)
        self.transform = transform
        self.epoch = 0

    @property
    def num_samples(self) -> int:
        return len(self.y)

    @property
    def _step(self) -> int:
        return self.num_samples if self.batch_size is None else min(self.batch_size, self.num_samples)

    def __len__(self) -> int:
        n, b = self.num_samples, self._step
        return n // b if self.drop_last else -(-n // b)

    def set_epoch(self, epoch: int) -> None:
        """Make the next iteration produce epoch ``epoch``'s batches (for resuming)."""
        if isinstance(epoch, bool) or not isinstance(epoch, (int, np.integer)) or epoch < 0:
            raise ValueError(f"DataLoader.set_epoch: epoch must be a non-negative integer, got {epoch!r}")
        self.epoch = int(epoch)

    def permutation(self, epoch: int | None = None) -> np.ndarray:
        """The sample order of ``epoch`` (default: the next one)."""
        e = self.epoch if epoch is None else int(epoch)
        return epoch_order(self.num_samples, self.shuffle, self.seed, e)

    def __iter__(self) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        e = self.epoch
        step, nb = self._step, len(self)
        order = self.permutation(e) if self.shuffle else None
        for b in range(nb):
            lo, hi = b * step, min((b + 1) * step, self.num_samples)
            if order is None:
                xb, yb = self.X[lo:hi].view(), self.y[lo:hi].view()  # no copy when not shuffling;
                xb.flags.writeable = yb.flags.writeable = False  # read-only guards the dataset
            else:
                idx = order[lo:hi]
                xb, yb = self.X[idx], self.y[idx]
            if self.transform is not None:
                rng = np.random.default_rng([self.seed, e, b, _TRANSFORM_STREAM])
                xb = np.asarray(self.transform(xb, rng), dtype=np.float32)
            yield xb, yb
        self.epoch = e + 1

    def state_dict(self) -> dict:
        return {"epoch": self.epoch, "seed": self.seed}

    def load_state_dict(self, state: dict) -> None:
        missing = {"epoch", "seed"} - set(state)
        if missing:
            raise ValueError(
                f"DataLoader.load_state_dict: state lacks {sorted(missing)}; expected keys 'epoch' and 'seed'"
            )
        seed = state["seed"]
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
            raise ValueError(f"DataLoader.load_state_dict: seed must be a non-negative integer, got {seed!r}")
        self.set_epoch(state["epoch"])
        self.seed = int(seed)

    def __repr__(self) -> str:
        bs = "full" if self.batch_size is None else self.batch_size
        return (
            f"DataLoader(n={self.num_samples}, batch_size={bs}, batches={len(self)}, shuffle={self.shuffle}, "
            f"drop_last={self.drop_last}, seed={self.seed}, epoch={self.epoch}, transform={self.transform!r})"
        )
