import json
import os
import signal
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import numpy as np
import pytest

import nnlab
from nnlab.data import Standardize
from nnlab.train import (
    Callback,
    CheckpointError,
    EarlyStopping,
    LearningRateScheduler,
    ModelCheckpoint,
    ReduceLROnPlateau,
    TrainingInterrupted,
)
from nnlab.train import checkpoint as ckpt
from train_helpers import assert_bitwise_equal, make_trainer, weights

EPOCHS, BATCH = 6, 16


class Raise(Callback):
    """Simulates Ctrl-C: raises KeyboardInterrupt at a given epoch end or global step."""

    def __init__(self, epoch=None, step=None, sig=False):
        self.epoch, self.step, self.sig = epoch, step, sig

    def _fire(self):
        if self.sig:
            os.kill(os.getpid(), signal.SIGINT)  # a real Ctrl-C: deferred to the end of the step
        else:
            raise KeyboardInterrupt

    def on_train_batch_end(self, batch, logs=None):
        if self.step is not None and self.trainer.global_step == self.step:
            self._fire()

    def on_epoch_end(self, epoch, logs=None):
        if self.epoch is not None and epoch == self.epoch:
            self._fire()


def _callbacks(path, raiser=None):
    """Stateful callbacks on both sides of the interruption point."""
    return [
        LearningRateScheduler(lambda e: 0.02 * 0.9**e),
        ReduceLROnPlateau(monitor="val_loss", factor=0.5, patience=1),
        raiser or Raise(),
        EarlyStopping(monitor="val_accuracy", patience=100, restore_best_weights=True),
        ModelCheckpoint(path),
    ]


def _run(spiral, path, raiser=None, resume=None):
    t = make_trainer(seed=1, callbacks=_callbacks(path, raiser))
    t.fit(spiral.train, spiral.dev, epochs=EPOCHS, batch_size=BATCH, resume=resume)
    return t


@pytest.fixture(scope="module")
def reference(spiral, tmp_path_factory):
    t = _run(spiral, tmp_path_factory.mktemp("ref") / "ck.npz")
    return weights(t.model), t.history


@pytest.mark.parametrize(
    "raiser",
    [Raise(epoch=2), Raise(step=17), Raise(step=21, sig=True), Raise(epoch=0, sig=True)],
    ids=["epoch-end", "mid-epoch", "sigint-mid-epoch", "sigint-epoch-end"],
)
def test_interrupted_then_resumed_equals_uninterrupted_bitwise(spiral, tmp_path, reference, raiser):
    ref_w, ref_h = reference
    path = tmp_path / "ck.npz"
    with pytest.raises(TrainingInterrupted) as info:
        _run(spiral, path, raiser=raiser)
    assert info.value.checkpoint_path == str(path) and path.exists()
    t = _run(spiral, path, resume=path)
    assert_bitwise_equal(weights(t.model), ref_w)
    assert t.history.epoch == ref_h.epoch
    for k, v in ref_h.history.items():
        if k != "epoch_seconds":
            assert t.history.history[k] == v, k
    assert t.history.iterations == ref_h.iterations


def test_resume_uses_the_runs_preprocessor_even_if_the_new_trainer_has_none(spiral, tmp_path):
    # shifted, scaled inputs: training on them unstandardized would give other weights
    train = (spiral.train.X * 7 + 3, spiral.train.y)
    dev = (spiral.dev.X * 7 + 3, spiral.dev.y)
    full = make_trainer(seed=1)
    full.preprocessor = Standardize()
    full.fit(train, dev, epochs=4, batch_size=BATCH)
    path = tmp_path / "ck.npz"
    half = make_trainer(seed=1, callbacks=[ModelCheckpoint(path)])
    half.preprocessor = Standardize()
    half.fit(train, dev, epochs=2, batch_size=BATCH)
    for fresh in (None, Standardize()):  # none at all, or an unfitted one that fit() would fit anew
        resumed = make_trainer(seed=1)
        resumed.preprocessor = fresh
        resumed.fit(train, dev, epochs=4, batch_size=BATCH, resume=path)
        assert_bitwise_equal(weights(resumed.model), weights(full.model))
        assert resumed.history.history["val_loss"] == full.history.history["val_loss"]


