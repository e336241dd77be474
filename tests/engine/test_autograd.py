"""Reverse-mode autograd: the notes' worked examples, fan-out, un-broadcasting, deep graphs,
graph freeing, retain_graph, no_grad, and error messages."""

from __future__ import annotations

import gc
import math
import sys
import tracemalloc
import weakref

import numpy as np
import pytest

import nnlab
from nnlab.engine import ops
from nnlab.engine.function import Function


def t64(values, requires_grad=True):
    return nnlab.tensor(np.asarray(values, dtype=np.float64), requires_grad=requires_grad)


# ---- the notes' worked examples --------------------------------------------------------------
def test_notes_chain_rule_example_q_times_z():
    """f(x, y, z) = (x + y) z at x=-2, y=5, z=-4: q = 3, f = -12, df/dx = df/dy = z = -4, df/dz = q = 3."""
    x, y, z = (t64(v) for v in (-2.0, 5.0, -4.0))
    q = x + y
    f = q * z
    assert q.item() == 3.0 and f.item() == -12.0
    f.backward()
    assert (x.grad, y.grad, z.grad) == (-4.0, -4.0, 3.0)


def test_notes_sigmoid_neuron_from_primitive_gates():
    """f(w, x) = 1 / (1 + exp(-(w0 x0 + w1 x1 + w2))) built from * + neg exp + and 1/x gates."""
    w = [t64(v) for v in (2.0, -3.0, -3.0)]
    x = [t64(v) for v in (-1.0, -2.0)]
    dot = w[0] * x[0] + w[1] * x[1] + w[2]
    f = 1.0 / (1.0 + ops.exp(-dot))
    f.backward()
    s = 1 / (1 + math.exp(-1.0))  # dot = 1
    assert f.item() == pytest.approx(s)
    np.testing.assert_allclose([xi.grad for xi in x], [0.3932238664829637, -0.5898357997244456], rtol=1e-12)
    np.testing.assert_allclose(
        [wi.grad for wi in w], [-0.19661193324148185, -0.3932238664829637, 0.19661193324148185], rtol=1e-12
    )


def test_notes_sigmoid_neuron_with_the_sigmoid_gate_and_vectors():
    """Same neuron with the fused sigmoid gate, whose local gradient is (1 - s) s."""
    w = t64([2.0, -3.0, -3.0])
    x = t64([-1.0, -2.0])
    f = ops.sigmoid(ops.matmul(w[:2], x) + w[2])
    f.backward()
    np.testing.assert_allclose(x.grad, [0.3932, -0.5898], atol=5e-5)
    np.testing.assert_allclose(w.grad, [-0.1966, -0.3932, 0.1966], atol=5e-5)


def test_notes_gate_patterns_add_distributes_max_routes_mul_swaps():
    """2 (x y + max(z, w)) at x=3, y=-4, z=2, w=-1: the add gate passes 2 to both branches, the max
    gate routes it to z only, the multiply gate swaps its inputs: dx = -8, dy = 6, dz = 2, dw = 0."""
    x, y, z, w = (t64(v) for v in (3.0, -4.0, 2.0, -1.0))
    f = 2.0 * (x * y + ops.maximum(z, w))
    assert f.item() == -20.0
    f.backward()
    assert (x.grad, y.grad, z.grad, w.grad) == (-8.0, 6.0, 2.0, 0.0)


def test_notes_matrix_multiply_gradient_by_dimension_analysis():
    """D = W X; given dD: dW = dD X^T and dX = W^T dD (the notes' vectorized example)."""
    rng = np.random.default_rng(0)
    W, X, dD = rng.standard_normal((5, 10)), rng.standard_normal((10, 3)), rng.standard_normal((5, 3))
    Wt, Xt = t64(W), t64(X)
    D = Wt @ Xt
    D.backward(dD)
    np.testing.assert_allclose(Wt.grad, dD @ X.T, rtol=1e-12)
    np.testing.assert_allclose(Xt.grad, W.T @ dD, rtol=1e-12)
    assert Wt.grad.shape == W.shape and Xt.grad.shape == X.shape


