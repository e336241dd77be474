"""Reductions and the softmax family.

sum/mean spread the upstream gradient back over the reduced axes; max/min route it to the winners
(the max gate's "switch"), split evenly between ties so that the gradient stays a true subgradient.
Softmax and log-softmax subtract the row maximum first (the notes' numerically stable form).
"""

from __future__ import annotations

import numpy as np

from nnlab.engine._args import check_axes, check_bool
from nnlab.engine.function import Function
from nnlab.engine.ops.elementwise import lift


def _axes(axis, ndim, op="reduction"):
    """Normalized, validated reduction axes; errors name the op."""
    return check_axes(op, axis, ndim)


def _axis(axis, ndim, op):
    """Validated axis for the softmax family: an int stays an int; None or a tuple becomes the
    tuple of axes (all of them for None)."""
    axes = _axes(axis, ndim, op)
    return axes[0] if isinstance(axis, (int, np.integer)) else axes


def _expand(g, shape, axes, keepdims):
    """Reshape a reduced gradient so that it broadcasts against the input."""
    if not keepdims:
        g = np.expand_dims(g, axes)
    return g


class Sum(Function):
    """z = sum(x over axes); dz/dx = 1 everywhere."""

    def forward(self, x, axis=None, keepdims=False):
        self.shape, self.axes, self.keepdims = (
            x.shape,
            _axes(axis, x.ndim, "sum"),
            check_bool("sum", "keepdims", keepdims),
        )
        return np.sum(x, axis=self.axes, keepdims=keepdims)

    def backward(self, g):
        g = _expand(g, self.shape, self.axes, self.keepdims)
        return (np.broadcast_to(g, self.shape).copy(),)


class Mean(Function):
    """z = mean(x over axes); dz/dx = 1/n."""

    def forward(self, x, axis=None, keepdims=False):
        self.shape, self.axes, self.keepdims = (
            x.shape,
            _axes(axis, x.ndim, "mean"),
            check_bool("mean", "keepdims", keepdims),
        )
        self.n = int(np.prod([x.shape[a] for a in self.axes])) if self.axes else 1
        return np.mean(x, axis=self.axes, keepdims=keepdims)

    def backward(self, g):
        g = _expand(g, self.shape, self.axes, self.keepdims)
        return (np.broadcast_to(g / self.n, self.shape).astype(g.dtype, copy=True),)


class Max(Function):
    """z = max(x over axes); the gradient flows to the arg-max entries (shared among ties).

    A NaN wins (NumPy's max propagates it), so its gradient goes to the NaN entries.
    """

    sign = 1

    def forward(self, x, axis=None, keepdims=False):
        op = "max" if self.sign > 0 else "min"
        self.shape, self.axes, self.keepdims = x.shape, _axes(axis, x.ndim, op), check_bool(op, "keepdims", keepdims)
        if x.size == 0 and any(x.shape[a] == 0 for a in self.axes):
            raise ValueError(
                f"{op}: cannot reduce over an empty axis (input shape {x.shape}, "
                f"axes {self.axes}): the {op} of no values is undefined"
            )
        out = np.max(x, axis=self.axes, keepdims=True) if self.sign > 0 else np.min(x, axis=self.axes, keepdims=True)
        mask = x == out
        count = mask.sum(axis=self.axes, keepdims=True)
        if not count.all():  # only where the winner is NaN (NaN != NaN)
            mask |= np.isnan(x) & np.isnan(out)
            count = mask.sum(axis=self.axes, keepdims=True)
        self.mask = mask / count.astype(x.dtype)
        return out if keepdims else np.squeeze(out, axis=self.axes)

    def backward(self, g):
        g = _expand(g, self.shape, self.axes, self.keepdims)
        return ((g * self.mask).astype(g.dtype, copy=False),)


class Min(Max):
    """z = min(x over axes); the gradient flows to the arg-min entries."""

    sign = -1


class LogSumExp(Function):
    """z = log sum exp(x) along an axis, computed as m + log sum exp(x - m); dz/dx = softmax(x)."""

    def forward(self, x, axis=-1, keepdims=False):
        self.axis, self.keepdims = axis, keepdims
        m = np.max(x, axis=axis, keepdims=True)
        e = np.exp(x - m)
        s = e.sum(axis=axis, keepdims=True)
        self.p = e / s
        out = m + np.log(s)
        return out if keepdims else np.squeeze(out, axis=axis)

    def backward(self, g):
        if not self.keepdims:
            g = np.expand_dims(g, self.axis)
        return (g * self.p,)


class Softmax(Function):
    """p = e^(x - max) / sum e^(x - max); the VJP is p * (g - sum(g * p))."""

    def forward(self, x, axis=-1):
        self.axis = axis
        e = np.exp(x - np.max(x, axis=axis, keepdims=True))
        self.p = e / e.sum(axis=axis, keepdims=True)
        return self.p

    def backward(self, g):
        p = self.p
        return (p * (g - (g * p).sum(axis=self.axis, keepdims=True)),)


class LogSoftmax(Function):
    """l = x - logsumexp(x); the VJP is g - softmax(x) * sum(g)."""

    def forward(self, x, axis=-1):
        self.axis = axis
        shifted = x - np.max(x, axis=axis, keepdims=True)
        e = np.exp(shifted)
        s = e.sum(axis=axis, keepdims=True)
        self.p = e / s
        return shifted - np.log(s)

    def backward(self, g):
        return (g - self.p * g.sum(axis=self.axis, keepdims=True),)


def sum(x, axis=None, keepdims=False):
    return Sum.apply(lift(x), axis=axis, keepdims=keepdims)


def mean(x, axis=None, keepdims=False):
    return Mean.apply(lift(x), axis=axis, keepdims=keepdims)


def max(x, axis=None, keepdims=False):
    return Max.apply(lift(x), axis=axis, keepdims=keepdims)


def min(x, axis=None, keepdims=False):
    return Min.apply(lift(x), axis=axis, keepdims=keepdims)


def logsumexp(x, axis=-1, keepdims=False):
    x = lift(x)
    return LogSumExp.apply(x, axis=_axis(axis, x.ndim, "logsumexp"), keepdims=keepdims)


def softmax(x, axis=-1):
    x = lift(x)
    return Softmax.apply(x, axis=_axis(axis, x.ndim, "softmax"))


def log_softmax(x, axis=-1):
    x = lift(x)
    return LogSoftmax.apply(x, axis=_axis(axis, x.ndim, "log_softmax"))
