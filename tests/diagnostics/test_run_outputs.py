"""default_monitors: the run folder gets the figures, diagnostics.json and TensorBoard events."""

import json
import struct

import numpy as np
import pytest

import nnlab
from nnlab import nn, optim
from nnlab.data import load_dataset
from nnlab.diagnostics import TrainingDiverged, default_monitors
from nnlab.train import Trainer


def _events(folder):
    """Every Event in the TFRecord files of ``folder`` (length, crc, payload, crc), with both masked
    CRC-32C checksums verified as TensorBoard's reader does."""
    event_pb2 = pytest.importorskip("tensorboardX.proto.event_pb2", reason="tensorboardX reads its own events")
    from tensorboardX.crc32c import crc32c

    def masked(b):
        x = crc32c(b)
        return (((x >> 15) | (x << 17)) + 0xA282EAD8) & 0xFFFFFFFF

    out = []
    for f in sorted(folder.glob("events.out.tfevents.*")):
        data = f.read_bytes()
        i = 0
        while i < len(data):
            head = data[i : i + 8]
            (n,) = struct.unpack("<Q", head)
            payload = data[i + 12 : i + 12 + n]
            assert struct.unpack("<I", data[i + 8 : i + 12])[0] == masked(head), f"{f}: bad length CRC"
            assert struct.unpack("<I", data[i + 12 + n : i + 16 + n])[0] == masked(payload), f"{f}: bad data CRC"
            ev = event_pb2.Event()
            ev.ParseFromString(payload)
            out.append(ev)
            i += 16 + n
    return out


@pytest.fixture(scope="module")
def digits():
    return load_dataset("digits8x8")


def test_default_monitors_write_figures_json_and_tensorboard(digits, tmp_path, capsys):
    nnlab.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(64, 32), nn.Tanh(), nn.Linear(32, 10))
    cbs = default_monitors(tmp_path, activation_every=10)
    t = Trainer(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.3), callbacks=cbs)
    t.fit(digits.train, digits.dev, epochs=2, batch_size=64)
    figs = {p.stem for p in (tmp_path / "figures").glob("*.png")}
    assert figs == {"loss", "accuracy", "update_ratios", "activations", "gradients", "first_layer"}
    doc = json.loads((tmp_path / "diagnostics.json").read_text())
    assert {f["source"] for f in doc["findings"]} >= {"loss curve", "update ratio", "bias/variance"}
    assert set(doc["update_ratios"]) == {"1.weight", "1.bias", "3.weight", "3.bias"}
    assert doc["layers"][0]["kind"] == "tanh" and 0 <= doc["layers"][0]["saturated"] <= 1
    assert "diagnostics:" in capsys.readouterr().err
    events = _events(tmp_path / "tensorboard")
    tags = {v.tag for e in events for v in e.summary.value}
    assert "iteration/loss" in tags and "epoch/val_accuracy" in tags
    assert "update_ratio/1.weight" in tags and "update_ratio/1.bias" not in tags
    assert {"layers/2/saturated", "layers/2/std", "epoch/loss", "epoch/accuracy"} <= tags
    assert "activations/2" in tags and "gradients/2" in tags
    assert {"figures/loss", "figures/first_layer", "figures/activations"} <= tags
    losses = [v.simple_value for e in events for v in e.summary.value if v.tag == "iteration/loss"]
    assert len(losses) == t.global_step
    np.testing.assert_allclose(losses, t.history.iterations["loss"], rtol=1e-6)
    hist = [v.histo for e in events for v in e.summary.value if v.tag == "activations/2"][0]
    assert hist.num > 0 and hist.min >= -1 and hist.max <= 1


def test_divergence_still_writes_the_diagnostics(digits, tmp_path):
    nnlab.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 10))
    cbs = default_monitors(tmp_path, verbose=False)
    t = Trainer(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=1e30), callbacks=cbs)
    with pytest.raises(TrainingDiverged):
        t.fit(digits.train, epochs=2, batch_size=64)
    doc = json.loads((tmp_path / "diagnostics.json").read_text())
    assert doc["findings"][0]["kind"] == "nan_loss"
    assert (tmp_path / "last_good.npz").exists() and (tmp_path / "figures" / "loss.png").exists()


