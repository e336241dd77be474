"""Deliberately broken setups: each must be detected with the right advice, and a healthy run
must raise no alarm (the babysitting tools judged on cases they were not tuned on)."""

import numpy as np
import pytest

import nnlab
from nnlab import nn, optim
from nnlab.data import load_dataset
from nnlab.diagnostics import diagnose, gradcheck_model
from nnlab.diagnostics.monitors import (
    ActivationMonitor,
    BiasVarianceMonitor,
    LossCurveMonitor,
    UpdateRatioMonitor,
    read_initial_loss,
    read_loss_curve,
)
from nnlab.engine.function import Function
from nnlab.nn.module import Module
from nnlab.nn.parameter import Parameter
from nnlab.train import Trainer


# ---------------------------------------------------------------------------------------------
# gradcheck_model: a wrong element of relative size 1e-3
# ---------------------------------------------------------------------------------------------
class _AffineFn(Function):
    """x W^T + b, with the weight gradient of one element scaled by (1 + bug)."""

    def forward(self, x, w, b, *, bug):
        self.x, self.w, self.bug = x, w, bug
        return x @ w.T + b

    def backward(self, g):
        gw = g.T @ self.x
        gw[1, 2] *= 1.0 + self.bug
        return g @ self.w, gw, g.sum(axis=0)


class _Affine(Module):
    def __init__(self, n_in, n_out, bug):
        super().__init__()
        rng = np.random.default_rng(3)
        self.weight = Parameter((rng.standard_normal((n_out, n_in)) / np.sqrt(n_in)).astype(np.float32))
        self.bias = Parameter(np.zeros(n_out, np.float32))
        self.bug = bug

    def forward(self, x):
        return _AffineFn.apply(x, self.weight, self.bias, bug=self.bug)


def _xy(n=30, d=6, c=3, seed=5):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, d)).astype(np.float32), rng.integers(0, c, n)


@pytest.mark.parametrize("bug", [1e-3, 1e-2])
def test_one_wrong_element_of_relative_size_1e_3_is_caught(bug):
    X, y = _xy()
    nnlab.manual_seed(1)
    model = nn.Sequential(nn.Linear(6, 5), nn.Tanh(), _Affine(5, 4, bug), nn.Tanh(), nn.Linear(4, 3))
    # every entry of the 4x5 weight is checked: the wrong one cannot be missed
    report = gradcheck_model(model, nn.CrossEntropyLoss(), X, y, entries_per_param=20)
    assert not report.ok, str(report)
    row = report.row("2.weight")
    assert row.grade in ("suspicious", "wrong") and row.worst_index == (1, 2)
    assert row.max_rel_error == pytest.approx(bug / (1 + bug), rel=0.05)  # |a - n| / max(|a|, |n|)
    assert {r.name for r in report.rows if r.grade not in ("good", "acceptable")} == {"2.weight"}
    # the same model with a correct backward passes
    model[2].bug = 0.0
    assert gradcheck_model(model, nn.CrossEntropyLoss(), X, y, entries_per_param=20).ok


