"""Compiled loops (numba) for the passes NumPy can only do as several whole-array sweeps.

A 2x2 max pool with switches is, in NumPy, a copy, a fill and per kernel offset a comparison, an
index update and a maximum: about 15 passes over quarter-size arrays, each writing a temporary.
One compiled loop reads every input element once and writes the output and the switch once. The
gates keep their NumPy code as the readable reference and as the path taken where numba is not
installed or the kernels are switched off; ``tests/engine/test_kernels.py`` checks that both give
the same bits.

numba is an optional dependency (``pip install nnlab[fast]``, part of ``nnlab[full]``). The
kernels are compiled on first use and cached on disk next to this file (numba's ``cache=True``),
so only the first process on a machine pays the compile time (about 1 s per kernel and dtype);
``compile_all()`` compiles them ahead, as ``make run`` and ``make test`` do after installing.
They run one chunk of channels per call with the GIL released (``nogil``), so
``nnlab.engine.parallel`` spreads them over the cores like the NumPy passes; numba's own
threading layer is not used.

Switch: ``NNLAB_KERNELS=0`` in the environment, or ``set_enabled(False)`` /
``with kernels.disabled():`` in code.
"""

from __future__ import annotations

import os
import threading

import numpy as np

__all__ = ["available", "enabled", "handles", "set_enabled", "disabled", "get", "compile_all"]

_state = {"on": os.environ.get("NNLAB_KERNELS", "1") != "0", "numba": None}
_lock = threading.Lock()
_compiled: dict[str, object] = {}


def available() -> bool:
    """Whether numba can be imported here (the kernels can run at all)."""
    if _state["numba"] is None:
        try:
            import numba  # noqa: F401

            _state["numba"] = True
        except ImportError:
            _state["numba"] = False
    return _state["numba"]


def enabled() -> bool:
    """Whether the gates use the compiled kernels now (available and not switched off)."""
    return _state["on"] and available()


DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


def handles(dtype) -> bool:
    """Whether a gate should run its compiled kernel on arrays of ``dtype`` now (float32/float64,
    kernels enabled); other dtypes take the NumPy path."""
    return dtype in DTYPES and enabled()


def set_enabled(on: bool) -> bool:
    """Use (True) or bypass (False) the compiled kernels from now on; returns the previous setting."""
    before = _state["on"]
    _state["on"] = bool(on)
    return before


class disabled:
    """Context manager: the NumPy reference paths inside the block."""

    def __enter__(self):
        self._before = set_enabled(False)
        return self

    def __exit__(self, *exc):
        set_enabled(self._before)
        return False


# ---- the loops (plain Python; compiled by ``get``) ---------------------------------------------
# Arrays come channel-first, (C, N, H, W) views of any strides; each call covers channels c0:c1.


def _max_pool_forward(x, out, idx, kh, kw, sh, sw, c0, c1):
    """out = window maximum, idx = the offset (i*kw + j) of its first occurrence, as the NumPy gate
    computes them: a later element wins only if strictly greater, and a NaN makes the running
    maximum NaN without moving the switch (np.maximum propagates it, ``v > nan`` is false).

    Written with selects, not branches (``|``, not ``or``): on real data the comparisons are
    unpredictable, and the branchy form measured 5x slower (3.8 against 0.75 ms for the 2x2 case
    on (64, 32, 28, 28), one thread)."""
    n_img, oh, ow = out.shape[1], out.shape[2], out.shape[3]
    for c in range(c0, c1):
        for n in range(n_img):
            for r in range(oh):
                for q in range(ow):
                    r0, q0 = r * sh, q * sw
                    best = x[c, n, r0, q0]
                    arg = 0
                    o = 0
                    for i in range(kh):
                        for j in range(kw):
                            v = x[c, n, r0 + i, q0 + j]
                            gt = v > best
                            arg = o if gt else arg
                            best = v if gt | (v != v) else best
                            o += 1
                    out[c, n, r, q] = best
                    idx[c, n, r, q] = arg


def _max_pool_forward_2x2(x, out, idx, c0, c1):
    """The 2x2, stride-2 case of _max_pool_forward, a row pair at a time: contiguous rows in, one
    row of outputs and switches out (0.75 ms against NumPy's 2.6 on (64, 32, 28, 28), one thread)."""
    n_img, oh, ow = out.shape[1], out.shape[2], out.shape[3]
    for c in range(c0, c1):
        for n in range(n_img):
            for r in range(oh):
                top, bottom = x[c, n, 2 * r], x[c, n, 2 * r + 1]
                o_row, i_row = out[c, n, r], idx[c, n, r]
                for q in range(ow):
                    best = top[2 * q]
                    arg = 0
                    v = top[2 * q + 1]
                    gt = v > best
                    arg = 1 if gt else arg
                    best = v if gt | (v != v) else best
                    v = bottom[2 * q]
                    gt = v > best
                    arg = 2 if gt else arg
                    best = v if gt | (v != v) else best
                    v = bottom[2 * q + 1]
                    gt = v > best
                    arg = 3 if gt else arg
                    best = v if gt | (v != v) else best
                    o_row[q] = best
                    i_row[q] = arg


