"""The playground session as an API: data, features, model editor, live vs structural changes, the
NaN guard, stop rules, replay, exports, bad input."""

import base64
import copy
import subprocess
import sys

import numpy as np
import pytest

import nnlab
from nnlab.playground import PRESETS, Session
from nnlab.playground import config as C
from nnlab.playground.data import DOMAIN
from nnlab.playground.session import decode_f32


def small(**over):
    cfg = {"data.n": 200}
    cfg.update(over)
    return Session(cfg)


def labels_of(frame):
    return np.frombuffer(base64.b64decode(frame["map"]["label"]), np.uint8)


@pytest.mark.parametrize(
    "dataset,k",
    [("circles", 2), ("circles", 4), ("spiral", 3), ("moons", 2), ("xor", 2), ("blobs", 5), ("checkerboard", 3)],
)
def test_data_sets_give_k_classes_inside_the_square(dataset, k):
    s = small(**{"data.dataset": dataset, "data.classes": k, "data.noise": 0.2, "model.loss": "cross_entropy"})
    assert set(np.unique(s.y)) == set(range(k))
    assert np.abs(s.X).max() <= DOMAIN * 1.2
    assert 0 < s.train_mask.sum() < len(s.X)


def test_regression_sets_and_their_loss_rule():
    s = small(**{"data.dataset": "bumps", "model.loss": "mse"})
    assert s.regression and s.y.dtype == np.float32 and s.net.linears[-1].out_features == 1
    s.step(20)
    f = s.frame()
    assert f["map"]["kind"] == "value" and f["probes"] == []
    s1 = small(**{"data.dataset": "sine", "features": ["x1"], "model.loss": "mse"})
    s1.step(5)
    assert s1.frame()["map"]["kind"] == "curve"
    with pytest.raises(ValueError, match="model.loss"):
        small(**{"data.dataset": "plane", "model.loss": "cross_entropy"})
    with pytest.raises(ValueError, match="2 classes"):
        small(**{"data.dataset": "xor", "data.classes": 3})


