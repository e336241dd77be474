"""Tensor creation under PyTorch's names and signatures (``nnlab.zeros(2, 3)``, ``nnlab.randn``...).

Floats are float32 unless ``dtype`` says otherwise, as in torch; random tensors draw from nnlab's
global generator, so ``nnlab.manual_seed`` reproduces them.
"""

from __future__ import annotations

import numpy as np

from nnlab.engine.random import get_rng
from nnlab.engine.tensor import DEFAULT_DTYPE, Tensor

__all__ = [
    "zeros",
    "ones",
    "full",
    "empty",
    "eye",
    "randn",
    "rand",
    "randint",
    "randperm",
    "normal",
    "arange",
    "linspace",
    "zeros_like",
    "ones_like",
    "full_like",
    "empty_like",
    "randn_like",
    "rand_like",
    "from_numpy",
    "as_tensor",
]


def _shape(size, fn):
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        size = tuple(size[0])
    out = []
    for s in size:
        if isinstance(s, bool) or not isinstance(s, (int, np.integer)) or s < 0:
            raise TypeError(f"{fn}: sizes must be non-negative ints, got {size!r}")
        out.append(int(s))
    return tuple(out)


def _make(arr, dtype, requires_grad, device, fn):
    if device is not None:
        from nnlab.engine.device import device as _device

        _device(device)  # refuses anything but the CPU, naming what is missing
    if dtype is not None:
        arr = arr.astype(np.dtype(dtype), copy=False)
    return Tensor(arr, requires_grad=requires_grad)


def zeros(*size, dtype=None, requires_grad=False, device=None):
    return _make(np.zeros(_shape(size, "zeros"), dtype or DEFAULT_DTYPE), None, requires_grad, device, "zeros")


def ones(*size, dtype=None, requires_grad=False, device=None):
    return _make(np.ones(_shape(size, "ones"), dtype or DEFAULT_DTYPE), None, requires_grad, device, "ones")


def empty(*size, dtype=None, requires_grad=False, device=None):
    return zeros(*size, dtype=dtype, requires_grad=requires_grad, device=device)


def full(size, fill_value, dtype=None, requires_grad=False, device=None):
    if dtype is None:
        dtype = (
            DEFAULT_DTYPE if isinstance(fill_value, float) else np.bool_ if isinstance(fill_value, bool) else np.int64
        )
    return _make(np.full(_shape((size,), "full"), fill_value, dtype), None, requires_grad, device, "full")


def eye(n, m=None, dtype=None, requires_grad=False, device=None):
    return _make(np.eye(n, m, dtype=dtype or DEFAULT_DTYPE), None, requires_grad, device, "eye")


def randn(*size, dtype=None, requires_grad=False, generator=None, device=None):
    """Standard normal samples (float32 by default)."""
    rng = generator if generator is not None else get_rng()
    arr = rng.standard_normal(_shape(size, "randn")).astype(dtype or DEFAULT_DTYPE)
    return _make(arr, None, requires_grad, device, "randn")


def rand(*size, dtype=None, requires_grad=False, generator=None, device=None):
    """Uniform samples on [0, 1)."""
    rng = generator if generator is not None else get_rng()
    arr = rng.random(_shape(size, "rand")).astype(dtype or DEFAULT_DTYPE)
    return _make(arr, None, requires_grad, device, "rand")


def randint(low, high=None, size=None, dtype=None, generator=None, device=None):
    """Integers in [low, high) (torch's ``randint(high, size)`` form works too)."""
    if high is None or size is None and isinstance(high, (tuple, list)):
        low, high, size = 0, low if high is None else low, size if high is None else high
    if size is None:
        raise TypeError("randint: give size, e.g. randint(0, 10, (3,))")
    rng = generator if generator is not None else get_rng()
    arr = rng.integers(low, high, _shape((size,), "randint"))
    return _make(arr.astype(dtype or np.int64), None, False, device, "randint")


def randperm(n, dtype=None, generator=None, device=None):
    rng = generator if generator is not None else get_rng()
    return _make(rng.permutation(int(n)).astype(dtype or np.int64), None, False, device, "randperm")


def normal(mean, std, size, dtype=None, requires_grad=False, generator=None, device=None):
    rng = generator if generator is not None else get_rng()
    arr = rng.normal(mean, std, _shape((size,), "normal")).astype(dtype or DEFAULT_DTYPE)
    return _make(arr, None, requires_grad, device, "normal")


def arange(start, end=None, step=1, dtype=None, requires_grad=False, device=None):
    """[start, end) in steps; int64 for whole-number arguments, float32 otherwise (as torch)."""
    if end is None:
        start, end = 0, start
    whole = all(isinstance(v, (int, np.integer)) for v in (start, end, step))
    arr = np.arange(start, end, step, dtype=dtype or (np.int64 if whole else DEFAULT_DTYPE))
    return _make(arr, None, requires_grad, device, "arange")


def linspace(start, end, steps, dtype=None, requires_grad=False, device=None):
    arr = np.linspace(start, end, int(steps), dtype=np.float64).astype(dtype or DEFAULT_DTYPE)
    return _make(arr, None, requires_grad, device, "linspace")


def _like(x, fn):
    if not isinstance(x, Tensor):
        x = Tensor(x)
    return x


def zeros_like(x, dtype=None, requires_grad=False, device=None):
    x = _like(x, "zeros_like")
    return _make(np.zeros(x.shape, dtype or x.dtype), None, requires_grad, device, "zeros_like")


def ones_like(x, dtype=None, requires_grad=False, device=None):
    x = _like(x, "ones_like")
    return _make(np.ones(x.shape, dtype or x.dtype), None, requires_grad, device, "ones_like")


def empty_like(x, dtype=None, requires_grad=False, device=None):
    return zeros_like(x, dtype=dtype, requires_grad=requires_grad, device=device)


def full_like(x, fill_value, dtype=None, requires_grad=False, device=None):
    x = _like(x, "full_like")
    return _make(np.full(x.shape, fill_value, dtype or x.dtype), None, requires_grad, device, "full_like")


def randn_like(x, dtype=None, requires_grad=False, device=None):
    x = _like(x, "randn_like")
    return randn(*x.shape, dtype=dtype or x.dtype, requires_grad=requires_grad, device=device)


def rand_like(x, dtype=None, requires_grad=False, device=None):
    x = _like(x, "rand_like")
    return rand(*x.shape, dtype=dtype or x.dtype, requires_grad=requires_grad, device=device)


def from_numpy(array: np.ndarray) -> Tensor:
    """A tensor sharing ``array``'s memory and dtype (float64 stays float64, as in torch)."""
    if not isinstance(array, np.ndarray):
        raise TypeError(f"from_numpy: expected a numpy.ndarray, got {type(array).__name__}")
    return Tensor(array)


def as_tensor(data, dtype=None, device=None):
    if isinstance(data, Tensor) and (dtype is None or np.dtype(dtype) == data.dtype):
        return data
    return (
        _make(np.asarray(data.data if isinstance(data, Tensor) else data), dtype, False, device, "as_tensor")
        if dtype is not None or isinstance(data, np.ndarray)
        else Tensor(data)
    )
