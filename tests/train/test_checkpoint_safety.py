"""Loading is safe and bounded: a file names only classes nnlab may build (nothing else is even
imported), its architecture cannot make nnlab allocate more than its weights hold, its arrays are
checked against a checksum, and killed writes leave no temporary files behind a new start."""

import json
import os
import sys
import time
import tracemalloc

import numpy as np
import pytest

import nnlab
import nnlab.nn as nn
from nnlab.train.checkpoint import CheckpointError


def _rewrite(src, dst, edit_doc=None, edit_arrays=None):
    """Copy checkpoint ``src`` to ``dst`` as a valid zip, editing its JSON and/or arrays."""
    with np.load(src) as z:
        entries = {k: z[k] for k in z.files}
    doc = json.loads(entries["__nnlab__"].tobytes())
    if edit_doc:
        edit_doc(doc)
    if edit_arrays:
        edit_arrays(entries)
    entries["__nnlab__"] = np.frombuffer(json.dumps(doc).encode(), np.uint8)
    np.savez(dst, **entries)
    return dst


def test_a_class_from_outside_nnlab_is_refused_before_its_module_is_imported(tmp_path, monkeypatch):
    marker = tmp_path / "imported"
    (tmp_path / "evil_nnlab_mod.py").write_text(
        f"open({str(marker)!r}, 'w').write('ran')\nimport nnlab.nn as nn\nclass Net(nn.Linear):\n    pass\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    src = nnlab.save(nn.Linear(2, 2), tmp_path / "m.npz")

    def point_at_evil(doc):
        doc["architecture"]["config"]["class"] = "evil_nnlab_mod:Net"

    bad = _rewrite(src, tmp_path / "bad.npz", point_at_evil)
    with pytest.raises(
        CheckpointError,
        match=r"evil_nnlab_mod:Net, which is not part of nnlab; it was not imported.*"
        r"custom_objects",
    ):
        nnlab.load(bad)
    assert not marker.exists() and "evil_nnlab_mod" not in sys.modules
    with pytest.raises(CheckpointError, match="not part of nnlab"):
        nnlab.load(
            _rewrite(
                src,
                tmp_path / "os.npz",
                lambda d: d["architecture"]["config"].update({"class": "os:system", "args": ["touch " + str(marker)]}),
            )
        )
    assert not marker.exists()
    # A class the user trusts: passed explicitly, or registered.
    import evil_nnlab_mod

    ckpt = nnlab.load(bad, custom_objects={"Net": evil_nnlab_mod.Net})
    assert type(ckpt.model) is evil_nnlab_mod.Net
    ckpt = nnlab.load(bad, custom_objects=[evil_nnlab_mod.Net])
    assert type(ckpt.model) is evil_nnlab_mod.Net
    nn.register_module(evil_nnlab_mod.Net)
    try:
        assert type(nnlab.load(bad).model) is evil_nnlab_mod.Net
    finally:
        from nnlab.nn import module

        module._REGISTERED.pop("evil_nnlab_mod:Net")


def test_an_architecture_larger_than_its_weights_is_refused_before_allocating(tmp_path):
    src = nnlab.save(nn.Sequential(nn.Linear(2, 2), nn.ReLU()), tmp_path / "m.npz")

    def huge(doc):
        doc["architecture"]["config"]["args"][0]["__module__"]["args"] = [12000, 12000]

    bad = _rewrite(src, tmp_path / "huge.npz", huge)
    assert os.path.getsize(bad) < 3000
    tracemalloc.start()
    try:
        with pytest.raises(
            CheckpointError,
            match=r"asks for more than the 6 weight values the file holds "
            r"\(a parameter of shape \(12000, 12000\)\)",
        ):
            nnlab.load(bad)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 20 * 2**20, peak  # Linear(12000, 12000) alone is 576 MB


def test_arrays_that_do_not_match_the_checksum_are_refused(tmp_path):
    src = nnlab.save(nn.Linear(3, 2), tmp_path / "m.npz")

    def nudge(entries):
        entries["a0"] = entries["a0"].copy()
        entries["a0"].flat[0] += 1e-3

    bad = _rewrite(src, tmp_path / "edited.npz", edit_arrays=nudge)  # a valid zip: only the checksum can tell
    with pytest.raises(CheckpointError, match="do not match the checkpoint's checksum"):
        nnlab.load(bad)
    swapped = _rewrite(src, tmp_path / "swapped.npz", edit_arrays=lambda e: e.update(a0=e["a1"], a1=e["a0"]))
    with pytest.raises(CheckpointError, match="checksum"):
        nnlab.load(swapped)


def test_every_single_bit_flip_is_refused_or_loads_the_same_weights(tmp_path):
    nnlab.manual_seed(0)
    path = nnlab.save(nn.Linear(3, 2), tmp_path / "m.npz")
    ref = nnlab.load(path).model.state_dict()
    data = open(path, "rb").read()
    flipped = tmp_path / "flip.npz"
    refused = 0
    for i in range(0, len(data), 3):
        b = bytearray(data)
        b[i] ^= 0x01
        flipped.write_bytes(bytes(b))
        try:
            sd = nnlab.load(flipped).model.state_dict()
        except CheckpointError:
            refused += 1
            continue
        for k in ref:  # a flip in bytes that do not hold data (timestamps, attributes) changes nothing
            assert sd[k].dtype == ref[k].dtype and np.array_equal(sd[k], ref[k]), (i, k)
    assert refused > len(data) // 6


def test_state_dicts_and_plain_containers_round_trip_without_pickle(tmp_path):
    model = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4))
    path = nnlab.save(model.state_dict(), tmp_path / "sd.npz")
    sd = nnlab.load(path)
    assert list(sd) == list(model.state_dict())
    fresh = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4))
    fresh.load_state_dict(sd)
    for k, v in model.state_dict().items():
        np.testing.assert_array_equal(fresh.state_dict()[k], v)
    data = {
        "epoch": 3,
        "lrs": [0.1, 0.01],
        "name": "run",
        "none": None,
        "pair": (np.arange(3), 2.5),
        "t": nnlab.tensor([1.0, 2.0]),
        7: "int key",
        "inf": float("inf"),
    }
    back = nnlab.load(nnlab.save(data, tmp_path / "data.npz"))
    assert back["epoch"] == 3 and back["lrs"] == [0.1, 0.01] and back["name"] == "run" and back["none"] is None
    assert isinstance(back["pair"], tuple) and back["pair"][0].tolist() == [0, 1, 2] and back[7] == "int key"
    assert isinstance(back["t"], nnlab.Tensor) and back["t"].tolist() == [1.0, 2.0] and back["inf"] == float("inf")
    with np.load(tmp_path / "data.npz", allow_pickle=False) as z:  # readable without pickle
        assert "__nnlab__" in z.files
    with pytest.raises(TypeError, match="nnlab.save: expected a Module, a Trainer, or data"):
        nnlab.save({"f": print}, tmp_path / "x.npz")
    with pytest.raises(TypeError, match="nnlab.save: expected a Module, a Trainer, or data"):
        nnlab.save(np.array(["a"]), tmp_path / "x.npz")


