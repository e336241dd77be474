"""Pooling and LRN gates: float64 gradient checks away from ties, switches, PyTorch parity, errors."""

from __future__ import annotations

import numpy as np
import pytest

import nnlab
from nnlab.engine.ops.lrn import local_response_norm
from nnlab.engine.ops.pool import avg_pool2d, global_avg_pool2d, lp_pool2d, max_pool2d


def numeric_grad(f, a, h=1e-5):
    g = np.zeros_like(a)
    it = np.nditer(a, flags=["multi_index"])
    for _ in it:
        idx = it.multi_index
        old = a[idx]
        a[idx] = old + h
        fp = f(a)
        a[idx] = old - h
        fm = f(a)
        a[idx] = old
        g[idx] = (fp - fm) / (2 * h)
    return g


def rel_error(a, n, floor=1e-3):
    """max |a - n| / max(|a|, |n|), small entries compared absolutely against ``floor``."""
    return float(np.max(np.abs(a - n) / np.maximum(np.maximum(np.abs(a), np.abs(n)), floor)))


def distinct(rng, shape, gap=0.01):
    """Values in random order, at least ``gap`` apart: no two window entries tie within h."""
    n = int(np.prod(shape))
    return (rng.permutation(n) * gap - n * gap / 2).reshape(shape).astype(np.float64)


def check(op, x, rng, tol=1e-6):
    G = rng.standard_normal(op(nnlab.tensor(x)).shape)
    t = nnlab.tensor(x, requires_grad=True)
    (op(t) * nnlab.tensor(G)).sum().backward()
    num = numeric_grad(lambda a: float((op(nnlab.tensor(a)).data * G).sum()), x)
    assert t.grad.shape == x.shape and t.grad.dtype == np.float64
    err = rel_error(t.grad, num)
    assert err < tol, f"relative error {err:.2e}"


POOLS = [  # (kernel, stride, padding, H, W)
    (2, None, 0, 6, 6),  # kernel == stride, exact tiling
    (3, 2, 0, 7, 9),  # overlapping (AlexNet)
    (3, 2, 1, 7, 7),  # overlapping with padding
    ((2, 3), (1, 2), (1, 1), 5, 7),
    (3, 3, 0, 6, 6),
]


@pytest.mark.parametrize("k,s,p,H,W", POOLS)
def test_max_pool_gradcheck(k, s, p, H, W):
    rng = np.random.default_rng(0)
    check(lambda t: max_pool2d(t, k, s, p), distinct(rng, (2, 3, H, W)), rng)


@pytest.mark.parametrize("k,s,p,H,W", POOLS)
def test_avg_pool_gradcheck(k, s, p, H, W):
    rng = np.random.default_rng(1)
    check(lambda t: avg_pool2d(t, k, s, p), rng.standard_normal((2, 3, H, W)), rng)


@pytest.mark.parametrize("norm,k,s,H", [(2, 2, None, 6), (2, 3, 2, 7), (3, 2, 1, 5), (1.5, 2, 2, 4)])
def test_lp_pool_gradcheck(norm, k, s, H):
    rng = np.random.default_rng(2)
    x = rng.uniform(0.2, 1.5, (2, 2, H, H))
    if norm == 2:
        x *= rng.choice([-1.0, 1.0], x.shape)  # p = 2 is defined for any sign
    check(lambda t: lp_pool2d(t, norm, k, s), x, rng)


def test_global_avg_pool_gradcheck():
    rng = np.random.default_rng(3)
    check(global_avg_pool2d, rng.standard_normal((2, 3, 4, 5)), rng)


@pytest.mark.parametrize("size,alpha,beta,k", [(5, 1e-2, 0.75, 2.0), (4, 0.5, 0.6, 1.0), (1, 0.3, 1.0, 1.5)])
def test_lrn_gradcheck(size, alpha, beta, k):
    rng = np.random.default_rng(4)
    check(lambda t: local_response_norm(t, size, alpha, beta, k), rng.standard_normal((2, 7, 3, 3)), rng)


def test_max_pool_routes_gradient_to_the_switches():
    x = np.array([[[[1.0, 5.0, 2.0, 0.0], [3.0, 4.0, 9.0, 8.0], [7.0, 6.0, 1.0, 2.0], [0.0, 6.5, 3.0, 4.0]]]])
    t = nnlab.tensor(x, requires_grad=True)
    y = max_pool2d(t, 2)
    np.testing.assert_array_equal(y.data[0, 0], [[5, 9], [7, 4]])
    y.backward(np.array([[[[10.0, 20.0], [30.0, 40.0]]]]))
    expected = np.zeros_like(x)
    expected[0, 0, 0, 1], expected[0, 0, 1, 2], expected[0, 0, 2, 0], expected[0, 0, 3, 3] = 10, 20, 30, 40
    np.testing.assert_array_equal(t.grad, expected)


def test_overlapping_max_pool_accumulates_shared_winner():
    """With 3x3 windows at stride 2 one pixel can win two windows: it receives both gradients."""
    x = np.zeros((1, 1, 3, 5))
    x[0, 0, 1, 2] = 1.0  # the centre column is shared by both windows
    t = nnlab.tensor(x, requires_grad=True)
    y = max_pool2d(t, 3, 2)
    assert y.shape == (1, 1, 1, 2)
    y.backward(np.array([[[[2.0, 3.0]]]]))
    assert t.grad[0, 0, 1, 2] == 5.0 and t.grad.sum() == 5.0


def test_max_pool_ties_go_to_the_first_maximum_like_torch():
    x = np.ones((1, 1, 2, 2))
    t = nnlab.tensor(x, requires_grad=True)
    max_pool2d(t, 2).sum().backward()
    np.testing.assert_array_equal(t.grad[0, 0], [[1, 0], [0, 0]])


