"""Tensor: an ndarray, its gradient, and the gate that made it."""
from __future__ import annotations

import numpy as np

from nnlab.engine import autograd
from nnlab.engine._args import check_array_data, check_axis

DEFAULT_DTYPE = np.float32
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
    t._ctx = ctx            # the gate that made this tensor (None for a leaf)
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
        return self.data.size

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

    # Tensors are graph nodes: hash by identity, like PyTorch.
    __hash__ = object.__hash__

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
    def sum(self, axis=None, keepdims=False):
        return _ops().sum(self, axis=axis, keepdims=keepdims)

    def mean(self, axis=None, keepdims=False):
        return _ops().mean(self, axis=axis, keepdims=keepdims)

    def max(self, axis=None, keepdims=False):
        return _ops().max(self, axis=axis, keepdims=keepdims)

    def min(self, axis=None, keepdims=False):
        return _ops().min(self, axis=axis, keepdims=keepdims)

    def reshape(self, *shape):
        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = tuple(shape[0])
        return _ops().reshape(self, shape)

    def view(self, *shape):
        return self.reshape(*shape)

    def flatten(self, start_dim: int = 0):
        return _ops().flatten(self, start_dim)

    def transpose(self, *axes):
        if len(axes) == 1 and isinstance(axes[0], (tuple, list)):
            axes = tuple(axes[0])
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

    def clip(self, low=None, high=None):
        return _ops().clip(self, low, high)

    def argmax(self, axis=None):
        axis = None if axis is None else check_axis("argmax", axis, self.ndim)
        return np.argmax(self.data, axis=axis)


_PY_NUMBERS = (float, int)


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
    """Make a Tensor. Python floats and lists become float32; NumPy float64 arrays stay float64;
    pass ``dtype`` to choose."""
    return Tensor(data, requires_grad=requires_grad, dtype=dtype)
