"""Elementwise gates: the add, multiply and max gates of the notes, and the activations.

Each backward is the local gradient times the upstream gradient (chain rule), un-broadcast to the
input's shape.
"""

from __future__ import annotations

import numpy as np

from nnlab.engine import kernels, parallel
from nnlab.engine._args import check_dtype
from nnlab.engine.broadcast import broadcast_shapes, unbroadcast
from nnlab.engine.function import Function
from nnlab.engine.tensor import Tensor


def lift(x, like: Tensor | None = None) -> Tensor:
    """Wrap a Python number or array as a constant Tensor, in the dtype of ``like`` when it is a
    float tensor (so that ``x * 0.5`` stays float32)."""
    if isinstance(x, Tensor):
        return x
    if like is not None and like.data.dtype.kind == "f" and np.ndim(x) == 0:
        return Tensor(np.asarray(x, dtype=like.data.dtype))
    return Tensor(x)


def _pair(a, b):
    if not isinstance(a, Tensor):
        a = lift(a, b)
    if not isinstance(b, Tensor):
        b = lift(b, a)
    ka, kb = a.data.dtype.kind, b.data.dtype.kind
    if ka != kb and (ka == "f") != (kb == "f"):
        # An integer/boolean operand meets a float one: compute in the float's dtype, as PyTorch
        # does (NumPy would promote int64 with float32 to float64).
        if ka == "f":
            b = Tensor(b.data.astype(a.data.dtype))
        else:
            a = Tensor(a.data.astype(b.data.dtype))
    return a, b


# Largest x with a finite e^x, per float type (rounded down): Sigmoid caps its exponent there.
# Scalars of the array's own type: a ufunc given a Python number converts it on every call
# (~0.1 us of the ~0.4 us a small in-place pass costs); the values are the same.
_EXP_CAP = {np.float16: np.float16(11.0), np.float32: np.float32(88.0), np.float64: np.float64(709.0)}
_ONE = {t: t(1) for t in (np.float16, np.float32, np.float64)}


class Add(Function):
    """z = x + y; the add gate passes the upstream gradient to both inputs unchanged."""

    def forward(self, x, y):
        self.shapes = (x.shape, y.shape)
        if x.shape != y.shape and x.ndim and y.ndim:  # a 0-d operand always broadcasts
            broadcast_shapes("add", x.shape, y.shape)
        return x + y

    def backward(self, g):
        sx, sy = self.shapes
        return (
            unbroadcast(g, sx) if self.needs_input_grad[0] else None,
            unbroadcast(g, sy) if self.needs_input_grad[1] else None,
        )


class Sub(Function):
    """z = x - y; dz/dx = 1, dz/dy = -1."""

    def forward(self, x, y):
        self.shapes = (x.shape, y.shape)
        if x.shape != y.shape and x.ndim and y.ndim:  # a 0-d operand always broadcasts
            broadcast_shapes("sub", x.shape, y.shape)
        return x - y

    def backward(self, g):
        sx, sy = self.shapes
        return (
            unbroadcast(g, sx) if self.needs_input_grad[0] else None,
            unbroadcast(-g, sy) if self.needs_input_grad[1] else None,
        )


class Mul(Function):
    """z = x * y; the multiply gate swaps its inputs: dz/dx = y, dz/dy = x."""

    def forward(self, x, y):
        if x.shape != y.shape and x.ndim and y.ndim:  # a 0-d operand always broadcasts
            broadcast_shapes("mul", x.shape, y.shape)
        self.x, self.y = x, y
        return x * y

    def backward(self, g):
        x, y = self.x, self.y
        return (
            unbroadcast(g * y, x.shape) if self.needs_input_grad[0] else None,
            unbroadcast(g * x, y.shape) if self.needs_input_grad[1] else None,
        )


class Div(Function):
    """z = x / y; dz/dx = 1/y, dz/dy = -x/y^2."""

    def forward(self, x, y):
        if x.shape != y.shape and x.ndim and y.ndim:  # a 0-d operand always broadcasts
            broadcast_shapes("div", x.shape, y.shape)
        self.x, self.y = x, y
        return x / y

    def backward(self, g):
        x, y = self.x, self.y
        gx = g / y
        return (
            unbroadcast(gx, x.shape) if self.needs_input_grad[0] else None,
            unbroadcast(-gx * x / y, y.shape) if self.needs_input_grad[1] else None,
        )


