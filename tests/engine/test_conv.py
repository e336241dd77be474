"""conv2d and locally_connected2d gates: float64 gradient checks, PyTorch parity, geometry errors."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

import nnlab
from nnlab.engine import parallel
from nnlab.engine.ops import conv as conv_ops
from nnlab.engine.ops.conv import (
    col2im,
    conv2d,
    conv_input_grad_shifted,
    flipped_weights,
    im2col,
    locally_connected2d,
)


def numeric_grad(f, arrays, i, h=1e-5):
    """Centered differences of the scalar f(*arrays) with respect to arrays[i] (float64)."""
    a = arrays[i]
    g = np.zeros_like(a)
    it = np.nditer(a, flags=["multi_index"])
    for _ in it:
        idx = it.multi_index
        old = a[idx]
        a[idx] = old + h
        fp = f(*arrays)
        a[idx] = old - h
        fm = f(*arrays)
        a[idx] = old
        g[idx] = (fp - fm) / (2 * h)
    return g


def rel_error(a, n, floor=1e-3):
    """max |a - n| / max(|a|, |n|); entries smaller than ``floor`` are compared absolutely
    against floor (the difference quotient's rounding error is ~1e-10 in absolute terms)."""
    return float(np.max(np.abs(a - n) / np.maximum(np.maximum(np.abs(a), np.abs(n)), floor)))


def check_grads(op, arrays, rng, tol=1e-6):
    """Analytic gradients of sum(op(*tensors) * G) against centered differences, for every input."""
    G = rng.standard_normal(op(*[nnlab.tensor(a) for a in arrays]).shape)
    ts = [nnlab.tensor(a, requires_grad=True) for a in arrays]
    (op(*ts) * nnlab.tensor(G)).sum().backward()
    f = lambda *arrs: float((op(*[nnlab.tensor(a) for a in arrs]).data * G).sum())  # noqa: E731
    for i, t in enumerate(ts):
        assert t.grad.shape == arrays[i].shape and t.grad.dtype == np.float64
        err = rel_error(t.grad, numeric_grad(f, arrays, i))
        assert err < tol, f"input {i}: relative error {err:.2e}"


CASES = [  # (C, O, H, W, k, stride, padding, dilation, groups)
    (3, 4, 6, 6, 3, 1, 1, 1, 1),
    (3, 4, 7, 7, 3, 2, 0, 1, 1),
    (2, 3, 7, 5, 3, (2, 1), (1, 0), 1, 1),
    (4, 6, 7, 7, 3, 1, 2, 2, 2),
    (4, 4, 9, 9, 3, 2, 1, 2, 4),
    (3, 5, 5, 5, 1, 1, 0, 1, 1),  # 1x1 fast path (NCHW input)
    (4, 6, 5, 5, 1, 2, 0, 1, 2),  # strided grouped 1x1
    (2, 3, 6, 6, (3, 2), 1, (1, 0), (1, 2), 1),
    # stride 1: dX by the flipped-filter convolution, 'same', valid and wider pads
    (2, 16, 5, 5, 3, 1, 1, 1, 1),
    (2, 16, 6, 5, (3, 5), 1, (0, 2), 1, 1),
    (1, 16, 4, 5, (2, 3), 1, (1, 0), 1, 1),
]
# More channels than centered differences check at tol 1e-6 in reasonable time: against PyTorch.
PARITY_CASES = CASES + [
    (16, 16, 4, 4, 3, 1, 1, 1, 1),
    (18, 16, 5, 4, (3, 2), 1, (0, 1), 1, 1),
]


@pytest.fixture(params=[1, 2], ids=["1 thread", "2 threads"])
def threads(request):
    """The convolution picks its paths by nnlab.engine.parallel's thread count: try both."""
    before = parallel.get_num_threads()
    parallel.set_num_threads(request.param)
    yield request.param
    parallel.set_num_threads(before)


@pytest.mark.parametrize("case", CASES, ids=[str(c) for c in CASES])
def test_conv2d_gradcheck(case, threads):
    C, O, H, W, k, s, p, d, g = case
    rng = np.random.default_rng(0)
    kh, kw = (k, k) if isinstance(k, int) else k
    x = rng.standard_normal((2, C, H, W))
    w = rng.standard_normal((O, C // g, kh, kw))
    b = rng.standard_normal(O)
    check_grads(lambda x, w, b: conv2d(x, w, b, s, p, d, g), [x, w, b], rng)


def test_conv2d_gradcheck_on_channel_major_input():
    """A conv's output is a transposed (channel-major) view; the next conv must handle it."""
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 2, 5, 5))
    w1, w2, w3 = (rng.standard_normal(s) for s in [(3, 2, 3, 3), (4, 3, 3, 3), (2, 4, 1, 1)])

    def net(x, w1, w2, w3):
        h = conv2d(x, w1, padding=1)
        assert not h.data.flags.c_contiguous
        return conv2d(conv2d(h, w2, padding=1), w3)

    check_grads(net, [x, w1, w2, w3], rng)


def test_im2col_col2im_are_adjoint():
    """<im2col(x), U> == <x, col2im(U)> for every geometry (col2im is im2col's transpose)."""
    rng = np.random.default_rng(2)
    for H, k, s, p, d in [(7, 3, 2, 1, 1), (9, 3, 1, 2, 2), (6, 2, 2, 0, 1)]:
        x = rng.standard_normal((2, 3, H, H))
        oh = (H + 2 * p - d * (k - 1) - 1) // s + 1
        cols = im2col(x, k, k, oh, oh, (s, s), (p, p), (d, d))
        u = rng.standard_normal(cols.shape)
        back = col2im(u, x.shape, k, k, oh, oh, (s, s), (p, p), (d, d))
        assert np.isclose((cols * u).sum(), (x * back).sum(), rtol=1e-12)


@pytest.mark.parametrize("case", PARITY_CASES, ids=[str(c) for c in PARITY_CASES])
def test_conv2d_matches_torch(case, threads):
    torch = pytest.importorskip("torch", reason="PyTorch is the reference for conv2d parity")
    C, O, H, W, k, s, p, d, g = case
    rng = np.random.default_rng(3)
    kh, kw = (k, k) if isinstance(k, int) else k
    arrays = [rng.standard_normal((3, C, H, W)), rng.standard_normal((O, C // g, kh, kw)), rng.standard_normal(O)]
    ts = [nnlab.tensor(a, requires_grad=True) for a in arrays]
    y = conv2d(*ts, s, p, d, g)
    G = rng.standard_normal(y.shape)
    (y * nnlab.tensor(G)).sum().backward()
    tt = [torch.tensor(a, requires_grad=True) for a in arrays]
    ty = torch.nn.functional.conv2d(*tt, s, p, d, g)
    (ty * torch.tensor(G)).sum().backward()
    np.testing.assert_allclose(y.data, ty.detach().numpy(), rtol=1e-10, atol=1e-12)
    for a, b in zip(ts, tt):
        np.testing.assert_allclose(a.grad, b.grad.numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("C, O, G", [(3, 16, 1), (16, 16, 1), (24, 16, 1), (6, 4, 2)])
@pytest.mark.parametrize(
    "geom",
    [
        (6, 5, 3, 2, 1, 0),
        (7, 6, 3, 3, 1, 1),
        (5, 7, 5, 3, 2, 0),
        (6, 5, 3, 5, 0, 4),
        (3, 3, 3, 3, 2, 2),
        (5, 5, 1, 3, 0, 1),
    ],
    ids=lambda g: "H%d W%d k%dx%d pad%d,%d" % g,
)
def test_stride1_input_grads_match_col2im(C, O, G, geom):
    """dX of a stride-1 convolution as the convolution of dY (padded by K-1-P) with
    flipped_weights(W), and (O > C, ungrouped) by conv_input_grad_shifted, equals col2im(W^T dY)
    for paddings from 0 to K-1, on a channel-major dY as a convolution's output gradient is."""
    rng = np.random.default_rng(5)
    N = 3
    H, W, KH, KW, P, Q = geom
    w = rng.standard_normal((O, C // G, KH, KW))
    OH, OW = H + 2 * P - KH + 1, W + 2 * Q - KW + 1
    g = np.ascontiguousarray(rng.standard_normal((O, N, OH, OW))).transpose(1, 0, 2, 3)
    gm = g.transpose(1, 0, 2, 3).reshape(G, O // G, -1)
    dcols = np.matmul(w.reshape(G, O // G, -1).transpose(0, 2, 1), gm).reshape(C * KH * KW, -1)
    ref = col2im(dcols, (N, C, H, W), KH, KW, OH, OW, (1, 1), (P, Q), (1, 1))
    got = conv2d(nnlab.tensor(g), nnlab.tensor(flipped_weights(w, G)), padding=(KH - 1 - P, KW - 1 - Q), groups=G)
    np.testing.assert_allclose(got.data, ref, rtol=1e-12, atol=1e-12)
    if G == 1 and O > C:
        np.testing.assert_allclose(conv_input_grad_shifted(g, w, (N, C, H, W), (P, Q)), ref, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("case", PARITY_CASES, ids=[str(c) for c in PARITY_CASES])
def test_conv2d_same_for_any_block_size(case, monkeypatch, threads):
    """The columns are built a few images at a time (conv_ops.BLOCK_BYTES) and rebuilt for dW, or
    kept from forward when small (conv_ops.KEEP_BYTES): one image per block, a block that leaves a
    partial last one, the whole batch at once and kept columns give the same output and
    gradients."""
    C, O, H, W, k, s, p, d, g = case
    rng = np.random.default_rng(6)
    kh, kw = (k, k) if isinstance(k, int) else k
    arrays = [rng.standard_normal((5, C, H, W)), rng.standard_normal((O, C // g, kh, kw)), rng.standard_normal(O)]
    G = rng.standard_normal(conv2d(*[nnlab.tensor(a) for a in arrays], s, p, d, g).shape)
    per_image = C * kh * kw * G.shape[2] * G.shape[3] * 8  # bytes of one image's float64 columns
    results = []
    # 1 image per block; 2, 2 and 1; all 5 at once; kept
    for block, keep in ((1, 0), (2 * per_image, 0), (2**40, 0), (1, 2**40)):
        monkeypatch.setattr(conv_ops, "BLOCK_BYTES", block)
        monkeypatch.setattr(conv_ops, "KEEP_BYTES", keep)
        ts = [nnlab.tensor(a, requires_grad=True) for a in arrays]
        y = conv2d(*ts, s, p, d, g)
        (y * nnlab.tensor(G)).sum().backward()
        results.append([y.data] + [t.grad for t in ts])
    for other in results[1:]:
        for a, b in zip(results[0], other):
            np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)


def test_conv2d_keeps_float32():
    rng = np.random.default_rng(4)
    x = nnlab.tensor(rng.standard_normal((2, 3, 6, 6)).astype(np.float32), requires_grad=True)
    w = nnlab.tensor(rng.standard_normal((4, 3, 3, 3)).astype(np.float32), requires_grad=True)
    b = nnlab.tensor(np.zeros(4, np.float32), requires_grad=True)
    for kw in ({"padding": 1}, {}):
        y = conv2d(x, w, b, **kw)
        assert y.dtype == np.float32
        y.sum().backward()
        assert x.grad.dtype == w.grad.dtype == b.grad.dtype == np.float32


def test_conv2d_without_grad_keeps_no_columns():
    x = nnlab.tensor(np.ones((1, 2, 5, 5)))
    w = nnlab.tensor(np.ones((3, 2, 3, 3)))
    y = conv2d(x, w, padding=1)
    assert y._ctx is None
    np.testing.assert_allclose(y.data[0, 0, 2, 2], 18.0)  # an interior pixel sees 2*3*3 ones
    np.testing.assert_allclose(y.data[0, 0, 0, 0], 8.0)  # a corner sees 2*2*2


def test_non_fitting_stride_error_lists_fits():
    x = nnlab.tensor(np.zeros((1, 3, 32, 32)))
    w = nnlab.tensor(np.zeros((8, 3, 5, 5)))
    with pytest.raises(ValueError) as e:
        conv2d(x, w, stride=2, name="conv1")
    msg = str(e.value)
    assert "conv1" in msg and "(32 - 5 + 2*0)/2 + 1 = 14.5" in msg
    assert "strides that fit with padding 0: 1 (-> 28), 3 (-> 10)" in msg
    # stride 3 does fit: the suggestion is right
    assert conv2d(x, w, stride=3).shape == (1, 8, 10, 10)


def test_non_fitting_padding_error_lists_paddings():
    x = nnlab.tensor(np.zeros((1, 1, 8, 8)))
    w = nnlab.tensor(np.zeros((1, 1, 3, 3)))
    with pytest.raises(ValueError, match=r"\(8 - 3 \+ 2\*0\)/2 \+ 1 = 3.5") as e:
        conv2d(x, w, stride=2)
    assert "paddings that fit with stride 2" not in str(e.value)  # 8-3+2P is always odd
    with pytest.raises(ValueError, match=r"paddings that fit with stride 3: 0 \(-> 3\), 3 \(-> 5\)") as e:
        conv2d(nnlab.tensor(np.zeros((1, 1, 9, 9))), w, stride=3, padding=1)
    assert conv2d(x, w, stride=2, rounding="floor").shape == (1, 1, 3, 3)  # explicit opt-in


def test_dilated_kernel_too_large_and_bad_inputs():
    w = nnlab.tensor(np.zeros((2, 3, 3, 3)))
    with pytest.raises(ValueError, match=r"dilated kernel \(7\) is larger"):
        conv2d(nnlab.tensor(np.zeros((1, 3, 5, 5))), w, dilation=3)
    with pytest.raises(ValueError, match="expected 3 input channels, got 4"):
        conv2d(nnlab.tensor(np.zeros((1, 4, 5, 5))), w)
    with pytest.raises(ValueError, match="4-D input"):
        conv2d(nnlab.tensor(np.zeros((3, 5, 5))), w)
    with pytest.raises(ValueError, match="groups=2"):
        conv2d(nnlab.tensor(np.zeros((1, 6, 5, 5))), nnlab.tensor(np.zeros((3, 3, 3, 3))), groups=2)
    with pytest.raises(TypeError, match="dtype"):
        conv2d(nnlab.tensor(np.zeros((1, 3, 5, 5), np.float32)), w)
    with pytest.raises(TypeError, match="stride"):
        conv2d(nnlab.tensor(np.zeros((1, 3, 5, 5))), w, stride=1.5)


@pytest.mark.parametrize("s,p", [(1, 0), (2, 1), (1, 1)])
def test_locally_connected_gradcheck(s, p):
    rng = np.random.default_rng(5)
    H = 5
    oh = (H + 2 * p - 3) // s + 1
    x = rng.standard_normal((2, 2, H, H))
    w = rng.standard_normal((oh, oh, 3, 2, 3, 3))
    b = rng.standard_normal((3, oh, oh))
    check_grads(lambda x, w, b: locally_connected2d(x, w, b, s, p), [x, w, b], rng)


def test_locally_connected_with_equal_filters_is_a_convolution():
    rng = np.random.default_rng(6)
    x = rng.standard_normal((2, 3, 7, 7))
    wc = rng.standard_normal((4, 3, 3, 3))
    bc = rng.standard_normal(4)
    w = np.broadcast_to(wc, (3, 3) + wc.shape).copy()
    b = np.broadcast_to(bc[:, None, None], (4, 3, 3)).copy()
    y = locally_connected2d(nnlab.tensor(x), nnlab.tensor(w), nnlab.tensor(b), stride=2)
    ref = conv2d(nnlab.tensor(x), nnlab.tensor(wc), nnlab.tensor(bc), stride=2)
    np.testing.assert_allclose(y.data, ref.data, rtol=1e-12)
    with pytest.raises(ValueError, match="built for one input size"):
        locally_connected2d(nnlab.tensor(rng.standard_normal((1, 3, 9, 9))), nnlab.tensor(w), stride=2)


def test_every_output_position_depends_on_its_own_filter():
    """Perturbing the filter of position (i, j) changes only output (i, j)."""
    rng = np.random.default_rng(7)
    x = nnlab.tensor(rng.standard_normal((1, 2, 4, 4)))
    w = rng.standard_normal((2, 2, 1, 2, 3, 3))
    y0 = locally_connected2d(x, nnlab.tensor(w)).data
    w[1, 0] += 1.0
    diff = np.abs(locally_connected2d(x, nnlab.tensor(w)).data - y0)[0, 0]
    assert diff[1, 0] > 0 and np.count_nonzero(diff) == 1