def test_padding_never_wins_a_max_pool():
    x = -np.arange(1.0, 10.0).reshape(1, 1, 3, 3)  # all negative: a zero pad would win
    y = max_pool2d(nnlab.tensor(x), 3, 2, 1)
    np.testing.assert_array_equal(y.data[0, 0], [[-1, -2], [-4, -5]])


def test_pooling_keeps_float32():
    x = nnlab.tensor(np.random.default_rng(5).standard_normal((2, 3, 4, 4)).astype(np.float32), requires_grad=True)
    for op in (
        lambda t: max_pool2d(t, 2),
        lambda t: avg_pool2d(t, 3, 1, 1),
        lambda t: lp_pool2d(t, 2, 2),
        global_avg_pool2d,
        lambda t: local_response_norm(t, 3),
    ):
        x.grad = None
        y = op(x)
        assert y.dtype == np.float32
        y.sum().backward()
        assert x.grad.dtype == np.float32


def test_pool_geometry_errors():
    x = nnlab.tensor(np.zeros((1, 2, 7, 7)))
    with pytest.raises(ValueError, match=r"pool1: input height 7 does not fit: .*\(7 - 2 \+ 2\*0\)/2 \+ 1 = 3.5"):
        max_pool2d(x, 2, name="pool1")
    with pytest.raises(ValueError, match="at most half the kernel"):
        avg_pool2d(x, 2, 1, 2)
    with pytest.raises(ValueError, match="4-D input"):
        max_pool2d(nnlab.tensor(np.zeros((2, 7, 7))), 2)
    with pytest.raises(ValueError, match="norm_type"):
        lp_pool2d(x, 0, 7)
    assert max_pool2d(x, 2, rounding="floor").shape == (1, 2, 3, 3)


def test_pool_geometry_error_suggests_only_paddings_a_pool_accepts():
    """A pool takes padding <= kernel/2, so its error offers only such paddings; conv2d, with the
    same geometry, may also offer larger ones."""
    from nnlab.engine.ops.conv import conv2d

    x = nnlab.tensor(np.zeros((1, 1, 5, 5)))
    with pytest.raises(ValueError) as e:
        max_pool2d(x, 4, 3)
    assert "paddings that fit with stride 3: 1 (-> 2);" in str(e.value)
    with pytest.raises(ValueError) as e:
        conv2d(x, nnlab.tensor(np.zeros((1, 1, 4, 4))), stride=3)
    assert "paddings that fit with stride 3: 1 (-> 2), 4 (-> 4);" in str(e.value)
    with pytest.raises(ValueError, match="no padding fits with stride 5"):
        avg_pool2d(nnlab.tensor(np.zeros((1, 1, 4, 4))), 5)


def _torch_compare(torch, op, top, x, rng):
    t = nnlab.tensor(x, requires_grad=True)
    y = op(t)
    G = rng.standard_normal(y.shape)
    (y * nnlab.tensor(G)).sum().backward()
    tx = torch.tensor(x, requires_grad=True)
    ty = top(tx)
    (ty * torch.tensor(G)).sum().backward()
    np.testing.assert_allclose(y.data, ty.detach().numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(t.grad, tx.grad.numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("k,s,p,H,W", POOLS)
def test_pools_match_torch(k, s, p, H, W):
    torch = pytest.importorskip("torch", reason="PyTorch is the reference for pooling parity")
    F = torch.nn.functional
    rng = np.random.default_rng(6)
    x = distinct(rng, (2, 3, H, W))
    _torch_compare(torch, lambda t: max_pool2d(t, k, s, p), lambda t: F.max_pool2d(t, k, s, p), x, rng)
    _torch_compare(torch, lambda t: avg_pool2d(t, k, s, p), lambda t: F.avg_pool2d(t, k, s, p), x, rng)
    if p == 0:
        for norm in (2, 3):
            xp = np.abs(x) + 0.1
            _torch_compare(torch, lambda t: lp_pool2d(t, norm, k, s), lambda t: F.lp_pool2d(t, norm, k, s), xp, rng)
    _torch_compare(torch, global_avg_pool2d, lambda t: F.adaptive_avg_pool2d(t, 1), x, rng)


@pytest.mark.parametrize("size,alpha,beta,k", [(5, 1e-4, 0.75, 2.0), (4, 0.5, 0.6, 1.0), (2, 1.0, 0.5, 1.0)])
def test_lrn_matches_torch(size, alpha, beta, k):
    torch = pytest.importorskip("torch", reason="PyTorch is the reference for LRN parity")
    rng = np.random.default_rng(7)
    x = rng.standard_normal((2, 8, 3, 4)) * 3
    _torch_compare(
        torch,
        lambda t: local_response_norm(t, size, alpha, beta, k),
        lambda t: torch.nn.functional.local_response_norm(t, size, alpha, beta, k),
        x,
        rng,
    )


def test_backward_twice_with_retain_graph():
    from nnlab.engine.ops.conv import conv2d

    rng = np.random.default_rng(8)
    x = nnlab.tensor(distinct(rng, (2, 2, 6, 6)), requires_grad=True)
    w = nnlab.tensor(rng.standard_normal((3, 2, 3, 3)), requires_grad=True)
    h = conv2d(x, w, padding=1)
    y = local_response_norm(lp_pool2d(max_pool2d(h, 2), 2, 3), 2).sum() + avg_pool2d(h, 2).sum()
    y.backward(retain_graph=True)
    first = x.grad.copy(), w.grad.copy()
    y.backward()
    np.testing.assert_allclose(x.grad, 2 * first[0])
    np.testing.assert_allclose(w.grad, 2 * first[1])