class Neg(Function):
    """z = -x."""

    def forward(self, x):
        return -x

    def backward(self, g):
        return (-g,)


class Pow(Function):
    """z = x^p; dz/dx = p x^(p-1), dz/dp = x^p ln x (for x > 0)."""

    def forward(self, x, p):
        if x.shape != p.shape:
            broadcast_shapes("pow", x.shape, p.shape)
        self.x, self.p = x, p
        self.out = np.power(x, p)
        return self.out

    def backward(self, g):
        x, p = self.x, self.p
        gx = gp = None
        if self.needs_input_grad[0]:
            if p.all():
                local = p * np.power(x, p - 1)
            else:  # d(x^0)/dx = 0, also at x = 0 where x^-1 is infinite
                with np.errstate(divide="ignore", invalid="ignore"):
                    local = np.where(p == 0, 0, p * np.power(x, p - 1)).astype(x.dtype, copy=False)
            gx = unbroadcast(g * local, x.shape)
        if self.needs_input_grad[1]:
            with np.errstate(divide="ignore", invalid="ignore"):
                lnx = np.where(x > 0, np.log(np.where(x > 0, x, 1)), 0)
            gp = unbroadcast(g * self.out * lnx, p.shape)
        return gx, gp


class Exp(Function):
    """z = e^x; dz/dx = e^x (the forward's output, cached)."""

    def forward(self, x):
        self.out = np.exp(x)
        return self.out

    def backward(self, g):
        return (g * self.out,)


class Log(Function):
    """z = ln x; dz/dx = 1/x."""

    def forward(self, x):
        self.x = x
        return np.log(x)

    def backward(self, g):
        return (g / self.x,)


class Sqrt(Function):
    """z = sqrt(x); dz/dx = 1 / (2 sqrt(x))."""

    def forward(self, x):
        self.out = np.sqrt(x)
        return self.out

    def backward(self, g):
        return (g / (2 * self.out),)


class Abs(Function):
    """z = |x|; dz/dx = sign(x) (0 at the kink)."""

    def forward(self, x):
        self.x = x
        return np.abs(x)

    def backward(self, g):
        return (g * np.sign(self.x),)


class _Switch(Function):
    """Base of the gates that pass each element of one of two inputs through (max, min, where):
    the gradient goes to x where ``self.to_x`` is True and to y elsewhere, un-broadcast to each."""

    def backward(self, g):
        w = self.to_x
        return (
            unbroadcast(np.where(w, g, 0), self.sx) if self.needs_input_grad[0] else None,
            unbroadcast(np.where(w, 0, g), self.sy) if self.needs_input_grad[1] else None,
        )


class Maximum(_Switch):
    """z = max(x, y); the max gate routes the gradient to the winner (x on ties)."""

    def forward(self, x, y):
        if x.shape != y.shape:
            broadcast_shapes("maximum", x.shape, y.shape)
        self.sx, self.sy = x.shape, y.shape
        self.to_x = x >= y
        return np.maximum(x, y)


class Minimum(_Switch):
    """z = min(x, y); the gradient goes to the smaller input (x on ties)."""

    def forward(self, x, y):
        if x.shape != y.shape:
            broadcast_shapes("minimum", x.shape, y.shape)
        self.sx, self.sy = x.shape, y.shape
        self.to_x = x <= y
        return np.minimum(x, y)


class Where(_Switch):
    """z = cond ? x : y; the gradient goes to whichever input was chosen."""

    def forward(self, x, y, cond):
        self.sx, self.sy, self.to_x = x.shape, y.shape, cond
        return np.where(cond, x, y)


class Clip(Function):
    """z = clip(x, low, high); gradient 1 inside the range, 0 where clipped."""

    def forward(self, x, low=None, high=None):
        self.inside = np.ones(x.shape, dtype=bool)
        if low is not None:
            self.inside &= x >= low
        if high is not None:
            self.inside &= x <= high
        return np.clip(x, low, high)

    def backward(self, g):
        return (g * self.inside,)