def test_an_exception_inside_the_loss_still_writes_the_diagnostics(digits, tmp_path):
    """A float32 overflow can raise inside the loss before any monitor sees a NaN: the run
    diagnostics are written from on_train_abort, with a finding that names the exception."""
    nnlab.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 10))
    ce = nn.CrossEntropyLoss()
    calls = []

    def loss(out, y):
        calls.append(1)
        if len(calls) == 5:
            raise ValueError("CrossEntropyLoss: non-finite scores (overflow)")
        return ce(out, y)

    cbs = default_monitors(tmp_path, verbose=False, activation_every=2)
    t = Trainer(model, loss, optim.SGD(model.parameters(), lr=0.1), callbacks=cbs)
    with pytest.raises(ValueError, match="overflow"):
        t.fit(digits.train, epochs=2, batch_size=64)
    assert t.global_step == 4
    doc = json.loads((tmp_path / "diagnostics.json").read_text())
    aborted = [f for f in doc["findings"] if f["kind"] == "aborted"]
    assert len(aborted) == 1 and "ValueError" in aborted[0]["message"] and "step 4" in aborted[0]["message"]
    assert (tmp_path / "diagnostics.txt").exists() and (tmp_path / "figures" / "loss.png").exists()
    assert not any(m._handles for m in cbs if hasattr(m, "_handles"))  # activation hooks removed


def test_first_layer_pictures(digits, tmp_path):
    """figures/first_layer.png: conv filters, or each hidden unit of an MLP on images as a picture
    (square gray images guessed when the monitors are not told the input shape)."""
    from nnlab.report.plots import first_layer_weights

    nnlab.manual_seed(0)
    imgs, title = first_layer_weights(nn.Sequential(nn.Conv2d(1, 6, 5), nn.ReLU()), ())
    assert imgs.shape == (6, 1, 5, 5) and "filters" in title
    assert first_layer_weights(nn.Sequential(nn.Conv2d(3, 4, 3)), ())[0].shape == (4, 3, 3, 3)
    mlp = nn.Sequential(nn.Flatten(), nn.Linear(784, 16), nn.Sigmoid())
    imgs, title = first_layer_weights(mlp, ())
    assert imgs.shape == (16, 1, 28, 28) and "hidden unit" in title
    np.testing.assert_array_equal(imgs[3].ravel(), mlp[1].weight.data[3])  # the unit's weights, as they are
    assert first_layer_weights(nn.Sequential(nn.Linear(10, 3)), ()) is None
    # drawn once per run: the report shows the monitors' picture instead of drawing its own
    from nnlab.report import write_report

    model = nn.Sequential(nn.Flatten(), nn.Linear(64, 16), nn.ReLU(), nn.Linear(16, 10))
    t = Trainer(
        model,
        nn.CrossEntropyLoss(),
        optim.SGD(model.parameters(), lr=0.3),
        callbacks=default_monitors(tmp_path, verbose=False, image_shape=(1, 8, 8)),
    )
    t.fit(digits.train, digits.dev, epochs=1, batch_size=64)
    page = open(write_report(tmp_path, t, digits)).read()
    for name in ("loss", "accuracy", "first_layer"):
        assert f"figures/{name}.png" in page and (tmp_path / "figures" / f"{name}.png").exists()
    assert not (tmp_path / "loss.png").exists() and not (tmp_path / "weights.png").exists()


def test_report_gets_a_diagnostics_section(digits, tmp_path):
    from nnlab.report import write_report

    nnlab.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 10))
    t = Trainer(
        model,
        nn.CrossEntropyLoss(),
        optim.SGD(model.parameters(), lr=0.3),
        callbacks=default_monitors(tmp_path, activation_every=10, verbose=False),
    )
    t.fit(digits.train, digits.dev, epochs=1, batch_size=64)
    page = open(write_report(tmp_path, t, digits)).read()
    assert "<h2>Diagnostics</h2>" in page and "update ratio" in page
    for img in ("figures/update_ratios.png", "figures/activations.png", "figures/gradients.png"):
        assert img in page and (tmp_path / img).exists()
    # a trainer without monitors: no section
    t2 = Trainer(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.3))
    t2.fit(digits.train, epochs=1, batch_size=64)
    assert "<h2>Diagnostics</h2>" not in open(write_report(tmp_path / "b", t2, digits)).read()


def test_tensorboard_writer_does_not_import_torch():
    """tensorboardX imports PyTorch when it can (about 1 s of CPU per run); nnlab passes arrays only."""
    import subprocess
    import sys

    code = (
        "import sys; from nnlab.diagnostics.run import _summary_writer_class; _summary_writer_class(); "
        "assert 'torch' not in sys.modules, 'torch imported'; "
        "import importlib.util\nif importlib.util.find_spec('torch'): import torch  # still importable later"
    )
    pytest.importorskip("tensorboardX")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
