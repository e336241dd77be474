"""Tensor: an ndarray, its gradient, and the gate that made it."""

from __future__ import annotations

import numpy as np

from nnlab.engine import autograd
from nnlab.engine._args import check_array_data, check_axis
from nnlab.engine import inplace as _inplace

DEFAULT_DTYPE = np.float32
_UNSET = object()  # "not given", where None is itself a value to check
_FLOAT_KINDS = "f"
_new_tensor = object.__new__


def _as_array(data, dtype=None) -> np.ndarray:
    """NumPy arrays and NumPy scalars keep their dtype; Python numbers and lists of floats become
    float32 (as in PyTorch); integers and booleans keep theirs (labels, indices, masks)."""
    if isinstance(data, Tensor):
        data = data.data
    if isinstance(data, np.ndarray) and dtype is None and data.dtype.kind in "biuf":
        return data
    arr = check_array_data("tensor", data, dtype)  # strings, objects, ragged lists: a TypeError
    if dtype is not None or isinstance(data, (np.ndarray, np.generic)):
        return arr
    if arr.dtype == np.float64:
        arr = arr.astype(DEFAULT_DTYPE)
    return arr


def _set_fields(t: "Tensor", data: np.ndarray, requires_grad: bool, ctx) -> "Tensor":
    """Every field of a Tensor, set in this one place: the constructor, gate outputs
    (Function.apply) and scalar constants all come here."""
    t.data = data
    t.grad = None
    t.requires_grad = requires_grad
    t._ctx = ctx  # the gate that made this tensor (None for a leaf)
    t._retain_grad = False  # keep .grad although not a leaf (Tensor.retain_grad)
    return t