def test_default_circle_trains_and_the_map_separates_the_classes():
    s = Session({"model.loss": "cross_entropy", "optim.lr": 0.1})
    before = labels_of(s.frame())
    s.step(600)
    f = s.frame()
    assert f["metrics"]["test_acc"] > 0.9
    after = labels_of(f)
    assert (before != after).any() and set(np.unique(after)) == {0, 1}
    # the centre of the square is the inner circle's class (1), a corner the outer class (0)
    g = f["map"]["grid"]
    assert after[(g // 2) * g + g // 2] == 1 and after[0] == 0


def test_features_change_the_input_width_and_rebuild():
    s = small()
    s.step(10)
    s.apply({"cmd": "set", "settings": {"features": ["x1", "x2", "x1^2", "sin(x2)"]}})
    assert s.net.linears[0].in_features == 4 and s.step_count == 0
    assert s.frame()["network"]["features"] == ["x1", "x2", "x1^2", "sin(x2)"]
    with pytest.raises(ValueError, match="unknown feature"):
        s.apply({"cmd": "set", "settings": {"features": ["x3"]}})


def test_model_editor_layers_activations_maxout_batchnorm_dropout():
    layers = [
        {"units": 5, "activation": "relu", "init": "he", "batchnorm": True},
        {"units": 3, "activation": "maxout", "pieces": 3},
        {"units": 4, "activation": "sigmoid", "dropout": 0.3},
        {"units": 2, "activation": "leaky_relu"},
        {"units": 2, "activation": "linear", "init": "uniform"},
    ]
    s = small(**{"model.layers": layers, "model.loss": "svm", "optim.optimizer": "rmsprop"})
    names = [type(m).__name__ for m in s.model]
    assert names[:4] == ["FeatureMap", "Linear", "BatchNorm1d", "ReLU"] and "Maxout" in names and "Dropout" in names
    assert s.net.linears[1].pieces == 3
    assert np.abs(s.net.linears[4].weight.data).max() <= 0.5
    assert s.step(30) == 30
    f = s.frame()
    assert [len(u) for u in f["units"]] == [5, 3, 4, 2, 2] and len(f["histograms"]) == 5
    assert f["network"]["sizes"] == [2, 5, 3, 4, 2, 2, 2]


@pytest.mark.parametrize("opt", C.OPTIMIZERS)
def test_every_optimizer_trains(opt):
    s = small(
        **{
            "optim.optimizer": opt,
            "optim.lr": 0.01 if opt in ("adam", "rmsprop") else 0.05,
            "model.loss": "cross_entropy",
        }
    )
    s.step(40)
    assert type(s.optimizer).__name__ in ("SGD", "Adagrad", "RMSprop", "Adam")
    assert np.isfinite(s.frame(views=False)["metrics"]["train_loss"])


def test_live_changes_keep_the_weights_structural_changes_rebuild_with_the_same_seed():
    s = small()
    s.step(50)
    w = s.net.linears[0].weight.data.copy()
    gen = s.generation
    s.apply(
        {
            "cmd": "set",
            "settings": {
                "optim.lr": 0.2,
                "optim.batch_size": 7,
                "optim.l2": 0.01,
                "data.noise": 0.3,
                "data.train_ratio": 0.6,
                "optim.schedule": "exponential",
            },
        }
    )
    assert s.generation == gen and s.step_count == 50
    np.testing.assert_array_equal(s.net.linears[0].weight.data, w)
    s.step(1)
    assert s.optimizer.param_groups[0]["lr"] == pytest.approx(0.2 * np.exp(-0.1 * s.epoch))
    fresh = small()
    s.apply({"cmd": "set", "settings": {"model.layers": [{"units": 4}, {"units": 2}], "optim.l2": 0.0}})
    assert s.generation == gen  # same architecture: nothing structural changed
    s.apply({"cmd": "set", "settings": {"model.loss": "cross_entropy"}})
    assert s.generation == gen + 1 and s.step_count == 0
    np.testing.assert_array_equal(s.net.linears[0].weight.data, fresh.net.linears[0].weight.data)


def test_noise_change_moves_the_same_points_and_keeps_user_points():
    s = small(**{"data.noise": 0.0})
    s.apply({"cmd": "add_point", "x": 1.0, "y": -2.0, "label": 1})
    x0 = s._gen_X.copy()
    s.apply({"cmd": "set", "settings": {"data.noise": 0.5}})
    assert len(s.X) == 201 and [1.0, -2.0] in s.X.tolist()
    d = np.linalg.norm(s._gen_X - x0, axis=1)
    assert 0 < np.median(d) < 2.0


def test_click_adds_and_erases_points():
    s = small()
    n, v = len(s.X), s.data_version
    s.apply({"cmd": "add_point", "x": 5.5, "y": 5.5, "label": 1})
    assert len(s.X) == n + 1 and s.data_version > v and s.train_mask[-1]
    s.apply({"cmd": "add_point", "x": 5.4, "y": 5.4, "label": 0, "split": "test"})
    assert not s.train_mask[-1]
    r = s.apply({"cmd": "erase", "x": 5.45, "y": 5.45, "radius": 0.3})
    assert r["erased"] == 2 and len(s.X) == n
    pts = s.points()
    assert len(pts["x"]) == n and pts["classes"] == 2


def test_csv_round_trip_and_malformed_csv_leaves_the_session_as_it_was():
    s = small()
    text = s.csv()
    assert text.splitlines()[0] == "x1,x2,label,split"
    t = small(**{"data.dataset": "moons"})
    t.apply({"cmd": "import_csv", "text": text})
    np.testing.assert_allclose(np.sort(t.X, axis=0), np.sort(s.X, axis=0), atol=1e-5)
    assert t.train_mask.sum() == s.train_mask.sum()
    before = (t.X.copy(), t.weights_digest(), len(t.log))
    for bad, msg in [
        ("x1,x2,label\n1,2\n", "line 2 has 2 fields"),
        ("1,abc,0\n", "must be numbers"),
        ("1,2,5\n", "beyond the 2 classes"),
        ("9,0,1\n", "outside"),
        ("", "no data rows"),
        ("1,2,1,validation\n", "split"),
    ]:
        with pytest.raises(ValueError, match=msg):
            t.apply({"cmd": "import_csv", "text": bad})
    np.testing.assert_array_equal(t.X, before[0])
    assert t.weights_digest() == before[1] and len(t.log) == before[2]


def test_bad_commands_and_settings_raise_and_change_nothing():
    s = small()
    s.step(5)
    snap = (copy.deepcopy(s.config), s.weights_digest(), len(s.log), s.step_count)
    bad = [
        ({"cmd": "set", "settings": {"optim.lr": -1}}, "optim.lr"),
        ({"cmd": "set", "settings": {"optim.lr": 0.1, "data.classes": 9}}, "data.classes"),
        ({"cmd": "set", "settings": {"optim.learning_rate": 0.1}}, "unknown setting"),
        ({"cmd": "set", "settings": {"model.layers": [{"units": 0}]}}, "units"),
        ({"cmd": "set", "settings": {"model.layers": [{"units": 3, "colour": 1}]}}, "unknown field"),
        ({"cmd": "add_point", "x": 0, "y": 0, "label": 2}, "label"),
        ({"cmd": "add_point", "x": 0, "y": 0, "label": 1, "size": 3}, "unknown field"),
        ({"cmd": "add_point", "x": 100, "y": 0, "label": 1}, r"\[-6, 6\]"),
        ({"cmd": "fly"}, "unknown command"),
        ({"cmd": "preset", "name": "nope"}, "unknown preset"),
        ({"cmd": "select_unit", "layer": 7, "unit": 0}, "layer"),
        ("play", "dict"),
    ]
    for cmd, msg in bad:
        with pytest.raises(ValueError, match=msg):
            s.apply(cmd)
    assert (s.config, s.weights_digest(), len(s.log), s.step_count) == snap
    with pytest.raises(ValueError, match="n must be"):
        s.step(-1)


def test_nan_guard_pauses_restores_and_says_why_in_the_monitors_words():
    s = Session(preset="diverge")
    s.step(20)
    s.step(200)
    assert s.halted == "diverged" and s.step_count < 200
    f = s.frame()
    assert "diverged" in f["message"] and "lower optim.lr" in f["message"]
    assert "exploded" in f["message"] or "the loss became" in f["message"]
    assert "[lr_too_high]" in f["message"] or "[nan_loss]" in f["message"]
    assert all(np.isfinite(p.data).all() for p in s.model.parameters())  # last good weights
    assert s.step(5) == 0  # paused until changed
    with pytest.raises(ValueError, match="diverged"):
        s.apply({"cmd": "play"})
    s.apply({"cmd": "set", "settings": {"optim.lr": 0.01}})
    assert s.halted is None and s.step(5) == 5


def test_stop_rules():
    s = Session({"model.loss": "cross_entropy", "optim.lr": 0.1, "stop.target_accuracy": 0.95})
    s.apply({"cmd": "play"})
    s.step(2000)
    assert s.halted == "stopped" and not s.running and "reached the target" in s.message
    assert s.curves["test_acc"][-1] >= 0.95 and s.step_count < 2000
    s.apply({"cmd": "set", "settings": {"stop.target_accuracy": 0.0, "stop.max_epochs": s.epoch + 1}})
    assert s.halted is None
    s.step(1000)
    assert s.halted == "stopped" and "epochs" in s.message


def test_replay_gives_bitwise_identical_weights():
    s = small(**{"model.layers": [{"units": 6, "activation": "relu", "dropout": 0.2}], "model.loss": "cross_entropy"})
    s.step(37)
    s.apply({"cmd": "set", "settings": {"optim.lr": 0.1}})
    s.apply({"cmd": "add_point", "x": 0.5, "y": 0.5, "label": 0})
    s.step(20)
    s.apply({"cmd": "erase", "x": 3.0, "y": 3.0, "radius": 1.0})
    s.apply({"cmd": "set", "settings": {"optim.batch_size": 3, "data.noise": 0.2}})
    s.apply({"cmd": "step", "n": 11})
    s.apply({"cmd": "select_unit", "layer": 0, "unit": 2})
    s.step(13)
    rec = s.record()
    r = Session.replay(rec)
    assert r.tick == s.tick == 81 and r.weights_digest() == s.weights_digest() == rec["weights_sha256"]
    for a, b in zip(r.model.parameters(), s.model.parameters()):
        assert a.data.tobytes() == b.data.tobytes()
    # a different log gives different weights (the comparison can fail)
    rec2 = copy.deepcopy(rec)
    rec2["log"][0]["command"]["settings"]["optim.lr"] = 0.11
    assert Session.replay(rec2).weights_digest() != s.weights_digest()
    with pytest.raises(ValueError, match="format"):
        Session.replay({"log": []})


def test_presets_load_and_each_states_its_claim():
    assert {
        "tfp-default",
        "spiral-needs-width",
        "mse-vs-cross-entropy",
        "dead-relus",
        "l1-prunes",
        "depth-folds-plane",
        "l2-smooths",
    } <= set(PRESETS)
    for name in PRESETS:
        s = Session(preset=name)
        n = s.step(3)
        assert (n == 3 or name == "diverge" and s.halted == "diverged") and PRESETS[name][0]
    t = Session(preset="tfp-default")
    assert [l["units"] for l in t.config["model"]["layers"]] == [4, 2] and t.config["optim"]["lr"] == 0.03
    assert t.config["optim"]["batch_size"] == 10 and t.config["model"]["layers"][0]["activation"] == "tanh"
    s = small()
    s.apply({"cmd": "preset", "name": "three-classes"})
    assert s.classes == 3 and s.net.linears[-1].out_features == 3


def test_three_classes_map_has_three_colours():
    s = Session(preset="three-classes")
    s.step(300)
    assert set(np.unique(labels_of(s.frame()))) == {0, 1, 2}


def test_hidden_space_probes_and_explain():
    s = Session(preset="convnetjs")
    s.step(200)
    h = s.hidden_space(layer=2, units=[0, 1])
    grid, pts = decode_f32(h["grid"]).reshape(-1, 2), decode_f32(h["points"]).reshape(-1, 2)
    assert len(grid) == 2 * h["lines"] * h["per_line"] and len(pts) == len(s.X)
    assert np.abs(grid).max() <= 1.0  # tanh layer
    H = s.net.forward_all(s.X)[1][1]
    np.testing.assert_allclose(pts, H[:, :2], atol=1e-6)
    feats = decode_f32(s.hidden_space(layer=0, units=[1, 0])["points"]).reshape(-1, 2)
    np.testing.assert_allclose(feats, s.X[:, ::-1], atol=1e-6)
    probes = s.linear_probes()
    assert len(probes) == 3 and all(0 <= p <= 1 for p in probes)
    e = s.explain(0, 1, 1.0, 1.0)
    W = s.net.linears[0].weight.data[1]
    assert e["weights"] == pytest.approx(W.tolist(), abs=1e-4)
    assert e["bias"] == pytest.approx(float(s.net.linears[0].bias.data[1]), abs=1e-4)
    p, b = e["point"], e["backward"]
    z = float(np.dot(W, p["inputs"]) + s.net.linears[0].bias.data[1])
    assert p["z"] == pytest.approx(z, abs=1e-4) and p["a"] == pytest.approx(np.tanh(z), abs=1e-4)
    assert b["local"] == pytest.approx(1 - np.tanh(z) ** 2, abs=1e-4)
    assert b["dz"] == pytest.approx(b["upstream"] * b["local"], rel=1e-3, abs=1e-7)
    assert b["dw"] == pytest.approx([b["dz"] * v for v in p["inputs"]], rel=1e-3, abs=1e-7)
    out = s.explain(2, 0)
    assert out["output"] and "bias" in out
    s.apply({"cmd": "select_unit", "layer": 1, "unit": 1, "x": -1.0, "y": 2.0})
    assert s.frame()["explain"]["unit"] == 1


def test_gauges_report_the_monitors_quantities():
    s = Session(preset="dead-relus")
    s.step(100)
    g = s.frame()["gauges"]
    assert set(g["dead"]) == {"2", "4"} and g["update_ratio"] and g["grad_norm"]
    assert all("kind" in v and "message" in v for v in g["verdicts"])


def test_exported_script_retrains_to_the_same_weights_and_checkpoint_loads(tmp_path):
    from nnlab.playground.export import checkpoint_bytes, python_script

    s = small(
        **{
            "model.layers": [{"units": 5, "activation": "relu", "dropout": 0.1}],
            "model.loss": "cross_entropy",
            "optim.optimizer": "adam",
            "optim.lr": 0.01,
            "optim.l2": 0.001,
        }
    )
    s.step(60)
    script = tmp_path / "m.py"
    script.write_text(python_script(s))
    r = subprocess.run(
        [sys.executable, str(script), "--save", str(tmp_path / "m.npz")], capture_output=True, text=True, timeout=120
    )
    assert r.returncode == 0, r.stderr
    assert "test loss" in r.stdout
    retrained = nnlab.load(tmp_path / "m.npz").model.state_dict()
    for k, v in s.model.state_dict().items():
        assert np.array_equal(retrained[k], v), k
    (tmp_path / "c.npz").write_bytes(checkpoint_bytes(s))
    ck = nnlab.load(tmp_path / "c.npz")
    out = ck.model(nnlab.tensor(s.X[:7])).data
    np.testing.assert_allclose(out, s.net.forward_all(s.X[:7])[2], rtol=1e-6)
    assert ck.config["playground"]["optim"]["optimizer"] == "adam"
