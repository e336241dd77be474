"""Classification metrics and curve smoothing, on plain NumPy arrays."""

from __future__ import annotations

import numpy as np

__all__ = ["predicted_classes", "accuracy", "confusion_matrix", "ema_smooth", "is_classification_output"]


def is_classification_output(scores: np.ndarray) -> bool:
    """True for (N, C) scores with C > 1: the shape whose argmax is a class."""
    return scores.ndim == 2 and scores.shape[1] > 1


def predicted_classes(scores) -> np.ndarray:
    """argmax over the class axis for (N, C) scores; a threshold at 0 for one logit per sample."""
    scores = np.asarray(scores)
    if is_classification_output(scores):
        return scores.argmax(axis=1)
    return (scores.reshape(len(scores)) > 0).astype(np.int64)


def accuracy(scores_or_classes, y) -> float:
    """Fraction of correct predictions; accepts (N, C) scores or (N,) predicted classes."""
    p = np.asarray(scores_or_classes)
    y = np.asarray(y)
    if p.ndim == 2:
        p = predicted_classes(p)
    if p.shape != y.shape:
        raise ValueError(
            f"accuracy: {p.shape[0] if p.ndim else 0} predictions for {y.shape[0] if y.ndim else 0} labels"
        )
    return float(np.mean(p == y)) if y.size else float("nan")


def confusion_matrix(y_true, y_pred, num_classes: int | None = None) -> np.ndarray:
    """C[i, j] = number of samples of true class i predicted as class j (one bincount, no loop)."""
    y_true = np.asarray(y_true, dtype=np.int64)
    y_pred = np.asarray(y_pred, dtype=np.int64)
    if y_true.shape != y_pred.shape:
        raise ValueError(f"confusion_matrix: y_true {y_true.shape} and y_pred {y_pred.shape} differ in shape")
    k = num_classes if num_classes is not None else int(max(y_true.max(initial=-1), y_pred.max(initial=-1))) + 1
    return np.bincount(y_true * k + y_pred, minlength=k * k).reshape(k, k)


def ema_smooth(values, beta: float = 0.98) -> np.ndarray:
    """Exponential moving average with bias correction: s_t = (beta s_{t-1} + (1 - beta) v_t) / (1 - beta^t).

    The correction keeps the first points from being pulled toward zero, so the smoothed curve
    starts at the data instead of below it.
    """
    v = np.asarray(values, dtype=np.float64)
    if v.size == 0:
        return v
    if not 0 <= beta < 1:
        raise ValueError(f"ema_smooth: beta must be in [0, 1), got {beta!r}")
    out = np.empty_like(v)
    avg = 0.0
    # A sequential recurrence; curves hold thousands of points at most, so this is not a hot path.
    for t, x in enumerate(v, 1):
        avg = beta * avg + (1 - beta) * x
        out[t - 1] = avg / (1 - beta**t)
    return out
