"""Initializers: scales, fans, sparsity, seeding, dtype, in-place behaviour."""

import numpy as np
import pytest

import nnlab
from nnlab import nn
from nnlab.nn import init


def param(*shape, dtype=np.float32):
    return nn.Parameter(np.zeros(shape, dtype=dtype))


def test_fans_for_linear_and_conv_weights():
    assert init.calculate_fans((10, 784)) == (784, 10)
    assert init.calculate_fans((96, 3, 11, 11)) == (3 * 121, 96 * 121)
    with pytest.raises(ValueError, match="at least 2 dimensions"):
        init.fan_in(param(5))


@pytest.mark.parametrize(
    "fn,std",
    [
        (init.small_random_, lambda fi, fo: 0.01),
        (init.xavier_, lambda fi, fo: 1 / np.sqrt(fi)),
        (init.he_, lambda fi, fo: np.sqrt(2 / fi)),
        (init.xavier_normal_, lambda fi, fo: np.sqrt(2 / (fi + fo))),
        (init.xavier_uniform_, lambda fi, fo: np.sqrt(6 / (fi + fo)) / np.sqrt(3)),
    ],
)
def test_scales(fn, std):
    nnlab.manual_seed(0)
    p = param(400, 50, 3, 3)
    fi, fo = init.calculate_fans(p.shape)
    out = fn(p)
    assert out is p and p.dtype == np.float32
    assert abs(p.data.mean()) < 0.05 * std(fi, fo)
    assert p.data.std() == pytest.approx(std(fi, fo), rel=0.02)


def test_he_keeps_relu_activation_scale():
    def second_moment(fn):
        nnlab.manual_seed(0)
        h = np.random.default_rng(0).standard_normal((1000, 500))
        for _ in range(6):
            w = fn(param(500, 500, dtype=np.float64)).data
            h = np.maximum(h @ w.T, 0)
        return (h**2).mean()

    # He: E[h^2] stays of order E[x^2] = 1 through ReLU layers (the notes' argument; finite-width
    # effects push it up somewhat). 1/sqrt(n) halves it at every ReLU layer: 2^-6 after six.
    assert 0.5 < second_moment(init.he_) < 2.5
    assert second_moment(init.xavier_) < 0.1
    assert second_moment(init.small_random_) < 1e-6


def test_sparse_connections():
    nnlab.manual_seed(0)
    p = init.sparse_(param(30, 200))
    nz = (p.data != 0).sum(axis=1)
    assert np.all(nz == 10)
    p2 = init.sparse_(param(8, 4, 3, 3), connections=5)
    assert np.all((p2.data.reshape(8, -1) != 0).sum(1) == 5)
    # different units pick different inputs
    assert len({tuple(np.flatnonzero(r)) for r in p.data}) > 25
    with pytest.raises(ValueError, match="connections"):
        init.sparse_(param(3, 4), connections=10)


def test_seeded_and_rng_argument():
    nnlab.manual_seed(7)
    a = init.he_(param(4, 5)).data.copy()
    nnlab.manual_seed(7)
    b = init.he_(param(4, 5)).data.copy()
    assert np.array_equal(a, b)
    c = init.he_(param(4, 5), rng=np.random.default_rng(1)).data
    d = init.he_(param(4, 5), rng=np.random.default_rng(1)).data
    assert np.array_equal(c, d) and not np.array_equal(a, c)


def test_constants_and_float64():
    p = param(3, 2, dtype=np.float64)
    init.constant_(p, 0.5)
    assert p.dtype == np.float64 and np.all(p.data == 0.5)
    init.zeros_(p)
    assert np.all(p.data == 0)
    init.normal_(p, 1.0, 0.0)
    assert np.all(p.data == 1.0)
    init.uniform_(p, -1, 1)
    assert np.all(np.abs(p.data) <= 1)


def test_linear_default_and_named_inits():
    nnlab.manual_seed(0)
    lin = nn.Linear(1000, 300)
    assert lin.weight.data.std() == pytest.approx(np.sqrt(2 / 1000), rel=0.03)  # He default
    assert np.all(lin.bias.data == 0)
    assert nn.Linear(1000, 300, init="xavier").weight.data.std() == pytest.approx(1 / np.sqrt(1000), rel=0.03)
    assert nn.Linear(1000, 300, init="small").weight.data.std() == pytest.approx(0.01, rel=0.03)
    assert np.all((nn.Linear(1000, 30, init="sparse").weight.data != 0).sum(1) == 10)
    with pytest.raises(ValueError, match="unknown initializer"):
        nn.Linear(3, 3, init="bogus")


def test_init_rejects_non_tensor_and_int():
    with pytest.raises(TypeError, match="Parameter or Tensor"):
        init.he_(np.zeros((3, 3)))
    with pytest.raises(TypeError, match="floating-point"):
        init.zeros_(nnlab.tensor(np.zeros((2, 2), dtype=np.int64)))
