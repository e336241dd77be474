"""Shape gates: they move values without changing them, so backward moves gradients back."""

from __future__ import annotations

import numpy as np

from nnlab.engine._args import check_axis, check_int, check_shape
from nnlab.engine.function import Function
from nnlab.engine.ops.elementwise import lift
from nnlab.engine.tensor import Tensor


class Reshape(Function):
    """Same values, new shape; the gradient is reshaped back."""

    def forward(self, x, shape):
        self.shape = x.shape
        try:
            return x.reshape(shape)
        except ValueError:
            raise ValueError(
                f"reshape: cannot reshape a tensor of shape {x.shape} ({x.size} values) into {tuple(shape)}"
            ) from None

    def backward(self, g):
        return (g.reshape(self.shape),)


class Transpose(Function):
    """Permute axes; backward applies the inverse permutation."""

    def forward(self, x, axes=None):
        self.axes = axes
        return np.transpose(x, axes)

    def backward(self, g):
        inv = None if self.axes is None else tuple(np.argsort(self.axes))
        return (np.transpose(g, inv),)


def _is_basic(index) -> bool:
    """True for ints/slices/Ellipsis/None (views with no repeated entries)."""
    items = index if isinstance(index, tuple) else (index,)
    return all(isinstance(i, (int, np.integer, slice, type(Ellipsis), type(None))) for i in items)


class GetItem(Function):
    """x[index]; the gradient is scattered back (summed where fancy indexing repeats an entry)."""

    def forward(self, x, index):
        self.shape, self.dtype, self.index = x.shape, x.dtype, index
        try:
            return x[index]
        except IndexError as e:
            raise IndexError(f"indexing a tensor of shape {x.shape}: {e}") from None

    def backward(self, g):
        out = np.zeros(self.shape, dtype=g.dtype)
        if _is_basic(self.index):
            out[self.index] = g
        else:
            np.add.at(out, self.index, g)
        return (out,)


class Concatenate(Function):
    """Join along an axis; backward splits the gradient at the same offsets."""

    def forward(self, *xs, axis=0):
        self.axis = axis
        self.sizes = [x.shape[axis] for x in xs]
        try:
            return np.concatenate(xs, axis=axis)
        except ValueError as e:
            raise ValueError(f"concatenate along axis {axis}: shapes {[x.shape for x in xs]}: {e}") from None

    def backward(self, g):
        cuts = np.cumsum(self.sizes)[:-1]
        return tuple(np.split(g, cuts, axis=self.axis))


class Stack(Function):
    """Stack along a new axis; backward takes the slices apart."""

    def forward(self, *xs, axis=0):
        self.axis = axis
        shapes = {x.shape for x in xs}
        if len(shapes) != 1:
            raise ValueError(f"stack: all tensors must have the same shape, got {[x.shape for x in xs]}")
        return np.stack(xs, axis=axis)

    def backward(self, g):
        return tuple(np.moveaxis(g, self.axis, 0))


class Pad(Function):
    """Constant padding; backward crops the gradient back to the input's region."""

    def forward(self, x, pad_width, value=0.0):
        self.slices = tuple(slice(lo, lo + n) for (lo, _), n in zip(pad_width, x.shape))
        return np.pad(x, pad_width, mode="constant", constant_values=value)

    def backward(self, g):
        return (g[self.slices],)


def reshape(x, shape):
    return Reshape.apply(lift(x), shape=check_shape("reshape", shape))


def flatten(x, start_dim: int = 0):
    """Merge every axis from ``start_dim`` on (``start_dim=1`` keeps the batch axis)."""
    x = lift(x)
    start_dim = check_axis("flatten", start_dim, x.shape, "start_dim")
    return reshape(x, x.shape[:start_dim] + (-1,))


def transpose(x, axes=None):
    x = lift(x)
    if axes is not None:
        given = tuple(check_int("transpose", "axes", a) for a in (axes if isinstance(axes, (list, tuple)) else (axes,)))
        # Normalize negative axes: backward inverts the permutation with argsort.
        axes = tuple(a % x.ndim if -x.ndim <= a < x.ndim else -1 for a in given)
        if sorted(axes) != list(range(x.ndim)):
            raise ValueError(
                f"transpose: axes must be a permutation of 0..{x.ndim - 1} for a tensor of shape {x.shape}, got {given}"
            )
    return Transpose.apply(x, axes=axes)


def getitem(x, index):
    if isinstance(index, Tensor):
        index = index.data
    elif isinstance(index, tuple):
        index = tuple(i.data if isinstance(i, Tensor) else i for i in index)
    return GetItem.apply(lift(x), index=index)


def concatenate(tensors, axis: int = 0):
    tensors = [lift(t) for t in tensors]
    if not tensors:
        raise ValueError("concatenate: need at least one tensor")
    shapes = [t.shape for t in tensors]
    nd = tensors[0].ndim
    if nd == 0 or any(len(s) != nd for s in shapes) or not -nd <= axis < nd:
        raise ValueError(
            f"concatenate: expected tensors with the same number of dimensions and "
            f"axis within it, got shapes {shapes} and axis {axis}"
        )
    axis %= nd
    if any(s[:axis] + s[axis + 1 :] != shapes[0][:axis] + shapes[0][axis + 1 :] for s in shapes):
        raise ValueError(f"concatenate: shapes must match except along axis {axis}, got {shapes}")
    return Concatenate.apply(*tensors, axis=axis)


def stack(tensors, axis: int = 0):
    tensors = [lift(t) for t in tensors]
    if not tensors:
        raise ValueError("stack: need at least one tensor")
    nd = tensors[0].ndim + 1
    if not -nd <= axis < nd:
        raise ValueError(
            f"stack: axis {axis} is out of range for stacking tensors of shape "
            f"{tensors[0].shape} (the result has {nd} dimensions)"
        )
    return Stack.apply(*tensors, axis=axis % nd)


def pad(x, pad_width, value: float = 0.0):
    """Pad with a constant; ``pad_width`` is one (before, after) pair per axis, as in np.pad."""
    x = lift(x)
    pw = [tuple(int(v) for v in p) for p in pad_width]
    if len(pw) != x.ndim or any(len(p) != 2 or min(p) < 0 for p in pw):
        raise ValueError(
            f"pad: pad_width needs one non-negative (before, after) pair per axis "
            f"({x.ndim} for shape {x.shape}), got {pad_width}"
        )
    return Pad.apply(x, pad_width=pw, value=value)
