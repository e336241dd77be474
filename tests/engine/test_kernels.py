"""The compiled kernels (nnlab.engine.kernels) give the NumPy reference paths' bits exactly.

Each case runs the same op twice, kernels on and off, and compares outputs, gradients, NaN
positions, signs of zeros and memory layouts. Inputs hold many ties (small integers), NaNs and an
infinite upstream gradient, where the tie and NaN rules differ if anything does.
"""

import itertools
import os
import subprocess
import sys

import numpy as np
import pytest

from nnlab.engine import kernels, parallel
from nnlab.engine.ops.elementwise import ReLU
from nnlab.engine.ops.pool import MaxPool2d, max_pool2d, pool_geometry
from nnlab.engine.tensor import Tensor

needs_numba = pytest.mark.skipif(not kernels.available(), reason="numba is not installed (pip install 'nnlab[fast]')")


def _channel_major(a):
    return np.ascontiguousarray(a.transpose(1, 0, 2, 3)).transpose(1, 0, 2, 3)


def _pool_both(x, g, k, s, p):
    runs = []
    for on in (True, False):
        before = kernels.set_enabled(on)
        try:
            xt = Tensor(x, requires_grad=True)
            y = max_pool2d(xt, k, s, p, rounding="floor")
            y.backward(g(y.shape))
        finally:
            kernels.set_enabled(before)
        grad = xt.grad if isinstance(xt.grad, np.ndarray) else xt.grad.data
        runs.append((y.data, grad))
    return runs


def _same_bits(a, b, zero_signs=True):
    assert a.shape == b.shape and a.dtype == b.dtype
    assert a.strides == b.strides, "memory layout differs"
    assert np.array_equal(a, b, equal_nan=True)
    if zero_signs:
        num = ~np.isnan(a)  # (a NaN's sign bit is whatever the CPU's max instruction made of it)
        assert np.array_equal(np.signbit(a[num]), np.signbit(b[num])), "a zero's sign differs"


WINDOWS = [(2, 2, 0), (3, 2, 1), (3, 1, 1), (2, 1, 0), ((2, 3), (1, 2), (1, 1)), (4, 4, 2)]


@needs_numba
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("window", WINDOWS, ids=str)
@pytest.mark.parametrize("x_layout,g_layout", list(itertools.product(("nchw", "channel_major"), repeat=2)))
def test_max_pool_kernels_match_numpy_bits(dtype, window, x_layout, g_layout):
    rng = np.random.default_rng(7)
    x = rng.integers(-3, 4, size=(3, 5, 9, 10)).astype(dtype)  # ties everywhere
    x[0, 0, 0, 0] = x[1, 2, 3, 4] = x[2, 4, 8, 9] = np.nan
    x[1, 1, 0, 1] = -0.0
    if x_layout == "channel_major":
        x = _channel_major(x)
    g_values = {}

    def g(shape):
        if "g" not in g_values:
            gv = rng.standard_normal(shape).astype(dtype)
            gv[0, 0, 0, 0], gv[1, 0, 1, 1], gv[2, 3, 0, 0] = np.inf, -0.0, np.nan
            g_values["g"] = _channel_major(gv) if g_layout == "channel_major" else gv
        return g_values["g"]

    (y1, gx1), (y2, gx2) = _pool_both(x, g, *window)
    # a window holding both 0.0 and -0.0: the kernel returns the switch's element (the first
    # maximum, as PyTorch does), np.maximum whichever its SIMD or scalar loop keeps on a tie
    _same_bits(y1, y2, zero_signs=False)
    _same_bits(gx1, gx2)


