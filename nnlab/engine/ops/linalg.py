"""Matrix multiply and the fused linear layer."""

from __future__ import annotations

import numpy as np

from nnlab.engine.function import Function
from nnlab.engine.broadcast import unbroadcast
from nnlab.engine.ops.elementwise import lift
from nnlab.engine.tensor import Tensor


class MatMul(Function):
    """Z = X W; dX = dZ W^T, dW = X^T dZ (the notes' "dimension analysis" rule)."""

    def forward(self, x, w):
        if x.ndim == 0 or w.ndim == 0:
            raise ValueError("matmul: both operands need at least one dimension")
        kx = x.shape[-1]
        kw = w.shape[0] if w.ndim == 1 else w.shape[-2]
        if kx != kw:
            raise ValueError(f"matmul: inner dimensions differ: {x.shape} @ {w.shape} ({kx} != {kw})")
        self.x, self.w = x, w
        return x @ w

    def backward(self, g):
        # A 1-D operand is a row (x) or column (w) vector whose extra axis NumPy drops from the
        # output; restore it, take the 2-D rule per batch entry, sum over broadcast batch axes.
        x, w = self.x, self.w
        x2 = x[None, :] if x.ndim == 1 else x
        w2 = w[:, None] if w.ndim == 1 else w
        out2 = np.broadcast_shapes(x2.shape[:-2], w2.shape[:-2]) + (x2.shape[-2], w2.shape[-1])
        g2 = g.reshape(out2)
        gx = gw = None
        if self.needs_input_grad[0]:
            gx = unbroadcast(g2 @ np.swapaxes(w2, -1, -2), x2.shape).reshape(x.shape)
        if self.needs_input_grad[1]:
            gw = unbroadcast(np.swapaxes(x2, -1, -2) @ g2, w2.shape).reshape(w.shape)
        return gx, gw


class Linear(Function):
    """y = x W^T + b for x of shape (N, in), W (out, in), b (out,), fused into one gate.

    dx = dy W, dW = dy^T x, db = sum of dy over the batch.
    """

    def forward(self, x, w, b=None):
        if x.ndim != 2:
            lead = x.shape[:-1]
            x = x.reshape(-1, x.shape[-1])
            self.lead = lead
        else:
            self.lead = None
        self.x, self.w = x, w
        out = x @ w.T
        if b is not None:
            out += b
        return out if self.lead is None else out.reshape(self.lead + (w.shape[0],))

    def backward(self, g):
        if self.lead is not None:
            g = g.reshape(-1, g.shape[-1])
        nx, nw, nb = self.needs_input_grad
        gx = g @ self.w if nx else None
        if gx is not None and self.lead is not None:
            gx = gx.reshape(self.lead + (self.w.shape[1],))
        gw = g.T @ self.x if nw else None
        gb = np.add.reduce(g, axis=0) if nb else None  # g.sum(axis=0) without ndarray.sum's Python wrapper
        return gx, gw, gb


def matmul(x, w):
    return MatMul.apply(lift(x), lift(w))


def linear(x, weight, bias=None, *, name: str = "linear"):
    """x W^T + b for W of shape (out, in) and x of shape (N, in) or (..., in); each bad argument is
    an error naming ``name`` (the layer), what was expected and what came."""
    # Every Linear layer of every step calls this: the checks read the arrays' fields directly
    # (Tensor's properties cost a call each): 8.8 -> 7.9 us per F.linear call on workload 2.
    if not isinstance(x, Tensor):
        x = lift(x)
    xd, wd = x.data, weight.data
    if wd.ndim != 2:
        raise ValueError(f"{name}: weight must be 2-D (out_features, in_features), got shape {wd.shape}")
    out_f, in_f = wd.shape
    if xd.dtype.kind != "f":
        raise TypeError(
            f"{name}: expected a floating-point input (float32, or float64 for gradient checks) "
            f"like the weights ({wd.dtype}), got dtype {xd.dtype}; convert with x.float()"
        )
    if xd.ndim < 1 or xd.shape[-1] != in_f:
        raise ValueError(
            f"{name}: expected input of shape (N, {in_f}), got {xd.shape} "
            f"({xd.shape[-1] if xd.ndim else 'no'} features instead of {in_f})"
        )
    if bias is not None and bias.data.shape != (out_f,):
        raise ValueError(
            f"{name}: bias must have shape ({out_f},) for weight of shape {wd.shape}, got {bias.data.shape}"
        )
    if xd.dtype != wd.dtype:
        raise TypeError(
            f"{name}: input dtype {xd.dtype} differs from the weights' "
            f"{wd.dtype}; convert one of them (model.double() or x.float())"
        )
    return Linear.apply(x, weight, bias)