class Cast(Function):
    """Change dtype; the gradient is cast back."""

    def forward(self, x, dtype):
        self.src = x.dtype
        return x.astype(dtype, copy=False)

    def backward(self, g):
        return (g.astype(self.src, copy=False),)


class Sigmoid(Function):
    """s = 1 / (1 + e^-x); ds/dx = (1 - s) s, the notes' sigmoid gate."""

    def forward(self, x):
        # Four in-place passes over one fresh array (2.5x cheaper than the textbook stable form
        # exp(-|x|) with a where(), which makes six temporaries; workload 2 runs it three times
        # per step). -x is capped at the largest exponent whose e^(-x) is still finite, so exp
        # never overflows: below x = -88.7 (float32) / -709.8 (float64) the output stays at
        # 1/(1 + e^cap) ~ 1e-38 / 1e-308 instead of sinking further into subnormal numbers.
        if x.dtype.kind != "f":  # integer input: compute in float32
            x = x.astype(np.float32)
        s = np.negative(x)
        if type(s) is not np.ndarray:  # a 0-d input gives a NumPy scalar
            s = np.asarray(s)
        kind = s.dtype.type
        np.minimum(s, _EXP_CAP.get(kind, 700.0), out=s)
        np.exp(s, out=s)
        s += _ONE.get(kind, 1)
        np.reciprocal(s, out=s)
        self.out = s
        return s

    def backward(self, g):
        # g (1 - s) s with one temporary.
        s = self.out
        r = np.subtract(_ONE.get(s.dtype.type, 1), s)
        r *= s
        r *= g
        return (r,)


class Tanh(Function):
    """t = tanh(x); dt/dx = 1 - t^2."""

    def forward(self, x):
        self.out = np.tanh(x)
        return self.out

    def backward(self, g):
        t = self.out
        r = 1 - t * t
        r *= g
        return (r,)


def _flat(a):
    """A 1-D view of ``a`` in memory order when its memory is one dense block in C order or, as a
    convolution's output, in channel-major order; else None."""
    if a.flags.c_contiguous:
        return a.reshape(-1)
    if a.ndim == 4 and a.transpose(1, 0, 2, 3).flags.c_contiguous:
        return a.transpose(1, 0, 2, 3).reshape(-1)
    return None


class ReLU(Function):
    """max(0, x); the gradient passes where x > 0 (0 at the kink, as in PyTorch).

    A CNN's activations are large enough to split over the cores (nnlab.engine.parallel): the
    forward's np.maximum in slices of the flat memory from 4 MiB on, the backward as one compiled
    pass per slice (nnlab.engine.kernels) where NumPy needs a mask pass and a multiply. Forward and
    backward, wall time, two threads, channel-major float32, before -> after: (64, 32, 32, 32)
    0.73 -> 0.57 and 1.41 -> 0.67 ms, (64, 32, 28, 28) 0.53 -> 0.48 and 1.18 -> 0.54 ms; one
    thread, backward (64, 32, 28, 28) 1.00 -> 0.68 ms. Splitting the forward of (64, 16, 24, 24)
    (2.4 MB) measured slower, 0.26 -> 0.32 ms, hence its threshold."""

    SPLIT_BYTES = 4 << 20

    def forward(self, x):
        xf = _flat(x) if x.nbytes >= self.SPLIT_BYTES else None
        if xf is None:
            out = np.maximum(x, 0)
        else:
            out = np.empty_like(x)  # x's layout, so that the flat views line up
            of = _flat(out)
            parallel.run(lambda a, b: np.maximum(xf[a:b], 0, out=of[a:b]), xf.size, x.nbytes)
        self.out = out
        return out

    def backward(self, g):
        out = self.out
        if g.size > 1 << 16 and g.dtype == out.dtype and g.strides == out.strides and kernels.handles(g.dtype):
            gf = _flat(g)  # (same strides: out's flat view lines up, or neither has one)
            if gf is not None:
                gx = np.empty_like(out)
                fn, of, xf = kernels.get("relu_backward"), _flat(out), _flat(gx)
                parallel.run(lambda a, b: fn(gf, of, xf, a, b), gf.size, g.nbytes)
                return (gx,)
        # Small arrays: the mask as a float array times g in place, a float-by-float multiply where
        # g * mask casts the boolean mask inside the ufunc (128x256: 9.3 -> 7.9 us). Large ones
        # (a CNN's activations) pay more for the extra float mask than for the cast: (64, 32, 28,
        # 28) 1.02 -> 1.07 ms, (64, 16, 24, 24) 0.33 -> 0.37 ms that way. Same values either way.
        if g.size > 1 << 16:
            return (g * (self.out > 0),)
        r = (self.out > 0).astype(g.dtype)
        r *= g
        return (r,)


