"""The deep-forest cascade (gcForest, Zhou & Feng 2017; DF21) on scikit-learn's forests.

Each level holds random forests and completely-random forests. Every forest of a level produces
a class vector (the class probabilities) for each sample. The next level's input is the original
features with all those class vectors appended. The class vectors used for training never come
from a forest that saw that sample's label: they are k-fold out-of-fold predictions (gcForest) or
out-of-bag predictions (DF21). Levels are added while the estimated accuracy improves, so the
depth adapts to the data: `patience` levels without a gain (more than `tol`) stop the growth, and
the cascade is cut back to its best level.
"""

from __future__ import annotations

import time
import warnings

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin

from ._common import check_positive_int, make_forest, oob_proba, proba, require_sklearn
from .scanning import MultiGrainedScanner, as_images

__all__ = ["CascadeForest"]

_CLASS_VECTORS = ("kfold", "oob")


class CascadeForest(ClassifierMixin, BaseEstimator):
    """A cascade of forests whose depth is chosen by the data.

    Args:
        n_estimators: forests per level, ``(random forests, completely-random forests)``; an int
            ``n`` means ``(n, n)``. Default (2, 2), as gcForest and DF21.
        n_trees: trees in each forest.
        class_vectors: "kfold" (k-fold out-of-fold predict_proba; the k fold forests are kept and
            averaged at prediction time) or "oob" (one bootstrap forest, out-of-bag predictions).
        k: folds for "kfold" (and for the scanning forests).
        max_layers: the most levels grown.
        patience: stop after this many levels without an accuracy gain larger than ``tol``.
        validation_fraction: None to judge each level by its out-of-fold/out-of-bag accuracy on the
            training data (no data held out); a fraction in (0, 1) to hold out that share of the
            training data (stratified) and judge levels by their accuracy on it.
        scanning: None, or window sizes (e.g. [4, 6]) for multi-grained scanning of images
            (n, H, W) / (n, C, H, W); the cascade then works on the scanned class vectors.
        scan_trees, scan_stride: trees per scanning forest, step between windows.
        max_depth, min_samples_leaf: passed to every forest.
        n_jobs: passed to every forest (scikit-learn/joblib parallelism over trees).
        random_state: int for reproducible forests and folds, or None.
        verbose: print one line per level.

    After ``fit``: ``classes_``, ``n_layers_`` (levels kept), ``layers_`` (one dict per level grown:
    ``layer``, ``train_accuracy`` (out-of-fold or out-of-bag), ``val_accuracy`` (held-out, or None),
    ``n_features``, ``seconds``, ``kept``), ``n_trees_`` (trees used by ``predict``).
    """

    def __init__(
        self,
        n_estimators=(2, 2),
        n_trees: int = 100,
        class_vectors: str = "kfold",
        k: int = 3,
        max_layers: int = 20,
        patience: int = 2,
        tol: float = 0.0,
        validation_fraction=None,
        scanning=None,
        scan_trees: int = 30,
        scan_stride: int = 1,
        max_depth=None,
        min_samples_leaf: int = 1,
        n_jobs=None,
        random_state=None,
        verbose: int = 0,
    ):
        self.n_estimators = n_estimators
        self.n_trees = n_trees
        self.class_vectors = class_vectors
        self.k = k
        self.max_layers = max_layers
        self.patience = patience
        self.tol = tol
        self.validation_fraction = validation_fraction
        self.scanning = scanning
        self.scan_trees = scan_trees
        self.scan_stride = scan_stride
        self.max_depth = max_depth
        self.min_samples_leaf = min_samples_leaf
        self.n_jobs = n_jobs
        self.random_state = random_state
        self.verbose = verbose

    # ------------------------------------------------------------------ checks
    def _kinds(self) -> list[str]:
        ne = self.n_estimators
        if isinstance(ne, (int, np.integer)) and not isinstance(ne, bool):
            ne = (ne, ne)
        try:
            n_rf, n_crf = (int(v) for v in ne)
            ok = all(not isinstance(v, bool) and float(v) == int(v) for v in ne)
        except (TypeError, ValueError):
            ok = False
        if not ok or n_rf < 0 or n_crf < 0 or n_rf + n_crf == 0:
            raise ValueError(
                "CascadeForest: n_estimators must be an int >= 1 or a pair (random forests, "
                f"completely-random forests) of ints >= 0 with at least one forest, got {self.n_estimators!r}"
            )
        return ["rf"] * n_rf + ["crf"] * n_crf

    def _check_params(self) -> None:
        check_positive_int("n_trees", self.n_trees)
        check_positive_int("max_layers", self.max_layers)
        check_positive_int("patience", self.patience)
        check_positive_int("scan_trees", self.scan_trees)
        check_positive_int("scan_stride", self.scan_stride)
        if self.class_vectors not in _CLASS_VECTORS:
            raise ValueError(f"CascadeForest: class_vectors must be 'kfold' or 'oob', got {self.class_vectors!r}")
        check_positive_int("k", self.k, 2)
        vf = self.validation_fraction
        if vf is not None and (isinstance(vf, bool) or not isinstance(vf, (float, int)) or not 0 < vf < 1):
            raise ValueError(f"CascadeForest: validation_fraction must be None or a fraction in (0, 1), got {vf!r}")
        if not isinstance(self.tol, (int, float)) or not self.tol >= 0:
            raise ValueError(f"CascadeForest: tol must be a number >= 0, got {self.tol!r}")
        if self.scanning is not None:
            sizes = [self.scanning] if isinstance(self.scanning, (int, np.integer)) else list(self.scanning)
            if not sizes or any(isinstance(s, bool) or not isinstance(s, (int, np.integer)) or s < 1 for s in sizes):
                raise ValueError(
                    f"CascadeForest: scanning must be None or a list of window sizes (ints >= 1), got {self.scanning!r}"
                )

    def _scan_sizes(self):
        s = self.scanning
        return None if s is None else ([int(s)] if isinstance(s, (int, np.integer)) else [int(v) for v in s])

    def _features(self, X, where: str) -> np.ndarray:
        a = np.asarray(X)
        if a.dtype == object or not (np.issubdtype(a.dtype, np.number) or a.dtype == bool):
            raise TypeError(f"CascadeForest.{where}: X must be numeric, got dtype {a.dtype}")
        if a.ndim < 2 or a.shape[0] == 0:
            raise ValueError(f"CascadeForest.{where}: X must be (n_samples, n_features) or images, got shape {a.shape}")
        if not np.all(np.isfinite(a)):
            raise ValueError(f"CascadeForest.{where}: X contains NaN or infinite values")
        if self._scan_sizes() is not None:
            return as_images(a, f"CascadeForest.{where}")
        return a.reshape(len(a), -1).astype(np.float32, copy=False)

    def _seed(self, *offsets):
        if self.random_state is None:
            return None
        # distinct seeds per level/forest/fold, inside numpy's accepted range
        return (int(self.random_state) * 1000003 + sum((i + 1) * 7919 * o for i, o in enumerate(offsets))) % 2**32

    # ------------------------------------------------------------------ fitting
    def fit(self, X, y):
        """Grow the cascade on ``X`` (n, d) or images, labels ``y`` (n,)."""
        _, _, SKF = require_sklearn()
        self._check_params()
        kinds = self._kinds()
        X = self._features(X, "fit")
        y = np.asarray(y)
        if y.ndim != 1 or len(y) != len(X):
            raise ValueError(
                f"CascadeForest.fit: y must be a vector with one label per sample ({len(X)}), got shape {y.shape}"
            )
        self.classes_, y_idx = np.unique(y, return_inverse=True)
        C = len(self.classes_)
        if C < 2:
            raise ValueError(f"CascadeForest.fit: needs at least 2 classes, got {C}")

        val = None
        if self.validation_fraction is not None:
            from sklearn.model_selection import train_test_split

            idx_tr, idx_val = train_test_split(
                np.arange(len(X)), test_size=self.validation_fraction, stratify=y_idx, random_state=self._seed(17)
            )
            X, Xv, y_idx, yv = X[idx_tr], X[idx_val], y_idx[idx_tr], y_idx[idx_val]
            val = (Xv, yv)

        self.scanner_ = None
        if self._scan_sizes() is not None:
            self.scanner_ = MultiGrainedScanner(
                self._scan_sizes(),
                self.scan_trees,
                self.scan_stride,
                self.k,
                self._seed(23),
                self.n_jobs,
                self.max_depth,
                self.min_samples_leaf,
            )
            base = self.scanner_.fit_transform(X, y_idx, C)
            base_val = self.scanner_.transform(val[0]) if val else None
        else:
            base, base_val = X, (val[0] if val else None)
        self.n_features_in_ = base.shape[1] if self.scanner_ is None else int(np.prod(X.shape[1:]))

        aug, aug_val = base, base_val
        self._levels, self.layers_ = [], []
        best, best_layer, wait = -np.inf, 0, 0
        oob = self.class_vectors == "oob"
        for level in range(int(self.max_layers)):
            t0 = time.perf_counter()
            models, vecs, vecs_val = [], [], []
            for j, kind in enumerate(kinds):
                if oob:
                    f = make_forest(
                        kind,
                        self.n_trees,
                        self._seed(level, j),
                        True,
                        self.n_jobs,
                        self.max_depth,
                        self.min_samples_leaf,
                    )
                    with warnings.catch_warnings():  # samples never out of bag get the uniform vector
                        warnings.filterwarnings("ignore", "Some inputs do not have OOB scores")
                        f.fit(aug, y_idx)
                    fitted, vec = [f], oob_proba(f, C)
                else:
                    vec, fitted = np.zeros((len(aug), C)), []
                    folds = SKF(int(self.k), shuffle=True, random_state=self._seed(level, 31))
                    for fold, (tr, te) in enumerate(folds.split(aug, y_idx)):
                        f = make_forest(
                            kind,
                            self.n_trees,
                            self._seed(level, j, fold),
                            False,
                            self.n_jobs,
                            self.max_depth,
                            self.min_samples_leaf,
                        )
                        f.fit(aug[tr], y_idx[tr])
                        vec[te] = proba(f, aug[te], C)
                        fitted.append(f)
                models.append(fitted)
                vecs.append(vec)
                if val:
                    vecs_val.append(np.mean([proba(f, aug_val, C) for f in fitted], axis=0))
            train_acc = float(np.mean(np.mean(vecs, axis=0).argmax(1) == y_idx))
            val_acc = float(np.mean(np.mean(vecs_val, axis=0).argmax(1) == val[1])) if val else None
            score = val_acc if val else train_acc
            self._levels.append(models)
            self.layers_.append(
                {
                    "layer": level + 1,
                    "train_accuracy": train_acc,
                    "val_accuracy": val_acc,
                    "n_features": int(aug.shape[1]),
                    "seconds": time.perf_counter() - t0,
                    "kept": False,
                }
            )
            if self.verbose:
                extra = f", validation {val_acc:.4f}" if val else ""
                print(
                    f"level {level + 1}: {self.class_vectors} accuracy {train_acc:.4f}{extra} "
                    f"({aug.shape[1]} features, {self.layers_[-1]['seconds']:.1f} s)"
                )
            if score > best + float(self.tol):
                best, best_layer, wait = score, level, 0
            else:
                wait += 1
                if wait >= int(self.patience):
                    break
            aug = np.hstack([base] + [v.astype(np.float32) for v in vecs])
            if val:
                aug_val = np.hstack([base_val] + [v.astype(np.float32) for v in vecs_val])
        self.n_layers_ = best_layer + 1
        del self._levels[self.n_layers_ :]
        for rec in self.layers_[: self.n_layers_]:
            rec["kept"] = True
        self.best_score_ = float(best)
        self.n_trees_ = sum(f.n_estimators for lvl in self._levels for fitted in lvl for f in fitted)
        if self.scanner_ is not None:
            self.n_trees_ += sum(f.n_estimators for s in self.scanner_.models_ for fm in s for f in fm)
        return self

    # ------------------------------------------------------------------ prediction
    def _check_fitted(self, where: str):
        if not hasattr(self, "_levels"):
            raise RuntimeError(f"CascadeForest.{where}: call fit first")

    def predict_proba(self, X) -> np.ndarray:
        """Mean class vector of the last kept level's forests, (n, n_classes)."""
        self._check_fitted("predict_proba")
        X = self._features(X, "predict_proba")
        if self.scanner_ is not None:
            base = self.scanner_.transform(X)
        else:
            if X.shape[1] != self.n_features_in_:
                raise ValueError(
                    f"CascadeForest.predict_proba: X has {X.shape[1]} features, the cascade was "
                    f"fitted on {self.n_features_in_}"
                )
            base = X
        C, aug = len(self.classes_), base
        for i, models in enumerate(self._levels):
            vecs = [np.mean([proba(f, aug, C) for f in fitted], axis=0) for fitted in models]
            if i + 1 < len(self._levels):
                aug = np.hstack([base] + [v.astype(np.float32) for v in vecs])
        return np.mean(vecs, axis=0)

    def predict(self, X) -> np.ndarray:
        self._check_fitted("predict")
        return self.classes_[self.predict_proba(X).argmax(1)]

    def score(self, X, y, sample_weight=None) -> float:
        """Accuracy on (X, y)."""
        return super().score(X, y, sample_weight=sample_weight)
