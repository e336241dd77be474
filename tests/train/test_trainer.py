import numpy as np
import pytest

from nnlab import nn
from nnlab.train import (
    Callback,
    CSVLogger,
    EarlyStopping,
    JSONLogger,
    LambdaCallback,
    LearningRateScheduler,
    ReduceLROnPlateau,
)
from nnlab.train.metrics import accuracy, confusion_matrix, ema_smooth
from train_helpers import make_trainer, weights


class Recorder(Callback):
    def __init__(self):
        self.calls = []

    def on_train_begin(self, logs=None):
        self.calls.append("train_begin")

    def on_train_end(self, logs=None):
        self.calls.append("train_end")

    def on_epoch_begin(self, epoch, logs=None):
        self.calls.append(f"epoch_begin{epoch}")

    def on_epoch_end(self, epoch, logs=None):
        self.calls.append(f"epoch_end{epoch}")
        self.last_logs = dict(logs)

    def on_train_batch_begin(self, batch, logs=None):
        self.calls.append(f"b{batch}")

    def on_train_batch_end(self, batch, logs=None):
        self.calls.append(f"/b{batch}")

    def on_test_begin(self, logs=None):
        self.calls.append("test_begin")

    def on_test_end(self, logs=None):
        self.calls.append("test_end")


def test_hooks_are_called_in_keras_order(spiral):
    rec = Recorder()
    t = make_trainer(callbacks=[rec])
    t.fit(spiral.train, spiral.dev, epochs=2, batch_size=54)  # 108 samples: 2 batches per epoch
    expected = ["train_begin"]
    for e in range(2):
        expected += [f"epoch_begin{e}", "b0", "/b0", "b1", "/b1", "test_begin", "test_end", f"epoch_end{e}"]
    expected.append("train_end")
    assert rec.calls == expected


