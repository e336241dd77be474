import numpy as np
import pytest

import nnlab.data as nd
from nnlab.data import PCA, MeanSubtract, MinMaxScale, Pipeline, Standardize, Whiten, preprocessor_from_state


@pytest.fixture(scope="module")
def splits():
    rng = np.random.default_rng(0)
    n = 900
    # correlated 5-D Gaussian data with distinct scales, train/dev from the same distribution
    A = rng.standard_normal((5, 5)) * np.array([3.0, 2.0, 1.0, 0.5, 0.1])
    X = rng.standard_normal((n, 5)) @ A + np.array([5.0, -2.0, 0.0, 1.0, 3.0])
    y = (X[:, 0] > 5).astype(int)
    return nd.train_dev_test_split(X, y, sizes=(600, 150, 150), seed=0)


ALL = [
    lambda: MeanSubtract(),
    lambda: Standardize(),
    lambda: MinMaxScale(),
    lambda: PCA(3),
    lambda: Whiten(),
    lambda: Pipeline([Standardize(), PCA(0.9)]),
]


def test_statistics_come_from_the_training_split_only(splits):
    p = Standardize().fit(splits.train)
    assert np.allclose(p.mean, splits.train.X.mean(0), atol=1e-5)
    tr, dev = p.transform(splits.train), p.transform(splits.dev)
    assert np.allclose(tr.mean(0), 0, atol=1e-5) and np.allclose(tr.std(0), 1, atol=1e-4)
    # dev went through the training statistics, so it is not exactly centred itself
    assert np.abs(dev.mean(0)).max() > 1e-3
    m = MeanSubtract().fit(splits.train)
    assert np.allclose(m.transform(splits.dev), splits.dev.X - splits.train.X.mean(0), atol=1e-5)


@pytest.mark.parametrize("make", ALL)
def test_fitting_on_dev_or_test_raises_unless_explicit(make, splits):
    for part in (splits.dev, splits.test):
        with pytest.raises(ValueError, match="training split only"):
            make().fit(part)
    p = make().fit(splits.dev, allow_non_train=True)
    assert p.transform(splits.dev).shape[0] == len(splits.dev)
    make().fit(splits.train.X)  # plain arrays carry no role
    make().fit(splits)  # DatasetSplits: its training split


@pytest.mark.parametrize("make", ALL)
def test_state_dict_round_trip(make, splits):
    p = make().fit(splits.train)
    q = preprocessor_from_state(p.state_dict())
    assert type(q) is type(p) and repr(q) == repr(p)
    assert np.array_equal(p.transform(splits.test), q.transform(splits.test))
    unfitted = preprocessor_from_state(make().state_dict())
    with pytest.raises(RuntimeError, match="fit"):
        unfitted.transform(splits.test.X)


def test_pca_covariance_is_diagonal_and_matches_reference(splits):
    X = splits.train.X.astype(np.float64)
    p = PCA().fit(X)
    Z = p.transform(X)
    cov = np.cov(Z, rowvar=False, bias=True)
    off = cov - np.diag(np.diag(cov))
    assert np.abs(off).max() < 1e-8 * np.abs(cov).max()
    assert np.allclose(np.diag(cov), p.explained_variance_, rtol=1e-8)
    assert np.all(np.diff(p.explained_variance_) <= 0)
    # the variances are the eigenvalues of the training covariance
    ev = np.sort(np.linalg.eigvalsh(np.cov(X, rowvar=False, bias=True)))[::-1]
    assert np.allclose(p.explained_variance_, ev)
    assert np.allclose(p.inverse_transform(Z), X)


def test_pca_against_scikit_learn(splits):
    skd = pytest.importorskip("sklearn.decomposition", reason="reference PCA")
    ref = skd.PCA(n_components=3).fit(splits.train.X.astype(np.float64))
    p = PCA(3).fit(splits.train)
    assert np.allclose(p.explained_variance_ratio_, ref.explained_variance_ratio_, rtol=1e-4)
    # same subspace (directions equal up to sign)
    assert np.allclose(np.abs(p.components_.T @ ref.components_.T), np.eye(3), atol=1e-4)


