"""The F facade: functions exist, check their inputs, keep float32, and match the layers."""

import numpy as np
import pytest

import nnlab
import nnlab.nn.functional as F
from nnlab import nn


def f32(a, grad=True):
    return nnlab.tensor(np.asarray(a, dtype=np.float32), requires_grad=grad)


def test_public_names():
    for name in [
        "linear",
        "relu",
        "sigmoid",
        "tanh",
        "leaky_relu",
        "softmax",
        "log_softmax",
        "dropout",
        "batch_norm",
        "cross_entropy",
        "multiclass_svm",
        "binary_hinge",
        "binary_cross_entropy_with_logits",
        "mse_loss",
        "l1_loss",
        "l2_loss",
        "hierarchical_softmax_loss",
        "maxout",
        "flatten",
    ]:
        assert callable(getattr(F, name)), name


def test_float32_end_to_end_through_every_layer():
    rng = np.random.default_rng(0)
    nnlab.manual_seed(0)
    model = nn.Sequential(
        nn.Linear(6, 8),
        nn.BatchNorm1d(8),
        nn.ReLU(),
        nn.Dropout(0.2),
        nn.Maxout(8, 4, pieces=2),
        nn.Tanh(),
        nn.Linear(4, 3),
        nn.LeakyReLU(),
        nn.Sigmoid(),
    )
    x = f32(rng.standard_normal((5, 6)))
    out = model(x)
    assert out.dtype == np.float32
    F.cross_entropy(out, np.array([0, 1, 2, 0, 1])).backward()
    assert x.grad.dtype == np.float32
    assert all(p.grad is not None and p.grad.dtype == np.float32 for p in model.parameters())


def test_functional_linear_matches_layer_and_checks():
    lin = nn.Linear(3, 2)
    x = f32(np.ones((4, 3)), grad=False)
    np.testing.assert_array_equal(F.linear(x, lin.weight, lin.bias).data, lin(x).data)
    with pytest.raises(ValueError, match=r"linear: expected input of shape \(N, 3\), got \(4, 5\)"):
        F.linear(f32(np.ones((4, 5))), lin.weight)
    with pytest.raises(ValueError, match=r"bias must have shape \(2,\)"):
        F.linear(x, lin.weight, nn.Parameter(np.zeros(3, np.float32)))


def test_maxout_and_flatten_errors():
    with pytest.raises(ValueError, match=r"maxout: expected \(N, D \* 3\)"):
        F.maxout(f32(np.zeros((2, 4))), 3)
    with pytest.raises(ValueError, match="start_dim"):
        F.flatten(f32(np.zeros((2, 4))), 5)


def test_functional_dropout_eval_identity_and_p_range():
    x = f32(np.ones((3, 3)))
    assert F.dropout(x, 0.5, training=False) is x
    with pytest.raises(ValueError, match="p must lie in"):
        F.dropout(x, -0.1)


def test_functional_batch_norm_eval_formula():
    x = np.random.default_rng(0).standard_normal((4, 2, 3, 3)).astype(np.float32)
    rm, rv = np.array([0.5, -1.0], np.float32), np.array([2.0, 0.25], np.float32)
    g, b = nn.Parameter(np.array([2.0, 3.0], np.float32)), nn.Parameter(np.array([0.1, -0.1], np.float32))
    y = F.batch_norm(f32(x, grad=False), rm, rv, g, b, training=False).data
    want = (x - rm[None, :, None, None]) / np.sqrt(rv[None, :, None, None] + 1e-5) * np.array([2.0, 3.0])[
        None, :, None, None
    ] + np.array([0.1, -0.1])[None, :, None, None]
    np.testing.assert_allclose(y, want, rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match=r"running_mean of shape \(2,\)"):
        F.batch_norm(f32(x), np.zeros(3), rv, training=False)
    with pytest.raises(ValueError, match="needs running_mean"):
        F.batch_norm(f32(x), training=False)


def test_no_grad_still_updates_running_stats():
    bn = nn.BatchNorm1d(2)
    x = f32(np.array([[1.0, 2.0], [3.0, 6.0]]))
    with nnlab.no_grad():
        bn(x)
    np.testing.assert_allclose(bn.running_mean, [0.2, 0.4], rtol=1e-6)
    np.testing.assert_allclose(bn.running_var, [0.9 + 0.1 * 2.0, 0.9 + 0.1 * 8.0], rtol=1e-6)