def test_vjp_equals_upstream_times_the_full_jacobian():
    """The gradient of a variable = upstream gradient times the Jacobian (the notes' J-matrix view),
    checked against the Jacobian of softmax written out: J = diag(p) - p p^T."""
    rng = np.random.default_rng(1)
    x = t64(rng.standard_normal(4))
    g = rng.standard_normal(4)
    p = ops.softmax(x)
    p.backward(g)
    pv = p.data
    J = np.diag(pv) - np.outer(pv, pv)
    np.testing.assert_allclose(x.grad, g @ J, rtol=1e-12, atol=1e-15)


# ---- graph mechanics ------------------------------------------------------------------------
def test_fan_out_accumulates_both_paths():
    x = t64([1.5, -2.0])
    y = x * x + 3.0 * x  # x used three times
    y.backward(np.ones(2))
    np.testing.assert_allclose(x.grad, 2 * x.data + 3.0)


def test_fan_out_through_intermediate_node():
    x = t64(2.0)
    a = x * 3.0
    y = a * a + ops.exp(a)  # a fans out to two gates
    y.backward()
    assert x.grad == pytest.approx(3.0 * (2 * 6.0 + math.exp(6.0)))


def test_unbroadcast_sums_over_stretched_axes():
    x = t64(np.ones((3, 4)))
    b_row = t64(np.arange(4.0))
    b_col = t64(np.ones((3, 1)))
    s = t64(2.0)
    y = (x + b_row) * b_col * s
    g = np.arange(12.0).reshape(3, 4)
    y.backward(g)
    assert b_row.grad.shape == (4,) and b_col.grad.shape == (3, 1) and s.grad.shape == ()
    np.testing.assert_allclose(b_row.grad, (g * 2.0).sum(axis=0))
    np.testing.assert_allclose(b_col.grad, ((x.data + b_row.data) * g * 2.0).sum(axis=1, keepdims=True))
    np.testing.assert_allclose(s.grad, ((x.data + b_row.data) * g).sum())


def test_unbroadcast_leading_and_size_one_axes_together():
    a = t64(np.ones((2, 1, 4)))
    b = t64(np.ones((3, 1)))
    (a * b).sum().backward()
    np.testing.assert_allclose(a.grad, np.full((2, 1, 4), 3.0))
    np.testing.assert_allclose(b.grad, np.full((3, 1), 8.0))


def test_deep_chain_of_ten_thousand_ops_has_no_recursion_limit():
    x = t64(1.0)
    y = x
    for _ in range(10_000):
        y = y * 1.0001
    assert 10_000 > sys.getrecursionlimit() // 2  # deeper than a recursive walk could go
    y.backward()
    assert x.grad == pytest.approx(1.0001**10_000, rel=1e-9)


def test_graph_is_freed_after_backward():
    x = t64(np.ones(1000))
    y = ops.exp(x * 2.0)
    loss = y.sum()
    node = y._ctx
    ref = weakref.ref(node)
    del node
    loss.backward()
    assert not isinstance(loss._ctx, Function) and not isinstance(y._ctx, Function)
    gc.collect()
    assert ref() is None, "the exp gate (and its cached output) outlived backward"


def test_memory_stays_flat_over_thousands_of_iterations():
    rng = np.random.default_rng(0)
    w = nnlab.tensor(rng.standard_normal((64, 32)).astype(np.float32), requires_grad=True)
    xb = nnlab.tensor(rng.standard_normal((16, 64)).astype(np.float32))

    def step():
        h = ops.relu(xb @ w)
        loss = ops.log_softmax(h).mean()
        loss.backward()
        w.grad = None

    for _ in range(50):
        step()
    gc.collect()
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        for _ in range(2000):
            step()
        gc.collect()
        grown = tracemalloc.get_traced_memory()[0] - base
    finally:
        tracemalloc.stop()
    # One iteration's activations are ~10 KB; a leak of one per step would be > 20 MB.
    assert grown < 200_000, f"memory grew by {grown} bytes over 2000 iterations"