class Tensor:
    """A NumPy array plus what reverse-mode differentiation needs.

    Attributes:
        data: the ndarray.
        grad: ndarray of the same shape after ``backward`` (None before).
        requires_grad: whether gradients flow to (and accumulate in) this tensor.

    Gates keep references to their inputs' arrays, not copies (a copy per op would double the
    memory of a step). So an in-place edit of ``data`` between a forward and its backward changes
    the gradient that backward computes, without an error (PyTorch detects this with version
    counters). Update parameters after ``backward``, as the optimizers do.
    """

    __slots__ = ("data", "grad", "requires_grad", "_ctx", "_retain_grad", "__weakref__")
    __array_priority__ = 100  # ndarray <op> Tensor defers to Tensor's reflected operators

    def __init__(self, data, requires_grad: bool = False, dtype=None):
        arr = _as_array(data, dtype)
        if requires_grad and arr.dtype.kind not in _FLOAT_KINDS:
            raise TypeError(f"Tensor: only floating-point tensors can require grad, got dtype {arr.dtype}")
        _set_fields(self, arr, bool(requires_grad), None)

    # ---- basic properties -------------------------------------------------------------
    @property
    def shape(self):
        return self.data.shape

    @property
    def dtype(self):
        return self.data.dtype

    @property
    def ndim(self):
        return self.data.ndim

    @property
    def size(self):
        """The element count (NumPy's ``a.size``); called, torch's ``x.size()`` / ``x.size(dim)``."""
        return _Size(self.data.size, self.data.shape)

    @property
    def T(self):
        return self.transpose()

    @property
    def grad_fn(self):
        return self._ctx

    @property
    def is_leaf(self) -> bool:
        return self._ctx is None

    def __len__(self):
        if self.data.ndim == 0:
            raise TypeError("len() of a 0-d tensor (a single number); use .item()")
        return len(self.data)

    def numpy(self) -> np.ndarray:
        return self.data

    def item(self):
        if self.data.size != 1:
            raise ValueError(f"item(): only a one-element tensor converts to a Python number, got shape {self.shape}")
        return self.data.item()

    def tolist(self):
        return self.data.tolist()

    def detach(self) -> "Tensor":
        """The same array, cut from the graph."""
        return Tensor(self.data)

    def retain_grad(self) -> "Tensor":
        """Keep this intermediate's gradient in ``.grad`` after backward (for inspection)."""
        self._retain_grad = True
        return self

    def requires_grad_(self, flag: bool = True) -> "Tensor":
        if flag and self.data.dtype.kind not in _FLOAT_KINDS:
            raise TypeError(f"requires_grad_: only floating-point tensors can require grad, got {self.dtype}")
        self.requires_grad = flag
        return self

    def zero_grad(self) -> None:
        self.grad = None

    def astype(self, dtype) -> "Tensor":
        from nnlab.engine.ops import elementwise

        return elementwise.cast(self, dtype=dtype)

    def float(self) -> "Tensor":
        return self.astype(np.float32)

    def double(self) -> "Tensor":
        return self.astype(np.float64)

    def backward(self, grad=None, retain_graph: bool = False) -> None:
        """Fill ``.grad`` of every leaf this tensor depends on with d(self)/d(leaf) (times ``grad``)."""
        autograd.backward(self, grad, retain_graph=retain_graph)

    def __repr__(self) -> str:
        body = np.array2string(self.data, precision=4, separator=", ", threshold=20, prefix="tensor(")
        extra = ""
        if self._ctx is not None:
            extra = f", grad_fn={self._ctx.name}"
        elif self.requires_grad:
            extra = ", requires_grad=True"
        if self.data.dtype != DEFAULT_DTYPE:
            extra = f", dtype={self.data.dtype}" + extra
        return f"tensor({body}{extra})"

    def __bool__(self):
        if self.data.size != 1:
            raise ValueError(f"The truth value of a tensor with shape {self.shape} is ambiguous")
        return bool(self.data)

    def __float__(self):
        return float(self.item())

    def __int__(self):
        return int(self.item())

    # ---- operators (dispatch to the gates in nnlab.engine.ops) ------------------------
    def __add__(self, other):
        return _ops().add(self, _scalar(other, self))

    def __radd__(self, other):
        return _ops().add(_scalar(other, self), self)

    def __sub__(self, other):
        return _ops().sub(self, _scalar(other, self))

    def __rsub__(self, other):
        return _ops().sub(_scalar(other, self), self)

    def __mul__(self, other):
        return _ops().mul(self, _scalar(other, self))

    def __rmul__(self, other):
        return _ops().mul(_scalar(other, self), self)

    def __truediv__(self, other):
        return _ops().div(self, _scalar(other, self))

    def __rtruediv__(self, other):
        return _ops().div(_scalar(other, self), self)

    def __neg__(self):
        return _ops().neg(self)

    def __pow__(self, exponent):
        return _ops().pow(self, exponent)

    def __rpow__(self, base):
        return _ops().pow(base, self)

    def __matmul__(self, other):
        return _ops().matmul(self, other)

    def __rmatmul__(self, other):
        return _ops().matmul(other, self)

    def __abs__(self):
        return _ops().abs(self)

    def __getitem__(self, index):
        return _ops().getitem(self, index)

    # Comparisons give plain boolean arrays wrapped as non-differentiable tensors.
    def __lt__(self, other):
        return Tensor(self.data < _raw(other))

    def __le__(self, other):
        return Tensor(self.data <= _raw(other))

    def __gt__(self, other):
        return Tensor(self.data > _raw(other))

    def __ge__(self, other):
        return Tensor(self.data >= _raw(other))

    # ---- methods mirroring the functional ops ----------------------------------------
    # ``dim``/``keepdim`` (torch) and ``axis``/``keepdims`` (NumPy, nnlab) are synonyms.
    def sum(self, dim=None, keepdim=False, *, axis=None, keepdims=_UNSET):
        return _ops().sum(self, axis=_dim(dim, axis), keepdims=_keep(keepdim, keepdims))

    def mean(self, dim=None, keepdim=False, *, axis=None, keepdims=_UNSET):
        return _ops().mean(self, axis=_dim(dim, axis), keepdims=_keep(keepdim, keepdims))

    def max(self, dim=None, keepdim=False, *, axis=None, keepdims=_UNSET):
        """With an int ``dim``, torch's (values, indices) pair; with ``axis`` or none, the maxima."""
        return _extreme(self, _ops().max, np.argmax, dim, keepdim, axis, keepdims)

    def min(self, dim=None, keepdim=False, *, axis=None, keepdims=_UNSET):
        return _extreme(self, _ops().min, np.argmin, dim, keepdim, axis, keepdims)

    def reshape(self, *shape):
        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = tuple(shape[0])
        return _ops().reshape(self, shape)

    def view(self, *shape):
        return self.reshape(*shape)

    def flatten(self, start_dim: int = 0, end_dim: int = -1):
        if end_dim in (-1, self.ndim - 1):
            return _ops().flatten(self, start_dim)
        nd = self.ndim
        start, end = start_dim % nd, end_dim % nd
        return self.reshape(self.shape[:start] + (-1,) + self.shape[end + 1 :])

    def transpose(self, *axes):
        """A permutation of all axes (NumPy), or two dims to swap (torch's ``x.transpose(1, 2)``)."""
        if len(axes) == 1 and isinstance(axes[0], (tuple, list)):
            axes = tuple(axes[0])
        if len(axes) == 2 and self.ndim != 2:
            return self.swapaxes(*axes)
        return _ops().transpose(self, axes or None)

    def exp(self):
        return _ops().exp(self)

    def log(self):
        return _ops().log(self)

    def sqrt(self):
        return _ops().sqrt(self)

    def abs(self):
        return _ops().abs(self)

    def relu(self):
        return _ops().relu(self)

    def sigmoid(self):
        return _ops().sigmoid(self)

    def tanh(self):
        return _ops().tanh(self)

    def argmax(self, dim=None, keepdim=False, *, axis=None):
        """Indices of the maxima (an int64 tensor, not differentiable)."""
        dim = _dim(dim, axis)
        dim = None if dim is None else check_axis("argmax", dim, self.ndim)
        return Tensor(np.argmax(self.data, axis=dim, keepdims=keepdim).astype(np.int64))

    # ---- PyTorch idioms ------------------------------------------------------------------
    # torch's names and signatures on Tensor, so that torch code runs with only the imports
    # changed. ``dim``/``keepdim`` are torch's keywords; nnlab's ``axis``/``keepdims`` stay synonyms.
    # Comparisons are elementwise and return boolean tensors; tensors hash by identity, so keep
    # them in dicts/sets or compare them with ``is``, never with ``==`` or ``in`` on a list.
    def __eq__(self, other):
        return Tensor(np.equal(self.data, _raw(other)))

    def __ne__(self, other):
        return Tensor(np.not_equal(self.data, _raw(other)))

    __hash__ = object.__hash__  # defining __eq__ would otherwise make tensors unhashable

    def eq(self, other):
        return self == other

    def ne(self, other):
        return self != other

    def lt(self, other):
        return self < other

    def le(self, other):
        return self <= other

    def gt(self, other):
        return self > other

    def ge(self, other):
        return self >= other

    def equal(self, other) -> bool:
        """True when both have the same shape and values (torch.equal)."""
        o = _raw(other)
        return self.shape == np.shape(o) and bool(np.array_equal(self.data, o))

    def allclose(self, other, rtol=1e-5, atol=1e-8) -> bool:
        return bool(np.allclose(self.data, _raw(other), rtol=rtol, atol=atol))

    def __invert__(self):
        if self.data.dtype != np.bool_:
            raise TypeError(f"~ is defined for boolean tensors (masks), got dtype {self.dtype}")
        return Tensor(~self.data)

    def __and__(self, other):
        return Tensor(self.data & _raw(other))

    def __or__(self, other):
        return Tensor(self.data | _raw(other))

    def __xor__(self, other):
        return Tensor(self.data ^ _raw(other))

    def __index__(self):
        """An integer one-element tensor indexes lists and tuples (``classes[label]``)."""
        if self.data.size != 1 or self.data.dtype.kind not in "iub":
            raise TypeError(
                f"only integer tensors of a single element can be used as an index, "
                f"got shape {self.shape} and dtype {self.dtype}"
            )
        return int(self.data.item())

    def __iter__(self):
        if self.data.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return (self[i] for i in range(len(self.data)))

    def __format__(self, spec):
        if self.data.size == 1 and spec:
            return format(self.data.item(), spec)
        return format(str(self), spec)

    # -- in place: update the array itself (see nnlab.engine.inplace for the safety rules) --
    def __iadd__(self, other):
        return _inplace.apply(self, "+=", _iop(np.add), other, lambda old: old + other)

    def __isub__(self, other):
        return _inplace.apply(self, "-=", _iop(np.subtract), other, lambda old: old - other)

    def __imul__(self, other):
        return _inplace.apply(self, "*=", _iop(np.multiply), other, lambda old: old * other)

    def __itruediv__(self, other):
        return _inplace.apply(self, "/=", _iop(np.true_divide), other, lambda old: old / other)

    def add_(self, other, *, alpha=1):
        other = other if alpha == 1 else _raw(other) * alpha if not isinstance(other, Tensor) else other * alpha
        return _inplace.apply(self, "add_", _iop(np.add), other, lambda old: old + other)

    def sub_(self, other, *, alpha=1):
        other = other if alpha == 1 else _raw(other) * alpha if not isinstance(other, Tensor) else other * alpha
        return _inplace.apply(self, "sub_", _iop(np.subtract), other, lambda old: old - other)

    def mul_(self, other):
        return _inplace.apply(self, "mul_", _iop(np.multiply), other, lambda old: old * other)

    def div_(self, other):
        return _inplace.apply(self, "div_", _iop(np.true_divide), other, lambda old: old / other)

    def clamp_(self, min=None, max=None):
        def clip(a):
            np.clip(a, min, max, out=a)

        return _inplace.apply(self, "clamp_", clip, None, lambda old: old.clamp(min, max))

    def zero_(self):
        return self.fill_(0)

    def fill_(self, value):
        value = _raw(value)

        def fill(a):
            a[...] = value

        return _inplace.apply(self, "fill_", fill, None, None)

    def copy_(self, src):
        src = _raw(src)

        def copy(a):
            np.copyto(a, src, casting="same_kind")

        return _inplace.apply(self, "copy_", copy, None, None)

    def normal_(self, mean=0.0, std=1.0):
        from nnlab.engine.random import get_rng

        draw = get_rng().normal(mean, std, self.shape)

        def fill(a):
            a[...] = draw

        return _inplace.apply(self, "normal_", fill, None, None)

    def uniform_(self, a=0.0, b=1.0):
        from nnlab.engine.random import get_rng

        draw = get_rng().uniform(a, b, self.shape)

        def fill(arr):
            arr[...] = draw

        return _inplace.apply(self, "uniform_", fill, None, None)

    def __setitem__(self, index, value):
        """``x[mask] = 0`` and ``x[:, 0] = v`` update in place, as in torch."""
        index = _raw(index) if not isinstance(index, tuple) else tuple(_raw(i) for i in index)
        value = _raw(value)

        def put(a):
            a[index] = value

        return _inplace.apply(self, "__setitem__", put, None, None)

    # -- shape and size --
    def dim(self) -> int:
        return self.data.ndim

    def numel(self) -> int:
        return int(self.data.size)

    def nelement(self) -> int:
        return int(self.data.size)

    def element_size(self) -> int:
        return self.data.itemsize

    def view_as(self, other):
        return self.reshape(other.shape)

    def reshape_as(self, other):
        return self.reshape(other.shape)

    def expand_as(self, other):
        return self.expand(*other.shape)

    def unsqueeze(self, dim: int):
        nd = self.ndim + 1
        if not -nd <= dim < nd:
            raise IndexError(f"unsqueeze: dim {dim} is out of range for a result with {nd} dimensions")
        dim %= nd
        return self.reshape(self.shape[:dim] + (1,) + self.shape[dim:])

    def squeeze(self, dim=None):
        if dim is None:
            return self.reshape(tuple(s for s in self.shape if s != 1))
        dims = (dim,) if isinstance(dim, int) else tuple(dim)
        nd = max(self.ndim, 1)
        for d in dims:
            if not -nd <= d < nd:
                raise IndexError(f"squeeze: dim {d} is out of range for a tensor with {self.ndim} dimensions")
        drop = {d % nd for d in dims if self.ndim and self.shape[d] == 1}
        return self.reshape(tuple(s for i, s in enumerate(self.shape) if i not in drop))

    def permute(self, *dims):
        return self.transpose(*dims)

    def t(self):
        if self.ndim > 2:
            raise ValueError(
                f"t(): expects a tensor with <= 2 dimensions, got shape {self.shape}; "
                f"use permute or transpose(dim0, dim1)"
            )
        return self.transpose() if self.ndim == 2 else self

    def swapaxes(self, dim0: int, dim1: int):
        axes = list(range(self.ndim))
        axes[dim0], axes[dim1] = axes[dim1], axes[dim0]
        return self.transpose(tuple(axes))

    def expand(self, *sizes):
        """Broadcast to ``sizes`` (-1 keeps a size); differentiable (the gradient sums back)."""
        if len(sizes) == 1 and isinstance(sizes[0], (tuple, list)):
            sizes = tuple(sizes[0])
        lead = len(sizes) - self.ndim
        if lead < 0:
            raise ValueError(f"expand: {len(sizes)} sizes for a tensor with {self.ndim} dimensions")
        target = tuple(self.shape[i - lead] if s == -1 and i >= lead else s for i, s in enumerate(sizes))
        try:
            np.broadcast_shapes(self.shape, target)
        except ValueError:
            raise ValueError(f"expand: cannot expand shape {self.shape} to {tuple(sizes)}") from None
        if self.requires_grad:
            return self + Tensor(np.zeros(target, self.dtype))
        return Tensor(np.broadcast_to(self.data, target).copy())

    def repeat(self, *sizes):
        """Tile the tensor ``sizes[i]`` times along each dimension (torch.Tensor.repeat)."""
        if len(sizes) == 1 and isinstance(sizes[0], (tuple, list)):
            sizes = tuple(sizes[0])
        if len(sizes) < self.ndim:
            raise ValueError(f"repeat: needs at least {self.ndim} sizes for shape {self.shape}, got {sizes}")
        x = self.reshape((1,) * (len(sizes) - self.ndim) + self.shape)
        for axis, n in enumerate(sizes):
            if n != 1:
                x = _ops().concatenate([x] * int(n), axis=axis)
        return x

    def contiguous(self):
        return self

    def clone(self):
        """A copy that stays in the graph (gradients flow back to the original)."""
        return self + Tensor(np.zeros((), self.dtype)) if self.requires_grad else Tensor(self.data.copy())

    # -- dtypes --
    def long(self):
        return self.astype(np.int64)

    def int(self):
        return self.astype(np.int32)

    def bool(self):
        return self.astype(np.bool_)

    def half(self):
        return self.astype(np.float16)

    def type(self, dtype=None):
        """With no argument, torch's type string ('torch.FloatTensor'); else a cast."""
        if dtype is None:
            return _TYPE_NAMES.get(self.data.dtype.name, f"nnlab.{self.data.dtype.name}")
        if isinstance(dtype, str):
            rev = {v: k for k, v in _TYPE_NAMES.items()}
            dtype = rev.get(dtype.replace("torch.", "nnlab."), dtype)
        return self.astype(dtype)

    def type_as(self, other):
        return self.astype(other.dtype)

    def is_floating_point(self) -> bool:
        return self.data.dtype.kind == "f"

    # -- reductions with dim/keepdim --
    def all(self, dim=None, keepdim=False):
        return Tensor(np.all(self.data, axis=dim, keepdims=keepdim))

    def any(self, dim=None, keepdim=False):
        return Tensor(np.any(self.data, axis=dim, keepdims=keepdim))

    def argmin(self, dim=None, keepdim=False, *, axis=None):
        dim = _dim(dim, axis)
        return Tensor(np.argmin(self.data, axis=dim, keepdims=keepdim).astype(np.int64))

    def std(self, dim=None, unbiased=True, keepdim=False, *, correction=None, axis=None):
        return self.var(dim, unbiased, keepdim, correction=correction, axis=axis) ** 0.5

    def var(self, dim=None, unbiased=True, keepdim=False, *, correction=None, axis=None):
        dim = _dim(dim, axis)
        ddof = (1 if unbiased else 0) if correction is None else correction
        mu = self.mean(dim, keepdim=True)
        n = self.numel() if dim is None else int(np.prod([self.shape[d] for d in np.atleast_1d(dim)]))
        return ((self - mu) ** 2).sum(dim, keepdim=keepdim) / (n - ddof)

    def prod(self, dim=None, keepdim=False):
        return Tensor(np.prod(self.data, axis=dim, keepdims=keepdim))

    def softmax(self, dim):
        return _ops().softmax(self, axis=dim)

    def log_softmax(self, dim):
        return _ops().log_softmax(self, axis=dim)

    # -- math under torch's names --
    def clamp(self, min=None, max=None):
        return _ops().clip(self, min, max)

    clip = clamp

    def pow(self, exponent):
        return self**exponent

    def matmul(self, other):
        return self @ other

    mm = matmul

    def dot(self, other):
        return (self * other).sum()

    def add(self, other, *, alpha=1):
        return self + (other if alpha == 1 else other * alpha)

    def sub(self, other, *, alpha=1):
        return self - (other if alpha == 1 else other * alpha)

    def mul(self, other):
        return self * other

    def div(self, other):
        return self / other

    def neg(self):
        return -self

    def square(self):
        return self * self

    def sin(self):
        from nnlab.engine.ops import trig

        return trig.sin(self)

    def cos(self):
        from nnlab.engine.ops import trig

        return trig.cos(self)

    # -- device: nnlab computes on the CPU --
    @property
    def device(self):
        from nnlab.engine.device import CPU

        return CPU

    @property
    def is_cuda(self) -> bool:
        return False

    def to(self, *args, **kwargs):
        """``.to(device)`` (a no-op for the CPU), ``.to(dtype)`` (a cast) or ``.to(other)``."""
        from nnlab.engine.device import parse_to

        dtype = parse_to("Tensor.to", args, kwargs)
        return self if dtype is None or np.dtype(dtype) == self.dtype else self.astype(dtype)

    def cpu(self):
        return self

    def cuda(self, *args, **kwargs):
        from nnlab.engine.device import no_cuda

        raise no_cuda("Tensor.cuda()")


