"""nnlab.explain reproduces the notes' two circuits with their numbers and names the patterns."""

import numpy as np
import pytest

import nnlab
import nnlab.explain
from nnlab.explain import explain
from nnlab.explain.equations import compare, four_equations


def _leaves(*values):
    return [nnlab.tensor(v, requires_grad=True, dtype=np.float64) for v in values]


def test_add_then_multiply_circuit_of_the_notes():
    x, y, z = _leaves(-2.0, 5.0, -4.0)
    c = nnlab.explain((x + y) * z, names={"x": x, "y": y, "z": z})  # the module is callable
    assert c.value("f") == -12
    assert c.value("q1") == 3
    assert (c.grad("x"), c.grad("y"), c.grad("z")) == (-4, -4, 3)
    assert x.grad == -4 and z.grad == 3  # the leaves hold the same numbers
    text = str(c)
    assert "add distributes" in text and "multiply swaps" in text
    assert "q1 = Add(x, y) = 3" in text and "f = Mul(q1, z) = -12" in text


def test_sigmoid_neuron_gives_the_notes_numbers():
    # 000, «3. Sigmoid 例子»: w = [2, -3, -3], x = [-1, -2]; dx = [0.393, -0.590], dw = [-0.197, -0.393, 0.197]
    w0, x0, w1, x1, w2 = _leaves(2.0, -1.0, -3.0, -2.0, -3.0)
    f = 1 / (1 + (-(w0 * x0 + w1 * x1 + w2)).exp())
    c = explain(f, names=dict(w0=w0, x0=x0, w1=w1, x1=x1, w2=w2))
    assert c.value("f") == pytest.approx(0.7310585786)
    np.testing.assert_allclose([c.grad("x0"), c.grad("x1")], [0.3932238664829637, -0.5898357997244456], rtol=1e-12)
    np.testing.assert_allclose(
        [c.grad("w0"), c.grad("w1"), c.grad("w2")],
        [-0.19661193324148185, -0.3932238664829637, 0.19661193324148185],
        rtol=1e-12,
    )
    # the gates of the cs231n drawing: 1/x receives 1 and passes -0.53; exp passes -0.2; *-1 passes 0.2
    ops = [g.op for g in c.gates()]
    assert ops == ["Mul", "Mul", "Add", "Add", "Neg", "Exp", "Add", "Div"]
    exp_gate = c.gates()[5]
    assert exp_gate.grad.item() == pytest.approx(-0.5344, abs=1e-4)
    assert c.node(exp_gate.inputs[0]).grad.item() == pytest.approx(-0.1966, abs=1e-4)
    # the same neuron with the fused sigmoid gate gives the same gradients
    w0, x0, w1, x1, w2 = _leaves(2.0, -1.0, -3.0, -2.0, -3.0)
    c2 = explain((w0 * x0 + w1 * x1 + w2).sigmoid(), names=dict(w0=w0, x0=x0, w1=w1, x1=x1, w2=w2))
    assert c2.grad("w1") == pytest.approx(-0.3932238664829637, rel=1e-12)
    assert "(1 - s) s" in str(c2)


def test_max_routes_the_gradient_to_the_larger_input():
    a, b = _leaves(3.0, 1.0)
    m = nnlab.engine.ops.maximum(a, b) * 2.0
    c = explain(m, names={"a": a, "b": b})
    assert (c.grad("a"), c.grad("b")) == (2.0, 0.0)
    assert "max routes" in str(c)


def test_svg_and_html_carry_values_gradients_and_patterns(tmp_path):
    x, y, z = _leaves(-2.0, 5.0, -4.0)
    c = explain((x + y) * z, names={"x": x, "y": y, "z": z})
    svg = c.to_svg()
    assert svg.startswith("<svg") and svg.rstrip().endswith("</svg>")
    for s in ("-12", "-4", ">3<", "add distributes", "multiply swaps", "add: distributes", "mul: swaps"):
        assert s in svg
    page = c.save(tmp_path / "c.html")
    text = open(page).read()
    assert "<svg" in text and "Mul(q1, z)" in text
    assert c.save(tmp_path / "c.svg").endswith(".svg")
    with pytest.raises(ValueError, match=r"\.svg, \.html or \.txt"):
        c.save(tmp_path / "c.png")


def test_arrays_and_constants_are_shown_compactly():
    W = nnlab.tensor(np.arange(6.0).reshape(2, 3), requires_grad=True, dtype=np.float64)
    v = nnlab.tensor(np.ones(3), dtype=np.float64)
    c = explain((W @ v).sum(), names={"W": W})
    np.testing.assert_array_equal(c.grad("W"), np.ones((2, 3)))
    assert "constant" in str(c) and "Sum" in str(c)


def test_refuses_a_freed_graph_and_a_graph_without_gradients():
    x, y = _leaves(1.0, 2.0)
    f = x * y
    f.backward()
    with pytest.raises(RuntimeError, match="before backward"):
        explain(f)
    const = nnlab.tensor(2.0) * 3.0
    with pytest.raises(ValueError, match="requires_grad=True"):
        explain(const)
    with pytest.raises(TypeError, match="Tensor"):
        explain(3.0)


def test_four_backprop_equations_match_autograd():
    res = compare(sizes=(6, 5, 4, 3), batch=7, seed=3)
    assert res["dW_rel_diff"] < 1e-12 and res["db_rel_diff"] < 1e-12
    # and the equations are not trivially autograd: a wrong BP2 (no sigma') is caught
    rng = np.random.default_rng(0)
    Ws = [rng.standard_normal((4, 3)), rng.standard_normal((2, 4))]
    bs = [rng.standard_normal(4), rng.standard_normal(2)]
    X, Y = rng.standard_normal((5, 3)), rng.random((5, 2))
    g = four_equations(Ws, bs, X, Y)
    wrong_delta0 = g["delta"][1] @ Ws[1]
    assert not np.allclose(wrong_delta0, g["delta"][0])


def test_a_value_used_twice_receives_the_sum_of_both_paths():
    x, y = _leaves(3.0, 2.0)
    c = explain(x * y + x, names={"x": x, "y": y})
    assert c.grad("x") == 3.0 and c.grad("y") == 3.0  # d/dx (xy + x) = y + 1
    assert "Σ 3" in c.to_svg()
