"""Ensembles and parameter averaging on the bundled digits."""

import numpy as np
import pytest

import nnlab
from nnlab import nn, optim
from nnlab.ensemble import Ensemble, PolyakAveraging, Snapshots, from_checkpoints, train_members
from nnlab.train import Trainer

N_TRAIN = 1500


@pytest.fixture(scope="module")
def digits():
    from nnlab.data import load_dataset

    return load_dataset("mnist5k", seed=0)


def _trainer(seed, lr=0.1, momentum=0.9):
    nnlab.manual_seed(seed)
    model = nn.Sequential(nn.Flatten(), nn.Linear(784, 64), nn.ReLU(), nn.Linear(64, 10))
    return Trainer(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=lr, momentum=momentum), seed=seed)


@pytest.fixture(scope="module")
def five(digits):
    train = (digits.train.X[:N_TRAIN], digits.train.y[:N_TRAIN])
    return train_members(_trainer, train, seeds=range(5), epochs=2, batch_size=64)


# ------------------------------------------------------------------------------------------
def test_five_networks_beat_their_mean_member_on_the_test_split(five, digits):
    ens = Ensemble([t.model for t in five])
    r = ens.evaluate(digits.test)
    assert len(r["members"]) == 5 and len(set(r["members"])) > 1  # different inits, different nets
    assert r["accuracy"] > r["members_mean"], r
    assert ens.accuracy(digits.test, method="vote") > r["members_mean"]
    # Members' accuracies are each network's own accuracy.
    for t, acc in zip(five, r["members"]):
        assert acc == pytest.approx(t.evaluate(digits.test)["accuracy"])
    line = ens.report_line(digits.test)
    assert "1:" in line and "5:" in line and "members mean" in line
    assert r["by_members"][0] == pytest.approx(r["members"][0])


def test_mean_and_vote_on_hand_made_probabilities():
    # 3 members, 2 examples, 3 classes.
    probs = np.array(
        [[[0.6, 0.3, 0.1], [0.1, 0.5, 0.4]], [[0.1, 0.5, 0.4], [0.1, 0.45, 0.45]], [[0.1, 0.45, 0.45], [0.3, 0.3, 0.4]]]
    )
    # Mean: example 0 -> [0.267, 0.417, 0.317] -> 1; example 1 -> [0.167, 0.417, 0.417] tie broken by argmax -> 1.
    assert Ensemble.combine(probs, "mean").tolist() == [1, 1]
    # Vote: example 0 votes 0, 1, 1 -> 1; example 1 votes 1, 1 (argmax of the tie), 2 -> 1.
    assert Ensemble.combine(probs, "vote").tolist() == [1, 1]
    # A vote where the majority disagrees with the mean.
    p = np.array([[[0.0, 1.0]], [[0.51, 0.49]], [[0.51, 0.49]]])
    assert Ensemble.combine(p, "mean").tolist() == [1]
    assert Ensemble.combine(p, "vote").tolist() == [0]
    # Equal votes: the higher mean probability decides.
    p = np.array([[[0.9, 0.1]], [[0.4, 0.6]]])
    assert Ensemble.combine(p, "vote").tolist() == [0]


def test_ensemble_input_errors(digits):
    untrained = [_trainer(s).model for s in (0, 1)]
    with pytest.raises(ValueError, match="at least one member"):
        Ensemble([])
    with pytest.raises(ValueError, match="'mean' or 'vote'"):
        Ensemble(untrained[:1], method="median")
    with pytest.raises(TypeError, match="member 1"):
        Ensemble([untrained[0], "model.npz"])
    ens = Ensemble(untrained)
    with pytest.raises(ValueError, match="k must be"):
        ens.predict(digits.test.X, k=3)
    with pytest.raises(ValueError, match="labels"):
        ens.evaluate(digits.test.X, digits.test.y[:5])


def test_checkpoints_and_snapshots_as_members(five, digits, tmp_path):
    paths = [nnlab.save(t, tmp_path / f"m{i}.npz") for i, t in enumerate(five[:3])]
    ens = from_checkpoints(paths)
    direct = Ensemble([t.model for t in five[:3]])
    np.testing.assert_allclose(ens.predict_proba(digits.test.X), direct.predict_proba(digits.test.X), rtol=1e-5)
    tr = _trainer(7)
    snaps = Snapshots(every=1, folder=tmp_path / "snaps")
    tr.fit((digits.train.X[:N_TRAIN], digits.train.y[:N_TRAIN]), None, epochs=3, batch_size=64, callbacks=[snaps])
    assert len(snaps.states) == 3 and len(snaps.paths) == 3
    last = snaps.ensemble().models[-1]
    np.testing.assert_array_equal(last.state_dict()["3.weight"], tr.model.state_dict()["3.weight"])
    r = snaps.ensemble().evaluate(digits.test)
    assert r["members"][-1] == pytest.approx(tr.evaluate(digits.test)["accuracy"])
    assert from_checkpoints(snaps.paths).evaluate(digits.test)["accuracy"] == pytest.approx(r["accuracy"])