def _max_pool_backward(g, idx, gx, kh, kw, sh, sw, tiles, c0, c1):
    """gx at each window's switch gets g, in the NumPy gate's arithmetic so that the bits agree.
    ``tiles`` (the windows cover gx exactly once, gx not cleared): every element is g times 1 or 0,
    as ``g * (idx == o)`` (a NaN or inf in g reaches its whole window). Otherwise gx holds zeros
    and the switches' g are added, kernel offset by kernel offset in the NumPy gate's order, so
    that overlapping windows' sums round alike."""
    n_img, oh, ow = g.shape[1], g.shape[2], g.shape[3]
    one = gx.dtype.type(1)
    zero = gx.dtype.type(0)
    for c in range(c0, c1):
        for n in range(n_img):
            if tiles:
                for r in range(oh):
                    for q in range(ow):
                        gv = g[c, n, r, q]
                        arg = idx[c, n, r, q]
                        o = 0
                        for i in range(kh):
                            for j in range(kw):
                                gx[c, n, r * sh + i, q * sw + j] = gv * (one if o == arg else zero)
                                o += 1
            else:
                o = 0
                for i in range(kh):
                    for j in range(kw):
                        for r in range(oh):
                            for q in range(ow):
                                gx[c, n, r * sh + i, q * sw + j] += g[c, n, r, q] if idx[c, n, r, q] == o else zero
                        o += 1


def _max_pool_backward_2x2(g, idx, gx, tiles, c0, c1):
    """The 2x2, stride-2 case of _max_pool_backward: each pair of gx rows written once, along its
    contiguous columns (0.66 ms against NumPy's 2.0 on (64, 32, 28, 28), one thread; the
    window-by-window order, two strided stores per window, measured 1.8 ms). Windows do not
    overlap, so without ``tiles`` (an odd size's last row or column, left at zero) each element
    is 0 + (g or 0), as the NumPy gate adds ``np.where(idx == o, g, 0)`` into zeros."""
    n_img, oh, ow = g.shape[1], g.shape[2], g.shape[3]
    one = gx.dtype.type(1)
    zero = gx.dtype.type(0)
    for c in range(c0, c1):
        for n in range(n_img):
            for r in range(oh):
                g_row, i_row = g[c, n, r], idx[c, n, r]
                top, bottom = gx[c, n, 2 * r], gx[c, n, 2 * r + 1]
                if tiles:
                    for p in range(2 * ow):
                        gv, arg, s = g_row[p >> 1], i_row[p >> 1], p & 1
                        top[p] = gv * (one if arg == s else zero)
                        bottom[p] = gv * (one if arg == s + 2 else zero)
                else:
                    for p in range(2 * ow):
                        gv, arg, s = g_row[p >> 1], i_row[p >> 1], p & 1
                        top[p] = zero + (gv if arg == s else zero)
                        bottom[p] = zero + (gv if arg == s + 2 else zero)


def _relu_backward(g, out, gx, a, b):
    """gx = g * (out > 0) over the flat range a:b, the NumPy gate's arithmetic (a NaN output passes
    nothing, a NaN or inf g times 0 stays NaN) in one pass instead of a mask pass and a multiply.
    The loop runs over slices from 0 and casts the comparison: so written it vectorizes (0.72 ms
    on 1.6 M float32 elements against NumPy's 1.16; indexing the whole arrays from ``a`` with a
    select measured 1.04)."""
    zero = gx.dtype.type(0)
    gs, os_, xs = g[a:b], out[a:b], gx[a:b]
    for i in range(xs.size):
        xs[i] = gs[i] * gx.dtype.type(os_[i] > zero)


_SOURCES = {
    "max_pool_forward": _max_pool_forward,
    "max_pool_forward_2x2": _max_pool_forward_2x2,
    "max_pool_backward": _max_pool_backward,
    "max_pool_backward_2x2": _max_pool_backward_2x2,
    "relu_backward": _relu_backward,
}


def get(name: str):
    """The compiled kernel ``name`` (compiled, or loaded from numba's cache, on first call)."""
    fn = _compiled.get(name)
    if fn is None:
        with _lock:
            fn = _compiled.get(name)
            if fn is None:
                import numba

                fn = numba.njit(nogil=True, cache=True)(_SOURCES[name])
                _compiled[name] = fn
    return fn


def compile_all() -> list[str]:
    """Compile (or load from the cache) every kernel for the float32 and float64 arrays the gates
    pass; returns the kernels' names ([] without numba)."""
    if not available():
        return []
    from nnlab.engine.ops import elementwise, pool

    for dtype in (np.float32, np.float64):
        elementwise.warm_kernels(dtype)
        for layout in ("channel_major", "nchw"):
            x = np.zeros((2, 3, 4, 4), dtype)
            if layout == "channel_major":
                x = np.ascontiguousarray(x.transpose(1, 0, 2, 3)).transpose(1, 0, 2, 3)
            pool.warm_kernels(x)
    return sorted(_compiled)
