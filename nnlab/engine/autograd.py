"""Reverse-mode differentiation: topological order, gradient accumulation, graph freeing, no_grad."""
from __future__ import annotations

import contextlib
import sys
import threading

import numpy as np

from nnlab.engine import inplace as _inplace


class _GradState(threading.local):
    """Grad mode, per thread. The class attribute is every thread's default, so reading the flag
    is one attribute lookup (``Function.apply`` reads it on every op)."""

    enabled = True


_state = _GradState()


def grad_enabled() -> bool:
    return _state.enabled


class _GradMode(contextlib.ContextDecorator):
    """Sets grad mode to ``enabled`` inside the block and restores the previous mode after it."""

    enabled = True

    def _recreate_cm(self):
        # A decorated function gets a fresh manager per call, so recursive or concurrent calls do
        # not overwrite each other's saved state.
        return type(self)()

    def __enter__(self):
        self._prev = grad_enabled()
        _state.enabled = self.enabled

    def __exit__(self, *exc):
        _state.enabled = self._prev
        return False


class no_grad(_GradMode):
    """Context manager (and decorator) under which ops record no graph: inference and updates."""

    enabled = False


class enable_grad(_GradMode):
    """Switch recording back on inside a ``no_grad`` block."""

    enabled = True


class _FreedGraph:
    """Stands in for the gate of a tensor whose graph an earlier backward freed, so that a second
    backward fails loudly instead of treating the tensor as a leaf (and silently reaching nothing)."""

    __slots__ = ()
    inputs = ()
    needs_input_grad = ()
    name = "FreedGraph"

    def __repr__(self):
        return "<freed graph>"


FREED = _FreedGraph()
_FREED_MSG = ("backward: the graph behind this tensor was already freed by an earlier backward; "
              "pass retain_graph=True to the first backward to run backward through it twice")


def _topological_order(root):
    """Nodes (tensors made by ops) reachable from ``root``, each after everything it feeds.

    Iterative depth-first search (deep graphs hit no recursion limit). Each stack entry keeps an
    iterator over its gate's inputs, so a node is pushed once and finished when its iterator runs
    out. Tensors hash by identity, so they are the keys themselves (no id() calls).
    """
    order = []
    seen = {root}
    stack = [(root, iter(root._ctx.inputs))]
    while stack:
        t, pending = stack[-1]
        for p in pending:
            if p is not None and p._ctx is not None and p not in seen:
                seen.add(p)
                stack.append((p, iter(p._ctx.inputs)))
                break
        else:
            stack.pop()
            order.append(t)
    return order  # inputs before outputs


# A leaf's first gradient can be stored without a copy when no one else holds the array: a
# gate's cached array, the upstream gradient passed straight through (z = x + y gives both x and y
# the same array) or an array handed to two inputs would otherwise be shared, and a later in-place
# ``+=`` (or an optimizer's in-place edit of .grad) would corrupt the other holder. In the
# backward loop below a fresh array is referenced by the gate's returned tuple, zip's reused
# result tuple, the loop variable and getrefcount's argument: 4 (measured on CPython 3.11-3.13;
# other interpreters always copy; tests/benchmarks/test_engine_fastpaths.py checks both ways).
# Views (``base`` set) always copy. This saves a full copy of every weight gradient per step.
_STEAL_REFS = 4 if sys.implementation.name == "cpython" and (3, 11) <= sys.version_info[:2] <= (3, 13) else 0
_getrefcount = sys.getrefcount


def backward(root, grad=None, retain_graph: bool = False) -> None:
    """Accumulate d(root)/d(leaf) into every leaf's ``.grad`` that requires a gradient."""
    if not root.requires_grad:
        raise RuntimeError("backward: this tensor does not require grad and has no graph "
                           "(was it made under no_grad, or from inputs with requires_grad=False?)")
    if grad is None:
        if root.data.size != 1:
            raise ValueError(f"backward: grad can be implied only for a scalar output; this output "
                             f"has shape {root.shape}. Pass grad= of that shape (e.g. y.backward(ones)).")
        grad = np.ones_like(root.data)
    else:
        grad = np.asarray(grad.data if hasattr(grad, "_ctx") else grad, dtype=root.data.dtype)
        if grad.shape != root.shape:
            raise ValueError(f"backward: grad has shape {grad.shape}, expected the output's shape {root.shape}")

    if root._ctx is FREED:
        raise RuntimeError(_FREED_MSG)
    if root._ctx is None:  # a leaf: d(root)/d(root) = grad
        _accumulate_leaf(root, grad)
        return

    grads = {root: grad}
    order = _topological_order(root)
    for t in reversed(order):
        g = grads.pop(t, None)
        ctx = t._ctx
        if ctx is None or ctx is FREED:
            if g is not None and ctx is FREED:
                raise RuntimeError(_FREED_MSG)
            continue
        if g is None:  # no gradient reaches this node (e.g. a branch cut by needs_input_grad)
            if not retain_graph:
                t._ctx = FREED
            continue
        if t._retain_grad:
            _accumulate_leaf(t, g)
        if _inplace._stamps:  # some tensor was changed in place: was it one this gate read?
            _inplace.check_gate(ctx)
        in_grads = ctx.backward(g)
        if type(in_grads) is not tuple:
            in_grads = (in_grads,)
        for p, pg, need in zip(ctx.inputs, in_grads, ctx.needs_input_grad):
            if not need or pg is None:
                continue
            if p._ctx is not None:
                prev = grads.get(p)
                # Fan-out: a value used twice receives the sum of both paths' gradients.
                grads[p] = pg if prev is None else prev + pg
            elif (p.grad is None and pg.base is None and _getrefcount(pg) <= _STEAL_REFS
                  and pg.shape == p.data.shape and pg.dtype == p.data.dtype):
                p.grad = pg  # fresh and unshared: own it (see _STEAL_REFS)
            else:
                _accumulate_leaf(p, pg)
        if not retain_graph:
            t._ctx = FREED  # frees the cached arrays; memory stays flat across iterations


def _accumulate_leaf(t, g) -> None:
    if g.shape != t.data.shape:
        raise RuntimeError(f"internal: gradient of shape {g.shape} for a tensor of shape {t.data.shape}")
    if g.dtype != t.data.dtype:
        g = g.astype(t.data.dtype)
    if t.grad is None:
        # Own the buffer: a gradient array may alias a cached array of some gate.
        t.grad = np.array(g, copy=True)
    else:
        t.grad += g
