"""Top-level tensor functions under PyTorch's names: ``nnlab.cat``, ``nnlab.flatten``,
``nnlab.max(x, dim=1)``, ``nnlab.sin``... Each is a thin call of the engine's ops (or of the
Tensor method of the same name), with torch's ``dim``/``keepdim`` keywords and nnlab's ``axis``
accepted as a synonym."""

from __future__ import annotations

import numpy as np

from nnlab.engine import ops
from nnlab.engine.ops import trig
from nnlab.engine.ops.elementwise import lift
from nnlab.engine.tensor import Tensor

__all__ = [
    "cat",
    "concat",
    "stack",
    "flatten",
    "reshape",
    "squeeze",
    "unsqueeze",
    "transpose",
    "permute",
    "t",
    "argmax",
    "argmin",
    "max",
    "min",
    "sum",
    "mean",
    "std",
    "var",
    "exp",
    "log",
    "sqrt",
    "abs",
    "sin",
    "cos",
    "tanh",
    "sigmoid",
    "relu",
    "softmax",
    "log_softmax",
    "matmul",
    "mm",
    "dot",
    "clamp",
    "clip",
    "where",
    "maximum",
    "minimum",
    "pow",
    "square",
    "eq",
    "equal",
    "allclose",
    "numel",
    "is_tensor",
    "logsumexp",
]


def _axis(dim, axis):
    if axis is not None and dim is not None:
        raise TypeError("give dim or axis, not both (they are synonyms)")
    return axis if axis is not None else dim


def cat(tensors, dim: int = 0, *, axis=None):
    return ops.concatenate(list(tensors), axis=_axis(dim, axis))


concat = cat


def stack(tensors, dim: int = 0, *, axis=None):
    return ops.stack(list(tensors), axis=_axis(dim, axis))


def flatten(x, start_dim: int = 0, end_dim: int = -1):
    return lift(x).flatten(start_dim, end_dim)


def reshape(x, shape):
    return lift(x).reshape(shape)


def squeeze(x, dim=None):
    return lift(x).squeeze(dim)


def unsqueeze(x, dim: int):
    return lift(x).unsqueeze(dim)


def transpose(x, dim0: int, dim1: int):
    return lift(x).swapaxes(dim0, dim1)


def permute(x, dims):
    return lift(x).permute(*dims)


def t(x):
    return lift(x).t()


def argmax(x, dim=None, keepdim=False, *, axis=None):
    return lift(x).argmax(_axis(dim, axis), keepdim)


def argmin(x, dim=None, keepdim=False, *, axis=None):
    return lift(x).argmin(_axis(dim, axis), keepdim)


def max(x, dim=None, keepdim=False, *, axis=None):
    """``max(x)``: the maximum; ``max(x, dim)``: (values, indices); ``max(x, y)``: elementwise."""
    if isinstance(dim, (Tensor, np.ndarray)):
        return ops.maximum(x, dim)
    if axis is not None:
        return lift(x).max(axis=axis, keepdims=keepdim)
    return lift(x).max(dim, keepdim)


def min(x, dim=None, keepdim=False, *, axis=None):
    if isinstance(dim, (Tensor, np.ndarray)):
        return ops.minimum(x, dim)
    if axis is not None:
        return lift(x).min(axis=axis, keepdims=keepdim)
    return lift(x).min(dim, keepdim)


def sum(x, dim=None, keepdim=False, *, axis=None):
    return lift(x).sum(_axis(dim, axis), keepdim)


def mean(x, dim=None, keepdim=False, *, axis=None):
    return lift(x).mean(_axis(dim, axis), keepdim)


def std(x, dim=None, unbiased=True, keepdim=False, *, correction=None):
    return lift(x).std(dim, unbiased, keepdim, correction=correction)


def var(x, dim=None, unbiased=True, keepdim=False, *, correction=None):
    return lift(x).var(dim, unbiased, keepdim, correction=correction)


def logsumexp(x, dim, keepdim=False):
    return ops.logsumexp(x, axis=dim, keepdims=keepdim)


def _float(x):
    x = lift(x)
    return x if x.dtype.kind == "f" else x.float()


def exp(x):
    return ops.exp(_float(x))


def log(x):
    return ops.log(_float(x))


def sqrt(x):
    return ops.sqrt(_float(x))


def abs(x):
    return ops.abs(lift(x))


sin, cos = trig.sin, trig.cos


def tanh(x):
    return ops.tanh(_float(x))


def sigmoid(x):
    return ops.sigmoid(_float(x))


def relu(x):
    return ops.relu(_float(x))


def softmax(x, dim: int, *, axis=None):
    return ops.softmax(x, axis=_axis(dim, axis))


def log_softmax(x, dim: int, *, axis=None):
    return ops.log_softmax(x, axis=_axis(dim, axis))


def matmul(a, b):
    return ops.matmul(a, b)


mm = matmul


def dot(a, b):
    return (lift(a) * b).sum()


def clamp(x, min=None, max=None):
    return ops.clip(x, min, max)


clip = clamp


def where(condition, x, y):
    return ops.where(condition, x, y)


def maximum(a, b):
    return ops.maximum(a, b)


def minimum(a, b):
    return ops.minimum(a, b)


def pow(x, exponent):
    return lift(x) ** exponent


def square(x):
    x = lift(x)
    return x * x


def eq(a, b):
    return lift(a) == b


def equal(a, b) -> bool:
    return lift(a).equal(b)


def allclose(a, b, rtol=1e-5, atol=1e-8) -> bool:
    return lift(a).allclose(b, rtol, atol)


def numel(x) -> int:
    return lift(x).numel()


def is_tensor(x) -> bool:
    return isinstance(x, Tensor)
