"""In-place updates of tensors (``p -= lr * p.grad``, ``x.add_(y)``, ``x[mask] = 0``), made safe.

A gate keeps references to its inputs' arrays (a copy per op would double a step's memory), so
editing an array in place between a forward and its backward would change the gradient that
backward computes. PyTorch guards this with version counters; nnlab does the same with one global
clock: every gate remembers the clock when it was recorded (``Function.apply``), every in-place
change stamps its tensor with a newer tick, and backward refuses to run a gate whose input was
stamped after the gate was made. Two more rules follow PyTorch:

- a leaf that requires grad (a parameter) may be changed in place only under ``no_grad`` (the
  optimizers' and tutorials' updates), else the change would be invisible to autograd;
- a tensor that is part of a recorded graph and is changed in place with grad enabled is
  re-pointed at a new node (the out-of-place result), so later uses differentiate through it.
"""

from __future__ import annotations

import weakref

import numpy as np

_clock = [0]  # ticks once per in-place change
_stamps: dict[int, tuple] = {}  # id(tensor) -> (weak reference, tick of its last in-place change)


def now() -> int:
    return _clock[0]


def _forget(key):
    def drop(_ref):
        _stamps.pop(key, None)

    return drop


def mark(t) -> None:
    """Record that ``t``'s values changed in place just now."""
    _clock[0] += 1
    key = id(t)
    entry = _stamps.get(key)
    ref = entry[0] if entry is not None and entry[0]() is t else weakref.ref(t, _forget(key))
    _stamps[key] = (ref, _clock[0])


def check_gate(ctx) -> None:
    """Raise if an input of gate ``ctx`` was changed in place after the gate was recorded."""
    made = getattr(ctx, "clock", None)
    if made is None:
        return
    for i, p in enumerate(ctx.inputs):
        if p is None:
            continue
        entry = _stamps.get(id(p))
        if entry is not None and entry[1] > made and entry[0]() is p:
            raise RuntimeError(
                f"backward: input {i} (shape {tuple(p.shape)}) of the {ctx.name} gate was changed by an "
                f"in-place operation after the forward pass used it, so its gradient would be wrong. "
                f"Do the in-place change after backward, or use an out-of-place op (x = x + y)."
            )


def any_stamps() -> bool:
    return bool(_stamps)


def _leaf_error(t, op: str):
    return RuntimeError(
        f"{op}: a leaf Variable that requires grad is being used in an in-place operation "
        f"(tensor of shape {tuple(t.shape)}). Update parameters inside `with nnlab.no_grad():` "
        f"(as optimizers do), or use x = x {op_symbol(op)} y to build a new tensor."
    )


def op_symbol(op: str) -> str:
    return {"add_": "+", "sub_": "-", "mul_": "*", "div_": "/", "+=": "+", "-=": "-", "*=": "*", "/=": "/"}.get(
        op, "<op>"
    )


def _raw(x):
    return x.data if hasattr(x, "_ctx") else x


def apply(t, op: str, ufunc, other=None, out_of_place=None):
    """Run ``ufunc`` on ``t``'s array in place (``t.data = ufunc(t.data, other)``).

    ``out_of_place`` (a callable taking the tensor's current value and making the differentiable
    result) is used when ``t`` is part of a graph with grad enabled: ``t`` then takes the result's
    array and gate, and its old value lives on in a separate node that the result depends on.
    """
    from nnlab.engine.autograd import grad_enabled

    enabled = grad_enabled()
    tracking = enabled and t.requires_grad
    if tracking and t._ctx is None:
        raise _leaf_error(t, op)
    if tracking or (other is not None and hasattr(other, "_ctx") and other.requires_grad and enabled):
        if out_of_place is None:
            raise RuntimeError(
                f"{op}: this in-place operation cannot be recorded for autograd on a "
                f"tensor that is part of a graph; use the out-of-place form"
            )
        old = object.__new__(type(t))
        old.data, old.grad, old.requires_grad, old._ctx, old._retain_grad = (
            t.data,
            None,
            t.requires_grad,
            t._ctx,
            False,
        )
        res = out_of_place(old)
        if res.shape != t.shape:
            raise RuntimeError(
                f"{op}: the result of shape {tuple(res.shape)} does not fit the "
                f"tensor's shape {tuple(t.shape)} (in-place ops cannot broadcast the "
                f"tensor itself)"
            )
        t.data = res.data.astype(t.data.dtype, copy=False)
        t._ctx = res._ctx
        t.requires_grad = res.requires_grad
        mark(t)
        return t
    arr = t.data
    if not arr.flags.writeable:
        raise RuntimeError(f"{op}: the tensor's array is read-only (a broadcast or shared view); clone() it first")
    try:
        if other is None:
            ufunc(arr)
        else:
            ufunc(arr, _raw(other))
    except (TypeError, ValueError) as e:  # UFuncTypeError is a TypeError; shape errors are ValueErrors
        o = _raw(other)
        raise RuntimeError(
            f"{op}: cannot update a tensor of shape {tuple(arr.shape)} and dtype "
            f"{arr.dtype} in place with a value of shape {np.shape(o)} and dtype "
            f"{np.asarray(o).dtype} ({e})"
        ) from None
    mark(t)
    return t