_PY_NUMBERS = (float, int)


class _Size(int):
    """``x.size``: the element count as an int (NumPy's meaning, what nnlab code reads), and callable
    for torch's meaning: ``x.size()`` is the shape, ``x.size(dim)`` one entry of it."""

    def __new__(cls, n, shape):
        obj = super().__new__(cls, n)
        obj.shape = shape
        return obj

    def __call__(self, dim=None):
        if dim is None:
            return self.shape
        if not -len(self.shape) <= dim < len(self.shape):
            raise IndexError(f"size: dim {dim} is out of range for a tensor with {len(self.shape)} dimensions")
        return self.shape[dim]


def _dim(dim, axis):
    """torch's ``dim`` or NumPy's ``axis`` (not both)."""
    if axis is not None:
        if dim is not None:
            raise TypeError("give dim or axis, not both (they are synonyms)")
        return axis
    return tuple(dim) if isinstance(dim, list) else dim


def _keep(keepdim, keepdims):
    """torch's ``keepdim`` or nnlab's ``keepdims``, passed on unconverted: the op checks it."""
    return keepdim if keepdims is _UNSET else keepdims


class _ValuesIndices(tuple):
    """torch's (values, indices) result of ``max(dim)``/``min(dim)``."""

    values = property(lambda self: self[0])
    indices = property(lambda self: self[1])