# ------------------------------------------------------------------------------------------
def test_polyak_average_does_not_lose_accuracy_against_the_last_weights(digits):
    tr = _trainer(3, lr=0.1, momentum=0.9)
    steps = -(-N_TRAIN // 32)
    pa = PolyakAveraging(start=2 * steps, val=digits.dev)
    tr.fit((digits.train.X[:N_TRAIN], digits.train.y[:N_TRAIN]), None, epochs=4, batch_size=32, callbacks=[pa])
    X = np.concatenate([digits.dev.X, digits.test.X])
    y = np.concatenate([digits.dev.y, digits.test.y])
    last = tr.evaluate((X, y))["accuracy"]
    with pa.swapped():
        avg = tr.evaluate((X, y))["accuracy"]
    assert avg >= last, (avg, last)
    # The raw weights are back after the block, and the averaged copy is a separate model.
    assert tr.evaluate((X, y))["accuracy"] == last
    assert Trainer(pa.averaged_model(), nn.CrossEntropyLoss(), tr.optimizer).evaluate((X, y))["accuracy"] == avg
    # Evaluated with the averaged copy at each epoch end once averaging started, kept in History.
    col = tr.history.history["val_avg_accuracy"]
    assert col[:2] == [None, None] and all(v is not None for v in col[2:]) and len(col) == 4


def test_running_mean_and_ema_are_exact():
    nnlab.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 2))
    X = np.random.default_rng(0).normal(size=(40, 3)).astype(np.float32)
    y = (X[:, 0] > 0).astype(np.int64)
    seen = []

    class Record(nnlab.train.Callback):
        def on_train_batch_end(self, batch, logs=None):
            seen.append(self.model.state_dict()["0.weight"].astype(np.float64).copy())

    mean, ema = PolyakAveraging(start=3), PolyakAveraging(decay=0.5)
    tr = Trainer(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.5), seed=0)
    tr.fit((X, y), None, epochs=2, batch_size=8, callbacks=[Record(), mean, ema])
    assert len(seen) == 10
    np.testing.assert_allclose(mean.averaged_state()["0.weight"], np.mean(seen[3:], axis=0), rtol=1e-6)
    e = seen[0]
    for w in seen[1:]:
        e = 0.5 * e + 0.5 * w
    np.testing.assert_allclose(ema.averaged_state()["0.weight"], e, rtol=1e-6)
    assert mean.averaged_state()["0.weight"].dtype == np.float32
    with pytest.raises(ValueError, match="decay"):
        PolyakAveraging(decay=1.0)


_BN_X = np.random.default_rng(1).normal(size=(40, 3)).astype(np.float32) * 2 + 1


def _bn_run(**kw):
    """Linear -> BatchNorm1d -> Linear trained 10 steps; records weights and BN buffers per step."""
    nnlab.manual_seed(1)
    model = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.Linear(4, 2))
    X = _BN_X
    y = (X[:, 0] > 1).astype(np.int64)
    seen = []

    class Record(nnlab.train.Callback):
        def on_train_batch_end(self, batch, logs=None):
            seen.append({k: np.array(v, dtype=np.float64) for k, v in self.model.state_dict().items()})

    pa = PolyakAveraging(start=4, **kw)
    tr = Trainer(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.3), seed=0)
    tr.fit((X, y), None, epochs=2, batch_size=8, callbacks=[Record(), pa])
    return tr, pa, X, seen


def test_polyak_batchnorm_statistics_model_average_or_recomputed():
    # Default: only parameters are averaged; BN statistics are the model's (gathered under the raw weights).
    tr, pa, X, seen = _bn_run()
    st = pa.averaged_state()
    np.testing.assert_allclose(st["0.weight"], np.mean([s["0.weight"] for s in seen[4:]], axis=0), rtol=1e-5)
    np.testing.assert_array_equal(st["1.running_mean"], tr.model.state_dict()["1.running_mean"])
    # buffers="average": the statistics are averaged over the same steps as the weights.
    tr, pa, X, seen = _bn_run(buffers="average")
    st = pa.averaged_state()
    for name in ("1.running_mean", "1.running_var"):
        np.testing.assert_allclose(st[name], np.mean([s[name] for s in seen[4:]], axis=0), rtol=1e-5)
        assert not np.allclose(st[name], tr.model.state_dict()[name])
    # bn_data: recomputed with the averaged weights, the plain mean of the batches' statistics.
    tr, pa, X, seen = _bn_run(bn_data=_BN_X, bn_batch_size=10)
    raw = {k: v.copy() for k, v in tr.model.state_dict().items()}
    st = pa.averaged_state()
    h = X.astype(np.float64) @ st["0.weight"].astype(np.float64).T + st["0.bias"]
    batches = [h[i : i + 10] for i in range(0, 40, 10)]
    np.testing.assert_allclose(
        st["1.running_mean"], np.mean([b.mean(0) for b in batches], axis=0), rtol=1e-4, atol=1e-5
    )
    np.testing.assert_allclose(st["1.running_var"], np.mean([b.var(0, ddof=1) for b in batches], axis=0), rtol=1e-4)
    # The raw weights, statistics and BN momentum are untouched afterwards.
    for k, v in tr.model.state_dict().items():
        np.testing.assert_array_equal(v, raw[k])
    assert tr.model[1].momentum == 0.1 and tr.model.training
    with pytest.raises(ValueError, match="buffers"):
        PolyakAveraging(buffers="mean")


