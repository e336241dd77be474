"""Argument checks at the entry of public functions: one helper per kind of argument.

A wrong argument should fail at the call that received it, in words that name the function, the
argument, what was expected and what came, never later inside NumPy (``'str' object cannot be
interpreted as an integer``) or not at all (``lr=None`` accepted until ``step()``). Each helper
returns the normalized value (a Python int, a tuple of axes, a NumPy dtype...), so a call site
reads ``axis = check_axis("argmax", axis, x.ndim)``. Errors are ``TypeError`` for a value of the
wrong kind and ``ValueError`` for one of the right kind out of range, as in Python and PyTorch.
"""

from __future__ import annotations

import math
import numbers

import numpy as np

__all__ = [
    "describe",
    "check_int",
    "check_float",
    "check_positive_float",
    "check_bool",
    "check_axis",
    "check_axes",
    "check_shape",
    "check_dtype",
    "check_callable",
    "check_int_list",
    "check_choice",
    "check_array_data",
    "check_instance",
    "check_float_input",
]


def describe(value) -> str:
    """``'x' (str)``, ``1.5 (float)``, ``an array of shape (2,)``: what came, for a message."""
    if value is None:
        return "None"
    if isinstance(value, np.ndarray):
        return f"an array of shape {value.shape} and dtype {value.dtype}"
    if type(value).__name__ == "Tensor":
        return f"a Tensor of shape {value.shape}"
    if callable(value) and hasattr(value, "__name__"):
        return f"{type(value).__name__} {value.__name__}"
    text = repr(value)
    if len(text) > 60:
        text = text[:57] + "..."
    return f"{text} ({type(value).__name__})"


def _is_int(value) -> bool:
    return isinstance(value, (numbers.Integral, np.integer)) and not isinstance(value, (bool, np.bool_))


def check_int(fn: str, name: str, value, *, min: int | None = None, max: int | None = None) -> int:
    """An integer (not a bool, not a float such as 2.0) within ``[min, max]``."""
    if not _is_int(value):
        raise TypeError(f"{fn}: {name} must be an integer, got {describe(value)}")
    value = int(value)
    if (min is not None and value < min) or (max is not None and value > max):
        rng = f">= {min}" if max is None else (f"<= {max}" if min is None else f"in [{min}, {max}]")
        raise ValueError(f"{fn}: {name} must be an integer {rng}, got {value}")
    return value


