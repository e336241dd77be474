"""Monitors on small data: a learning rate 10x too high and 100x too low are flagged, the NaN stop
keeps a usable checkpoint, activation statistics and the bias/variance reading."""

import numpy as np
import pytest

import nnlab
from nnlab import nn, optim
from nnlab.data import load_dataset
from nnlab.diagnostics.monitors import (
    ActivationMonitor,
    BiasVarianceMonitor,
    LossCurveMonitor,
    TrainingDiverged,
    UpdateRatioMonitor,
    diagnose,
    read_bias_variance,
    read_loss_curve,
)
from nnlab.train import LearningRateScheduler, ModelCheckpoint, Trainer

GOOD_LR = 0.3  # SGD on this net and data: 96% dev accuracy in 5 epochs


@pytest.fixture(scope="module")
def digits():
    return load_dataset("digits8x8")


def _run(digits, lr, epochs=5, extra=()):
    nnlab.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 10))
    mons = [UpdateRatioMonitor(), ActivationMonitor(every=20), LossCurveMonitor(verbose=False), BiasVarianceMonitor()]
    t = Trainer(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=lr), callbacks=mons + list(extra))
    t.fit(digits.train, digits.dev, epochs=epochs, batch_size=32)
    return t, mons, {f.kind for f in diagnose(mons)}


def test_good_learning_rate_is_not_flagged(digits):
    t, mons, kinds = _run(digits, GOOD_LR)
    assert t.history.history["val_accuracy"][-1] > 0.9
    assert not kinds & {"lr_too_high", "lr_too_low", "nan_loss", "dead_relu", "no_updates"}, kinds
    ratios = mons[0].summary()
    assert set(ratios) == {"1.weight", "1.bias", "3.weight", "3.bias"}
    assert 1e-4 < ratios["1.weight"] < 5e-2


def test_learning_rate_10x_too_high_is_flagged(digits):
    _, mons, kinds = _run(digits, GOOD_LR * 10)
    assert "lr_too_high" in kinds
    assert "dead_relu" in kinds  # the notes' warning: a high learning rate kills ReLUs


def test_learning_rate_100x_too_low_is_flagged(digits):
    _, mons, kinds = _run(digits, GOOD_LR / 100)
    assert "lr_too_low" in kinds
    text = " ".join(str(f) for f in diagnose(mons))
    assert "raise it" in text


def test_update_ratio_flags_tiny_learning_rate(digits):
    _, mons, _ = _run(digits, GOOD_LR / 1000, epochs=1)
    f = mons[0].diagnose()[0]
    assert f.kind == "lr_too_low" and mons[0].summary()["1.weight"] < 1e-4


def test_nan_stops_at_once_and_keeps_a_usable_checkpoint(digits, tmp_path):
    from nnlab.train import load

    nnlab.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 10))
    ckpt = tmp_path / "checkpoint.npz"
    guard = LossCurveMonitor(checkpoint=tmp_path / "last_good.npz", verbose=False)
    steps = []
    cbs = [
        LearningRateScheduler(lambda e: GOOD_LR if e == 0 else 1e30),
        ModelCheckpoint(ckpt),
        guard,
        nnlab.train.LambdaCallback(on_train_batch_end=lambda b, logs: steps.append(logs["loss"])),
    ]
    t = Trainer(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=GOOD_LR), callbacks=cbs)
    with pytest.raises(TrainingDiverged) as info:
        t.fit(digits.train, digits.dev, epochs=5, batch_size=32)
    e = info.value
    assert e.epoch == 1 and str(e.checkpoint_path) == str(ckpt)
    # stopped right after the first step with the huge learning rate, before its forward overflows
    assert t.global_step == t.steps_per_epoch + 1 and len(steps) == t.steps_per_epoch
    assert "lower it" in str(e) and "learning rate" in str(e)
    # the checkpoint is the one of epoch 1, finite and accurate
    ck = load(ckpt)
    assert all(np.all(np.isfinite(p.data)) for p in ck.model.parameters())
    from nnlab.train import predict

    acc = np.mean(predict(ck.model, digits.dev.X, classes=True) == digits.dev.y)
    assert acc > 0.85
    # the model in memory is back to the last good weights too
    assert all(np.all(np.isfinite(p.data)) for p in model.parameters())
    assert guard.diagnose()[0].kind == "nan_loss"