def test_retain_graph_allows_a_second_backward():
    x = t64([1.0, 2.0])
    y = (x * x).sum()
    y.backward(retain_graph=True)
    np.testing.assert_allclose(x.grad, [2.0, 4.0])
    y.backward()
    np.testing.assert_allclose(x.grad, [4.0, 8.0])


def test_second_backward_without_retain_graph_reaches_no_leaf():
    x = t64([1.0, 2.0])
    y = (x * x).sum()
    y.backward()
    first = x.grad.copy()
    with pytest.raises(RuntimeError, match="already freed.*retain_graph=True"):
        y.backward()  # the graph is gone: an error, not a silent no-op
    np.testing.assert_allclose(x.grad, first)
    h = x * 2.0
    h.sum().backward()
    with pytest.raises(RuntimeError, match="already freed"):
        (h * h).sum().backward()  # a new graph on top of a freed intermediate


def test_leaf_gradients_accumulate_across_backward_calls():
    x = t64([1.0, -1.0])
    (x * 3.0).sum().backward()
    (x * x).sum().backward()
    np.testing.assert_allclose(x.grad, [3.0 + 2.0, 3.0 - 2.0])
    x.zero_grad()
    assert x.grad is None


def test_no_grad_records_nothing():
    x = t64([1.0, 2.0])
    with nnlab.no_grad():
        y = ops.exp(x) * 2.0 + x
    assert y._ctx is None and not y.requires_grad
    with pytest.raises(RuntimeError, match="does not require grad"):
        y.sum().backward()

    @nnlab.no_grad()
    def infer(a):
        return a * a

    z = infer(x)
    assert z._ctx is None and not z.requires_grad
    assert (x * x).requires_grad  # recording is back on afterwards


def test_enable_grad_inside_no_grad():
    x = t64(1.0)
    with nnlab.no_grad():
        with nnlab.enable_grad():
            y = x * 2.0
        z = x * 2.0
    assert y.requires_grad and not z.requires_grad


def test_backward_on_non_scalar_without_grad_is_a_clear_value_error():
    x = t64([1.0, 2.0, 3.0])
    y = x * 2.0
    with pytest.raises(ValueError, match=r"scalar.*\(3,\)"):
        y.backward()
    with pytest.raises(ValueError, match=r"shape \(2,\).*\(3,\)"):
        y.backward(np.ones(2))


def test_backward_with_explicit_upstream_gradient():
    x = t64([1.0, 2.0, 3.0])
    y = x * x
    y.backward(np.array([1.0, 0.0, -1.0]))
    np.testing.assert_allclose(x.grad, [2.0, 0.0, -6.0])


def test_detach_cuts_the_graph():
    x = t64([1.0, 2.0])
    y = x * 3.0
    d = y.detach()
    assert d._ctx is None and not d.requires_grad
    np.testing.assert_array_equal(d.data, y.data)
    z = (d * x).sum()
    z.backward()
    np.testing.assert_allclose(x.grad, d.data)  # no path through d back to x


def test_only_tensors_that_require_grad_receive_gradients():
    x = t64([1.0, 2.0])
    c = t64([3.0, 4.0], requires_grad=False)
    (x * c).sum().backward()
    assert c.grad is None
    np.testing.assert_allclose(x.grad, [3.0, 4.0])


def test_retain_grad_keeps_an_intermediate_gradient():
    x = t64([1.0, 2.0])
    h = (x * 2.0).retain_grad()
    (h * h).sum().backward()
    np.testing.assert_allclose(h.grad, 2 * h.data)


def test_backward_on_a_leaf():
    x = t64([1.0, 2.0])
    x.backward(np.array([0.5, 0.5]))
    np.testing.assert_allclose(x.grad, [0.5, 0.5])


def test_gradient_does_not_alias_cached_arrays():
    """A leaf's .grad must own its buffer: mutating it must not corrupt another leaf's gradient."""
    a = t64([1.0, 2.0])
    b = t64([3.0, 4.0])
    (a + b).sum().backward()
    a.grad += 100.0
    np.testing.assert_allclose(b.grad, [1.0, 1.0])


