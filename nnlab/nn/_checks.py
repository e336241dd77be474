"""Argument checks shared by the layers' constructors (messages name the layer and the argument)."""

from __future__ import annotations

import math

import numpy as np


def is_number(v) -> bool:
    """A finite int or float (NumPy scalars included; booleans and strings are not numbers here)."""
    return (
        isinstance(v, (int, float, np.integer, np.floating))
        and not isinstance(v, (bool, np.bool_))
        and math.isfinite(v)
    )


def positive_ints(layer: str, **sizes) -> tuple[int, ...]:
    """The given sizes as ints, each a positive integer (2.5 or True is an error, not truncated)."""
    out = []
    for key, v in sizes.items():
        if isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, np.integer)) or v < 1:
            raise ValueError(f"{layer}: {key} must be a positive integer, got {v!r}")
        out.append(int(v))
    return tuple(out)
