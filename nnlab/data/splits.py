"""Stratified train/dev/test splits and k-fold cross-validation."""

from __future__ import annotations

from typing import Iterator, Sequence

import numpy as np

from nnlab.data.containers import ArrayDataset, DataError, DatasetSplits, _check_count


def _interleaved_order(y: np.ndarray, stratify: bool, seed) -> np.ndarray:
    """A random order of the samples in which every prefix has (to within one sample per class)
    the class proportions of the whole set, so consecutive chunks are stratified splits/folds.

    Sample i of class c with random within-class rank r_i gets the key (r_i + u_c) / n_c with a
    random offset u_c in [0, 1); sorting by key interleaves the classes proportionally.
    """
    rng = np.random.default_rng(seed)
    n = len(y)
    perm = rng.permutation(n)
    if not stratify or n == 0:
        return perm
    grouped = perm[np.argsort(y[perm], kind="stable")]  # by class, random within class
    counts = np.bincount(y)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    cls = y[grouped]
    rank = np.arange(n) - starts[cls]
    offset = rng.random(len(counts))
    key = (rank + offset[cls]) / counts[cls]
    return grouped[np.lexsort((rng.random(n), key))]


def _resolve_sizes(sizes, n: int) -> tuple[int, int, int]:
    if len(sizes) != 3:
        raise ValueError(f"sizes must be (train, dev, test), got {sizes!r}")
    if all(isinstance(s, (int, np.integer)) and not isinstance(s, bool) for s in sizes):
        out = tuple(int(s) for s in sizes)
        if min(out) < 0:
            raise ValueError(f"split sizes must be >= 0, got {out}")
        if sum(out) > n:
            raise DataError(
                f"split sizes {out} need {sum(out)} samples but the data has {n}; "
                "ask for fewer or pass fractions such as (0.8, 0.1, 0.1)"
            )
        return out
    fr = [float(s) for s in sizes]
    if min(fr) < 0 or sum(fr) > 1 + 1e-9:
        raise ValueError(f"split fractions must be >= 0 and sum to at most 1, got {tuple(sizes)}")
    dev, test = int(round(fr[1] * n)), int(round(fr[2] * n))
    train = n - dev - test if abs(sum(fr) - 1) < 1e-9 else int(round(fr[0] * n))
    return train, dev, test


def train_dev_test_split(
    X,
    y=None,
    sizes=(0.8, 0.1, 0.1),
    stratify: bool = True,
    seed: int = 0,
    name: str = "",
    class_names: Sequence[str] | None = None,
) -> DatasetSplits:
    """Split into train/dev/test ArrayDatasets (disjoint; stratified so the class proportions of
    each split match the whole set, as the three must come from the same distribution).

    ``sizes``: three sample counts (their sum may be below N; the rest is left out) or three
    fractions. ``X`` may also be an ArrayDataset (then ``y`` is taken from it).
    """
    if isinstance(X, ArrayDataset):
        class_names = class_names if class_names is not None else X.class_names
        X, y = X.X, X.y
    full = _named(ArrayDataset(X, y, class_names=class_names))
    n_train, n_dev, n_test = _resolve_sizes(tuple(sizes), len(full))
    order = _interleaved_order(full.y, stratify, seed)
    a, b = n_train, n_train + n_dev
    parts = [
        full.subset(order[:a], "train"),
        full.subset(order[a:b], "dev"),
        full.subset(order[b : b + n_test], "test"),
    ]
    return DatasetSplits(
        *parts, num_classes=full.num_classes, input_shape=full.input_shape, name=name, class_names=full.class_names
    )


def _named(data: ArrayDataset) -> ArrayDataset:
    """Give unnamed classes the names "0".."K-1" so every split keeps K classes, even a split
    that happens to miss the last one."""
    if data.class_names is None:
        data.class_names = [str(i) for i in range(data.num_classes)]
    return data


def kfold(X, y=None, k: int = 5, stratify: bool = True, seed: int = 0) -> Iterator[tuple[ArrayDataset, ArrayDataset]]:
    """Yield k (train, dev) pairs; every sample is in exactly one dev fold (stratified by default)."""
    k = _check_count("k", k, 2)
    full = _named(
        ArrayDataset(X.X, X.y, class_names=X.class_names) if isinstance(X, ArrayDataset) else ArrayDataset(X, y)
    )
    if k > len(full):
        raise DataError(f"kfold: k={k} folds need at least {k} samples, the data has {len(full)}")
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(full))
    if stratify:  # group by class (random within): dealing positions round-robin balances each class
        order = order[np.argsort(full.y[order], kind="stable")]
    fold = np.empty(len(full), dtype=np.int64)
    fold[order] = np.arange(len(full)) % k
    for i in range(k):
        yield full.subset(np.flatnonzero(fold != i), "train"), full.subset(np.flatnonzero(fold == i), "dev")
