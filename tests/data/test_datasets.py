import numpy as np
import pytest

import nnlab.data as nd
from nnlab.data import bundled


# ---------------------------------------------------------------- bundled digits
def test_mnist5k_shape_range_and_labels(mnist5k):
    X, y = mnist5k
    assert X.shape == (5000, 1, 28, 28) and X.dtype == np.float32
    assert y.shape == (5000,) and y.dtype == np.int64
    assert X.min() == 0.0 and X.max() == 1.0
    assert np.array_equal(np.bincount(y), np.full(10, 500))
    # real digits: roughly a fifth of the pixels are ink, and the border is mostly blank
    assert 0.1 < (X > 0.5).mean() < 0.3
    assert X[:, :, 0, :].mean() < 0.01


def test_mnist5k_cache_is_written_once_and_reused(tmp_path, monkeypatch):
    X1, y1 = nd.load_mnist5k(cache=tmp_path)
    assert (tmp_path / "mnist5k.npz").is_file()
    assert not [p for p in tmp_path.iterdir() if p.suffix == ".tmp"]

    def no_parse(*a, **k):
        raise AssertionError("the CSV was parsed again despite the cache")

    monkeypatch.setattr(bundled, "_parse_mnist5k", no_parse)
    X2, y2 = nd.load_mnist5k(cache=tmp_path)
    assert np.array_equal(X1, X2) and np.array_equal(y1, y2)


def test_mnist5k_cache_dir_from_env(tmp_path, monkeypatch):
    monkeypatch.setenv("NNLAB_CACHE", str(tmp_path / "c"))
    nd.load_mnist5k()
    assert (tmp_path / "c" / "mnist5k.npz").is_file()


def test_corrupt_cache_is_rebuilt(tmp_path, mnist5k):
    (tmp_path / "mnist5k.npz").write_bytes(b"not an npz")
    X, y = nd.load_mnist5k(cache=tmp_path)
    assert np.array_equal(X, mnist5k[0]) and np.array_equal(y, mnist5k[1])
    with np.load(tmp_path / "mnist5k.npz") as z:
        assert z["pixels"].shape == (5000, 784)


def test_digits8x8():
    X, y = nd.load_digits8x8()
    assert X.shape == (1797, 1, 8, 8) and X.dtype == np.float32 and y.dtype == np.int64
    assert X.min() == 0.0 and X.max() == 1.0
    assert set(np.unique(y)) == set(range(10))


def test_load_dataset_default_is_stratified_mnist5k():
    s = nd.load_dataset()
    assert s.name == "mnist5k" and s.num_classes == 10 and s.input_shape == (1, 28, 28)
    assert s.sizes() == (4000, 500, 500)
    assert [d.role for d in s] == ["train", "dev", "test"]
    for part, per in zip(s, (400, 50, 50)):
        assert np.array_equal(part.class_counts(), np.full(10, per))
    alias = nd.load_dataset("digits")
    assert np.array_equal(alias.test.X, s.test.X)


# ---------------------------------------------------------------- synthetic
@pytest.mark.parametrize(
    "name,fn,kw,n,k",
    [
        ("spiral", nd.make_spiral, dict(n_per_class=50, classes=4), 200, 4),
        ("circles", nd.make_circles, dict(n_samples=101), 101, 2),
        ("moons", nd.make_moons, dict(n_samples=100), 100, 2),
        ("xor", nd.make_xor, dict(n_samples=120), 120, 2),
        ("blobs", nd.make_blobs, dict(n_samples=90, centers=5), 90, 5),
    ],
)
def test_synthetic_shapes_classes_and_seed(name, fn, kw, n, k):
    X, y = fn(**kw, seed=3)
    assert X.shape == (n, 2) and X.dtype == np.float32 and y.dtype == np.int64
    assert set(np.unique(y)) == set(range(k))
    assert np.bincount(y).max() - np.bincount(y).min() <= 1  # balanced
    X2, y2 = fn(**kw, seed=3)
    assert np.array_equal(X, X2) and np.array_equal(y, y2)
    X3, _ = fn(**kw, seed=4)
    assert not np.array_equal(X, X3)
    s = nd.load_dataset(name, seed=1)
    assert s.input_shape == (2,) and s.num_classes >= 2 and s.sizes()[0] >= 300


def test_spiral_geometry():
    X, y = nd.make_spiral(n_per_class=100, classes=3, noise=0.2, seed=0)
    # noise perturbs the angle only: radii are exactly linspace(0, 1) per arm
    assert np.allclose(np.hypot(X[:, 0], X[:, 1]), np.tile(np.linspace(0, 1, 100), 3), atol=1e-6)
    X0, _ = nd.make_spiral(noise=0.0)
    t = np.arctan2(X0[:, 0], X0[:, 1])  # angle measured as in (sin t, cos t)
    expected = 4 * (y + np.tile(np.linspace(0, 1, 100), 3))
    assert np.allclose(np.angle(np.exp(1j * (t - expected)))[np.hypot(*X0.T) > 0], 0, atol=1e-5)