@needs_numba
@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("shape", [(64, 32, 28, 28), (8, 16, 31, 17)])
def test_max_pool_kernels_split_over_threads_match(threads, shape):
    """Arrays above parallel.MIN_BYTES are split over channels: every chunk boundary agrees."""
    rng = np.random.default_rng(3)
    x = _channel_major(rng.standard_normal(shape).astype(np.float32))
    gv = {}

    def g(s):
        return gv.setdefault("g", rng.standard_normal(s).astype(np.float32))

    with parallel.limit_threads(threads):
        (y1, gx1), (y2, gx2) = _pool_both(x, g, 2, 2, 0)
    _same_bits(y1, y2)
    _same_bits(gx1, gx2)


@needs_numba
@pytest.mark.parametrize("track", [True, False])
def test_compiled_pool_keeps_switches_only_for_a_gradient(track):
    op = MaxPool2d()
    op.needs_input_grad = (track,)
    x = np.arange(2 * 3 * 4 * 4, dtype=np.float32).reshape(2, 3, 4, 4)
    k, s, p, out_hw = pool_geometry(x.shape, 2, None, 0, "max_pool2d")
    y = op.forward(x, kernel=k, stride=s, padding=p, out_hw=out_hw)
    np.testing.assert_array_equal(y, x[:, :, 1::2, 1::2])
    assert (op.idx is not None) == track
    if track:
        assert (op.idx == 3).all()  # each window's maximum is its bottom-right element


@needs_numba
@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("layouts", [("nchw", "nchw"), ("channel_major", "channel_major"), ("channel_major", "nchw")])
def test_relu_kernel_matches_numpy_bits(threads, dtype, layouts):
    """Large activations (split over threads, compiled backward) and mixed layouts (NumPy path)."""
    rng = np.random.default_rng(5)
    shape = (16, 32, 28, 28)
    x = rng.standard_normal(shape).astype(dtype)
    x[0, 0, 0, :4] = [np.nan, 0.0, -0.0, np.inf]
    g = rng.standard_normal(shape).astype(dtype)
    g[0, 0, 0, 4:8] = [np.nan, np.inf, -np.inf, -0.0]
    g[0, 0, 0, 0:4] = [np.inf, np.inf, -0.0, np.nan]
    if layouts[0] == "channel_major":
        x = _channel_major(x)
    if layouts[1] == "channel_major":
        g = _channel_major(g)
    runs = []
    with parallel.limit_threads(threads), np.errstate(invalid="ignore"):  # inf * 0 in the NumPy path
        for on in (True, False):
            before = kernels.set_enabled(on)
            try:
                op = ReLU()
                y = op.forward(x)
                (gx,) = op.backward(g)
            finally:
                kernels.set_enabled(before)
            runs.append((y, gx))
    (y1, gx1), (y2, gx2) = runs
    _same_bits(y1, y2)
    _same_bits(gx1, gx2)
    with np.errstate(invalid="ignore"):
        old = (np.maximum(x, 0), g * (np.maximum(x, 0) > 0))  # the gate's arithmetic, written out
    assert np.array_equal(y1, old[0], equal_nan=True) and np.array_equal(gx1, old[1], equal_nan=True)


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.float16, np.int64])
def test_handles_only_float32_and_float64(dtype):
    with kernels.disabled():
        assert not kernels.handles(np.dtype(dtype))
    expected = kernels.available() and np.dtype(dtype) in (np.float32, np.float64)
    before = kernels.set_enabled(True)
    try:
        assert kernels.handles(np.dtype(dtype)) == expected
    finally:
        kernels.set_enabled(before)


def test_switch_restores_and_context_manager():
    before = kernels.enabled()
    with kernels.disabled():
        assert not kernels.enabled()
    assert kernels.enabled() == before
    prev = kernels.set_enabled(False)
    try:
        assert not kernels.enabled()
    finally:
        kernels.set_enabled(prev)


def test_environment_switch_turns_kernels_off():
    code = "from nnlab.engine import kernels; print(kernels.enabled())"
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env=dict(os.environ, NNLAB_KERNELS="0"),
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"


@needs_numba
def test_compile_all_names_every_kernel():
    assert kernels.compile_all() == sorted(kernels._SOURCES)
