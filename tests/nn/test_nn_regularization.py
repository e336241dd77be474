"""Regularization: L2/L1/elastic-net penalties and gradients, per-layer strengths, max-norm."""

import numpy as np
import pytest

import nnlab
from nnlab import nn
from nnlab.nn.regularization import MaxNorm, Regularizer, l1_penalty, l2_penalty


def model64():
    nnlab.manual_seed(0)
    return nn.Sequential(nn.Linear(4, 5), nn.ReLU(), nn.BatchNorm1d(5), nn.Linear(5, 3)).double()


def test_l2_value_and_gradient_is_lambda_w():
    m = model64()
    lam = 0.3
    r = Regularizer(l2=lam)(m)
    w0, w3 = m[0].weight.data, m[3].weight.data
    assert r.item() == pytest.approx(0.5 * lam * ((w0**2).sum() + (w3**2).sum()), rel=1e-12)
    r.backward()
    np.testing.assert_allclose(m[0].weight.grad, lam * w0, rtol=1e-12)
    np.testing.assert_allclose(m[3].weight.grad, lam * w3, rtol=1e-12)
    # biases and batch-norm gamma/beta are excluded by default
    assert m[0].bias.grad is None and m[2].weight.grad is None and m[2].bias.grad is None


def test_l1_and_elastic_net():
    m = model64()
    r = Regularizer(l1=0.1, l2=0.2)(m)
    ws = [m[0].weight.data, m[3].weight.data]
    want = sum(0.1 * np.abs(w).sum() + 0.1 * (w**2).sum() for w in ws)
    assert r.item() == pytest.approx(want, rel=1e-12)
    r.backward()
    np.testing.assert_allclose(m[3].weight.grad, 0.1 * np.sign(ws[1]) + 0.2 * ws[1], rtol=1e-12)


def test_gradcheck_of_penalty():
    m = model64()
    reg = Regularizer(l2=0.7, l1=0.05, include_bias=True)
    rep = nnlab.gradcheck(lambda *_: reg(m), *m.parameters(), rtol=1e-7)
    assert rep.ok, rep


def test_include_bias_and_per_layer():
    m = model64()
    m[0].bias.data[:] = 1.0
    names = {n for n, *_ in Regularizer(l2=1.0, include_bias=True).penalized(m)}
    assert {"0.bias", "2.weight", "2.bias"} <= names
    reg = Regularizer(l2=1.0, per_layer={"0": {"l2": 0.0}, "3": {"l1": 2.0}})
    got = {n: (l2, l1) for n, _, l2, l1 in reg.penalized(m)}
    assert got == {"3.weight": (1.0, 2.0)}
    with pytest.raises(ValueError, match="unknown keys"):
        Regularizer(per_layer={"0": {"lambda": 1}})
    with pytest.raises(ValueError, match="l2 must be a finite number >= 0, got -1"):
        Regularizer(l2=-1)


@pytest.mark.parametrize(
    "kwargs,match",
    [
        (dict(l2=float("nan")), "l2 must be a finite number >= 0, got nan"),
        (dict(l1="0.1"), "l1 must be a finite number >= 0, got '0.1'"),
        (dict(l2=True), "l2 must be a finite number >= 0, got True"),
        (dict(per_layer={"0": {"l2": -0.5}}), r"per_layer\['0'\]\['l2'\] must be a finite number >= 0, got -0.5"),
    ],
)
def test_bad_strengths_are_named(kwargs, match):
    with pytest.raises(ValueError, match=match):
        Regularizer(**kwargs)


def test_a_per_layer_prefix_that_matches_nothing_is_an_error():
    m = model64()
    reg = Regularizer(l2=1.0, per_layer={"fc1": {"l2": 0.0}})
    with pytest.raises(
        ValueError,
        match=r"per_layer prefix 'fc1' matches no parameter of the model; its "
        r"layers are \['0', '2', '3'\]",
    ):
        reg(m)
    # a prefix must match whole name components: "0" covers "0.weight", not "00.weight"
    assert Regularizer(l2=1.0, per_layer={"0": {"l2": 0.0}}).strengths("00.weight") == (1.0, 0.0)


def test_data_and_reg_loss_separable_and_summed():
    m = model64()
    x = nnlab.tensor(np.random.default_rng(0).standard_normal((6, 4)))
    y = np.array([0, 1, 2, 0, 1, 2])
    reg = Regularizer(l2=0.1)
    data = nn.functional.cross_entropy(m(x), y)
    rl = reg(m)
    (data + rl).backward()
    g_total = m[3].weight.grad.copy()
    m.zero_grad()
    nn.functional.cross_entropy(m(x), y).backward()
    np.testing.assert_allclose(g_total - m[3].weight.grad, 0.1 * m[3].weight.data, atol=1e-12)


def test_zero_penalty_has_model_dtype():
    assert Regularizer()(model64()).dtype == np.float64
    assert Regularizer()(nn.Linear(2, 2)).item() == 0.0


def test_functional_penalties():
    w = nn.Parameter(np.array([[1.0, -2.0]]))
    assert l2_penalty([w], 2.0).item() == pytest.approx(5.0)
    assert l1_penalty([w], 2.0).item() == pytest.approx(6.0)


def test_max_norm_projection():
    nnlab.manual_seed(0)
    m = nn.Sequential(nn.Linear(20, 30, init="small"), nn.ReLU(), nn.Linear(30, 5))
    m[0].weight.data *= 500  # some rows far outside the ball
    small_row = m[0].weight.data[0].copy() / np.linalg.norm(m[0].weight.data[0])  # norm 1 < c
    m[0].weight.data[0] = small_row
    before = m[0].weight.data.copy()
    MaxNorm(3.0).apply(m)
    for layer in (m[0], m[2]):
        norms = np.linalg.norm(layer.weight.data, axis=1)
        assert np.all(norms <= 3.0 * (1 + 1e-6))
    np.testing.assert_allclose(m[0].weight.data[0], small_row)  # inside the ball: untouched
    big = np.linalg.norm(before, axis=1) > 3
    np.testing.assert_allclose(np.linalg.norm(m[0].weight.data[big], axis=1), 3.0, rtol=1e-5)
    # direction is kept
    cos = (m[0].weight.data[big] * before[big]).sum(1) / (
        np.linalg.norm(m[0].weight.data[big], axis=1) * np.linalg.norm(before[big], axis=1)
    )
    np.testing.assert_allclose(cos, 1.0, rtol=1e-5)
    for bad in (0, -1.0, float("inf"), float("nan"), "3"):
        with pytest.raises(ValueError, match="MaxNorm: c must be a finite number > 0"):
            MaxNorm(bad)
