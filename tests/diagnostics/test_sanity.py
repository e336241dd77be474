"""sanity_check: passes on a sensible model; fails with the right explanation for huge initial
weights and for a loss that ignores the labels."""

import math

import numpy as np
import pytest

import nnlab
from nnlab import nn
from nnlab.diagnostics import sanity_check
from nnlab.diagnostics.sanity import expected_initial_loss
from nnlab.nn import functional as F


def _blobs(n=200, d=10, c=4, seed=0):
    rng = np.random.default_rng(seed)
    centers = rng.standard_normal((c, d)) * 3
    y = rng.integers(0, c, n)
    return (centers[y] + rng.standard_normal((n, d))).astype(np.float32), y


def _mlp(d=10, c=4, init="xavier"):
    nnlab.manual_seed(0)
    return nn.Sequential(nn.Linear(d, 32, init=init), nn.Tanh(), nn.Dropout(0.2), nn.Linear(32, c, init=init))


def test_sensible_model_passes(capsys):
    X, y = _blobs()
    model = _mlp()
    before = [p.data.copy() for p in model.parameters()]
    report = sanity_check(model, nn.CrossEntropyLoss(), X, y, verbose=True)
    assert report.ok, str(report)
    assert report["loss with small weights"].values["expected"] == pytest.approx(math.log(4))
    assert report["loss with small weights"].values["loss"] == pytest.approx(math.log(4), rel=1e-3)
    assert report["overfit 20 examples"].values["accuracy"] == 1.0
    assert (
        report["regularization raises the loss"].values["high"] > report["regularization raises the loss"].values["low"]
    )
    out = capsys.readouterr().out
    assert "[PASS] initial loss" in out and "ln C = ln 4" in out
    for a, p in zip(before, model.parameters()):  # the model itself is not trained
        np.testing.assert_array_equal(a, p.data)


def test_svm_expected_value():
    assert expected_initial_loss(nn.MultiClassSVMLoss(), 10)[0] == pytest.approx(9.0)
    assert expected_initial_loss(nn.MultiClassSVMLoss(delta=2.0), 5)[0] == pytest.approx(8.0)
    X, y = _blobs()
    report = sanity_check(_mlp(), nn.MultiClassSVMLoss(), X, y)
    assert report["loss with small weights"].values["loss"] == pytest.approx(3.0, rel=1e-2)
    assert report.ok, str(report)


def test_huge_initial_weights_fail_with_explanation():
    X, y = _blobs()
    model = _mlp()
    for p in model.parameters():
        p.data *= 30
    report = sanity_check(model, nn.CrossEntropyLoss(), X, y)
    assert not report.ok
    assert report.failed == ["initial loss"]
    check = report["initial loss"]
    assert check.values["ratio"] > 3
    assert "too large" in check.meaning
    assert "initial weights are too large" in str(report)


def test_loss_ignoring_labels_fails_to_overfit():
    X, y = _blobs()

    def blind_loss(out, labels):  # always scores against class 0
        return F.cross_entropy(out, np.zeros_like(labels))

    report = sanity_check(_mlp(), blind_loss, X, y)
    assert not report.ok
    assert "overfit 20 examples" in report.failed
    check = report["overfit 20 examples"]
    assert check.values["accuracy"] < 1.0
    assert "does not see the labels" in check.meaning


def test_regularizer_with_wrong_sign_fails():
    X, y = _blobs()

    class Negative(nn.Regularizer):
        def __call__(self, model):
            return super().__call__(model) * -1.0

    report = sanity_check(_mlp(), nn.CrossEntropyLoss(), X, y, regularizer=Negative(l2=1e-2))
    assert report.failed == ["regularization raises the loss"]
    assert "wrong sign" in report["regularization raises the loss"].meaning


def test_bad_input():
    X, y = _blobs()
    with pytest.raises(ValueError, match="examples"):
        sanity_check(_mlp(), nn.CrossEntropyLoss(), X, y[:3])
