"""Shared pieces of the cascade and the scanner: the scikit-learn import with a clear message,
forest construction, and class vectors that never see their own training labels."""

from __future__ import annotations

import numpy as np

_MISSING = (
    "nnlab.forest needs scikit-learn, which is not installed: pip install 'nnlab[forest]' (or pip install scikit-learn)"
)


def require_sklearn():
    """Import scikit-learn's forests, or raise an ImportError that names the extra."""
    try:
        from sklearn.ensemble import ExtraTreesClassifier, RandomForestClassifier
        from sklearn.model_selection import StratifiedKFold
    except ImportError as e:  # ModuleNotFoundError, or a broken install
        raise ImportError(_MISSING) from e
    return RandomForestClassifier, ExtraTreesClassifier, StratifiedKFold


def make_forest(kind: str, n_trees: int, seed, oob: bool, n_jobs, max_depth, min_samples_leaf):
    """``rf``: a random forest (sqrt(d) candidate features per split). ``crf``: a completely-random
    forest, gcForest's second kind: extremely randomized trees with ONE candidate feature and a
    random threshold per split, grown to pure leaves."""
    RF, ET, _ = require_sklearn()
    common = dict(
        n_estimators=int(n_trees),
        random_state=seed,
        n_jobs=n_jobs,
        max_depth=max_depth,
        min_samples_leaf=min_samples_leaf,
    )
    if kind == "rf":
        return RF(max_features="sqrt", oob_score=oob, **common)
    if kind == "crf":
        return ET(max_features=1, bootstrap=oob, oob_score=oob, **common)
    raise ValueError(f"unknown forest kind {kind!r}")


def proba(forest, X, n_classes: int) -> np.ndarray:
    """predict_proba with one column per class index 0..n_classes-1, even when the forest's
    training part lacked a class."""
    p = forest.predict_proba(X)
    if p.shape[1] == n_classes:
        return p
    out = np.zeros((len(X), n_classes))
    out[:, forest.classes_.astype(int)] = p
    return out


def oob_proba(forest, n_classes: int) -> np.ndarray:
    """Out-of-bag class vectors; samples that were in every bootstrap (possible with few trees)
    get the uniform vector instead of NaN."""
    p = np.asarray(forest.oob_decision_function_, dtype=np.float64)
    if p.shape[1] != n_classes:
        full = np.zeros((len(p), n_classes))
        full[:, forest.classes_.astype(int)] = p
        p = full
    bad = ~np.isfinite(p).all(1) | (p.sum(1) == 0)
    p[bad] = 1.0 / n_classes
    return p


def check_positive_int(name: str, value, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"CascadeForest: {name} must be an int >= {minimum}, got {value!r}")
    return int(value)