def test_max_pool_and_relu_kinks_are_not_errors():
    """A big step crosses max-pool winners and ReLU signs: correct ops still pass, kinks reported."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((12, 2, 6, 6)).astype(np.float32)
    y = rng.integers(0, 3, 12)
    nnlab.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(2, 3, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(27, 3))
    report = gradcheck_model(model, nn.CrossEntropyLoss(), X, y, num_points=12, eps=0.05, entries_per_param=27)
    assert report.kinks > 0
    assert report.ok, str(report)


# ---------------------------------------------------------------------------------------------
# Monitors on broken training runs
# ---------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def digits():
    return load_dataset("digits8x8")


def _mlp(hidden=64):
    return nn.Sequential(nn.Flatten(), nn.Linear(64, hidden), nn.ReLU(), nn.Linear(hidden, 10))


def _train(digits, model, lr, epochs=4, train=None):
    mons = [LossCurveMonitor(verbose=False), UpdateRatioMonitor(), ActivationMonitor(every=20), BiasVarianceMonitor()]
    t = Trainer(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=lr), callbacks=mons)
    t.fit(train if train is not None else digits.train, digits.dev, epochs=epochs, batch_size=32)
    found = diagnose(mons)
    return t, {f.kind for f in found}, found


def test_healthy_run_raises_no_alarm(digits):
    nnlab.manual_seed(0)
    _, kinds, found = _train(digits, _mlp(), 0.3)
    assert kinds == {"ok"}, [str(f) for f in found]


def test_wrong_init_scale_is_read_from_the_initial_loss(digits):
    nnlab.manual_seed(0)
    model = _mlp()
    model[3].weight.data *= 30
    _, kinds, found = _train(digits, model, 0.05, epochs=1)
    f = [f for f in found if f.kind == "initial_loss_high"]
    assert f and "ln C = ln 10" in f[0].message and "init" in f[0].advice


def test_all_dead_relu_from_a_huge_negative_bias(digits):
    nnlab.manual_seed(0)
    model = _mlp()
    model[1].bias.data[:] = -100.0
    _, kinds, found = _train(digits, model, 0.3, epochs=2)
    assert {"dead_relu", "no_progress", "no_updates"} <= kinds, kinds
    # a flat loss at chance level is not an "early plateau" of a too-high learning rate
    assert "lr_too_high" not in kinds
    assert "bias" in [f for f in found if f.kind == "dead_relu"][0].advice


def test_saturated_tanh_from_a_huge_init(digits):
    nnlab.manual_seed(0)
    layers, rng = [nn.Flatten()], np.random.default_rng(0)
    for _ in range(3):
        lin = nn.Linear(64, 64)
        lin.weight.data = rng.standard_normal((64, 64)).astype(np.float32)  # std 1 instead of 1/8
        layers += [lin, nn.Tanh()]
    model = nn.Sequential(*layers, nn.Linear(64, 10))
    _, kinds, found = _train(digits, model, 0.01, epochs=1)
    sat = [f for f in found if f.kind == "saturated"]
    assert len(sat) >= 2 and "1/sqrt(n)" in sat[0].advice


def test_high_variance_and_high_bias_runs(digits):
    nnlab.manual_seed(0)
    small = digits.train.subset(np.arange(60), role="train")
    _, kinds, found = _train(digits, _mlp(512), 0.1, epochs=40, train=small)
    bv = [f for f in found if f.source == "bias/variance"][0]
    assert bv.kind == "high_variance" and "regularization" in bv.advice and "eval mode" in bv.message
    nnlab.manual_seed(0)
    _, kinds, found = _train(digits, _mlp(2), 0.1, epochs=4)
    bv = [f for f in found if f.source == "bias/variance"][0]
    assert bv.kind == "high_bias" and "bigger network" in bv.advice
    # the loss falls slowly, but the updates are large: not "raise the learning rate"
    assert "lr_too_low" not in kinds and "slow_progress" in kinds, kinds


def test_final_bias_variance_uses_the_eval_mode_train_error(digits):
    """With heavy dropout the running training accuracy is far below the model's real one."""
    nnlab.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(64, 128), nn.ReLU(), nn.Dropout(0.8), nn.Linear(128, 10))
    t, _, _ = _train(digits, model, 0.1, epochs=3)
    bv = next(m for m in t._cbs if isinstance(m, BiasVarianceMonitor))
    running = bv.epochs[-1][1]
    real = 1.0 - t.evaluate(digits.train)["accuracy"]
    assert bv.final[0] == pytest.approx(real, abs=0.03)
    assert running > real + 0.02  # the running average would have been misread
    assert f"train error {bv.final[0] * 100:.1f}%" in bv.diagnose()[0].message


def test_reading_the_initial_loss():
    assert read_initial_loss(2.35, np.log(10)) is None
    assert read_initial_loss(9.0, np.log(10)).kind == "initial_loss_high"
    assert read_initial_loss(0.2, np.log(10)).kind == "initial_loss_low"
    flat = 2.3 + 0.01 * np.random.default_rng(0).standard_normal(200)
    assert [f.kind for f in read_loss_curve(flat)] == ["no_progress"]
    kinds = [f.kind for f in read_loss_curve(np.r_[20.0, flat], expected_initial=np.log(10))]
    assert kinds[0] == "initial_loss_high"


def test_exploding_gradients_by_depth():
    """ReLU layers with twice the He scale: the gradient doubles at each layer on the way down."""
    nnlab.manual_seed(0)  # the biases come from the global generator: independent of test order
    rng = np.random.default_rng(0)
    layers = []
    for _ in range(14):
        lin = nn.Linear(40, 40)
        lin.weight.data = (rng.standard_normal((40, 40)) * 2 * np.sqrt(2 / 40)).astype(np.float32)
        lin.bias.data[:] = 0
        layers += [lin, nn.ReLU()]
    head = nn.Linear(40, 3)
    head.weight.data = (rng.standard_normal((3, 40)) / np.sqrt(40)).astype(np.float32)
    model = nn.Sequential(*layers, head)
    mon = ActivationMonitor()
    mon.attach(model)
    mon.start_sample(0)
    X = rng.standard_normal((64, 40)).astype(np.float32) * 1e-3
    nn.CrossEntropyLoss()(model(nnlab.Tensor(X)), rng.integers(0, 3, 64)).backward()
    mon.end_sample()
    mon.detach()
    f = [f for f in mon.diagnose() if f.kind == "exploding_gradients"]
    assert f and "clipping" in f[0].advice


def test_nnlab_check_passes_on_the_default_model(capsys):
    from nnlab.cli.main import main

    code = main(["check", "--limit", "200", "--points", "2"])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "checking cnn" in out and "[PASS] initial loss" in out  # ln 10 at initialization, not 2x it
    assert "gradcheck_model: OK" in out


def test_loss_noise_is_read_against_the_batch_size(digits):
    """Batch 2 wiggles (flagged, with the batch size named); batch 64 does not, although its batch loss
    late in training is as wiggly relative to its tiny mean."""
    kinds = {}
    for bs in (2, 64):
        nnlab.manual_seed(0)
        model = _mlp()
        t = Trainer(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.1 if bs == 2 else 0.3))
        t.fit(digits.train, epochs=3 if bs == 2 else 20, batch_size=bs)
        found = read_loss_curve(t.history.iterations["loss"], batch_size=bs)
        kinds[bs] = {f.kind for f in found}
        if bs == 2:
            assert "batch size 2" in [f for f in found if f.kind == "noisy"][0].message
    assert "noisy" in kinds[2] and "noisy" not in kinds[64], kinds
