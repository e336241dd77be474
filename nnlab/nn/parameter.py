"""Parameter: a Tensor that a Module registers as learnable."""
from __future__ import annotations

import numpy as np

from nnlab.engine.tensor import Tensor


class Parameter(Tensor):
    """A learnable tensor: requires grad unless frozen; float32 unless given a float64 array."""

    __slots__ = ()

    def __init__(self, data, requires_grad: bool = True):
        arr = data.data if isinstance(data, Tensor) else data
        arr = np.array(arr, copy=True)
        if arr.dtype.kind != "f":
            arr = arr.astype(np.float32)
        super().__init__(arr, requires_grad=requires_grad)

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()