def test_nan_before_any_checkpoint_writes_the_initial_weights(digits, tmp_path):
    from nnlab.train import load

    nnlab.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 10))
    init = [p.data.copy() for p in model.parameters()]
    guard = LossCurveMonitor(checkpoint=tmp_path / "last_good.npz", verbose=False)
    t = Trainer(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=1e30), callbacks=[guard])
    with pytest.raises(TrainingDiverged) as info:
        t.fit(digits.train, epochs=2, batch_size=32)
    ck = load(info.value.checkpoint_path)
    for a, p in zip(init, ck.model.parameters()):
        np.testing.assert_array_equal(a, p.data)


def test_activation_monitor_statistics_and_gradients(digits):
    t, mons, _ = _run(digits, GOOD_LR, epochs=1)
    act = mons[1]
    # every 20 steps and the epoch's last step
    assert [x["step"] for x in act.samples] == sorted(set(range(0, t.global_step, 20)) | {t.global_step - 1})
    s = act.last()
    assert set(s["act"]) == {"2"} and set(s["grad"]) == {"2"}
    st = s["act"]["2"]
    assert 0 <= st["dead"] < 0.5 and st["mean"] > 0
    counts, edges = st["hist"]
    assert counts.sum() > 0 and edges[0] == 0
    assert s["grad"]["2"]["norm"] > 0
    assert set(s["param_grad"]) == {"1.weight", "3.weight"}
    # hooks are gone after training
    assert "forward" not in t.model[2].__dict__


def test_saturation_collapse_vanishing_flags():
    X = np.random.default_rng(0).standard_normal((64, 50)).astype(np.float32)
    for std, kind in ((3.0, "saturated"), (0.01, "collapsed")):
        layers = []
        for _ in range(6):
            lin = nn.Linear(50, 50)
            lin.weight.data = (np.random.default_rng(1).standard_normal((50, 50)) * std).astype(np.float32)
            layers += [lin, nn.Tanh()]
        model = nn.Sequential(*layers, nn.Linear(50, 3))
        mon = ActivationMonitor()
        mon.attach(model)
        mon.start_sample(0)
        loss = nn.CrossEntropyLoss()(model(nnlab.Tensor(X)), np.zeros(64, dtype=np.int64))
        model.zero_grad()
        loss.backward()
        mon.end_sample()
        mon.detach()
        kinds = {f.kind for f in mon.diagnose()}
        assert kind in kinds, kinds
        if std == 0.01:
            assert "vanishing_gradients" in kinds


def test_loss_curve_readings():
    t = np.arange(300)
    rng = np.random.default_rng(0)
    good = 2.3 * np.exp(-t / 40) + 0.05 + 0.01 * rng.standard_normal(300)
    assert [f.kind for f in read_loss_curve(good)] == ["ok"]
    slow = 2.3 - 0.0005 * t + 0.005 * rng.standard_normal(300)
    f = read_loss_curve(slow)[0]
    assert f.kind == "lr_too_low" and "linearly" in f.message
    plateau = np.where(t < 15, 2.3 - t * 0.08, 1.1) + 0.02 * rng.standard_normal(300)
    assert read_loss_curve(plateau)[0].kind == "lr_too_high"
    noisy = good * (1 + 0.8 * rng.standard_normal(300).clip(-1, 1))
    f = [f for f in read_loss_curve(noisy, batch_size=4) if f.kind == "noisy"][0]
    assert "batch size 4" in f.message
    assert read_loss_curve([2.3, 2.0, np.nan])[0].kind == "nan_loss"


def test_bias_variance_four_cases():
    assert read_bias_variance(0.01, 0.11).kind == "high_variance"
    assert "regularization" in read_bias_variance(0.01, 0.11).advice
    assert read_bias_variance(0.15, 0.16).kind == "high_bias"
    assert "bigger network" in read_bias_variance(0.15, 0.16).advice
    assert read_bias_variance(0.15, 0.30).kind == "high_bias_high_variance"
    assert read_bias_variance(0.005, 0.01).kind == "ok"
    # a target (human) error of 15% makes 16% training error fine
    assert read_bias_variance(0.16, 0.17, target_error=0.15).kind == "ok"


def test_bias_variance_monitor_reads_epochs():
    mon = BiasVarianceMonitor()
    mon.on_epoch_end(0, {"accuracy": 0.99, "val_accuracy": 0.80})
    assert mon.diagnose()[0].kind == "high_variance"
    mon.on_epoch_end(1, {"loss": 1.0})  # regression: nothing to read
    assert len(mon.epochs) == 1