def test_resume_after_sigkill_equals_uninterrupted(spiral, tmp_path, reference):
    """A process killed right after writing its epoch-2 checkpoint, resumed in another process."""
    path = tmp_path / "ck.npz"
    script = textwrap.dedent(f"""
        import os, signal, sys
        sys.path.insert(0, {str(Path(__file__).parent)!r})
        from nnlab.data import make_spiral, train_dev_test_split
        from nnlab.train import Callback
        import test_checkpoint as T
        X, y = make_spiral(n_per_class=60, classes=3, noise=0.1, seed=0)
        s = train_dev_test_split(X, y, sizes=(0.6, 0.2, 0.2), seed=0)
        class Kill(Callback):
            def on_epoch_end(self, epoch, logs=None):
                if epoch == 2:
                    os.kill(os.getpid(), signal.SIGKILL)
        cbs = T._callbacks({str(path)!r}) + [Kill()]
        t = T.make_trainer(seed=1, callbacks=cbs)
        t.fit(s.train, s.dev, epochs=T.EPOCHS, batch_size=T.BATCH)
    """)
    proc = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, cwd=str(Path(__file__).parent)
    )
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    assert ckpt.read_checkpoint(path)["train_state"]["epoch"] == 2
    t = make_trainer(seed=1, callbacks=_callbacks(path) + [Callback()])
    t.fit(spiral.train, spiral.dev, epochs=EPOCHS, batch_size=BATCH, resume=path)
    assert_bitwise_equal(weights(t.model), reference[0])


def test_save_load_model_round_trip(spiral, tmp_path):
    t = make_trainer(seed=2)
    t.fit(spiral.train, epochs=3, batch_size=16)
    path = nnlab.save(t.model, tmp_path / "m.npz")
    ck = nnlab.load(path)
    assert type(ck.model) is type(t.model) and not ck.model.training
    assert_bitwise_equal(weights(ck.model), weights(t.model))  # BN running stats included
    from nnlab.train import predict

    assert np.array_equal(predict(ck.model, spiral.test.X), predict(t.model, spiral.test.X))
    assert repr(ck.model) == repr(t.model)


def test_training_checkpoint_holds_everything(spiral, tmp_path):
    t = make_trainer(seed=2)
    t.preprocessor = Standardize()
    t.config = {"note": "x", "sizes": (1, 2)}
    t.fit(spiral.train, spiral.dev, epochs=2, batch_size=16)
    path = t.save_checkpoint(tmp_path / "c.npz")
    ck = ckpt.load(path)
    assert ck.epoch == 2 and ck.step == t.global_step and ck.version == ckpt.VERSION
    assert ck.config == {"note": "x", "sizes": (1, 2)}
    assert np.allclose(ck.preprocessor.transform(spiral.test.X), t.preprocessor.transform(spiral.test.X))
    assert ck.history.history["val_accuracy"] == t.history.history["val_accuracy"]
    opt = ck.optimizer_state
    assert opt["class"] == "Adam" and set(opt["state"]) == set(range(len(list(t.model.parameters()))))
    assert ck.train_state["rng"] == nnlab.engine.random.get_state()
    with zipfile.ZipFile(path) as z:  # data only: nothing pickled
        assert all(n.endswith(".npy") for n in z.namelist())
    from nnlab.train import predict

    assert np.array_equal(t.predict(spiral.test.X), predict(ck.model, ck.preprocessor.transform(spiral.test.X)))


