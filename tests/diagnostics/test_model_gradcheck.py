"""gradcheck_model: names a planted wrong backward, passes correct models, reports kinks."""

import numpy as np
import pytest

import nnlab
from nnlab import nn
from nnlab.diagnostics import gradcheck_model
from nnlab.engine.function import Function
from nnlab.nn.module import Module
from nnlab.nn.parameter import Parameter


class _DoubledLinearFn(Function):
    """y = 2 x W^T; the weight's VJP below forgets the factor 2 (the planted bug)."""

    def forward(self, x, w):
        self.x, self.w = x, w
        return 2.0 * x @ w.T

    def backward(self, g):
        return 2.0 * g @ self.w, g.T @ self.x  # correct: 2 * g^T x


class DoubledLinear(Module):
    def __init__(self, n_in, n_out):
        super().__init__()
        self.weight = Parameter(
            np.random.default_rng(1).standard_normal((n_out, n_in)).astype(np.float32) / np.sqrt(n_in)
        )

    def forward(self, x):
        return _DoubledLinearFn.apply(x, self.weight)


def _data(n=40, d=12, c=4, seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, d)).astype(np.float32), rng.integers(0, c, n)


def test_planted_wrong_backward_is_named():
    nnlab.manual_seed(0)
    X, y = _data()
    model = nn.Sequential(nn.Linear(12, 16), nn.Tanh(), DoubledLinear(16, 10), nn.Tanh(), nn.Linear(10, 4))
    report = gradcheck_model(model, nn.CrossEntropyLoss(), X, y)
    assert not report.ok
    assert report.wrong == ["2.weight"]
    row = report.row("2.weight")
    assert row.grade == "wrong" and row.max_rel_error > 0.3  # half the true gradient: rel error 0.5
    assert "DoubledLinear" in row.layer
    # the layers around it still get correct gradients (its input gradient is right)
    for name in ("0.weight", "0.bias", "4.weight", "4.bias"):
        assert report.row(name).grade == "good", str(report)
    assert "2.weight" in str(report) and "wrong" in str(report)


def test_correct_mlp_every_parameter_good_with_dropout_and_regularization():
    nnlab.manual_seed(0)
    X, y = _data()
    model = nn.Sequential(
        nn.Linear(12, 20), nn.Tanh(), nn.Dropout(0.5), nn.Linear(20, 20), nn.Sigmoid(), nn.Linear(20, 4)
    )
    report = gradcheck_model(model, nn.CrossEntropyLoss(), X, y, regularizer=nn.Regularizer(l2=1e-3))
    assert report.ok, str(report)
    names = [n for n, _ in model.named_parameters()]
    assert {r.name for r in report.rows if r.check == "data"} == set(names)  # biases included
    assert {r.name for r in report.rows if r.check == "data+reg"} == set(names)
    assert all(r.grade == "good" for r in report.rows), str(report)
    assert all(
        r.checked == min(10, p.data.size)
        for r, (_, p) in zip([r for r in report.rows if r.check == "data"], model.named_parameters())
    )
    # the original model is untouched: still float32
    assert all(p.data.dtype == np.float32 for p in model.parameters())


def test_wrong_regularization_gradient_caught_only_in_reg_check():
    class BadReg(nn.Regularizer):
        def __call__(self, model):
            total = None
            for _, p, l2, _ in self.penalized(model):
                t = _HalfGradSquare.apply(p) * (0.5 * l2)
                total = t if total is None else total + t
            return total

    nnlab.manual_seed(0)
    X, y = _data()
    model = nn.Sequential(nn.Linear(12, 8), nn.Tanh(), nn.Linear(8, 4))
    report = gradcheck_model(model, nn.CrossEntropyLoss(), X, y, regularizer=BadReg(l2=1e-4))
    assert all(r.grade == "good" for r in report.rows if r.check == "data")
    bad = {r.name for r in report.rows if r.check == "data+reg" and r.grade == "wrong"}
    assert bad == {"0.weight", "2.weight"}


class _HalfGradSquare(Function):
    """sum w^2 with gradient w (should be 2 w)."""

    def forward(self, w):
        self.w = w
        return np.asarray((w * w).sum(), dtype=w.dtype)

    def backward(self, g):
        return (g * self.w,)


def test_kinks_are_reported_not_counted_as_errors():
    nnlab.manual_seed(0)
    X, y = _data(n=200)
    model = nn.Sequential(nn.Linear(12, 30), nn.ReLU(), nn.Linear(30, 4))
    # a big step and many points: many ReLU inputs change sign between x+h and x-h
    report = gradcheck_model(model, nn.MultiClassSVMLoss(), X, y, num_points=100, eps=1e-1, entries_per_param=30)
    assert report.kinks > 0
    assert report.ok, str(report)
    assert "kink" in str(report)


def test_works_after_training_steps_and_on_a_cnn():
    from nnlab.optim import SGD
    from nnlab.engine.tensor import Tensor

    nnlab.manual_seed(0)
    rng = np.random.default_rng(0)
    X = rng.standard_normal((16, 1, 8, 8)).astype(np.float32)
    y = rng.integers(0, 3, 16)
    model = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(64, 3))
    opt, loss = SGD(model.parameters(), lr=0.1), nn.CrossEntropyLoss()
    for _ in range(5):
        opt.zero_grad()
        loss(model(Tensor(X)), y).backward()
        opt.step()
    report = gradcheck_model(model, loss, X, y)
    assert report.ok, str(report)
    assert {r.name for r in report.rows} == {"0.weight", "0.bias", "4.weight", "4.bias"}


def test_depth_relaxes_thresholds():
    from nnlab.diagnostics.model_check import thresholds_for_depth, grade

    assert thresholds_for_depth(2)[0] == pytest.approx(1e-2)
    assert thresholds_for_depth(10)[0] == pytest.approx(1e-1)
    assert grade(3e-2, depth=2) == "wrong" and grade(3e-2, depth=10) == "suspicious"


def test_bad_arguments():
    X, y = _data()
    model = nn.Sequential(nn.Linear(12, 4))
    with pytest.raises(ValueError, match="examples"):
        gradcheck_model(model, nn.CrossEntropyLoss(), X, y[:5])
    with pytest.raises(ValueError, match="eps"):
        gradcheck_model(model, nn.CrossEntropyLoss(), X, y, eps=0)