def _extreme(x, op, arg, dim, keepdim, axis, keepdims):
    if axis is not None or dim is None or not isinstance(dim, (int, np.integer)):
        return op(x, axis=_dim(dim, axis), keepdims=_keep(keepdim, keepdims))
    keep = _keep(keepdim, keepdims)
    values = op(x, axis=int(dim), keepdims=keep)
    indices = Tensor(arg(x.data, axis=int(dim), keepdims=keep).astype(np.int64))
    return _ValuesIndices((values, indices))


def _iop(ufunc):
    """In-place form of a binary ufunc: writes into the first array (same-kind casts only)."""

    def run(a, b):
        ufunc(a, b, out=a, casting="same_kind")

    return run


_TYPE_NAMES = {
    "float32": "nnlab.FloatTensor",
    "float64": "nnlab.DoubleTensor",
    "float16": "nnlab.HalfTensor",
    "int64": "nnlab.LongTensor",
    "int32": "nnlab.IntTensor",
    "int16": "nnlab.ShortTensor",
    "int8": "nnlab.CharTensor",
    "uint8": "nnlab.ByteTensor",
    "bool": "nnlab.BoolTensor",
}


def _scalar(x, like: "Tensor"):
    """``t * 0.5`` fast path: a Python float/int next to a float tensor becomes a 0-d constant of
    the tensor's dtype (what ``ops.elementwise.lift`` makes of it), built without ``lift``'s
    generic checks and ``Tensor.__init__`` (a scalar op in a training step pays 1.5 us less).
    Anything else passes through unchanged to the op's own lifting."""
    if type(x) in _PY_NUMBERS and like.data.dtype.kind == "f":
        return _set_fields(_new_tensor(Tensor), np.asarray(x, dtype=like.data.dtype), False, None)
    return x


def _raw(x):
    return x.data if isinstance(x, Tensor) else x


_OPS = None


def _ops():
    """The functional op namespace, imported on first use (ops import Tensor)."""
    global _OPS
    if _OPS is None:
        from nnlab.engine import ops

        _OPS = ops
    return _OPS


def tensor(data, requires_grad: bool = False, dtype=None) -> Tensor:
    """Make a Tensor holding a copy of ``data``, as ``torch.tensor`` does: editing the tensor (an
    optimizer's in-place step) never edits the caller's array. Python floats and lists become
    float32; NumPy float64 arrays stay float64; pass ``dtype`` to choose. ``from_numpy`` and
    ``as_tensor`` share the array's memory instead."""
    if isinstance(data, Tensor):
        data = data.data
    if isinstance(data, np.ndarray):
        data = data.copy()
    return Tensor(data, requires_grad=requires_grad, dtype=dtype)