def test_atomic_write_keeps_the_previous_checkpoint(spiral, tmp_path, monkeypatch):
    t = make_trainer(seed=2)
    t.fit(spiral.train, epochs=1, batch_size=16)
    path = tmp_path / "c.npz"
    t.save_checkpoint(path)
    before = path.read_bytes()
    t.fit(spiral.train, epochs=2, batch_size=16)

    def crash(f, **arrays):  # dies halfway through writing
        f.write(b"PK\x03\x04 half a zip")
        raise OSError("disk full")

    monkeypatch.setattr(ckpt.np, "savez", crash)
    with pytest.raises(OSError, match="disk full"):
        t.save_checkpoint(path)
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert ckpt.load(path).epoch == 1
    assert [p.name for p in tmp_path.iterdir()] == ["c.npz"]  # no temporary file left behind


def test_truncated_foreign_and_newer_files_give_clear_errors(spiral, tmp_path):
    t = make_trainer(seed=2)
    t.fit(spiral.train, epochs=1, batch_size=16)
    good = Path(t.save_checkpoint(tmp_path / "c.npz"))
    data = good.read_bytes()
    for cut in (len(data) // 2, len(data) - 30, 100):
        bad = tmp_path / f"cut{cut}.npz"
        bad.write_bytes(data[:cut])
        with pytest.raises(CheckpointError, match="truncated or corrupt"):
            ckpt.load(bad)
    other = tmp_path / "other.npz"
    np.savez(other, X=np.zeros(3))
    with pytest.raises(CheckpointError, match="not an nnlab checkpoint"):
        ckpt.load(other)
    payload = ckpt.read_checkpoint(good)
    newer = tmp_path / "newer.npz"
    ckpt.write_checkpoint(newer, {})
    with np.load(newer) as z:
        doc = json.loads(z["__nnlab__"].tobytes())
    doc["version"] = ckpt.VERSION + 1
    np.savez(newer, __nnlab__=np.frombuffer(json.dumps(doc).encode(), np.uint8))
    with pytest.raises(CheckpointError, match=f"version {ckpt.VERSION + 1}.*upgrade"):
        ckpt.load(newer)
    with pytest.raises(CheckpointError, match="no such checkpoint"):
        ckpt.load(tmp_path / "missing.npz")
    assert payload["kind"] == "training"


def test_resume_with_other_batch_size_is_refused(spiral, tmp_path):
    t = make_trainer(seed=1)
    t.fit(spiral.train, epochs=1, batch_size=16)
    path = t.save_checkpoint(tmp_path / "c.npz")
    t2 = make_trainer(seed=1)
    with pytest.raises(CheckpointError, match="steps per epoch"):
        t2.fit(spiral.train, epochs=2, batch_size=32, resume=path)


def test_encode_decode_round_trip():
    arrays = []
    obj = {
        "a": np.arange(3),
        1: "int key",
        "t": (1, 2.5, None),
        "n": float("nan"),
        "big": 2**100,
        "nested": [{"x": np.float32(1.5)}],
        "__ndarray__": "reserved name",
    }
    enc = ckpt.encode(obj, arrays)
    json.dumps(enc)
    dec = ckpt.decode(json.loads(json.dumps(enc)), lambda i: arrays[i])
    assert np.array_equal(dec["a"], obj["a"]) and dec[1] == "int key" and dec["t"] == (1, 2.5, None)
    assert np.isnan(dec["n"]) and dec["big"] == 2**100 and dec["nested"] == [{"x": 1.5}]
    assert dec["__ndarray__"] == "reserved name"
    with pytest.raises(TypeError, match="cannot store"):
        ckpt.encode({"f": lambda: 0}, [])


def test_model_without_config_uses_builder(tmp_path):
    from nnlab.train.models import recipe

    r = recipe("mlp", (1, 8, 8), 10, hidden=[16])
    path = ckpt.save(r.model, tmp_path / "m.npz", builder=r.builder)
    payload = ckpt.read_checkpoint(path)
    payload["architecture"].pop("config")
    m = ckpt.Checkpoint(payload).model
    assert repr(m) == repr(r.model)
