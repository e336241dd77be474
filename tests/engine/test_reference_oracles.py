"""The hand-optimized gates against their textbook forms (nnlab.engine.reference), float64, over
shapes that exercise each fast path: the sigmoid's in-place passes, batch norm's closed-form
backward and channel-dot products, and every convolution layout (1x1 per-image GEMM, 1x1 on
channel-major or strided input, im2col with and without groups, shifted-GEMM and col2im input
gradients)."""

import numpy as np
import pytest

import nnlab
from nnlab.engine import ops
from nnlab.engine import reference as R

TOL = dict(rtol=1e-10, atol=1e-12)


def _run(fn, arrays, g):
    """Forward through the fast gate, backward with upstream gradient g; (out, grads)."""
    ts = [None if a is None else nnlab.tensor(a, requires_grad=True) for a in arrays]
    y = fn(*ts)
    y.backward(g)
    return y.data, [None if t is None else t.grad for t in ts]


@pytest.mark.parametrize("shape", [(7,), (3, 4), (2, 3, 4, 5)])
def test_sigmoid_matches_one_over_one_plus_exp(shape):
    rng = np.random.default_rng(len(shape))
    x = rng.uniform(-30, 30, shape)
    g = rng.standard_normal(shape)
    ref, cache = R.sigmoid_forward(x)
    out, (dx,) = _run(ops.sigmoid, [x], g)
    np.testing.assert_allclose(out, ref, **TOL)
    np.testing.assert_allclose(dx, R.sigmoid_backward(g, cache), **TOL)


def _channel_major(a):
    """The same values with channels outermost in memory (as a convolution's output is)."""
    return np.ascontiguousarray(a.transpose(1, 0, 2, 3)).transpose(1, 0, 2, 3)


@pytest.mark.parametrize(
    "shape,layout", [((6, 4), "c"), ((4, 3, 5, 5), "c"), ((4, 3, 5, 5), "channel-major"), ((2, 5, 3, 7), "c")]
)
@pytest.mark.parametrize("mode", ["train", "test"])
def test_batch_norm_matches_the_staged_graph(shape, layout, mode):
    rng = np.random.default_rng(shape[1])
    x = rng.standard_normal(shape) * 3 + 1
    if layout == "channel-major":
        x = _channel_major(x)
    c = shape[1]
    gamma, beta = rng.uniform(0.5, 2, c), rng.standard_normal(c)
    mean, var = rng.standard_normal(c), rng.uniform(0.5, 2, c)
    g = rng.standard_normal(shape)
    ref, cache = R.batchnorm_forward(x, gamma, beta, 1e-5, mode, mean, var)
    fast = lambda x, w, b: ops.batch_norm(x, mean.copy(), var.copy(), w, b, training=mode == "train", eps=1e-5)
    out, (dx, dgamma, dbeta) = _run(fast, [x, gamma, beta], g)
    np.testing.assert_allclose(out, ref, **TOL)
    for got, want in zip((dx, dgamma, dbeta), R.batchnorm_backward(g, cache), strict=True):
        np.testing.assert_allclose(got, want, **TOL)


# (N, C, H, W), (O, K), stride, padding, dilation, groups, input layout: each row takes a different
# branch of Conv2d.forward/backward
CONV_CASES = {
    "1x1 per-image GEMM": ((2, 3, 5, 4), (4, 1), 1, 0, 1, 1, "c"),
    "1x1 channel-major": ((2, 3, 5, 4), (4, 1), 1, 0, 1, 1, "channel-major"),
    "1x1 strided": ((2, 3, 7, 5), (5, 1), 2, 0, 1, 1, "c"),
    "3x3 shifted-GEMM dX": ((2, 3, 6, 6), (16, 3), 1, 1, 1, 1, "c"),
    "3x3 col2im dX (few outputs)": ((2, 3, 6, 6), (4, 3), 1, 1, 1, 1, "c"),
    "3x3 stride 2": ((2, 2, 7, 9), (5, 3), 2, 1, 1, 1, "c"),
    "3x3 dilation 2": ((1, 2, 9, 9), (3, 3), 1, 2, 2, 1, "c"),
    "groups": ((2, 4, 6, 5), (6, 3), 1, 1, 1, 2, "c"),
    "5x3 wide padding": ((1, 2, 8, 7), (3, (5, 3)), 1, (2, 0), 1, 1, "c"),
}


@pytest.mark.parametrize("case", CONV_CASES, ids=list(CONV_CASES))
def test_conv2d_matches_the_sum_over_filter_taps(case):
    (n, c, h, w), (o, k), stride, padding, dilation, groups, layout = CONV_CASES[case]
    kh, kw = (k, k) if np.isscalar(k) else k
    rng = np.random.default_rng(sum(map(ord, case)))
    x = rng.standard_normal((n, c, h, w))
    if layout == "channel-major":
        x = _channel_major(x)
    wt = rng.standard_normal((o, c // groups, kh, kw))
    b = rng.standard_normal(o)
    ref, cache = R.conv2d_forward(x, wt, b, stride, padding, dilation, groups)
    g = rng.standard_normal(ref.shape)
    fast = lambda x, w, b: ops.conv2d(x, w, b, stride, padding, dilation, groups)
    out, grads = _run(fast, [x, wt, b], g)
    np.testing.assert_allclose(out, ref, **TOL)
    for got, want in zip(grads, R.conv2d_backward(g, cache), strict=True):
        np.testing.assert_allclose(got, want, **TOL)


def test_the_references_are_the_equations():
    # spot values, so that an oracle broken the same way as a fast path would still be caught
    s, _ = R.sigmoid_forward(np.array([0.0, np.log(3.0)]))
    np.testing.assert_allclose(s, [0.5, 0.75])
    x = np.arange(1.0, 10.0).reshape(1, 1, 3, 3)
    y, _ = R.conv2d_forward(x, np.ones((1, 1, 2, 2)))
    np.testing.assert_allclose(y[0, 0], [[12, 16], [24, 28]])
    out, _ = R.batchnorm_forward(np.array([[1.0], [3.0]]), np.ones(1), np.zeros(1), eps=0.0)
    np.testing.assert_allclose(out[:, 0], [-1, 1])