def test_noise_free_shapes_lie_on_their_curves():
    X, y = nd.make_circles(n_samples=200, noise=0.0, factor=0.3)
    r = np.hypot(X[:, 0], X[:, 1])
    assert np.allclose(r[y == 0], 1.0, atol=1e-6) and np.allclose(r[y == 1], 0.3, atol=1e-6)
    X, y = nd.make_moons(n_samples=200, noise=0.0)
    assert np.allclose(np.hypot(X[y == 0, 0], X[y == 0, 1]), 1.0, atol=1e-6)
    assert np.allclose(np.hypot(X[y == 1, 0] - 1, X[y == 1, 1] - 0.5), 1.0, atol=1e-6)
    X, y = nd.make_xor(n_samples=300, noise=0.0)
    assert np.array_equal(y, (np.sign(X[:, 0]) != np.sign(X[:, 1])).astype(int))
    X, y = nd.make_blobs(n_samples=3000, centers=[[0, 0], [10, 0]], noise=0.5)
    assert np.allclose(X[y == 1].mean(0), [10, 0], atol=0.1)
    assert np.allclose(X[y == 0].std(0), 0.5, atol=0.05)


def test_synthetic_bad_arguments():
    with pytest.raises(ValueError, match="noise"):
        nd.make_moons(noise=-1)
    with pytest.raises(ValueError, match="n_per_class"):
        nd.make_spiral(n_per_class=0)


# ---------------------------------------------------------------- splits
def test_split_stratified_disjoint_and_complete():
    X, y = nd.make_blobs(n_samples=1000, centers=4, seed=0)
    y = np.where(np.arange(1000) < 700, 0, y)  # unbalanced: class 0 dominates
    X = np.column_stack([X, np.arange(1000)])  # last column = sample id
    s = nd.train_dev_test_split(X, y, sizes=(0.7, 0.15, 0.15), seed=5)
    assert s.sizes() == (700, 150, 150)
    ids = [part.X[:, -1].astype(int) for part in s]
    allids = np.concatenate(ids)
    assert len(np.unique(allids)) == 1000  # no overlap, nothing lost
    whole = np.bincount(y) / 1000
    for part in s:
        assert np.abs(part.class_counts() / len(part) - whole).max() < 0.02
        assert np.array_equal(part.y, y[part.X[:, -1].astype(int)])  # labels stay with samples


def test_split_deterministic_by_seed():
    X, y = nd.make_moons(n_samples=300)
    a = nd.train_dev_test_split(X, y, sizes=(200, 50, 50), seed=0)
    b = nd.train_dev_test_split(X, y, sizes=(200, 50, 50), seed=0)
    c = nd.train_dev_test_split(X, y, sizes=(200, 50, 50), seed=1)
    assert all(np.array_equal(p.X, q.X) for p, q in zip(a, b))
    assert not np.array_equal(a.dev.X, c.dev.X)


def test_every_split_knows_all_classes():
    X = np.zeros((12, 2))
    y = np.array([0] * 11 + [1])  # class 1 lands in one split only
    s = nd.train_dev_test_split(X, y, sizes=(10, 1, 1))
    assert [p.num_classes for p in s] == [2, 2, 2] and s.class_names == ["0", "1"]
    assert sum(int((p.y == 1).sum()) for p in s) == 1


def test_split_unstratified_and_counts_below_n():
    X, y = nd.make_xor(n_samples=100)
    s = nd.train_dev_test_split(X, y, sizes=(50, 10, 10), stratify=False)
    assert s.sizes() == (50, 10, 10)


def test_split_sizes_exceeding_n_raise():
    X, y = nd.make_xor(n_samples=100)
    with pytest.raises(nd.DataError, match="need 120 samples but the data has 100"):
        nd.train_dev_test_split(X, y, sizes=(100, 10, 10))
    with pytest.raises(ValueError, match="fractions"):
        nd.train_dev_test_split(X, y, sizes=(0.8, 0.2, 0.2))


def test_kfold_partitions_and_stratifies():
    X, y = nd.make_blobs(n_samples=103, centers=3)
    X = np.column_stack([X, np.arange(103)])
    folds = list(nd.kfold(X, y, k=5, seed=2))
    assert len(folds) == 5
    dev_ids = np.concatenate([dev.X[:, -1] for _, dev in folds]).astype(int)
    assert np.array_equal(np.sort(dev_ids), np.arange(103))
    for tr, dev in folds:
        assert len(tr) + len(dev) == 103 and tr.role == "train" and dev.role == "dev"
        assert not set(tr.X[:, -1]) & set(dev.X[:, -1])
        assert dev.class_counts().max() - dev.class_counts().min() <= 1


# ---------------------------------------------------------------- ArrayDataset
def test_array_dataset_basics():
    d = nd.ArrayDataset(np.zeros((5, 3, 4), np.float64), [0, 1, 2, 1, 0], role="dev")
    assert len(d) == 5 and d.X.dtype == np.float32 and d.y.dtype == np.int64
    assert d.num_classes == 3 and d.input_shape == (3, 4) and d.role == "dev"
    x, y = d[np.array([1, 2])]
    assert x.shape == (2, 3, 4) and list(y) == [1, 2]
    with pytest.raises(ValueError, match="5 samples but y has 4"):
        nd.ArrayDataset(np.zeros((5, 2)), [0, 1, 2, 3])
    with pytest.raises(ValueError, match="role"):
        nd.ArrayDataset(np.zeros((1, 2)), [0], role="validation")
