import numpy as np
import pytest

import nnlab
from nnlab.hopfield import ModernHopfield
from nnlab.hopfield.experiments import beta_sweep
from nnlab.nn import functional as F


def _patterns(d=16, M=40, seed=0):
    X = np.random.default_rng(seed).standard_normal((d, M))
    return X / np.linalg.norm(X, axis=0)


def test_one_update_is_softmax_attention_with_keys_and_values_the_patterns():
    X = _patterns()
    xi = np.random.default_rng(1).standard_normal((3, 16))
    beta = 2.5
    net = ModernHopfield(X, beta)
    # attention written with nnlab ops: query xi, keys = values = the stored patterns (rows of X^T)
    q, K = nnlab.tensor(xi, dtype=np.float64), nnlab.tensor(X.T.copy(), dtype=np.float64)
    attn = F.softmax((q @ K.T) * beta, axis=-1) @ K
    np.testing.assert_allclose(net.update(xi), attn.data, rtol=1e-12)
    # and the NumPy formula of the paper, xi <- X softmax(beta X^T xi), one query at a time
    z = beta * X.T @ xi[0]
    p = np.exp(z - z.max()) / np.exp(z - z.max()).sum()
    np.testing.assert_allclose(net.update(xi[0]), X @ p, rtol=1e-12)


def test_one_update_matches_torch_scaled_dot_product_attention():
    torch = pytest.importorskip("torch", reason="PyTorch is the reference for attention")
    X = _patterns(seed=2)
    xi = np.random.default_rng(3).standard_normal((5, 16))
    K = torch.tensor(X.T)[None]
    ref = torch.nn.functional.scaled_dot_product_attention(torch.tensor(xi)[None], K, K, scale=4.0)[0].numpy()
    np.testing.assert_allclose(ModernHopfield(X, 4.0).update(xi), ref, rtol=1e-10, atol=1e-12)


def test_update_never_raises_the_energy():
    X = _patterns(seed=4)
    rng = np.random.default_rng(5)
    for beta in (0.5, 2.0, 8.0):
        net = ModernHopfield(X, beta)
        xi = rng.standard_normal(16)
        E = [net.energy(xi)]
        for _ in range(5):
            xi = net.update(xi)
            E.append(net.energy(xi))
        assert np.all(np.diff(E) <= 1e-10), (beta, E)


def test_large_beta_retrieves_in_one_update_small_beta_averages():
    r = beta_sweep(d=64, M=500, betas=(0.5, 32.0), queries=10)
    assert r["cosine"][1] > 0.999 and r["max_weight"][1] > 0.99
    assert r["cosine"][0] < 0.5 and r["max_weight"][0] < 0.05
    X = _patterns(64, 500, seed=0)
    out = ModernHopfield(X, 1e-3).update(X[:, 0])  # beta -> 0: the mean of all patterns
    np.testing.assert_allclose(out, X.mean(1), atol=1e-3)
    out = ModernHopfield(X, 64.0).retrieve(X[:, 0] + 0.05, steps=2)
    np.testing.assert_allclose(out, X[:, 0], atol=1e-6)


def test_update_is_differentiable_through_nnlab_tensors():
    X = _patterns(4, 6, seed=6)
    net = ModernHopfield(X, 3.0)
    xi = nnlab.tensor(np.random.default_rng(7).standard_normal((2, 4)), requires_grad=True, dtype=np.float64)
    assert nnlab.gradcheck(lambda q: (net.update(q) ** 2).sum(), xi)


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: ModernHopfield(np.ones(5)), r"X must be a \(d, M\) matrix"),
        (lambda: ModernHopfield(np.ones((3, 4)), beta=0), "beta must be a positive finite number"),
        (lambda: ModernHopfield(np.ones((3, 4)), beta=float("inf")), "beta must be a positive finite number"),
        (lambda: ModernHopfield(np.full((3, 4), np.nan)), "X: contains NaN"),
        (lambda: ModernHopfield(np.ones((3, 4))).update(np.ones(4)), "update: xi: expected a state of length d=3"),
        (lambda: ModernHopfield(np.ones((3, 4))).retrieve(np.ones(3), steps=0), "steps must be a positive int"),
    ],
)
def test_bad_input_is_refused(call, match):
    with pytest.raises(ValueError, match=match):
        call()
