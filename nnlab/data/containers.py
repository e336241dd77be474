"""Dataset containers (arrays with a role, train/dev/test splits) and the data errors."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator, Sequence

import numpy as np

ROLES = ("train", "dev", "test", None)


def _check_count(name: str, value, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


class DataError(ValueError):
    """Bad data input; the message is one line saying what is wrong and what to do."""


class DataFileNotFoundError(DataError, FileNotFoundError):
    """A data file or folder that does not exist (both a DataError and a FileNotFoundError)."""


class ArrayDataset:
    """In-memory dataset: float32 features X of shape (N, ...), int64 labels y of shape (N,).

    ``role`` tags the split ("train", "dev", "test" or None for untagged data); preprocessing
    checks it so that dev/test statistics never leak into training.
    """

    def __init__(self, X, y, role: str | None = None, class_names: Sequence[str] | None = None):
        if role not in ROLES:
            raise ValueError(f"ArrayDataset: role must be one of {ROLES}, got {role!r}")
        X = np.asarray(X, dtype=np.float32)
        y = np.asarray(y)
        if X.ndim < 1:
            raise ValueError(f"ArrayDataset: X must have a sample axis, got a scalar of shape {X.shape}")
        if y.ndim != 1:
            raise ValueError(f"ArrayDataset: y must be 1-D class indices, got shape {y.shape}")
        if len(X) != len(y):
            raise ValueError(f"ArrayDataset: X has {len(X)} samples but y has {len(y)} labels; they must match")
        if y.size and not np.issubdtype(y.dtype, np.integer):
            if not np.issubdtype(y.dtype, np.floating) or not np.all(np.mod(y, 1) == 0):
                raise ValueError(f"ArrayDataset: y must hold integer class indices, got dtype {y.dtype}")
        y = y.astype(np.int64, copy=False)
        if y.size and y.min() < 0:
            raise ValueError(f"ArrayDataset: class indices must be >= 0, got {int(y.min())}")
        if class_names is not None:
            class_names = [str(c) for c in class_names]
            if y.size and y.max() >= len(class_names):
                raise ValueError(f"ArrayDataset: label {int(y.max())} has no name among {len(class_names)} class_names")
        self.X = X
        self.y = y
        self.role = role
        self.class_names = class_names

    def __len__(self) -> int:
        return len(self.y)

    def __getitem__(self, index):
        return self.X[index], self.y[index]

    @property
    def num_classes(self) -> int:
        if self.class_names is not None:
            return len(self.class_names)
        return int(self.y.max()) + 1 if self.y.size else 0

    @property
    def input_shape(self) -> tuple[int, ...]:
        return tuple(self.X.shape[1:])

    def subset(self, indices, role: str | None = None) -> "ArrayDataset":
        """A new dataset holding the given samples (copies), with the given role."""
        indices = np.asarray(indices)
        return ArrayDataset(self.X[indices], self.y[indices], role=role, class_names=self.class_names)

    def class_counts(self) -> np.ndarray:
        return np.bincount(self.y, minlength=self.num_classes)

    def __repr__(self) -> str:
        return (
            f"ArrayDataset(n={len(self)}, input_shape={self.input_shape}, "
            f"num_classes={self.num_classes}, role={self.role!r})"
        )


@dataclass
class DatasetSplits:
    """Train/dev/test datasets that share classes and input shape."""

    train: ArrayDataset
    dev: ArrayDataset
    test: ArrayDataset
    num_classes: int
    input_shape: tuple[int, ...]
    name: str = ""
    class_names: list[str] | None = None

    def __iter__(self) -> Iterator[ArrayDataset]:
        return iter((self.train, self.dev, self.test))

    def sizes(self) -> tuple[int, int, int]:
        return len(self.train), len(self.dev), len(self.test)
