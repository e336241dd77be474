"""Parameter: a Tensor that a Module registers as learnable."""

from __future__ import annotations

import numpy as np

from nnlab.engine.tensor import Tensor


# Callables that see each new parameter's shape before its values are allocated (innermost last);
# nnlab.train.checkpoint uses one to stop an architecture that asks for more than its file holds.
_BUILD_GUARDS: list = []


def check_allocation(shape) -> None:
    """Called by layers before they allocate a parameter of ``shape`` (a model being rebuilt from
    a file may refuse it); the parameter itself is counted when it is made."""
    if _BUILD_GUARDS:
        _BUILD_GUARDS[-1](tuple(shape), commit=False)


class Parameter(Tensor):
    """A learnable tensor: requires grad unless frozen; float32 unless given a float64 array."""

    __slots__ = ()

    def __init__(self, data, requires_grad: bool = True):
        arr = data.data if isinstance(data, Tensor) else data
        if _BUILD_GUARDS:  # a model rebuilt from a file: its sizes are checked before the copy below
            _BUILD_GUARDS[-1](np.shape(arr))
        arr = np.array(arr, copy=True)
        if arr.dtype.kind != "f":
            arr = arr.astype(np.float32)
        super().__init__(arr, requires_grad=requires_grad)

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()
