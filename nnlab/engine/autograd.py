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
_FREED_MSG = (
    "backward: the graph behind this tensor was already freed by an earlier backward; "
    "pass retain_graph=True to the first backward to run backward through it twice"
)


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


def backward(root, grad=None, retain_graph: bool = False) -> None:
    """Accumulate d(root)/d(leaf) into every leaf's ``.grad`` that requires a gradient.

    Reverse mode, as in the notes: seed the output with its gradient, then visit the nodes from
    the output back to the inputs (reverse topological order); each gate multiplies the gradient
    arriving at its output by its local gradient (its ``backward``, a vector-Jacobian product) and
    sends the result to each of its inputs. A value used in several places receives the sum of
    the gradients of all its uses.
    """
    grad = _seed_gradient(root, grad)
    if root._ctx is FREED:
        raise RuntimeError(_FREED_MSG)
    if root._ctx is None:  # a leaf: d(root)/d(root) = grad
        _accumulate_leaf(root, grad)
        return

    grads = {root: grad}  # gradients arrived so far at not-yet-visited nodes
    for node in reversed(_topological_order(root)):
        g = grads.pop(node, None)
        gate = node._ctx
        if gate is FREED:
            if g is not None:
                raise RuntimeError(_FREED_MSG)
            continue
        if g is not None:  # None: no gradient reaches this node (a branch cut by needs_input_grad)
            if node._retain_grad:
                _accumulate_leaf(node, g)
            if _inplace._stamps:  # some tensor was changed in place: was it one this gate read?
                _inplace.check_gate(gate)
            in_grads = gate.backward(g)  # the gate's vector-Jacobian product: one gradient per input
            if type(in_grads) is not tuple:  # a gate with one input may return a bare array
                in_grads = (in_grads,)
            for inp, inp_grad, need in zip(gate.inputs, in_grads, gate.needs_input_grad):
                if not need or inp_grad is None:
                    continue
                if inp._ctx is None:
                    _give_to_leaf(inp, inp_grad)
                else:  # fan-out: the paths' gradients add
                    prev = grads.get(inp)
                    grads[inp] = inp_grad if prev is None else prev + inp_grad
        if not retain_graph:
            node._ctx = FREED  # frees the gate's cached arrays; memory stays flat across iterations


def _seed_gradient(root, grad) -> np.ndarray:
    """The gradient at the output: 1 for a scalar, else ``grad`` checked against the output's shape."""
    if not root.requires_grad:
        raise RuntimeError(
            "backward: this tensor does not require grad and has no graph "
            "(was it made under no_grad, or from inputs with requires_grad=False?)"
        )
    if grad is None:
        if root.data.size != 1:
            raise ValueError(
                f"backward: grad can be implied only for a scalar output; this output "
                f"has shape {root.shape}. Pass grad= of that shape (e.g. y.backward(ones))."
            )
        # np.array for the usual 0-d loss: np.ones and np.ones_like are Python wrappers (1-1.5 us)
        shape, dtype = root.data.shape, root.data.dtype
        return np.array(1, dtype) if shape == () else np.ones(shape, dtype)
    grad = np.asarray(grad.data if hasattr(grad, "_ctx") else grad, dtype=root.data.dtype)
    if grad.shape != root.shape:
        raise ValueError(f"backward: grad has shape {grad.shape}, expected the output's shape {root.shape}")
    return grad


# A leaf's first gradient can be kept without a copy when no one else holds the array. Otherwise
# it must be copied: a gate's cached array, the upstream gradient passed straight through (z = x + y
# gives x and y the same array) or one array handed to two inputs would be shared, and a later
# in-place ``+=`` (or an optimizer's in-place edit of .grad) would corrupt the other holder.
# "No one else" is read from the reference count inside _give_to_leaf: a fresh array is held by
# the gate's returned tuple (in_grads), zip's reused result tuple, the loop variable in backward, this
# function's argument and getrefcount's argument: 5 (measured on CPython 3.11-3.13). Other
# interpreters count differently, so there the check is off and every first gradient is copied;
# tests/benchmarks/test_engine_fastpaths.py checks both the stealing and the copies. Views
# (``base`` set) always copy. This saves a full copy of every weight gradient per step.
_STEAL_REFS = 5 if sys.implementation.name == "cpython" and (3, 11) <= sys.version_info[:2] <= (3, 13) else 0
_getrefcount = sys.getrefcount


def _give_to_leaf(leaf, g) -> None:
    """Add ``g`` into ``leaf.grad``, owning ``g`` itself when it is fresh and unshared."""
    if (
        leaf.grad is None
        and g.base is None
        and _getrefcount(g) <= _STEAL_REFS
        and g.shape == leaf.data.shape
        and g.dtype == leaf.data.dtype
    ):
        leaf.grad = g  # see _STEAL_REFS
    else:
        _accumulate_leaf(leaf, g)


def _accumulate_leaf(t, g) -> None:
    """``t.grad += g`` (a copy of ``g`` when ``t.grad`` is still None: g may alias a gate's cache)."""
    if g.shape != t.data.shape:
        raise RuntimeError(f"internal: gradient of shape {g.shape} for a tensor of shape {t.data.shape}")
    if g.dtype != t.data.dtype:
        g = g.astype(t.data.dtype)
    if t.grad is None:
        t.grad = np.array(g, copy=True)
    else:
        t.grad += g