def check_float(
    fn: str,
    name: str,
    value,
    *,
    min: float | None = None,
    max: float | None = None,
    min_open: bool = False,
    max_open: bool = False,
    finite: bool = True,
) -> float:
    """A real number (int or float, not a bool or a string), finite unless ``finite=False``, within
    the bounds (open or closed)."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (numbers.Real, np.floating, np.integer)):
        raise TypeError(f"{fn}: {name} must be a number, got {describe(value)}")
    value = float(value)
    bad = math.isnan(value) or (finite and not math.isfinite(value))
    if not bad and min is not None:
        bad = value <= min if min_open else value < min
    if not bad and max is not None:
        bad = value >= max if max_open else value > max
    if bad:
        parts = []
        if min is not None:
            parts.append(f"{'>' if min_open else '>='} {min:g}")
        if max is not None:
            parts.append(f"{'<' if max_open else '<='} {max:g}")
        kind = "a finite number" if finite else "a number (not NaN)"
        raise ValueError(f"{fn}: {name} must be {kind} {' and '.join(parts)}".rstrip() + f", got {value!r}")
    return value


def check_positive_float(fn: str, name: str, value) -> float:
    """A finite number > 0 (learning rates, scales, epsilons)."""
    return check_float(fn, name, value, min=0.0, min_open=True)


def check_bool(fn: str, name: str, value) -> bool:
    """``True`` or ``False`` (NumPy's bool too); an array or a string is refused, not truth-tested."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{fn}: {name} must be True or False, got {describe(value)}")
    return bool(value)


def check_choice(fn: str, name: str, value, choices) -> object:
    """One of ``choices`` (strings such as ``"mean"``/``"sum"``)."""
    try:
        ok = value in choices
    except TypeError:
        ok = False
    if not ok:
        raise ValueError(f"{fn}: {name} must be one of {', '.join(map(repr, choices))}, got {describe(value)}")
    return value


def check_axis(fn: str, axis, ndim: int, name: str = "axis") -> int:
    """One axis of a tensor with ``ndim`` dimensions (or of that shape, when a tuple is given, for
    the message), normalized to ``0..ndim-1``."""
    axis = check_int(fn, name, axis)
    what = f"shape {tuple(ndim)}" if isinstance(ndim, tuple) else f"{ndim} dimensions"
    n = max(len(ndim) if isinstance(ndim, tuple) else int(ndim), 1)
    if not -n <= axis < n:
        raise ValueError(
            f"{fn}: {name} {axis} is out of range for a tensor of {what} (expected an integer in [{-n}, {n - 1}])"
        )
    return axis % n


def check_axes(fn: str, axis, ndim: int, name: str = "axis") -> tuple:
    """``None`` (all axes), an int, or a list/tuple of distinct ints, as a sorted-by-given tuple of
    normalized axes."""
    if axis is None:
        return tuple(range(ndim))
    if isinstance(axis, (list, tuple)):
        out = tuple(check_axis(fn, a, ndim, name) for a in axis)
        if len(set(out)) != len(out):
            raise ValueError(f"{fn}: {name} has a repeated axis: {tuple(axis)}")
        return out
    if _is_int(axis):
        return (check_axis(fn, axis, ndim, name),)
    raise TypeError(f"{fn}: {name} must be None, an integer or a tuple of integers, got {describe(axis)}")


def check_shape(fn: str, shape, name: str = "shape", allow_infer: bool = True) -> tuple:
    """A shape: a tuple/list of non-negative integers (with at most one ``-1`` to infer when
    ``allow_infer``), or a single integer."""
    if _is_int(shape):
        shape = (shape,)
    if not isinstance(shape, (list, tuple)):
        raise TypeError(f"{fn}: {name} must be a tuple of integers, got {describe(shape)}")
    out = []
    for d in shape:
        if not _is_int(d):
            raise TypeError(f"{fn}: {name} must contain integers only, got {describe(d)} in {tuple(shape)}")
        d = int(d)
        if d < -1 or (d == -1 and not allow_infer):
            raise ValueError(
                f"{fn}: {name} sizes must be >= 0"
                + (" (or -1 to infer one)" if allow_infer else "")
                + f", got {d} in {tuple(shape)}"
            )
        out.append(d)
    if out.count(-1) > 1:
        raise ValueError(f"{fn}: {name} can infer only one size (-1), got {tuple(out)}")
    return tuple(out)


_KIND_WORDS = {"f": "floating-point", "i": "signed integer", "u": "unsigned integer", "b": "boolean", "c": "complex"}


def check_dtype(fn: str, dtype, name: str = "dtype", kinds: str = "f") -> np.dtype:
    """A NumPy dtype of one of ``kinds`` ("f" floating point by default; layers' weights and
    optimizers' arithmetic need it: an integer weight would truncate every update to zero and a
    complex one would lose its imaginary part)."""
    try:
        dt = np.dtype(dtype) if dtype is not None else None
    except TypeError:
        dt = None
    if dt is None:
        raise TypeError(f"{fn}: {name} must be a NumPy dtype such as float32, got {describe(dtype)}")
    if dt.kind not in kinds:
        want = " or ".join(_KIND_WORDS.get(k, k) for k in kinds)
        raise TypeError(f"{fn}: {name} must be a {want} dtype (float32 or float64), got {dt}")
    return dt


def check_callable(fn: str, name: str, value):
    if not callable(value):
        raise TypeError(f"{fn}: {name} must be callable (a function or a Module), got {describe(value)}")
    return value


def check_int_list(fn: str, name: str, value, *, min: int | None = None) -> list:
    """A list/tuple of integers (each ``>= min``), e.g. MultiStepLR's milestones; a string is refused."""
    if isinstance(value, (str, bytes)) or not isinstance(value, (list, tuple, range, np.ndarray)):
        raise TypeError(f"{fn}: {name} must be a list of integers, got {describe(value)}")
    return [check_int(fn, f"{name}[{i}]", v, min=min) for i, v in enumerate(value)]


_NUMERIC_KINDS = "biuf"


def check_array_data(fn: str, data, dtype=None) -> np.ndarray:
    """``data`` (a number, a nested list of numbers, an array) as a numeric ndarray.

    Strings, arbitrary objects, ``None`` and ragged lists are refused with a TypeError (NumPy would
    make a string or object array of them, or fail with "inhomogeneous shape"), as are complex
    numbers: nnlab's gates and their gradients are defined for real numbers only.
    """
    if dtype is not None:
        dtype = check_dtype(fn, dtype, kinds=_NUMERIC_KINDS)
    if isinstance(data, (str, bytes)):
        raise TypeError(f"{fn}: expected a number, a (nested) list of numbers or an array, got a string {data!r:.40}")
    try:
        arr = np.asarray(data)
        if dtype is not None and arr.dtype.kind in _NUMERIC_KINDS:  # strings are refused below, not parsed
            arr = np.asarray(arr, dtype=dtype)
    except (ValueError, TypeError) as e:
        what = (
            "a ragged (nested) list: every row must have the same length"
            if "inhomogeneous" in str(e)
            else f"data NumPy cannot convert to {dtype or 'numbers'} ({e})"
        )
        raise TypeError(f"{fn}: expected a number, a (nested) list of numbers or an array, got {what}") from None
    if arr.dtype.kind not in _NUMERIC_KINDS:
        what = (
            "complex numbers (nnlab computes with real numbers)"
            if arr.dtype.kind == "c"
            else f"{describe(data)} (an array of dtype {arr.dtype})"
        )
        raise TypeError(f"{fn}: expected a number, a (nested) list of numbers or an array, got {what}")
    return arr


def check_instance(fn: str, name: str, value, cls, expected: str):
    """``value`` is an instance of ``cls`` (``expected`` words it: "an nnlab.nn.Module")."""
    if not isinstance(value, cls):
        raise TypeError(f"{fn}: {name} must be {expected}, got {describe(value)}")
    return value


def check_float_input(fn: str, x, name: str = "input") -> None:
    """``x`` (a Tensor or array) holds floating-point values: an average of integers or booleans
    would be truncated back to the input's dtype (PyTorch refuses them too)."""
    dt = getattr(x, "dtype", None)
    if dt is not None and np.dtype(dt).kind != "f":
        raise TypeError(
            f"{fn}: {name} must be floating point (averages of integers would be truncated), "
            f"got dtype {np.dtype(dt)}; convert it first, e.g. x.float()"
        )
