import numpy as np
import pytest

from nnlab.data import ArrayDataset, DataLoader
from nnlab.data.transforms import RandomHorizontalFlip


def _data(n=10):
    X = np.arange(n * 2, dtype=np.float64).reshape(n, 2)
    return X, np.arange(n) % 3


def _epoch(loader):
    return [(xb.copy(), yb.copy()) for xb, yb in loader]


@pytest.mark.parametrize(
    "bs,drop,expected",
    [
        (None, False, [10]),
        (1, False, [1] * 10),
        (3, False, [3, 3, 3, 1]),
        (3, True, [3, 3, 3]),
        (10, True, [10]),
        (32, False, [10]),
    ],
)
def test_batch_counts(bs, drop, expected):
    loader = DataLoader(_data(), batch_size=bs, drop_last=drop)
    batches = _epoch(loader)
    assert len(loader) == len(expected) == len(batches)
    assert [len(yb) for _, yb in batches] == expected
    for xb, yb in batches:
        assert xb.dtype == np.float32 and yb.dtype == np.int64


def test_epoch_covers_every_sample_once_and_pairs_stay_together():
    X, y = _data(23)
    loader = DataLoader((X, y), batch_size=4, seed=3)
    xs, ys = zip(*_epoch(loader))
    xs, ys = np.concatenate(xs), np.concatenate(ys)
    assert np.array_equal(np.sort(xs[:, 0]), X[:, 0])
    assert np.array_equal(ys, (xs[:, 0] // 2).astype(int) % 3)


def test_shuffling_differs_per_epoch_but_is_reproducible():
    loader = DataLoader(_data(50), batch_size=7, seed=11)
    e0, e1 = _epoch(loader), _epoch(loader)
    assert loader.epoch == 2
    assert not all(np.array_equal(a[0], b[0]) for a, b in zip(e0, e1))
    again = DataLoader(_data(50), batch_size=7, seed=11)
    assert all(np.array_equal(a[0], b[0]) for a, b in zip(e0, _epoch(again)))
    other = DataLoader(_data(50), batch_size=7, seed=12)
    assert not all(np.array_equal(a[0], b[0]) for a, b in zip(e0, _epoch(other)))
    # the order of epoch e comes from default_rng([seed, e]) alone
    assert np.array_equal(
        np.concatenate([b[1] for b in e1]), _data(50)[1][np.random.default_rng([11, 1]).permutation(50)]
    )


def test_resume_via_set_epoch_and_state_dict_reproduces():
    X, y = _data(40)
    tf = RandomHorizontalFlip(0.5)
    Xi = np.random.default_rng(0).random((40, 1, 3, 3))
    full = DataLoader((Xi, y), batch_size=6, seed=5, transform=tf)
    runs = [_epoch(full) for _ in range(4)]
    resumed = DataLoader((Xi, y), batch_size=6, seed=0, transform=tf)
    state = {"epoch": 2, "seed": 5}
    resumed.load_state_dict(state)
    assert resumed.state_dict() == state
    for want in runs[2:]:
        got = _epoch(resumed)
        assert all(np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1]) for a, b in zip(want, got))
    fresh = DataLoader((Xi, y), batch_size=6, seed=5, transform=tf)
    fresh.set_epoch(3)
    assert all(np.array_equal(a[0], b[0]) for a, b in zip(runs[3], _epoch(fresh)))


def test_interrupted_epoch_is_not_counted():
    loader = DataLoader(_data(), batch_size=2)
    for _ in loader:
        break
    assert loader.epoch == 0


def test_no_shuffle_keeps_order_and_protects_the_data():
    X, y = _data(7)
    loader = DataLoader(ArrayDataset(X, y), batch_size=3, shuffle=False)
    batches = _epoch(loader)
    assert np.array_equal(np.concatenate([b[1] for b in batches]), y)
    xb, _ = next(iter(loader))
    with pytest.raises(ValueError):
        xb[0, 0] = 99.0


def test_transform_rng_depends_on_seed_epoch_and_batch():
    seen = []

    def record(xb, rng):
        seen.append(rng.integers(1 << 30))
        return xb

    loader = DataLoader(_data(8), batch_size=4, seed=1, transform=record)
    _epoch(loader), _epoch(loader)
    assert len(set(seen)) == 4  # 2 epochs x 2 batches, all different streams
    seen_again = list(seen)
    seen.clear()
    loader.set_epoch(0)
    _epoch(loader), _epoch(loader)
    assert seen == seen_again


def test_bad_arguments():
    with pytest.raises(ValueError, match="batch_size"):
        DataLoader(_data(), batch_size=0)
    with pytest.raises(ValueError, match="drop all 10"):
        DataLoader(_data(), batch_size=11, drop_last=True)
    with pytest.raises(ValueError, match="X .* and y"):
        DataLoader((np.zeros((3, 2)), np.zeros(4)))
    with pytest.raises(TypeError, match="ArrayDataset"):
        DataLoader(np.zeros((3, 2)))
    with pytest.raises(ValueError, match="seed"):
        DataLoader(_data(), seed=-1)
    with pytest.raises(ValueError, match="epoch"):
        DataLoader(_data()).set_epoch(-2)