def test_custom_function_gate():
    class Cube(Function):
        """y = x^3; dy/dx = 3 x^2."""

        def forward(self, x):
            self.x = x
            return x**3

        def backward(self, g):
            return (3 * self.x**2 * g,)

    x = t64([1.0, -2.0])
    y = Cube.apply(x)
    assert y.grad_fn.name == "Cube"
    y.sum().backward()
    np.testing.assert_allclose(x.grad, [3.0, 12.0])
    assert nnlab.gradcheck(lambda a: Cube.apply(a), t64([0.3, -1.2]))


def test_needs_input_grad_lets_backward_skip_work():
    seen = {}

    class Probe(Function):
        def forward(self, x, y):
            return x * y

        def backward(self, g):
            seen["needs"] = self.needs_input_grad
            return None, None

    Probe.apply(t64(1.0), t64(2.0, requires_grad=False)).backward()
    assert seen["needs"] == (True, False)


def test_nodes_that_receive_no_gradient_are_freed_too():
    class NoGradForFirst(Function):
        """z = x + y, but claims no gradient for x."""

        def forward(self, x, y):
            return x + y

        def backward(self, g):
            return None, g

    a = t64([1.0, 2.0])
    branch = ops.exp(a)  # its only consumer sends it no gradient
    b = t64([0.5, 0.5])
    NoGradForFirst.apply(branch, b).sum().backward()
    assert not isinstance(branch._ctx, Function), "an unreached gate kept its cached arrays"
    assert a.grad is None
    np.testing.assert_allclose(b.grad, [1.0, 1.0])


def test_the_four_equations_of_backpropagation():
    """Autograd on a sigmoid MLP with C = 1/2 ||a^L - y||^2 equals the four equations:
    BP1 d^L = (a^L - y) * s'(z^L); BP2 d^l = (W^{l+1 T} d^{l+1}) * s'(z^l);
    BP3 dC/db^l = d^l; BP4 dC/dW^l = d^l a^{l-1 T}."""
    rng = np.random.default_rng(8)
    sizes = [6, 5, 4, 3]
    Ws = [rng.standard_normal((o, i)) for i, o in zip(sizes[:-1], sizes[1:])]
    bs = [rng.standard_normal(o) for o in sizes[1:]]
    x, y = rng.standard_normal(6), rng.uniform(0, 1, 3)

    sig = lambda z: 1 / (1 + np.exp(-z))  # noqa: E731
    a, zs, acts = x, [], [x]
    for W, b in zip(Ws, bs):
        z = W @ a + b
        a = sig(z)
        zs.append(z)
        acts.append(a)
    ds = [None] * len(Ws)
    ds[-1] = (acts[-1] - y) * sig(zs[-1]) * (1 - sig(zs[-1]))
    for l in range(len(Ws) - 2, -1, -1):
        ds[l] = (Ws[l + 1].T @ ds[l + 1]) * sig(zs[l]) * (1 - sig(zs[l]))

    Wt = [t64(W) for W in Ws]
    bt = [t64(b) for b in bs]
    h = t64(x, requires_grad=False)
    for W, b in zip(Wt, bt):
        h = ops.sigmoid(W @ h + b)
    C = 0.5 * ((h - y) ** 2).sum()
    C.backward()
    for l in range(len(Ws)):
        np.testing.assert_allclose(bt[l].grad, ds[l], rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(Wt[l].grad, np.outer(ds[l], acts[l]), rtol=1e-12, atol=1e-15)


def test_no_grad_decorator_restores_state_after_recursion():
    from nnlab.engine.autograd import grad_enabled

    @nnlab.no_grad()
    def walk(n):
        assert not grad_enabled()
        if n:
            walk(n - 1)

    walk(3)
    assert grad_enabled()

    @nnlab.enable_grad()
    def inner(n):
        if n:
            with nnlab.no_grad():
                inner(n - 1)

    with nnlab.no_grad():
        inner(2)
        assert not grad_enabled()
    assert grad_enabled()
