"""Multi-grained scanning (gcForest, Zhou & Feng 2017): slide square windows over each image,
treat every window as an instance labelled with its image's class, fit a random forest and a
completely-random forest on the windows, and describe each image by the class vectors of all its
windows. Windows are cut with NumPy's sliding_window_view (one strided view, no Python loop over
positions).

The windows of one image are strongly alike, so the class vectors used for training come from
k-fold cross-fitting grouped by image: a window's vector is predicted by forests that never saw
any window of the same image.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from ._common import make_forest, proba, require_sklearn

__all__ = ["MultiGrainedScanner", "as_images", "extract_windows"]


def as_images(X, where: str = "scanning") -> np.ndarray:
    """(n, H, W) or (n, C, H, W) as float32 (n, C, H, W)."""
    a = np.asarray(X)
    if a.ndim == 3:
        a = a[:, None]
    if a.ndim != 4:
        raise ValueError(
            f"{where}: multi-grained scanning needs images of shape (n, H, W) or (n, C, H, W), "
            f"got shape {a.shape}; pass scanning=None for flat features"
        )
    return a.astype(np.float32, copy=False)


def extract_windows(images: np.ndarray, size: int, stride: int = 1) -> np.ndarray:
    """All size x size windows, (n, n_windows, C * size * size), row-major over positions."""
    n, c, h, w = images.shape
    if size > min(h, w):
        raise ValueError(f"scanning: window size {size} is larger than the {h}x{w} images")
    v = sliding_window_view(images, (size, size), axis=(2, 3))[:, :, ::stride, ::stride]  # n,C,h',w',s,s
    v = v.transpose(0, 2, 3, 1, 4, 5)
    return v.reshape(n, v.shape[1] * v.shape[2], c * size * size)


class MultiGrainedScanner:
    """Turn images into class-vector features, one block per window size."""

    def __init__(
        self,
        window_sizes,
        n_trees: int = 30,
        stride: int = 1,
        k: int = 3,
        random_state=None,
        n_jobs=None,
        max_depth=None,
        min_samples_leaf: int = 1,
    ):
        self.window_sizes = [int(s) for s in window_sizes]
        self.n_trees, self.stride, self.k = int(n_trees), int(stride), int(k)
        self.random_state, self.n_jobs = random_state, n_jobs
        self.max_depth, self.min_samples_leaf = max_depth, min_samples_leaf

    def _seed(self, *offsets):
        if self.random_state is None:
            return None
        return (int(self.random_state) * 7919 + sum((i + 1) * 104729 * o for i, o in enumerate(offsets))) % 2**32

    def fit_transform(self, images, y: np.ndarray, n_classes: int) -> np.ndarray:
        """Fit the window forests on ``images`` with class indices ``y``; returns the out-of-fold
        features (n, n_features)."""
        _, _, SKF = require_sklearn()
        images = as_images(images)
        n = len(images)
        folds = list(SKF(self.k, shuffle=True, random_state=self._seed(99)).split(np.zeros(n), y))
        self.models_, blocks = [], []
        self.input_shape_ = images.shape[1:]
        for a, size in enumerate(self.window_sizes):
            win = extract_windows(images, size, self.stride)  # n, m, f
            m = win.shape[1]
            per_size = []
            for b, kind in enumerate(("rf", "crf")):
                out = np.zeros((n, m, n_classes), dtype=np.float32)
                fold_models = []
                for f, (tr, te) in enumerate(folds):
                    forest = make_forest(
                        kind,
                        self.n_trees,
                        self._seed(a, b, f),
                        False,
                        self.n_jobs,
                        self.max_depth,
                        self.min_samples_leaf,
                    )
                    forest.fit(win[tr].reshape(-1, win.shape[2]), np.repeat(y[tr], m))
                    out[te] = proba(forest, win[te].reshape(-1, win.shape[2]), n_classes).reshape(len(te), m, -1)
                    fold_models.append(forest)
                per_size.append(fold_models)
                blocks.append(out.reshape(n, -1))
            self.models_.append(per_size)
        self.n_classes_ = n_classes
        return np.concatenate(blocks, axis=1)

    def transform(self, images) -> np.ndarray:
        """Features of new images: each window's class vector is the mean over the k fold forests."""
        images = as_images(images)
        if images.shape[1:] != self.input_shape_:
            raise ValueError(f"scanning: fitted on images of shape {self.input_shape_}, got {images.shape[1:]}")
        n, blocks = len(images), []
        for size, per_size in zip(self.window_sizes, self.models_):
            win = extract_windows(images, size, self.stride)
            flat = win.reshape(-1, win.shape[2])
            for fold_models in per_size:
                p = np.mean([proba(f, flat, self.n_classes_) for f in fold_models], axis=0)
                blocks.append(p.reshape(n, -1).astype(np.float32))
        return np.concatenate(blocks, axis=1)
