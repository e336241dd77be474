"""Passes split over threads (nnlab.engine.parallel) cover their range once and give the same
results as the one-thread pass: max pooling, batch norm, im2col and padding."""

import threading

import numpy as np
import pytest

import nnlab
from nnlab.engine import parallel
from nnlab.nn import functional as F


@pytest.fixture
def split_everything(monkeypatch):
    """Split every pass, however small, over 3 threads (2 helpers + the caller)."""
    monkeypatch.setattr(parallel, "MIN_BYTES", 0)
    monkeypatch.setattr(parallel, "LOAD_CHECK", False)
    old = parallel.get_num_threads()
    parallel.set_num_threads(3)
    yield
    parallel.set_num_threads(old)


def test_run_covers_the_range_once(split_everything):
    seen, names = [], set()
    lock = threading.Lock()

    def fn(a, b):
        with lock:
            seen.extend(range(a, b))
            names.add(threading.current_thread().name)

    parallel.run(fn, 37, 10**9)
    assert sorted(seen) == list(range(37))


def test_run_reraises_a_chunk_error(split_everything):
    def fn(a, b):
        if a <= 5 < b:
            raise KeyError("chunk 5")

    with pytest.raises(KeyError, match="chunk 5"):
        parallel.run(fn, 12, 10**9)


def test_one_thread_or_small_pass_runs_inline(monkeypatch):
    calls = []
    parallel.set_num_threads(1)
    try:
        parallel.run(lambda a, b: calls.append((a, b, threading.current_thread())), 8, 10**9)
    finally:
        parallel.set_num_threads(parallel._default_threads())
    assert calls == [(0, 8, threading.current_thread())]
    with pytest.raises(ValueError, match="positive int"):
        parallel.set_num_threads(0)


def _net_grads(x, layers):
    """conv (3 channels: im2col split by image) -> batch norm -> ReLU -> max pool -> conv (12
    channels: split by channel) -> loss, backward: every output and gradient, and an evaluation-
    mode batch norm with the running statistics."""
    w, b, gamma, beta, w2 = (nnlab.tensor(a, requires_grad=True) for a in layers)
    xt = nnlab.tensor(x, requires_grad=True)
    rm, rv = np.zeros(w.shape[0], x.dtype), np.ones(w.shape[0], x.dtype)
    y = F.conv2d(xt, w, b, padding=1)
    y = F.batch_norm(y, rm, rv, gamma, beta, training=True)
    y = F.max_pool2d(F.relu(y), 2)
    y = F.conv2d(y, w2, padding=1)
    loss = (y * y).sum()
    loss.backward()
    with nnlab.no_grad():
        ev = F.batch_norm(nnlab.tensor(np.repeat(x[:, :1], w.shape[0], axis=1)), rm, rv, gamma, beta, training=False)
    return [y.data, xt.grad, w.grad, b.grad, gamma.grad, beta.grad, w2.grad, rm, rv, ev.data]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_split_passes_give_the_one_thread_results(dtype, monkeypatch):
    rng = np.random.default_rng(1)
    x = rng.standard_normal((5, 3, 8, 6)).astype(dtype)
    layers = [
        rng.standard_normal((12, 3, 3, 3)).astype(dtype),
        rng.standard_normal(12).astype(dtype),
        rng.uniform(0.5, 1.5, 12).astype(dtype),
        rng.standard_normal(12).astype(dtype),
        rng.standard_normal((4, 12, 3, 3)).astype(dtype),
    ]
    # unsplit: passes under MIN_BYTES run inline (two threads, not one: a convolution picks its
    # algorithm by the thread count, and this test is about splitting, not algorithms)
    monkeypatch.setattr(parallel, "MIN_BYTES", 2**62)
    parallel.set_num_threads(2)
    want = _net_grads(x, layers)
    monkeypatch.setattr(parallel, "MIN_BYTES", 0)
    monkeypatch.setattr(parallel, "LOAD_CHECK", False)
    parallel.set_num_threads(3)
    try:
        got = _net_grads(x, layers)
    finally:
        parallel.set_num_threads(parallel._default_threads())
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=1e-6 if dtype == np.float32 else 1e-12, atol=1e-6)


def test_busy_machine_runs_inline(split_everything, monkeypatch):
    monkeypatch.setattr(parallel, "LOAD_CHECK", True)
    monkeypatch.setattr(parallel.os, "getloadavg", lambda: (99.0, 99.0, 99.0))
    monkeypatch.setitem(parallel._load, "t", -1e9)
    calls = []
    parallel.run(lambda a, b: calls.append((a, b)), 8, 10**9)
    assert calls == [(0, 8)]
    monkeypatch.setattr(parallel.os, "getloadavg", lambda: (0.0, 0.0, 0.0))
    monkeypatch.setitem(parallel._load, "t", -1e9)
    calls.clear()
    parallel.run(lambda a, b: calls.append((a, b)), 8, 10**9)
    assert len(calls) > 1 and sorted(calls)[0][0] == 0


@pytest.mark.skipif(not hasattr(__import__("os"), "fork"), reason="needs os.fork")
def test_forked_child_starts_its_own_helpers(split_everything):
    import os

    parallel.run(lambda a, b: None, 8, 10**9)  # helpers exist in the parent
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # child: the parent's helper threads are gone; splitting must still work
        try:
            seen = []
            lock = threading.Lock()

            def fn(a, b):
                with lock:
                    seen.extend(range(a, b))

            parallel.run(fn, 20, 10**9)
            ok = sorted(seen) == list(range(20)) and all(t.is_alive() for t in parallel._workers)
            os.write(w, b"1" if ok else b"0")
        finally:
            os._exit(0)
    os.waitpid(pid, 0)
    assert os.read(r, 1) == b"1"


def test_set_num_threads_reaches_blas_as_torch_does():
    """nnlab.set_num_threads(n), like torch.set_num_threads, sets the whole process's count: the
    split passes and NumPy's BLAS."""
    from threadpoolctl import threadpool_info

    before = nnlab.get_num_threads()
    try:
        for n in (1, 2):
            nnlab.set_num_threads(n)
            assert nnlab.get_num_threads() == parallel.get_num_threads() == n
            blas = [lib for lib in threadpool_info() if lib["user_api"] == "blas"]
            assert blas and all(lib["num_threads"] == n for lib in blas)
    finally:
        nnlab.set_num_threads(before)
    for bad in (0, 1.5, True):
        with pytest.raises(ValueError, match="positive int"):
            nnlab.set_num_threads(bad)


def test_limit_threads_restores_both_counts_even_after_an_error():
    from threadpoolctl import threadpool_info

    def blas():
        return [lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas"]

    before, before_blas = parallel.get_num_threads(), blas()
    with pytest.raises(RuntimeError, match="inside"):
        with parallel.limit_threads(1):
            assert parallel.get_num_threads() == 1 and set(blas()) == {1}
            raise RuntimeError("inside")
    assert parallel.get_num_threads() == before and blas() == before_blas
    with pytest.raises(ValueError, match="positive int"):
        parallel.limit_threads(0)