def test_a_killed_writes_temporary_file_is_removed_on_start_and_resume(tmp_path):
    from nnlab.train.callbacks import ModelCheckpoint
    from nnlab.utils.io import atomic_write, remove_stale_temps

    stale = tmp_path / "checkpoint.npz.k3j9x_2a.tmp"
    stale.write_bytes(b"x" * 1000)
    old = time.time() - 60
    os.utime(stale, (old, old))
    other = tmp_path / "notes.tmp"  # not one of nnlab's temporary files
    other.write_text("keep")
    X = np.random.default_rng(0).normal(size=(32, 4)).astype(np.float32)
    y = (X[:, 0] > 0).astype(np.int64)
    model = nn.Linear(4, 2)
    trainer = nnlab.Trainer(model, nn.CrossEntropyLoss(), nnlab.optim.SGD(model.parameters(), lr=0.1))
    trainer.fit((X, y), epochs=1, batch_size=16, callbacks=[ModelCheckpoint(tmp_path / "checkpoint.npz")])
    assert not stale.exists() and other.exists() and (tmp_path / "checkpoint.npz").exists()
    # Resuming cleans too.
    stale.write_bytes(b"x")
    os.utime(stale, (old, old))
    trainer2 = nnlab.Trainer(model, nn.CrossEntropyLoss(), nnlab.optim.SGD(model.parameters(), lr=0.1))
    trainer2.fit(
        (X, y),
        epochs=2,
        batch_size=16,
        callbacks=[ModelCheckpoint(tmp_path / "checkpoint.npz")],
        resume=tmp_path / "checkpoint.npz",
    )
    assert not stale.exists()

    # A file another process is writing right now (locked) is left alone.
    seen = []

    def writer(f):
        f.write(b"partial")
        name = next(n for n in os.listdir(tmp_path) if n.startswith("live.bin."))
        os.utime(tmp_path / name, (old, old))
        seen.append(remove_stale_temps(tmp_path))

    atomic_write(tmp_path / "live.bin", writer)
    assert seen == [[]] and (tmp_path / "live.bin").read_bytes() == b"partial"


def test_resume_from_the_command_line_is_bounded_too(tmp_path, capsys):
    from nnlab.cli.main import main

    run = tmp_path / "run"
    assert (
        main(
            [
                "train",
                "--data",
                "spiral",
                "--model",
                "mlp",
                "--hidden",
                "8",
                "--epochs",
                "1",
                "--quiet",
                "--no-report",
                "--out",
                str(run),
            ]
        )
        == 0
    )
    capsys.readouterr()

    def huge(doc):
        layers = doc["architecture"]["config"]["args"]
        first = next(x["__module__"] for x in layers if x["__module__"]["class"].endswith(":Linear"))
        first["args"] = [20000, 20000]

    _rewrite(run / "checkpoint.npz", run / "checkpoint.npz", huge)
    code = main(["train", "--resume", str(run), "--epochs", "2", "--quiet", "--no-report"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "asks for more than" in err[0], err