def test_polyak_average_survives_an_interrupted_and_resumed_fit(tmp_path):
    from nnlab.train.callbacks import ModelCheckpoint

    X = np.random.default_rng(0).normal(size=(64, 5)).astype(np.float32)
    y = (X[:, 0] > 0).astype(np.int64)

    class StopAfter(nnlab.train.Callback):
        def __init__(self, n):
            self.n = n

        def on_epoch_end(self, epoch, logs=None):
            if epoch + 1 == self.n:
                raise KeyboardInterrupt

    def run(stop=None, resume=None):
        nnlab.manual_seed(0)
        m = nn.Sequential(nn.Linear(5, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Linear(8, 2))
        tr = Trainer(m, nn.CrossEntropyLoss(), optim.SGD(m.parameters(), lr=0.1, momentum=0.9), seed=0)
        pa = PolyakAveraging(start=5, buffers="average")
        cbs = [pa, ModelCheckpoint(tmp_path / "ck.npz")] + ([StopAfter(stop)] if stop else [])
        try:
            tr.fit((X, y), None, epochs=4, batch_size=16, callbacks=cbs, resume=resume)
        except KeyboardInterrupt:
            pass
        return pa

    whole = run()
    assert run(stop=2).count == 3  # 8 steps done, averaging from step 6
    resumed = run(resume=tmp_path / "ck.npz")
    assert resumed.count == whole.count == 11
    assert set(resumed.avg) == set(whole.avg) and "1.running_mean" in whole.avg
    for k in whole.avg:
        np.testing.assert_allclose(resumed.avg[k], whole.avg[k], rtol=1e-6, atol=1e-7)


def test_update_bn_on_the_digits_and_averaged_bn_net_does_not_lose(digits):
    from nnlab.ensemble import update_bn

    nnlab.manual_seed(0)
    model = nn.Sequential(
        nn.Flatten(), nn.Dropout(0.2), nn.Linear(784, 64), nn.BatchNorm1d(64), nn.ReLU(), nn.Linear(64, 10)
    )
    tr = Trainer(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.2, momentum=0.9), seed=0)
    train = (digits.train.X[:N_TRAIN], digits.train.y[:N_TRAIN])
    pa = PolyakAveraging(start=2 * -(-N_TRAIN // 32), bn_data=train)
    tr.fit(train, None, epochs=4, batch_size=32, callbacks=[pa])
    X = np.concatenate([digits.dev.X, digits.test.X])
    y = np.concatenate([digits.dev.y, digits.test.y])
    last = tr.evaluate((X, y))["accuracy"]
    avg_model = pa.averaged_model()
    avg = Trainer(avg_model, nn.CrossEntropyLoss(), tr.optimizer).evaluate((X, y))["accuracy"]
    assert avg >= last - 0.005, (avg, last)
    # Dropout stays off while the statistics are gathered: the same pass twice gives the same numbers.
    before = avg_model[3].running_mean.copy()
    assert update_bn(avg_model, train, batch_size=256) == 1
    np.testing.assert_allclose(avg_model[3].running_mean, before, rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="no data"):
        update_bn(avg_model, np.zeros((0, 784), np.float32))


def test_top_k_configurations_of_a_search(digits, tmp_path):
    pytest.importorskip("optuna", reason="the search runs on Optuna")
    from nnlab.ensemble import from_search
    from nnlab.tune import Search

    out = tmp_path / "search"
    r = Search(
        out, space=["lr=log:1e-2,1e-1"], trials=3, storage=":memory:", plots=False, task={"model": "mlp", "subset": 300}
    ).run()
    # :memory: keeps no study, but results.csv and the trial checkpoints are on disk.
    ens = from_search(out, k=2)
    assert len(ens) == 2
    best_dirs = [row["dir"] for row in r.rows[:2]]
    solo = from_search(out, k=1)
    acc = solo.evaluate(digits.dev.X[:100], digits.dev.y[:100])["accuracy"]  # the task's validation subset
    assert acc == pytest.approx(r.rows[0]["val_accuracy"])
    assert all((out / d / "checkpoint.npz").exists() for d in best_dirs)
    with pytest.raises(ValueError, match="no completed trials"):
        from_search(_empty(tmp_path), k=2)


def _empty(tmp_path):
    d = tmp_path / "empty"
    d.mkdir()
    (d / "results.csv").write_text("stage,trial,epochs,status,val_accuracy,lr,seconds,dir,error\n")
    return d
