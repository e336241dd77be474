"""Opt-in glibc allocator tuning for training loops (``nnlab.tune_allocator``)."""

from __future__ import annotations

import os
import sys

__all__ = ["tune_allocator", "allocator_tuned"]

_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # glibc's mallopt parameter numbers
_tuned = False


def tune_allocator() -> bool:
    """Keep large freed arrays' memory in the process (glibc on Linux only); True if applied.

    A training step frees and re-allocates the same large arrays (im2col columns, activations,
    fresh weight gradients) every step. glibc serves blocks above 128 KiB-32 MiB with mmap and
    returns them with munmap, so each step pays a page fault per 4 KiB of every such array and
    zero-fills it again. Serving them from the heap (mmap threshold 32 MiB, glibc's maximum) and
    not trimming it (trim threshold 512 MiB) recycles the pages: workload 3 (small CNN)
    32.8 -> 21.0 ms per step, workload 4 144 -> 117 ms, peak RSS unchanged (benchmarks/profile_step.py,
    docs/benchmarks.md). Freed memory then stays mapped until exit, as PyTorch's caching
    allocators also do.

    This changes the memory policy of the whole process for good, so importing nnlab never does
    it: the ``nnlab`` command and the benchmarks call it; a program of your own may call it once at
    start-up. ``NNLAB_MALLOC_TUNING=0`` in the environment turns the call into a no-op. Returns
    False where it does not apply (not Linux, not glibc, or switched off).
    """
    global _tuned
    if os.environ.get("NNLAB_MALLOC_TUNING", "1") == "0" or not sys.platform.startswith("linux"):
        return False
    try:
        import ctypes

        libc = ctypes.CDLL("libc.so.6")
        ok = libc.mallopt(_M_MMAP_THRESHOLD, 32 * 2**20)
        ok &= libc.mallopt(_M_TRIM_THRESHOLD, 512 * 2**20)
    except (OSError, AttributeError):  # not glibc (musl, ...): keep the defaults
        return False
    _tuned = _tuned or bool(ok)
    return bool(ok)


def allocator_tuned() -> bool:
    """Whether ``tune_allocator`` has been applied in this process."""
    return _tuned
