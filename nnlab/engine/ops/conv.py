"""Convolution gates: conv2d (im2col + GEMM per group, in blocks of images) and the
unshared-weight locally connected layer, plus the geometry check shared with pooling.

Memory layout of the columns. The im2col matrix is built as (C*KH*KW, N*OH*OW): rows ordered
(channel, kernel row, kernel column), columns ordered (image, output row, output column). Copying the
strided window view into that order walks the input along output columns, so the innermost copy loop
runs over OW neighbouring pixels; the transposed order (N*OH*OW, C*KH*KW) has KW (often 3) elements in
its innermost loop and measured 5-8x slower to copy (benchmarks/micro_conv.py, ``--orders``).
The GEMM W (O, C*KH*KW) @ cols then yields (O, N*OH*OW), i.e. the output in channel-major "CNHW"
memory; it is returned as a transposed (N, O, OH, OW) view instead of paying for another copy.
Every op downstream works on any strides, and the next convolution's window view reads a CNHW input
even more cheaply.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import as_strided

from nnlab.engine import buffers, parallel
from nnlab.engine.function import Function
from nnlab.engine.ops.elementwise import lift


# ---- geometry ---------------------------------------------------------------------------------
def pair(value, arg: str, name: str, *, minimum: int = 0) -> tuple[int, int]:
    """An int or a pair of ints -> (h, w); ``minimum`` is the smallest allowed entry."""
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        out = (int(value), int(value))
    elif (
        isinstance(value, (tuple, list))
        and len(value) == 2
        and all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in value)
    ):
        out = (int(value[0]), int(value[1]))
    else:
        raise TypeError(f"{name}: {arg} must be an int or a pair of ints, got {value!r}")
    if min(out) < minimum:
        raise ValueError(f"{name}: {arg} must be >= {minimum}, got {value!r}")
    return out


def _fits(size, k_eff, s, p):
    span = size - k_eff + 2 * p
    return span >= 0 and span % s == 0


def _suggestions(size, k_eff, s, p, max_padding=None):
    """The nearest paddings (same stride) and strides (same padding) for which the formula is whole;
    ``max_padding`` caps the paddings offered (a pool accepts at most half its kernel)."""
    top = max(k_eff, p + 1) if max_padding is None else max_padding
    pads = sorted((q for q in range(0, top + 1) if _fits(size, k_eff, s, q)), key=lambda q: (abs(q - p), q))[:2]
    span = size - k_eff + 2 * p
    strides = (
        sorted((t for t in range(1, max(span, 0) + 1) if span % t == 0), key=lambda t: (abs(t - s), t))[:2]
        if span > 0
        else ([1] if span == 0 else [])
    )
    parts = []
    if not pads:
        parts.append(f"no padding fits with stride {s}")
    else:
        parts.append(
            "paddings that fit with stride %d: %s"
            % (s, ", ".join(f"{q} (-> {(size - k_eff + 2 * q) // s + 1})" for q in sorted(pads)))
        )
    if strides:
        parts.append(
            "strides that fit with padding %d: %s"
            % (p, ", ".join(f"{t} (-> {span // t + 1})" for t in sorted(strides)))
        )
    return "; ".join(parts) if parts else "no padding/stride fits: the kernel is larger than the input"


def out_size(
    size: int,
    k: int,
    s: int,
    p: int,
    d: int,
    *,
    name: str,
    axis: str,
    rounding: str = "exact",
    max_padding: int | None = None,
) -> int:
    """(W - F + 2P)/S + 1 with effective F = D(F-1)+1; a ValueError unless it is a whole positive
    number (``rounding="floor"`` drops the last rows/columns a window cannot reach, as PyTorch does).
    The error suggests paddings up to ``max_padding`` (default: the kernel size)."""
    k_eff = d * (k - 1) + 1
    span = size - k_eff + 2 * p
    if span < 0:
        raise ValueError(
            f"{name}: the {'dilated ' if d > 1 else ''}kernel ({k_eff}) is larger than the padded "
            f"input {axis} ({size} + 2*{p} = {size + 2 * p}): (W - F + 2P)/S + 1 = "
            f"({size} - {k_eff} + 2*{p})/{s} + 1 = {span / s + 1:g}; {_suggestions(size, k_eff, s, p, max_padding)}"
        )
    if span % s == 0 or rounding == "floor":
        return span // s + 1
    if rounding != "exact":
        raise ValueError(f"{name}: rounding must be 'exact' or 'floor', got {rounding!r}")
    dil = f" (dilated: F = {d}*({k}-1)+1 = {k_eff})" if d > 1 else ""
    raise ValueError(
        f"{name}: input {axis} {size} does not fit{dil}: (W - F + 2P)/S + 1 = "
        f"({size} - {k_eff} + 2*{p})/{s} + 1 = {span / s + 1:g} is not a whole number; "
        f"{_suggestions(size, k_eff, s, p, max_padding)} (or pass rounding='floor' to drop the "
        f"remainder)"
    )


def check_input(x, channels: int | None, name: str):
    if x.ndim != 4:
        raise ValueError(f"{name}: expected a 4-D input (N, C, H, W), got shape {tuple(x.shape)}")
    if channels is not None and x.shape[1] != channels:
        raise ValueError(f"{name}: expected {channels} input channels, got {x.shape[1]} (input shape {tuple(x.shape)})")


# ---- im2col / col2im --------------------------------------------------------------------------
def _pad_cnhw(x, ph, pw, fill=0.0):
    """x (N, C, H, W) -> (C, N, H+2ph, W+2pw) padded copy in channel-major memory (a free
    transposed view when there is no padding)."""
    xt = x.transpose(1, 0, 2, 3)
    if ph == 0 and pw == 0:
        return xt
    C, N, H, W = xt.shape
    xp = np.empty((C, N, H + 2 * ph, W + 2 * pw), dtype=x.dtype)

    def channels(a, b):  # the borders, then the interior: each element written once
        xp[a:b, :, :ph] = fill
        xp[a:b, :, ph + H :] = fill
        xp[a:b, :, ph : ph + H, :pw] = fill
        xp[a:b, :, ph : ph + H, pw + W :] = fill
        xp[a:b, :, ph : ph + H, pw : pw + W] = xt[a:b]

    parallel.run(channels, C, xp.nbytes)
    return xp


def window_view(xc, kh, kw, oh, ow, stride, dilation):
    """Strided view (C, KH, KW, N, OH, OW) of every kernel position over a (C, N, Hp, Wp) array."""
    sc, sn, sh, sw = xc.strides
    C, N = xc.shape[:2]
    return as_strided(
        xc,
        (C, kh, kw, N, oh, ow),
        (sc, sh * dilation[0], sw * dilation[1], sn, sh * stride[0], sw * stride[1]),
        writeable=False,
    )


def im2col(x, kh, kw, oh, ow, stride, padding, dilation):
    """(N, C, H, W) -> columns (C*KH*KW, N*OH*OW): one copy out of a strided window view."""
    xc = _pad_cnhw(x, *padding)
    C, N = xc.shape[:2]
    return window_view(xc, kh, kw, oh, ow, stride, dilation).reshape(C * kh * kw, N * oh * ow)


def col2im(dcols, x_shape, kh, kw, oh, ow, stride, padding, dilation):
    """Adjoint of im2col: add each kernel offset's (C, N, OH, OW) slab into the strided positions it
    was read from. The loop is over the KH*KW kernel offsets; each step is one vectorized add.
    (The same gradient as a convolution of the padded dY with flipped filters measured 1.2-1.5x
    slower on workload 3's second layer: ``benchmarks/micro_conv.py --dx``.)"""
    N, C, H, W = x_shape
    ph, pw = padding
    sh, sw = stride
    dh, dw = dilation
    d = dcols.reshape(C, kh, kw, N, oh, ow)
    dxp = np.zeros((C, N, H + 2 * ph, W + 2 * pw), dtype=dcols.dtype)
    for i in range(kh):
        r = i * dh
        for j in range(kw):
            c = j * dw
            dxp[:, :, r : r + sh * (oh - 1) + 1 : sh, c : c + sw * (ow - 1) + 1 : sw] += d[:, i, j]
    return dxp[:, :, ph : ph + H, pw : pw + W].transpose(1, 0, 2, 3)


def conv_input_grad_shifted(g, w, x_shape, padding):
    """dX of a stride-1, undilated, ungrouped convolution without a 9x dX_col or col2im.

    dX[c, y, x] = sum_{o,i,j} W[o, c, i, j] dY[o, y + P - i, x + Q - j] (zero outside dY). Put dY
    into a zero-bordered buffer B (O, N, Hb, Wb), offset (KH-1-P, KW-1-Q); then in B's flattened
    (O, N*Hb*Wb) memory every tap (i, j) is the constant shift (KH-1-i)*Wb + (KW-1-j), so dX (laid
    out on the same Hb x Wb grid) is a sum of KH*KW GEMMs W_ij^T (C, O) @ B_flat[:, shift:] whose
    right operand is a plain slice with a row stride: BLAS reads it in place. The grid is
    Hb x Wb = (H+P) x (W+Q): a tap reading past an image's last row (column) lands in the next
    image's (row's) leading KH-1-P zero rows (KW-1-Q columns), so neighbours share their zero
    borders, and a zero tail of the largest shift ends the buffer. Only the grid's extra P rows
    and Q columns per image are computed and cropped (15% extra flops at 14x14 and 'same' 3x3;
    H+KH-1 x W+KW-1 with unshared borders cost 31%). Against dX_col = W^T dY (a 9x-larger array)
    plus col2im this measured 30 -> 20 ms on (64, 32, 32, 32), 20 -> 15 ms on (64, 64, 16, 16)
    and a tie on (64, 32, 14, 14) with O = 64 (one thread; ``benchmarks/micro_conv.py``-style
    timing). Needs P <= KH-1, Q <= KW-1.

    KH*KW separate per-tap GEMMs (C, O) @ (O, L) have the thin inner size O and run far below
    BLAS speed, so the taps are grouped into larger GEMMs, two ways (one thread, CPU time, medians
    of 9-15 alternating runs, against per-tap GEMMs):
    - O > C: one GEMM of all taps stacked, (KH*KW*C, O) @ B_flat, whose slabs are then folded:
      dX = sum over taps of slab_ij[:, shift:shift + L], contiguous slices. (64, 32, 14, 14) with
      O = 64 8.1-8.6 -> 7.0-7.3 ms, (64, 32, 16, 16) with O = 64 10.4-11.6 -> 9.5-10.2 ms.
    - O <= C (the fold's KH*KW-times-larger intermediate costs more than it saves): per kernel
      row i, one GEMM (C, KW*O) @ B3 over a copy B3 (KW*O, .) of B_flat holding its KW column
      shifts, so the inner size is KW*O and only KH-1 adds remain. (64, 32, 32, 32) with O = 32
      24.0-25.7 -> 20.6-21.2 ms, (64, 64, 16, 16) with O = 64 19.9-21.0 -> 18.2-18.7 ms."""
    N, C, H, W = x_shape
    O, _, KH, KW = w.shape
    P, Q = padding
    OH, OW = g.shape[2], g.shape[3]
    Hb, Wb = H + P, W + Q  # = a + OH = H + KH-1 - a: dY fits, reads stop short of the next dY
    a, b = KH - 1 - P, KW - 1 - Q
    L = N * Hb * Wb
    bf = np.zeros((O, L + (KH - 1) * Wb + KW - 1), dtype=g.dtype)  # + zero tail for the shifts
    bf[:, :L].reshape(O, N, Hb, Wb)[:, :, a : a + OH, b : b + OW] = g.transpose(1, 0, 2, 3)
    wt = np.ascontiguousarray(w.transpose(2, 3, 1, 0))  # (KH, KW, C, O): W_ij^T contiguous
    out = np.empty((C, N, Hb, Wb), dtype=g.dtype)
    of = out.reshape(C, L)
    shifts = [(KH - 1 - i) * Wb + (KW - 1 - j) for i in range(KH) for j in range(KW)]
    if O > C and len(shifts) > 1:
        slabs = (wt.reshape(KH * KW * C, O) @ bf).reshape(KH * KW, C, -1)  # tap t = i*KW + j
        s0, s1 = shifts[0], shifts[1]
        np.add(slabs[0][:, s0 : s0 + L], slabs[1][:, s1 : s1 + L], out=of[:, :L])
        for t in range(2, len(shifts)):
            of[:, :L] += slabs[t][:, shifts[t] : shifts[t] + L]
        return out[:, :, :H, :W].transpose(1, 0, 2, 3)
    L2 = L + (KH - 1) * Wb  # the span one kernel row's GEMM reads
    b3 = np.empty((KW, O, L2), dtype=g.dtype)
    for j in range(KW):
        b3[j] = bf[:, KW - 1 - j : KW - 1 - j + L2]
    b3 = b3.reshape(KW * O, L2)
    wr = np.ascontiguousarray(wt.transpose(0, 2, 1, 3)).reshape(KH, C, KW * O)  # (i, c, (j, o))
    tmp = np.empty((C, L), dtype=g.dtype) if KH > 1 else None
    for i in range(KH):
        shift = (KH - 1 - i) * Wb
        if i == 0:
            np.matmul(wr[i], b3[:, shift : shift + L], out=of[:, :L])
        else:
            np.matmul(wr[i], b3[:, shift : shift + L], out=tmp)
            of[:, :L] += tmp
    return out[:, :, :H, :W].transpose(1, 0, 2, 3)


# ---- blocked im2col -----------------------------------------------------------------------------
# The whole batch's columns are C*KH*KW times the input: 75 MB on a (64, 32, 32, 32) layer, written
# to memory by the copy and read back by the GEMM. Built a few images at a time into one block that
# stays in the core's cache, the same columns cost far less, and the GEMM on a block still runs at
# BLAS speed. Forward with bias, old (whole batch) -> blocked, CPU time, medians of 9-15
# alternating calls:
#   one thread:  (64, 32, 32, 32) -> 32 29.8 -> 21.1 ms, (64, 64, 16, 16) -> 64 20.5 -> 15.3 ms,
#                (64, 32, 16, 16) -> 64 9.4 -> 7.6 ms, (64, 32, 14, 14) -> 64 6.9 -> 5.9 ms;
#   two threads, no gradient (wall, idle machine, medians of 41): (64, 32, 32, 32) -> 32 17.4 ->
#   15.6 ms, (64, 1, 28, 28) -> 32 0.62 -> 0.54 ms, (64, 32, 14, 14) -> 64 4.04 -> 4.11 ms.
# The backward then has no columns: it rebuilds them block by block for dW. On one thread that
# costs 1-3 ms more than a GEMM over kept columns, far less than the forward saves; on two threads
# is about even: dW of (64, 32, 32, 32) -> 32 11.0 ms over kept columns, 13.4 ms blocked, and
# workload 4's step 2-4% slower with its 75 and 38 MB columns blocked (144.6 -> 155.1 ms with the
# compiled kernels, alternating in one process). Those columns, kept, made workload 4's peak
# memory 445 MB against PyTorch's 437 once numba's ~110 MB are loaded (nnlab.engine.kernels), so
# memory decides: a convolution that needs dW keeps its whole batch's columns only when they are
# small (KEEP_BYTES), on any number of threads; otherwise, and always without a gradient, it
# blocks.
# BLOCK_BYTES is about half a core's L2 cache; blocks measured best at 0.3-1.2 MB (one image of
# 32x32x32, four of 14x14x32).
BLOCK_BYTES = 1 << 20
# Columns up to 32 MiB (the heap then serves them from freed pages, see nnlab.engine.buffers) are
# kept, on one thread as on two: rebuilding them for dW cost more than blocking the forward saved. One
# thread, CPU, forward / backward, kept -> blocked: workload 3's (64, 32, 14, 14) -> 64 (14.5 MB)
# 6.8 / 11.9 -> 5.8 / 13.3 ms, workload 4's (64, 32, 16, 16) -> 64 (18.9 MB) 9.1 / 16.5 -> 7.6 /
# 17.9 ms; first layers on gray or RGB input (1.8 and 7.1 MB) backward 1.28 -> 1.43 and 3.05 ->
# 3.45 ms with the forward no faster. Above it (37.7 and 75.5 MB in workload 4) blocking wins.
KEEP_BYTES = 32 << 20


def keeps_columns(nbytes: int) -> bool:
    """Whether a convolution needing dW keeps its whole batch's columns (``nbytes``) for backward."""
    return nbytes <= KEEP_BYTES


def _copy_split(dst, src):
    """dst[...] = src for a whole batch's (C, KH, KW, N, OH, OW) columns: a large, memory-bound copy
    split over the cores, by channel (by image when there are fewer channels than chunks, as in a
    first layer on gray or RGB input)."""
    C, N = dst.shape[0], dst.shape[3]
    if C >= 4 * parallel.get_num_threads():
        parallel.run(lambda a, b: np.copyto(dst[a:b], src[a:b]), C, dst.nbytes)
    else:
        parallel.run(lambda a, b: np.copyto(dst[:, :, :, a:b], src[:, :, :, a:b]), N, dst.nbytes)


def _blocks(xc, kh, kw, oh, ow, stride, dilation, ones_row=False, whole=False):
    """Yield (first image, images, columns, raw) over a (C, N, Hp, Wp) input: the columns
    (C*KH*KW [+ 1], images*OH*OW) of those images, in one buffer reused from block to block (valid
    until the next block). ``whole``: one block of every image, its buffer from nnlab.engine.buffers
    (``raw``, to give back when the columns are no longer needed; None for a buffer not cached).
    ``ones_row`` adds a last row of ones (a bias column of W meets it)."""
    C, N = xc.shape[:2]
    K, P = C * kh * kw, oh * ow
    B = N if whole else max(1, min(N, BLOCK_BYTES // max(1, K * P * xc.itemsize)))
    if whole:
        buf, raw = buffers.take((K + int(ones_row), N * P), xc.dtype)
    else:
        buf, raw = np.empty((K + int(ones_row), B * P), dtype=xc.dtype), None
    if ones_row:
        buf[K] = 1
    for n0 in range(0, N, B):
        nb = min(B, N - n0)
        cols = buf[:, : nb * P]
        c6 = cols[:K].reshape(C, kh, kw, nb, oh, ow)
        view = window_view(xc[:, n0 : n0 + nb], kh, kw, oh, ow, stride, dilation)
        if whole:
            _copy_split(c6, view)
        else:
            np.copyto(c6, view)
        yield n0, nb, cols, raw


def conv_blocks(xc, w, b, oh, ow, stride, dilation, groups, whole=False):
    """(Y, columns, raw): Y (O, N*OH*OW) = W X_col [+ b] for x given as (C, N, Hp, Wp) (padded,
    channel-major), the columns built block by block (``_blocks``), or all at once with ``whole``
    (then returned, without the ones row, with their buffer ``raw``; else None, None). Each block's
    product is written straight into its columns of Y (a strided slice BLAS writes in place)."""
    O, Cg, kh, kw = w.shape
    C, N = xc.shape[:2]
    G, P, K = groups, oh * ow, C * kh * kw
    out = np.empty((O, N * P), dtype=xc.dtype)
    if G == 1:
        # the bias as one more column of W against the ones row: the GEMM adds it as it writes Y
        # (no separate pass over the output; (64, 1, 28, 28) -> 32 2.18 -> 1.82 ms, (64, 32, 14,
        # 14) -> 64 9.62 -> 9.25 ms, one thread)
        wm = w.reshape(O, -1)
        if b is not None:
            wm = np.concatenate([wm, b[:, None].astype(wm.dtype)], axis=1)
        for n0, nb, cols, raw in _blocks(xc, kh, kw, oh, ow, stride, dilation, ones_row=b is not None, whole=whole):
            np.matmul(wm, cols, out=out[:, n0 * P : (n0 + nb) * P])
        return (out, cols[:K], raw) if whole else (out, None, None)
    wg = w.reshape(G, O // G, -1)
    og = out.reshape(G, O // G, N * P)
    for n0, nb, cols, raw in _blocks(xc, kh, kw, oh, ow, stride, dilation, whole=whole):
        np.matmul(wg, cols.reshape(G, -1, nb * P), out=og[:, :, n0 * P : (n0 + nb) * P])
    if b is not None:
        out += b[:, None]
    return (out, cols, raw) if whole else (out, None, None)


def conv_weight_grad_blocks(xc, gm, w_shape, oh, ow, stride, dilation, groups):
    """dW = dY X_col^T, summed block by block over columns rebuilt from x (C, N, Hp, Wp)."""
    O, Cg, kh, kw = w_shape
    G, P = groups, oh * ow
    gwt = np.zeros((G, Cg * kh * kw, O // G), dtype=gm.dtype)  # dW^T, the faster orientation (above)
    part = np.empty_like(gwt)
    ggt = gm.reshape(G, O // G, -1).transpose(0, 2, 1)
    for n0, nb, cols, _ in _blocks(xc, kh, kw, oh, ow, stride, dilation):
        np.matmul(cols.reshape(G, -1, nb * P), ggt[:, n0 * P : (n0 + nb) * P], out=part)
        gwt += part
    return np.ascontiguousarray(gwt.transpose(0, 2, 1)).reshape(w_shape)


def flipped_weights(w, groups):
    """The weights of the convolution that maps dY to dX for a stride-1 convolution:
    W'[c, o, i, j] = W[o, c, KH-1-i, KW-1-j] within each group, shape (C, O/groups, KH, KW)."""
    O, Cg, kh, kw = w.shape
    G = groups
    wt = w.reshape(G, O // G, Cg, kh, kw).transpose(0, 2, 1, 3, 4)[:, :, :, ::-1, ::-1]
    return np.ascontiguousarray(wt).reshape(G * Cg, O // G, kh, kw)


# ---- conv2d -----------------------------------------------------------------------------------
class Conv2d(Function):
    """y[n, o] = b[o] + sum_{c, i, j} W[o, c, i, j] x_pad[n, g(o)*Cg + c, S*h + D*i, S*w + D*j].

    As matrices (one per group): Y = W_mat X_col + b, so dW_mat = dY X_col^T, db = sum of dY over
    images and pixels, dX_col = W_mat^T dY and dX = col2im(dX_col) (the notes' "convolution with
    flipped filters": col2im adds each filter tap's contribution back where it was read). For a
    stride-1, undilated convolution dX is computed without dX_col: by shifted GEMMs
    (conv_input_grad_shifted), or as that flipped-filter convolution itself, dX = conv(dY padded
    by KH-1-P, KW-1-Q; W') with W' = flipped_weights(W). X_col is built a few images at a time
    unless dW needs it kept (see BLOCK_BYTES).
    """

    def forward(self, x, w, b=None, *, stride, padding, dilation, groups, out_hw):
        N, C, H, W = x.shape
        O, Cg, KH, KW = w.shape
        OH, OW = out_hw
        G = groups
        self.geom = (x.shape, KH, KW, OH, OW, stride, padding, dilation)
        self.groups = G
        need_x, need_w = self.needs_input_grad[0], self.needs_input_grad[1]
        self.w = w if need_x else None

        pointwise = KH == KW == 1 and padding == (0, 0)
        if pointwise and stride == (1, 1) and G == 1 and x.flags.c_contiguous:
            # 1x1 fast path, NCHW input: each image's (C, H*W) block already is its column matrix,
            # so a reshape (no copy at all) and one batched GEMM W @ x_n give NCHW output directly.
            self.per_image = True
            xr = x.reshape(N, C, H * W)
            self.cols = xr if need_w else None
            out = np.matmul(w.reshape(O, C), xr)
            if b is not None:
                out += b[:, None]
            return out.reshape(N, O, H, W)
        self.per_image = False
        if pointwise:
            # 1x1 on channel-major input (or strided): the columns are the (subsampled) input itself.
            xs = x[:, :, :: stride[0], :: stride[1]] if stride != (1, 1) else x
            cols = xs.transpose(1, 0, 2, 3).reshape(C, N * OH * OW)
            self.cols = cols if need_w else None
            if G == 1:
                out = w.reshape(O, -1) @ cols
            else:
                out = np.matmul(w.reshape(G, O // G, -1), cols.reshape(G, -1, cols.shape[1])).reshape(O, -1)
            if b is not None:
                out += b[:, None]
        else:
            xc = _pad_cnhw(x, *padding)
            whole = need_w and keeps_columns(C * KH * KW * N * OH * OW * x.itemsize)
            out, self.cols, self._scratch = conv_blocks(xc, w, b, OH, OW, stride, dilation, G, whole=whole)
            # without kept columns, backward rebuilds them from x, block by block
            self.xc = xc if need_w and not whole else None
        return out.reshape(O, N, OH, OW).transpose(1, 0, 2, 3)

    def __del__(self):
        # The graph is freed after backward (or dropped unused): the kept columns' buffer can serve
        # the next step's forward. Only this gate ever held a view of it.
        raw = self.__dict__.get("_scratch")
        if raw is not None:
            self.cols = None
            buffers.give(raw)

    def backward(self, g):
        need_x, need_w, need_b = self.needs_input_grad
        x_shape, KH, KW, OH, OW, stride, padding, dilation = self.geom
        N, C, H, W = x_shape
        G = self.groups
        O = g.shape[1]
        gx = gw = gb = None
        if self.per_image:
            gr = g.reshape(N, O, H * W)
            if need_b:
                gb = gr.sum(axis=(0, 2))
            if need_w:
                gw = np.matmul(gr, self.cols.transpose(0, 2, 1)).sum(axis=0).reshape(O, C, 1, 1)
            if need_x:
                gx = np.matmul(self.w.reshape(O, C).T, gr).reshape(x_shape)
            return gx, gw, gb
        gm = g.transpose(1, 0, 2, 3).reshape(O, N * OH * OW)  # free when g is channel-major
        if need_b:
            gb = gm.sum(axis=1)
        pointwise = KH == KW == 1 and padding == (0, 0)
        if need_w:
            if self.cols is not None:
                # dW^T = X_col dY^T, transposed back (a small copy): BLAS packs this orientation
                # 1.2-1.5x faster than dY X_col^T where the inner size is the batch's pixels (one
                # thread: (64, 288) over 12544 pixels 105 -> 128 GFLOP/s, (32, 400) over 4096
                # 70 -> 105, (16, 25) over 36864 38 -> 49), except for very short columns (a
                # gray image's 3x3 taps, (32, 9): 31 -> 27)
                cols = self.cols
                cg, gg = cols.reshape(G, -1, cols.shape[1]), gm.reshape(G, O // G, -1)
                if cg.shape[1] > 16:
                    gw = np.ascontiguousarray(np.matmul(cg, gg.transpose(0, 2, 1)).transpose(0, 2, 1))
                else:
                    gw = np.matmul(gg, cg.transpose(0, 2, 1))
                gw = gw.reshape(O, C // G, KH, KW)
            else:
                gw = conv_weight_grad_blocks(self.xc, gm, (O, C // G, KH, KW), OH, OW, stride, dilation, G)
        if need_x:
            w = self.w
            stride1 = stride == (1, 1) and dilation == (1, 1) and padding[0] <= KH - 1 and padding[1] <= KW - 1
            one_thread = parallel.get_num_threads() == 1
            # stride 1: no 9x-larger dX_col and no col2im. Shifted GEMMs (see
            # conv_input_grad_shifted; with few output channels its per-tap GEMMs get too thin),
            # or on one thread where O <= C the flipped-filter convolution of dY, blocked like the
            # forward: one thread, CPU time, medians of 7, (64, 32, 32, 32) with O = 32 30.0 ->
            # 23.9 ms, (64, 64, 16, 16) with O = 64 17.2 -> 15.0 ms; on two threads (wall, idle
            # machine, medians of 11) 17.6 -> 17.0 and 8.8 -> 11.7 ms, so the shifted GEMMs stay.
            if stride1 and G == 1 and KH * KW > 1 and (O > C if one_thread else O >= 16):
                gx = conv_input_grad_shifted(g, w, x_shape, padding)
            elif stride1 and one_thread:
                gp = _pad_cnhw(g, KH - 1 - padding[0], KW - 1 - padding[1])
                gx = conv_blocks(gp, flipped_weights(w, G), None, H, W, (1, 1), (1, 1), G)[0]
                gx = gx.reshape(C, N, H, W).transpose(1, 0, 2, 3)
            else:
                if G == 1:
                    dcols = w.reshape(O, -1).T @ gm
                else:
                    dcols = np.matmul(w.reshape(G, O // G, -1).transpose(0, 2, 1), gm.reshape(G, O // G, -1)).reshape(
                        C * KH * KW, -1
                    )
                if pointwise:
                    d = dcols.reshape(C, N, OH, OW).transpose(1, 0, 2, 3)
                    if stride == (1, 1):
                        gx = d
                    else:
                        gx = np.zeros(x_shape, dtype=g.dtype)
                        gx[:, :, :: stride[0], :: stride[1]] = d
                else:
                    gx = col2im(dcols, x_shape, KH, KW, OH, OW, stride, padding, dilation)
        return gx, gw, gb


def conv_geometry(x_shape, w_shape, stride, padding, dilation, groups, name, rounding="exact"):
    """Validate and return ((sh, sw), (ph, pw), (dh, dw), (OH, OW)) for a conv of w over x."""
    stride = pair(stride, "stride", name, minimum=1)
    padding = pair(padding, "padding", name, minimum=0)
    dilation = pair(dilation, "dilation", name, minimum=1)
    N, C, H, W = x_shape
    O, Cg, KH, KW = w_shape
    if not isinstance(groups, (int, np.integer)) or groups < 1 or O % groups:
        raise ValueError(f"{name}: groups={groups!r} must be a positive int dividing the output channels ({O})")
    if Cg * groups != C:
        split = f" ({groups} groups of {Cg})" if groups > 1 else ""
        raise ValueError(
            f"{name}: expected {Cg * groups} input channels{split}, got {C} (input shape {tuple(x_shape)})"
        )
    OH = out_size(H, KH, stride[0], padding[0], dilation[0], name=name, axis="height", rounding=rounding)
    OW = out_size(W, KW, stride[1], padding[1], dilation[1], name=name, axis="width", rounding=rounding)
    return stride, padding, dilation, (OH, OW)


def conv2d(
    x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1, *, name: str = "conv2d", rounding: str = "exact"
):
    """2-D cross-correlation (PyTorch's conv2d) on NCHW input; weight (O, C/groups, KH, KW)."""
    x, weight = lift(x), lift(weight)
    check_input(x, None, name)
    if weight.ndim != 4:
        raise ValueError(f"{name}: weight must be 4-D (out, in/groups, kh, kw), got {weight.shape}")
    if x.data.dtype != weight.data.dtype:
        raise TypeError(
            f"{name}: input dtype {x.data.dtype} differs from the weights' "
            f"{weight.data.dtype}; convert one of them (model.double() or x.float())"
        )
    if bias is not None:
        bias = lift(bias)
        if bias.shape != (weight.shape[0],):
            raise ValueError(f"{name}: bias must have shape ({weight.shape[0]},), got {bias.shape}")
    stride, padding, dilation, out_hw = conv_geometry(
        x.shape, weight.shape, stride, padding, dilation, groups, name, rounding
    )
    return Conv2d.apply(
        x, weight, bias, stride=stride, padding=padding, dilation=dilation, groups=int(groups), out_hw=out_hw
    )


# ---- locally connected ------------------------------------------------------------------------
class LocallyConnected2d(Function):
    """Like conv2d but every output position p has its own filter: y[n, o, p] = b[o, p] +
    sum_k W[p, o, k] X_col[k, n, p]. Hence dW[p] = dY[:, :, p]^T X_col[:, :, p],
    dX_col[k, n, p] = sum_o W[p, o, k] dY[n, o, p], then col2im."""

    def forward(self, x, w, b=None, *, stride, padding, out_hw):
        N, C, H, W = x.shape
        OH, OW = out_hw
        O, KH, KW = w.shape[2], w.shape[4], w.shape[5]
        cols = im2col(x, KH, KW, OH, OW, stride, padding, (1, 1)).reshape(-1, N, OH * OW)
        wk = w.reshape(OH * OW, O, -1)
        self.saved = (cols, wk, x.shape, w.shape, KH, KW, OH, OW, stride, padding)
        out = np.einsum("pok,knp->nop", wk, cols, optimize=True).reshape(N, O, OH, OW)
        if b is not None:
            out += b
        return out

    def backward(self, g):
        cols, wk, x_shape, w_shape, KH, KW, OH, OW, stride, padding = self.saved
        N, O = g.shape[:2]
        gr = g.reshape(N, O, OH * OW)
        gx = gw = gb = None
        if self.needs_input_grad[2]:
            gb = g.sum(axis=0)
        if self.needs_input_grad[1]:
            gw = np.einsum("nop,knp->pok", gr, cols, optimize=True).reshape(w_shape)
        if self.needs_input_grad[0]:
            dcols = np.einsum("pok,nop->knp", wk, gr, optimize=True)
            gx = col2im(dcols.reshape(-1, N * OH * OW), x_shape, KH, KW, OH, OW, stride, padding, (1, 1))
        return gx, gw, gb


def locally_connected2d(
    x, weight, bias=None, stride=1, padding=0, *, name: str = "locally_connected2d", rounding: str = "exact"
):
    """Unshared-weight convolution; weight (OH, OW, O, C, KH, KW), bias (O, OH, OW)."""
    x, weight = lift(x), lift(weight)
    if weight.ndim != 6:
        raise ValueError(f"{name}: weight must be 6-D (OH, OW, out, in, kh, kw), got {weight.shape}")
    OHw, OWw, O, C, KH, KW = weight.shape
    check_input(x, C, name)
    if x.data.dtype != weight.data.dtype:
        raise TypeError(
            f"{name}: input dtype {x.data.dtype} differs from the weights' "
            f"{weight.data.dtype}; convert one of them (model.double() or x.float())"
        )
    stride = pair(stride, "stride", name, minimum=1)
    padding = pair(padding, "padding", name, minimum=0)
    OH = out_size(x.shape[2], KH, stride[0], padding[0], 1, name=name, axis="height", rounding=rounding)
    OW = out_size(x.shape[3], KW, stride[1], padding[1], 1, name=name, axis="width", rounding=rounding)
    if (OH, OW) != (OHw, OWw):
        raise ValueError(
            f"{name}: the weights hold filters for a {OHw}x{OWw} output, but input "
            f"{tuple(x.shape)} gives {OH}x{OW} (the layer is built for one input size)"
        )
    if bias is not None:
        bias = lift(bias)
    return LocallyConnected2d.apply(x, weight, bias, stride=stride, padding=padding, out_hw=(OH, OW))