def test_logs_history_and_separate_regularization_loss(spiral):
    rec = Recorder()
    t = make_trainer(callbacks=[rec], regularizer=nn.Regularizer(l2=0.1))
    h = t.fit(spiral.train, spiral.dev, epochs=3, batch_size=16)
    steps = 3 * int(np.ceil(len(spiral.train) / 16))
    assert len(h.iterations["loss"]) == len(h.iterations["reg_loss"]) == steps == t.global_step
    assert h.epoch == [0, 1, 2]
    for key in ("loss", "reg_loss", "accuracy", "val_loss", "val_accuracy", "lr"):
        assert len(h.history[key]) == 3, key
    assert all(r > 0 for r in h.iterations["reg_loss"])
    assert set(rec.last_logs) >= {"loss", "reg_loss", "accuracy", "val_loss", "val_accuracy"}
    # The epoch's data loss is the size-weighted mean of the iteration losses (no reg term in it).
    n = len(spiral.train)
    sizes = [16] * (n // 16) + ([n % 16] if n % 16 else [])
    last = np.asarray(h.iterations["loss"][-len(sizes) :])
    assert h.history["loss"][-1] == pytest.approx(float(np.dot(last, sizes) / n), rel=1e-6)
    # The dev figures are what evaluate() reports.
    ev = t.evaluate(spiral.dev)
    assert ev["accuracy"] == pytest.approx(h.history["val_accuracy"][-1])
    assert ev["loss"] == pytest.approx(h.history["val_loss"][-1], rel=1e-6)


def test_training_learns_and_predict_shapes(spiral):
    t = make_trainer(lr=0.05)
    t.fit(spiral.train, epochs=80, batch_size=32)
    assert t.evaluate(spiral.test)["accuracy"] > 0.75  # chance is 1/3
    p = t.predict(spiral.test.X)
    assert p.shape == (len(spiral.test), 3) and np.allclose(p.sum(axis=1), 1, atol=1e-5)
    assert np.array_equal(t.predict(spiral.test.X, classes=True), p.argmax(axis=1))


def test_stop_training_from_a_callback(spiral):
    def stop(epoch, logs):
        if epoch == 1:
            t.stop_training = True

    t = make_trainer(callbacks=[LambdaCallback(on_epoch_end=stop)])
    h = t.fit(spiral.train, epochs=10, batch_size=32)
    assert h.epoch == [0, 1]


def test_every_n_steps_trigger(spiral):
    seen = []
    t = make_trainer(callbacks=[LambdaCallback(every_n_steps=3, on_step=lambda step, logs: seen.append(step))])
    t.fit(spiral.train, epochs=2, batch_size=16)  # 7 steps per epoch
    assert seen == [3, 6, 9, 12]


def test_early_stopping_restores_the_best_weights(spiral):
    snapshots = {}

    def keep(epoch, logs):
        snapshots[epoch] = (logs["val_loss"], weights(t.model))

    # A learning rate high enough that the dev loss goes up and down.
    es = EarlyStopping(monitor="val_loss", patience=3, restore_best_weights=True)
    t = make_trainer(lr=0.3, callbacks=[LambdaCallback(on_epoch_end=keep), es])
    h = t.fit(spiral.train, spiral.dev, epochs=25, batch_size=16)
    best_epoch = min(snapshots, key=lambda e: snapshots[e][0])
    assert es.best_epoch == best_epoch
    final = weights(t.model)
    for k, v in snapshots[best_epoch][1].items():
        assert np.array_equal(final[k], v)
    if es.stopped_epoch is not None:
        assert h.epoch[-1] == es.stopped_epoch == best_epoch + 3
    # The restored weights are not simply the last epoch's.
    if best_epoch != h.epoch[-1]:
        assert any(not np.array_equal(final[k], snapshots[h.epoch[-1]][1][k]) for k in final)


def test_early_stopping_stops_after_patience(spiral):
    es = EarlyStopping(monitor="loss", patience=2, min_delta=10.0)  # nothing improves by 10
    t = make_trainer(callbacks=[es])
    h = t.fit(spiral.train, epochs=20, batch_size=32)
    assert h.epoch == [0, 1, 2] and es.stopped_epoch == 2


def test_missing_monitor_warns_with_available_keys(spiral):
    t = make_trainer(callbacks=[EarlyStopping(monitor="val_acc")])
    with pytest.warns(RuntimeWarning, match="val_acc.*available keys: .*val_accuracy"):
        t.fit(spiral.train, spiral.dev, epochs=1, batch_size=32)
    es = EarlyStopping(monitor="val_loss")
    es.trainer = t
    with pytest.warns(RuntimeWarning, match="'val_loss' is NaN"):
        es.on_epoch_end(0, {"val_loss": float("nan")})


def test_learning_rate_scheduler_per_epoch_and_per_step(spiral):
    from nnlab.optim.schedules import StepLR

    lrs = []
    t = make_trainer(
        callbacks=[
            LearningRateScheduler(StepLR(0.1, step_size=1, gamma=0.5)),
            LambdaCallback(on_epoch_end=lambda e, logs: lrs.append(logs["lr"])),
        ]
    )
    t.fit(spiral.train, epochs=3, batch_size=32)
    assert lrs == pytest.approx([0.1, 0.05, 0.025])
    seen = []
    t = make_trainer(
        callbacks=[
            LearningRateScheduler(lambda step: 0.01 * (step + 1), interval="step"),
            LambdaCallback(on_train_batch_end=lambda b, logs: seen.append(t.optimizer.param_groups[0]["lr"])),
        ]
    )
    t.fit(spiral.train, epochs=1, batch_size=32)
    assert seen == pytest.approx([0.01, 0.02, 0.03, 0.04])


def test_reduce_lr_on_plateau(spiral):
    cb = ReduceLROnPlateau(monitor="loss", factor=0.5, patience=1, min_delta=100.0)  # never "improves"
    t = make_trainer(lr=0.01, callbacks=[cb])
    h = t.fit(spiral.train, epochs=4, batch_size=32)
    # epoch 0 sets the best; each later epoch without improvement halves the lr (patience 1).
    # Logs hold the lr each epoch was trained with.
    assert h.history["lr"] == pytest.approx([0.01, 0.01, 0.005, 0.0025])
    assert t.optimizer.param_groups[0]["lr"] == pytest.approx(0.00125)


def test_csv_and_json_loggers(spiral, tmp_path):
    t = make_trainer(callbacks=[CSVLogger(tmp_path / "m.csv"), JSONLogger(tmp_path / "m.json", iterations=True)])
    t.fit(spiral.train, spiral.dev, epochs=3, batch_size=32)
    lines = (tmp_path / "m.csv").read_text().strip().splitlines()
    assert lines[0].split(",")[:3] == ["epoch", "loss", "reg_loss"] and "val_accuracy" in lines[0]
    assert len(lines) == 4 and lines[-1].startswith("3,")
    import json

    doc = json.loads((tmp_path / "m.json").read_text())
    assert doc["epoch"] == [1, 2, 3] and len(doc["iterations"]["loss"]) == t.global_step
    assert doc["val_accuracy"] == pytest.approx(t.history.history["val_accuracy"])


def test_same_seed_gives_identical_metrics_and_weights(spiral):
    runs = []
    for _ in range(2):
        t = make_trainer(seed=3)
        h = t.fit(spiral.train, spiral.dev, epochs=4, batch_size=16)
        runs.append((h.history, h.iterations, weights(t.model)))
    (h1, i1, w1), (h2, i2, w2) = runs
    for k in h1:
        if k != "epoch_seconds":
            assert h1[k] == h2[k], k
    assert i1 == i2
    for k in w1:
        assert np.array_equal(w1[k], w2[k])
    t = make_trainer(seed=4)
    t.fit(spiral.train, spiral.dev, epochs=4, batch_size=16)
    assert not np.array_equal(weights(t.model)["0.weight"], w1["0.weight"])


def test_bad_arguments_are_named():
    t = make_trainer()
    with pytest.raises(ValueError, match="epochs"):
        t.fit((np.zeros((4, 2), np.float32), np.zeros(4, np.int64)), epochs=-1)
    with pytest.raises(TypeError, match="ArrayDataset"):
        t.evaluate(np.zeros((4, 2)))
    with pytest.raises(TypeError, match="loss"):
        type(t)(t.model, "cross-entropy", t.optimizer)


def test_metrics_helpers():
    y = np.array([0, 1, 2, 2])
    scores = np.array([[3, 0, 0], [0, 2, 0], [0, 5, 1], [0, 0, 1.0]])
    assert accuracy(scores, y) == 0.75
    cm = confusion_matrix(y, scores.argmax(1), 3)
    assert cm.tolist() == [[1, 0, 0], [0, 1, 0], [0, 1, 1]]
    s = ema_smooth([2.0, 2.0, 2.0], 0.9)
    assert np.allclose(s, 2.0)  # bias correction: a constant stays constant from the first point


def test_progress_bar_when_enabled_and_silent_otherwise(spiral):
    import io
    from nnlab.train import ProgressBar

    buf = io.StringIO()
    t = make_trainer(callbacks=[ProgressBar(enabled=True, file=buf)])
    t.fit(spiral.train, spiral.dev, epochs=2, batch_size=32)
    text = buf.getvalue()
    assert "epoch 1/2" in text and "epoch 2/2" in text and "val_accuracy" in text
    quiet = io.StringIO()  # a StringIO is not a terminal: nothing is written
    t = make_trainer(callbacks=[ProgressBar(file=quiet)])
    t.fit(spiral.train, epochs=1, batch_size=32)
    assert quiet.getvalue() == ""


def test_model_checkpoint_names_best_only_and_step_interval(spiral, tmp_path):
    from nnlab.train import ModelCheckpoint, load

    every = ModelCheckpoint(tmp_path / "e{epoch}.npz")
    best = ModelCheckpoint(tmp_path / "best.npz", monitor="val_loss", save_best_only=True)
    steps = ModelCheckpoint(tmp_path / "s{step}.npz", every_n_epochs=100, every_n_steps=5)
    t = make_trainer(lr=0.3, callbacks=[every, best, steps])
    h = t.fit(spiral.train, spiral.dev, epochs=6, batch_size=16)  # 7 steps per epoch
    assert sorted(p.name for p in tmp_path.glob("e*.npz")) == [f"e{i}.npz" for i in range(1, 7)]
    assert sorted(int(p.stem[1:]) for p in tmp_path.glob("s*.npz")) == list(range(5, 43, 5))
    best_epoch = int(np.argmin(h.history["val_loss"]))
    ck = load(tmp_path / "best.npz")
    assert ck.epoch == best_epoch + 1  # epochs completed
    assert best.best == pytest.approx(min(h.history["val_loss"]))
    with pytest.raises(ValueError, match="monitor"):
        ModelCheckpoint(tmp_path / "x.npz", save_best_only=True)


def test_preprocessing_is_fitted_on_the_training_split_only(spiral):
    from nnlab.data import Standardize

    t = make_trainer()
    t.preprocessor = Standardize()
    t.fit(spiral.train, spiral.dev, epochs=1, batch_size=32)
    assert np.allclose(t.preprocessor.transform(spiral.train.X).mean(axis=0), 0, atol=1e-5)
    assert not np.allclose(t.preprocessor.transform(spiral.dev.X).mean(axis=0), 0, atol=1e-3)
    t2 = make_trainer()
    t2.preprocessor = Standardize()
    with pytest.raises(ValueError, match="training split only"):
        t2.fit(spiral.dev, epochs=1)
    from nnlab.data import DataLoader

    with pytest.raises(ValueError, match="not a DataLoader"):  # its batches would skip the preprocessing
        t2.fit(DataLoader(spiral.train), spiral.dev, epochs=1)


def test_scheduler_bound_to_the_optimizer_is_stepped_and_saved(spiral, tmp_path):
    from nnlab.optim.schedules import StepLR

    t = make_trainer(lr=0.1)
    sched = StepLR(t.optimizer, step_size=2, gamma=0.5)
    cb = LearningRateScheduler(sched, interval="step")
    t.fit(spiral.train, epochs=1, batch_size=16, callbacks=[cb])  # 7 steps
    assert t.optimizer.param_groups[0]["lr"] == pytest.approx(0.1 * 0.5**3)
    assert cb.state_dict()["schedule"]


def test_on_train_abort_gets_the_exception_and_it_propagates(spiral):
    """An exception inside fit reaches every on_train_abort (even after one of them fails), then
    the caller; on_train_end is not called."""
    from nnlab.train.callbacks import LambdaCallback

    seen, ended = [], []

    def boom(batch, logs):
        if batch == 2:
            raise ArithmeticError("overflow in step")

    def bad_abort(exc, logs):
        raise RuntimeError("writer failed")

    cbs = [
        LambdaCallback(on_train_batch_end=boom),
        LambdaCallback(on_train_abort=bad_abort),
        LambdaCallback(on_train_abort=lambda exc, logs: seen.append(exc), on_train_end=lambda logs: ended.append(1)),
    ]
    t = make_trainer(callbacks=cbs)
    with pytest.warns(RuntimeWarning, match="on_train_abort failed"):
        with pytest.raises(ArithmeticError, match="overflow in step"):
            t.fit(spiral.train, epochs=1, batch_size=16)
    assert len(seen) == 1 and isinstance(seen[0], ArithmeticError) and not ended
    ok = []
    t2 = make_trainer(callbacks=[LambdaCallback(on_train_abort=lambda exc, logs: ok.append(exc))])
    t2.fit(spiral.train, epochs=1, batch_size=16)
    assert ok == []  # a normal end does not call it
