"""Memory-bound passes (copies, pooling, batch-norm arithmetic) split over the cores BLAS uses.

NumPy runs a ufunc or a copy on one core, while PyTorch spreads its element-wise work over all of
them; between GEMMs (which OpenBLAS already runs on every core) a CNN step is a chain of such
passes. NumPy releases the GIL inside them, so plain threads can run slices of one pass at once.

``run(fn, n, nbytes)`` calls ``fn(start, stop)`` on chunks of ``range(n)`` (channels, images...)
that together cover it once. The calling thread takes chunks too, and chunks are claimed one at a
time, so where a helper thread does not get a core the caller does the rest. Passes under
``MIN_BYTES`` run directly: waking a thread costs ~10-30 us, a 1 MB pass ~50-100 us.

A split only pays when a core is idle. On a machine whose run queue is already longer than its
cores, a helper that claimed a chunk may wait for a core for milliseconds while the caller waits
for it: measured at load 22 on 2 cores, wall time with 2 threads against 1 (alternating, medians
of 40): max pool forward + backward on (64, 32, 28, 28) 17.6 -> 16.2 ms, batch norm forward +
backward on (64, 32, 32, 32) 37.6 -> 37.5 ms, but pad + im2col of (64, 32, 14, 14) 3.4 -> 8.4 ms.
So ``run`` does not split while the 1-minute load average exceeds the CPU count + 1 (checked at
most once a second; ``LOAD_CHECK = False`` turns the check off).

Thread count: ``set_num_threads`` (also ``nnlab.set_num_threads``; it sets BLAS's too), else
OMP_NUM_THREADS / OPENBLAS_NUM_THREADS when set, else the CPUs this process may use.
"""

from __future__ import annotations

import os
import queue
import threading
import time

MIN_BYTES = 1 << 20
CHUNKS_PER_THREAD = 4
LOAD_CHECK = True
_LOAD_EVERY_S = 1.0
_load = {"t": -1e9, "busy": False}

_threads: int | None = None
_workers: list[threading.Thread] = []
_jobs: queue.SimpleQueue = queue.SimpleQueue()
_start_lock = threading.Lock()


def _default_threads() -> int:
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        try:
            n = int(os.environ.get(var, ""))
        except ValueError:
            continue
        if n >= 1:
            return n
    try:
        return len(os.sched_getaffinity(0)) or 1
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def get_num_threads() -> int:
    global _threads
    if _threads is None:
        _threads = _default_threads()
    return _threads


def set_num_threads(n: int) -> None:
    """Use ``n`` threads for the whole process, as ``torch.set_num_threads`` does: the split passes
    (the caller included; 1 turns splitting off) and NumPy's BLAS (through threadpoolctl). The
    convolution also picks its algorithms by this count (nnlab.engine.ops.conv)."""
    global _threads
    if not isinstance(n, int) or isinstance(n, bool) or n < 1:
        raise ValueError(f"set_num_threads: n must be a positive int, got {n!r}")
    _threads = n
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=n, user_api="blas")


class limit_threads:
    """Context manager: ``n`` threads (BLAS's and the split passes', as set_num_threads) inside the
    block, the previous counts restored after it."""

    def __init__(self, n: int):
        if not isinstance(n, int) or isinstance(n, bool) or n < 1:
            raise ValueError(f"limit_threads: n must be a positive int, got {n!r}")
        self.n = n

    def __enter__(self):
        from threadpoolctl import threadpool_limits

        global _threads
        self._before = _threads
        self._blas = threadpool_limits(limits=self.n, user_api="blas")
        _threads = self.n
        return self

    def __exit__(self, *exc):
        global _threads
        _threads = self._before
        self._blas.restore_original_limits()
        return False


class _Job:
    __slots__ = ("fn", "bounds", "next", "left", "lock", "done", "error")

    def __init__(self, fn, bounds):
        self.fn, self.bounds = fn, bounds
        self.next, self.left = 0, len(bounds)
        self.lock = threading.Lock()
        self.done = threading.Event()
        self.error = None

    def work(self):
        """Claim and run chunks until none is left."""
        while True:
            with self.lock:
                i = self.next
                if i >= len(self.bounds):
                    return
                self.next = i + 1
            try:
                self.fn(*self.bounds[i])
            except BaseException as e:  # handed to the caller, which re-raises it
                self.error = e
            with self.lock:
                self.left -= 1
                if self.left == 0:
                    self.done.set()


def _worker():
    while True:
        _jobs.get().work()


def _ensure_workers(n: int) -> None:
    with _start_lock:
        while len(_workers) < n:
            t = threading.Thread(target=_worker, name=f"nnlab-pass-{len(_workers)}", daemon=True)
            t.start()
            _workers.append(t)


def _machine_busy() -> bool:
    now = time.monotonic()
    if now - _load["t"] > _LOAD_EVERY_S:
        _load["t"] = now
        try:
            _load["busy"] = os.getloadavg()[0] > (os.cpu_count() or 1) + 1
        except OSError:  # no load average on this system
            _load["busy"] = False
    return _load["busy"]


def _after_fork_in_child() -> None:
    # threads do not survive fork: start new helpers on demand and drop jobs meant for the old
    # ones (a queued job holds its arrays)
    global _jobs, _start_lock
    _workers.clear()
    _jobs = queue.SimpleQueue()
    _start_lock = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


def run(fn, n: int, nbytes: int) -> None:
    """Call ``fn(start, stop)`` over chunks covering ``range(n)``, on up to get_num_threads()
    threads when the pass moves at least MIN_BYTES and the machine has idle cores; else one call
    ``fn(0, n)``."""
    threads = min(get_num_threads(), n)
    if threads <= 1 or nbytes < MIN_BYTES or (LOAD_CHECK and _machine_busy()):
        fn(0, n)
        return
    # chunks of at least ~MIN_BYTES/4, at most CHUNKS_PER_THREAD per thread
    chunks = min(n, threads * CHUNKS_PER_THREAD, max(threads, nbytes // max(1, MIN_BYTES // 4)))
    edges = [n * k // chunks for k in range(chunks + 1)]
    job = _Job(fn, [(a, b) for a, b in zip(edges, edges[1:]) if b > a])
    _ensure_workers(threads - 1)
    for _ in range(threads - 1):
        _jobs.put(job)
    job.work()
    job.done.wait()
    if job.error is not None:
        raise job.error
