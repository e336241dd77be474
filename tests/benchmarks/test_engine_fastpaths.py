"""The engine's speed shortcuts must not change results: gradient buffers owned without a copy
only when unshared, per-thread grad mode, the iterator-based topological sort."""

import threading
import weakref

import numpy as np
import pytest

import nnlab
from nnlab.engine import autograd, ops
from nnlab.engine.function import Function


def _leaf(*shape, value=1.0):
    return nnlab.tensor(np.full(shape, value, np.float32), requires_grad=True)


class _Fresh(Function):
    """y = 2x, whose backward returns a brand-new array (remembered weakly)."""

    def forward(self, x):
        return x * 2

    def backward(self, g):
        out = g * 2
        _Fresh.last = weakref.ref(out)
        return out


class _Cached(Function):
    """y = 5x, whose backward hands out an array it keeps itself."""

    def forward(self, x):
        self.local = np.full_like(x, 5)
        return x * 5

    def backward(self, g):
        _Cached.kept = self.local
        return self.local


@pytest.mark.skipif(autograd._STEAL_REFS == 0, reason="buffer stealing is off on this interpreter")
def test_fresh_leaf_gradient_is_owned_without_copy():
    x = _leaf(3)
    ops.sum(_Fresh.apply(x)).backward()
    assert x.grad is _Fresh.last()
    np.testing.assert_array_equal(x.grad, [2, 2, 2])


def test_gradient_shared_by_two_leaves_is_copied():
    a, b = _leaf(3), _leaf(3)
    ops.sum(ops.add(a, b) * 3.0).backward()  # the add gate hands the same array to a and b
    assert not np.shares_memory(a.grad, b.grad)
    a.grad += 100  # e.g. an optimizer editing .grad in place
    np.testing.assert_array_equal(b.grad, [3, 3, 3])


def test_gradient_kept_by_a_gate_is_copied():
    x = _leaf(3)
    _Cached.apply(x).backward(np.ones(3, np.float32))
    assert not np.shares_memory(x.grad, _Cached.kept)
    x.grad *= 0
    np.testing.assert_array_equal(_Cached.kept, [5, 5, 5])


def test_second_backward_accumulates_into_owned_buffer():
    x = _leaf(3)
    for _ in range(3):
        ops.sum(_Fresh.apply(x)).backward()
    np.testing.assert_array_equal(x.grad, [6, 6, 6])


def test_upstream_gradient_passed_through_is_not_aliased():
    x = _leaf(2)
    g = np.array([1.0, 2.0], np.float32)
    (x + 0.0).backward(g)
    x.grad *= 10
    np.testing.assert_array_equal(g, [1, 2])


def test_fan_out_and_diamond_sum_gradients():
    x = _leaf(2, value=3.0)
    a = x * x  # 2x
    b = x * 2.0  # 2
    y = ops.sum(a * b)  # 2 x^3 -> 6 x^2 = 54
    y.backward()
    np.testing.assert_allclose(x.grad, [54, 54])


def test_deep_chain_has_no_recursion_limit():
    x = _leaf(1)
    y = x
    for _ in range(5000):
        y = y * 1.0
    ops.sum(y).backward()
    np.testing.assert_array_equal(x.grad, [1])


def test_no_grad_is_per_thread():
    seen = {}

    def other():
        seen["enabled"] = autograd.grad_enabled()
        seen["tracked"] = (_leaf(1) * 2.0).requires_grad

    with nnlab.no_grad():
        assert autograd.grad_enabled() is False
        assert (_leaf(1) * 2.0).requires_grad is False
        th = threading.Thread(target=other)
        th.start()
        th.join()
    assert seen == {"enabled": True, "tracked": True}
    assert autograd.grad_enabled() is True


def test_apply_records_needs_input_grad_per_input():
    x, c = _leaf(2), nnlab.tensor(np.ones(2, np.float32))
    y = ops.mul(x, c)
    assert y.grad_fn.needs_input_grad == (True, False)
    assert y.requires_grad and y.grad is None and not y.is_leaf
    with nnlab.no_grad():
        z = ops.mul(x, c)
    assert z.grad_fn is None and z.requires_grad is False
