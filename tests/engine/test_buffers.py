"""The scratch-buffer cache behind conv2d's im2col columns: a buffer is reused only after its gate
is gone, so gradients stay exactly those computed without the cache."""

import numpy as np
import pytest

import nnlab
from nnlab.engine import buffers
from nnlab.nn import functional as F


@pytest.fixture
def fresh_cache(monkeypatch):
    buffers.clear()
    yield
    buffers.clear()


def test_small_arrays_are_not_cached(fresh_cache):
    a, raw = buffers.take((10, 10), np.float32)
    assert a.shape == (10, 10) and raw is None


def test_given_back_buffer_is_reused_for_the_same_size_only(fresh_cache, monkeypatch):
    monkeypatch.setattr(buffers, "MIN_BYTES", 0)
    a, raw = buffers.take((4, 8), np.float32)
    buffers.give(raw)
    assert buffers.cached_bytes() == 128
    b, raw_b = buffers.take((8, 4), np.float32)  # same bytes, other shape: reused
    assert np.shares_memory(a, b) and buffers.cached_bytes() == 0
    c, _ = buffers.take((8, 4), np.float32)  # cache empty: a new buffer
    assert not np.shares_memory(b, c)
    buffers.give(raw_b)
    d, _ = buffers.take((3, 3), np.float64)  # other size: not the cached one
    assert not np.shares_memory(b, d) and buffers.cached_bytes() == 128


def test_cache_is_bounded(fresh_cache, monkeypatch):
    monkeypatch.setattr(buffers, "MIN_BYTES", 0)
    monkeypatch.setattr(buffers, "MAX_CACHED_BYTES", 200)
    raws = [buffers.take((32,), np.float32)[1] for _ in range(3)]  # 128 bytes each
    for r in raws:
        buffers.give(r)
    assert buffers.cached_bytes() == 128


def _conv_grads(x, w, b, graphs):
    """Build ``graphs`` graphs before running any backward (all their columns alive at once)."""
    outs = []
    for k in range(graphs):
        xt = nnlab.tensor(x * (k + 1), requires_grad=True)
        wt = nnlab.tensor(w, requires_grad=True)
        bt = nnlab.tensor(b, requires_grad=True)
        y = F.conv2d(xt, wt, bt, padding=1)
        outs.append((y, xt, wt, bt))
    res = []
    for y, xt, wt, bt in outs:
        (y * y).sum().backward()
        res.append((y.data.copy(), xt.grad, wt.grad, bt.grad))
    return res


def test_conv_gradients_unchanged_by_buffer_reuse(fresh_cache, monkeypatch):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((3, 4, 6, 5)).astype(np.float32)
    w = rng.standard_normal((5, 4, 3, 3)).astype(np.float32)
    b = rng.standard_normal(5).astype(np.float32)
    monkeypatch.setattr(buffers, "MIN_BYTES", 2**62)  # cache off
    want = _conv_grads(x, w, b, 3)
    monkeypatch.setattr(buffers, "MIN_BYTES", 0)  # every column matrix through the cache
    for _ in range(3):  # later rounds reuse the buffers the earlier graphs gave back
        got = _conv_grads(x, w, b, 3)
        for g_row, w_row in zip(got, want):
            for g_arr, w_arr in zip(g_row, w_row):
                np.testing.assert_array_equal(g_arr, w_arr)
    assert buffers.cached_bytes() > 0
    with nnlab.no_grad():  # no gradient: the columns go back right after the product
        before = buffers.cached_bytes()
        F.conv2d(nnlab.tensor(x), nnlab.tensor(w), nnlab.tensor(b), padding=1)
        assert buffers.cached_bytes() == before


def test_conv_without_bias_uses_the_cache_too(fresh_cache, monkeypatch):
    """No bias: kept columns without the ones row, given back when the graph goes and reused."""
    monkeypatch.setattr(buffers, "MIN_BYTES", 0)
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 3, 5, 5)).astype(np.float32)
    w = nnlab.tensor(rng.standard_normal((4, 3, 3, 3)).astype(np.float32), requires_grad=True)
    y = F.conv2d(nnlab.tensor(x), w, padding=1)
    a = y.data.copy()
    del y  # the graph (and the gate holding the columns) goes
    held = buffers.cached_bytes()
    y2 = F.conv2d(nnlab.tensor(x), w, padding=1)
    assert held == 3 * 9 * 2 * 25 * 4 and buffers.cached_bytes() == 0  # taken again
    np.testing.assert_array_equal(a, y2.data)
