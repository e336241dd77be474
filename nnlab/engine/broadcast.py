"""Un-broadcasting: the gradient of a broadcast input is the sum over the axes it was stretched along."""

from __future__ import annotations

import numpy as np


def unbroadcast(grad: np.ndarray, shape: tuple) -> np.ndarray:
    """Sum ``grad`` down to ``shape`` (the inverse of NumPy broadcasting)."""
    if grad.shape == shape:
        return grad
    extra = grad.ndim - len(shape)
    if extra:
        grad = grad.sum(axis=tuple(range(extra)))
    axes = tuple(i for i, (g, s) in enumerate(zip(grad.shape, shape)) if s == 1 and g != 1)
    if axes:
        grad = grad.sum(axis=axes, keepdims=True)
    return grad.reshape(shape)


def broadcast_shapes(op: str, a: tuple, b: tuple) -> tuple:
    """The broadcast shape, or a ValueError that names the op and both shapes."""
    try:
        return np.broadcast_shapes(a, b)
    except ValueError:
        raise ValueError(
            f"{op}: shapes {a} and {b} cannot be broadcast together (trailing dimensions must be equal or 1)"
        ) from None
