import numpy as np
import pytest

import nnlab
from nnlab import nn, optim
from nnlab.data import make_blobs
from nnlab.engine.tensor import Tensor
from nnlab.train import lr_find
from nnlab.train.lr_finder import steepest_descent


def _problem():
    X, y = make_blobs(n_samples=600, centers=4, noise=1.0, seed=0)
    X = (X - X.mean(0)) / X.std(0)
    return X.astype(np.float32), y


def _model():
    return nn.Sequential(nn.Linear(2, 32), nn.ReLU(), nn.Linear(32, 4))


def _sgd(params, lr):
    return optim.SGD(params, lr=lr)


def _loss_drop_at(lr, X, y, steps=30, seed=0):
    """Independent measurement: how much the loss falls in `steps` full-batch steps at a fixed lr."""
    nnlab.manual_seed(seed)
    m = _model()
    opt = _sgd(list(m.parameters()), lr)
    loss_fn = nn.CrossEntropyLoss()
    first = None
    try:
        with np.errstate(over="ignore", invalid="ignore"):
            for _ in range(steps):
                loss = loss_fn(m(Tensor(X)), y)
                first = float(loss.data) if first is None else first
                opt.zero_grad()
                loss.backward()
                opt.step()
            last = float(loss_fn(m(Tensor(X)), y).data)
    except ValueError:  # non-finite scores: diverged
        return -np.inf
    return first - last if np.isfinite(last) else -np.inf


def test_suggestion_lies_where_the_loss_falls_fastest():
    X, y = _problem()
    res = lr_find(
        _model,
        nn.CrossEntropyLoss(),
        (X, y),
        optimizer=_sgd,
        start_lr=1e-4,
        end_lr=100.0,
        num_steps=200,
        batch_size=32,
        seeds=(0, 1, 2),
    )
    assert len(res.suggestions) == 3 and res.spread[0] <= res.suggestion <= res.spread[1]
    assert res.log10_std < 1.0  # the seeds agree to within a decade
    # Fixed-lr runs on a grid: the "fast" range is where the loss drops by at least half the best drop.
    grid = 10.0 ** np.arange(-4, 2.01, 0.5)
    drops = np.array([_loss_drop_at(lr, X, y) for lr in grid])
    fast = grid[drops >= 0.5 * drops.max()]
    assert fast.min() <= res.suggestion <= fast.max(), (res.suggestion, fast, drops)
    # And the slow extremes are excluded.
    assert res.suggestion > 1e-3 and res.suggestion < 50
    assert "suggested lr" in str(res)


def test_lr_find_restores_a_given_model_and_the_rng():
    X, y = _problem()
    nnlab.manual_seed(5)
    m = _model()
    before = {k: v.copy() for k, v in m.state_dict().items()}
    state = nnlab.engine.random.get_state()
    res = lr_find(m, nn.CrossEntropyLoss(), (X, y), num_steps=50, seeds=(0,))
    assert all(np.array_equal(before[k], v) for k, v in m.state_dict().items())
    assert nnlab.engine.random.get_state() == state
    lrs = res.lrs[0]
    assert np.all(np.diff(np.log(lrs)) > 0)  # exponential growth: constant ratio
    assert np.allclose(np.diff(np.log(lrs)), np.log(lrs[1] / lrs[0]))


def test_steepest_descent_on_a_known_curve():
    lrs = np.logspace(-5, 1, 61)
    curve = 2.0 - np.tanh(2 * (np.log10(lrs) + 2))  # falls fastest at lr = 1e-2
    assert lrs[steepest_descent(lrs, curve, skip_start=0)] == pytest.approx(1e-2)
    with pytest.raises(ValueError, match="at least 3"):
        steepest_descent(lrs[:2], curve[:2])


def test_bad_ranges_are_refused():
    with pytest.raises(ValueError, match="start_lr < end_lr"):
        lr_find(_model, nn.CrossEntropyLoss(), _problem(), start_lr=1.0, end_lr=0.1)