def warm_kernels(dtype) -> None:
    """Run ReLU's compiled backward once for ``dtype`` (nnlab.engine.kernels.compile_all)."""
    a = np.zeros(4, dtype)
    kernels.get("relu_backward")(a, a, np.empty_like(a), 0, 4)


class LeakyReLU(Function):
    """x if x > 0 else a x; gradient 1 or a."""

    def forward(self, x, negative_slope=0.01):
        self.pos = x > 0
        self.a = negative_slope
        return np.where(self.pos, x, x * negative_slope).astype(x.dtype, copy=False)

    def backward(self, g):
        return (np.where(self.pos, g, g * self.a).astype(g.dtype, copy=False),)


# ---- functional entry points ----------------------------------------------------------
def add(x, y):
    x, y = _pair(x, y)
    return Add.apply(x, y)


def sub(x, y):
    x, y = _pair(x, y)
    return Sub.apply(x, y)


def mul(x, y):
    x, y = _pair(x, y)
    return Mul.apply(x, y)


def div(x, y):
    x, y = _pair(x, y)
    if x.data.dtype.kind != "f" and y.data.dtype.kind != "f":  # true division of integers
        x, y = Tensor(x.data.astype(np.float32)), Tensor(y.data.astype(np.float32))
    return Div.apply(x, y)


def neg(x):
    return Neg.apply(lift(x))


def pow(x, p):
    x, p = _pair(x, p)
    return Pow.apply(x, p)


def exp(x):
    return Exp.apply(lift(x))


def log(x):
    return Log.apply(lift(x))


def sqrt(x):
    return Sqrt.apply(lift(x))


def abs(x):
    return Abs.apply(lift(x))


def maximum(x, y):
    x, y = _pair(x, y)
    return Maximum.apply(x, y)


def minimum(x, y):
    x, y = _pair(x, y)
    return Minimum.apply(x, y)


def where(cond, x, y):
    """Elementwise choice; ``cond`` is a boolean array or Tensor (not differentiated)."""
    x, y = _pair(x, y)
    c = cond.data if isinstance(cond, Tensor) else np.asarray(cond)
    if c.dtype != bool:
        raise TypeError(f"where: cond must be boolean, got dtype {c.dtype}")
    try:
        np.broadcast_shapes(c.shape, x.shape, y.shape)
    except ValueError:
        raise ValueError(f"where: cond {c.shape}, x {x.shape} and y {y.shape} cannot be broadcast together") from None
    return Where.apply(x, y, cond=c)


def clip(x, low=None, high=None):
    if low is None and high is None:
        raise ValueError("clip: give low, high or both")
    x = lift(x)
    if any(isinstance(b, Tensor) and b.requires_grad for b in (low, high)):
        # Bounds that need a gradient (as torch.clamp gives them): the max and min gates route it.
        out = x if low is None else maximum(x, low)
        return out if high is None else minimum(out, high)
    low, high = (b.data if isinstance(b, Tensor) else b for b in (low, high))
    for bound in (low, high):
        if bound is not None and np.ndim(bound) and broadcast_shapes("clip", x.shape, np.shape(bound)) != x.shape:
            raise ValueError(
                f"clip: bounds of shape {np.shape(bound)} would broadcast the input of "
                f"shape {x.shape} to a bigger shape"
            )
    return Clip.apply(x, low=low, high=high)


def cast(x, dtype):
    return Cast.apply(lift(x), dtype=check_dtype("astype", dtype, kinds="biuf"))


def sigmoid(x):
    return Sigmoid.apply(lift(x))


def tanh(x):
    return Tanh.apply(lift(x))


def relu(x):
    return ReLU.apply(lift(x))


def leaky_relu(x, negative_slope: float = 0.01):
    return LeakyReLU.apply(lift(x), negative_slope=negative_slope)