def test_pca_variance_fraction_and_retained_variance(splits):
    p = PCA(0.95).fit(splits.train)
    ratios = np.cumsum(PCA().fit(splits.train).explained_variance_ratio_)
    k = int(np.argmax(ratios >= 0.95)) + 1
    assert p.n_components_ == k and p.transform(splits.dev).shape == (150, k)
    assert p.retained_variance >= 0.95 and np.isclose(p.retained_variance, ratios[k - 1])
    assert k == 1 or ratios[k - 2] < 0.95
    assert np.isclose(PCA().fit(splits.train).retained_variance, 1.0)
    assert "retained_variance" in repr(p)


def test_whitening_covariance_is_identity_up_to_eps(splits):
    X = splits.train.X.astype(np.float64)
    for eps in (1e-5, 1e-1):
        w = Whiten(eps=eps).fit(X)
        cov = np.cov(w.transform(X), rowvar=False, bias=True)
        S = w.explained_variance_
        assert np.allclose(cov, np.diag(S / (S + eps)), atol=1e-8)
        assert np.abs(cov - np.eye(5)).max() <= eps / S.min() + 1e-8
    # without whitening the same data is far from white
    assert np.abs(np.cov(X, rowvar=False, bias=True) - np.eye(5)).max() > 1


def test_images_keep_their_shape_and_pca_flattens(mnist5k):
    X = mnist5k[0][:300]
    for p in (MeanSubtract(), Standardize(per="channel"), MinMaxScale(0, 1), MeanSubtract(per="global")):
        out = p.fit(X).transform(X)
        assert out.shape == X.shape and out.dtype == np.float32
    assert np.isclose(MeanSubtract(per="global").fit(X).transform(X).mean(), 0, atol=1e-5)
    small = X[:, :, ::2, ::2]  # 196 features keep the eigendecomposition quick
    assert PCA(20).fit(small).transform(small[:7]).shape == (7, 20)
    with pytest.raises(ValueError, match=r"expected samples of shape \(1, 28, 28\)"):
        MeanSubtract().fit(X).transform(X[:, :, :27])


def test_minmax_maps_training_range(splits):
    p = MinMaxScale().fit(splits.train)
    out = p.transform(splits.train)
    assert np.allclose(out.min(0), -1) and np.allclose(out.max(0), 1)
    const = MinMaxScale(0, 2).fit(np.ones((4, 2))).transform(np.ones((2, 2)))
    assert np.allclose(const, 1.0)


def test_pipeline_applies_steps_in_order(splits):
    pipe = Pipeline([MeanSubtract(), Whiten(2)]).fit(splits.train)
    a = pipe.transform(splits.dev)
    m = MeanSubtract().fit(splits.train)
    w = Whiten(2).fit(m.transform(splits.train))
    assert np.allclose(a, w.transform(m.transform(splits.dev)), atol=1e-5)


def test_bad_arguments():
    with pytest.raises(ValueError, match="variance fraction"):
        PCA(1.5)
    with pytest.raises(ValueError, match=">= 1"):
        PCA(0)
    with pytest.raises(ValueError, match="exceeds the 3 input features"):
        PCA(4).fit(np.zeros((10, 3)))
    with pytest.raises(ValueError, match="low < high"):
        MinMaxScale(1, 1)
    with pytest.raises(ValueError, match="per must be"):
        Standardize(per="pixel")
    with pytest.raises(ValueError, match="unknown type"):
        preprocessor_from_state({"type": "Magic"})


def test_standardize_constant_training_feature_is_only_centred():
    train = np.column_stack([np.zeros(50), np.random.default_rng(0).standard_normal(50)])
    p = Standardize().fit(train)
    out = p.transform(np.array([[0.7, 0.0]]))
    assert np.isclose(out[0, 0], 0.7) and np.all(np.isfinite(out))


def test_apply_keeps_roles_and_updates_shapes(splits):
    p = PCA(2).fit(splits.train)
    out = p.apply(splits)
    assert out.input_shape == (2,) and [d.role for d in out] == ["train", "dev", "test"]
    assert np.array_equal(out.dev.y, splits.dev.y)
    assert np.allclose(out.test.X, p.transform(splits.test.X))
    assert p.apply(splits.dev).role == "dev"
