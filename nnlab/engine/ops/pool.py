"""Pooling gates: max (with switches), average, Lp and global average pooling over NCHW input.

Every pool is computed by looping over the KH*KW kernel offsets, each step one vectorized op on a
strided slice x[:, :, i::S, j::S] of the whole batch (the loop is over kernel positions, never over
pixels). For the common kernel == stride case this is also the fast path: a 2x2/2 max pool is three
np.maximum calls on quarter-size views. Reducing a reshaped (N, C, OH, k, OW, k) view instead was
measured 40-80x slower on workload 3's (64, 32, 28, 28) pool (NumPy reduces over two short strided
axes element by element; ``benchmarks/micro_conv.py --pool``), so the reshape is not used. When windows tile the input exactly, backward
writes each gradient slice once into an uninitialised array instead of accumulating into zeros.
"""

from __future__ import annotations

import numpy as np

from nnlab.engine import kernels, parallel
from nnlab.engine.function import Function
from nnlab.engine.ops.conv import check_input, out_size, pair
from nnlab.engine.ops.elementwise import lift


def pool_geometry(x_shape, kernel_size, stride, padding, name, rounding="exact"):
    k = pair(kernel_size, "kernel_size", name, minimum=1)
    s = k if stride is None else pair(stride, "stride", name, minimum=1)
    p = pair(padding, "padding", name, minimum=0)
    if p[0] * 2 > k[0] or p[1] * 2 > k[1]:
        raise ValueError(
            f"{name}: padding {p} must be at most half the kernel size {k} "
            f"(a window must never lie entirely in the padding)"
        )
    OH = out_size(x_shape[2], k[0], s[0], p[0], 1, name=name, axis="height", rounding=rounding, max_padding=k[0] // 2)
    OW = out_size(x_shape[3], k[1], s[1], p[1], 1, name=name, axis="width", rounding=rounding, max_padding=k[1] // 2)
    return k, s, p, (OH, OW)


def _offsets(k, s, out_hw):
    """(offset number, (row slice, column slice)) for every kernel position."""
    OH, OW = out_hw
    o = 0
    for i in range(k[0]):
        for j in range(k[1]):
            yield (
                o,
                (
                    slice(None),
                    slice(None),
                    slice(i, i + s[0] * (OH - 1) + 1, s[0]),
                    slice(j, j + s[1] * (OW - 1) + 1, s[1]),
                ),
            )
            o += 1


def _pad(x, p, fill):
    if p == (0, 0):
        return x
    N, C, H, W = x.shape
    xp = np.full((N, C, H + 2 * p[0], W + 2 * p[1]), fill, dtype=x.dtype)
    xp[:, :, p[0] : p[0] + H, p[1] : p[1] + W] = x
    return xp


class _Pool(Function):
    """Shared backward plumbing: allocate the input gradient and crop the padding."""

    channel_major = False

    def _note_layout(self, x):
        self.channel_major = not x.flags.c_contiguous and x.transpose(1, 0, 2, 3).flags.c_contiguous

    def _grad_buffer(self, like_shape, dtype):
        k, s, p, (OH, OW), x_shape = self.geom
        padded = (x_shape[0], x_shape[1], x_shape[2] + 2 * p[0], x_shape[3] + 2 * p[1])
        tiles = k == s and p == (0, 0) and OH * k[0] == x_shape[2] and OW * k[1] == x_shape[3]
        # exact tiling: every element is written once, so no zero-fill and plain assignment
        make = np.empty if tiles else np.zeros
        if self.channel_major:
            # the input came from a convolution (channel-major memory): give the gradient the same
            # layout, so that the convolution's backward reads it as (O, N*H*W) without a copy
            return make((padded[1], padded[0]) + padded[2:], dtype).transpose(1, 0, 2, 3), tiles
        return make(padded, dtype), tiles

    def _match_layout(self, g):
        """The upstream gradient in the layout of the saved switches (one copy of the small
        pooled array, instead of mixed-stride loops in every offset's multiply)."""
        if self.channel_major and not g.transpose(1, 0, 2, 3).flags.c_contiguous:
            return np.ascontiguousarray(g.transpose(1, 0, 2, 3)).transpose(1, 0, 2, 3)
        return g

    def _crop(self, gx):
        k, s, p, _, x_shape = self.geom
        if p == (0, 0):
            return gx
        return gx[:, :, p[0] : p[0] + x_shape[2], p[1] : p[1] + x_shape[3]]


class MaxPool2d(_Pool):
    """y = max over the window; dy/dx = 1 at the window's first maximum (the switch), 0 elsewhere.

    The switches are the winning kernel offset per output (uint8), recorded only when a gradient is
    needed. With numba, forward and backward run compiled loops (nnlab.engine.kernels) giving the
    same bits as the NumPy code below."""

    def forward(self, x, *, kernel, stride, padding, out_hw):
        self.geom = (kernel, stride, padding, out_hw, x.shape)
        self._note_layout(x)
        xp = _pad(x, padding, -np.inf)
        if kernels.handles(x.dtype):
            return self._forward_compiled(xp, kernel, stride, out_hw)
        offs = list(_offsets(kernel, stride, out_hw))
        out = np.empty_like(xp[offs[0][1]])  # keeps the input's layout (channel-major after a conv)
        track = self.needs_input_grad[0]
        # switches in the layout of out (channel-major after a convolution): backward then
        # multiplies g by (idx == o) with matching strides (pool backward 2.2 -> 1.2 ms CPU on
        # workload 3's (64, 32, 28, 28), 1.4 -> 0.63 ms on (64, 64, 14, 14), one thread; an NCHW
        # idx against a channel-major g was the slow mix)
        idx = np.empty_like(out, dtype=np.uint8 if len(offs) <= 256 else np.int32) if track else None

        def channels(c0, c1):
            xs, o_c = xp[:, c0:c1], out[:, c0:c1]
            np.copyto(o_c, xs[offs[0][1]])
            if track:
                ix = idx[:, c0:c1]
                ix.fill(0)
            for o, sl in offs[1:]:
                v = xs[sl]
                if track:
                    # strict ">": ties keep the first maximum, as PyTorch does. The select is
                    # written as arithmetic (ix += better * (o - ix), exact modulo 2^8) because
                    # np.putmask and np.where measured ~10x slower on these arrays
                    # (benchmarks/micro_conv.py --pool).
                    better = v > o_c
                    ix += better * (ix.dtype.type(o) - ix)
                np.maximum(o_c, v, out=o_c)

        # channels are independent: split over the cores (nnlab.engine.parallel)
        parallel.run(channels, x.shape[1], xp.nbytes)
        self.idx = idx
        return out

    def _forward_compiled(self, xp, kernel, stride, out_hw):
        """One compiled pass (nnlab.engine.kernels) per chunk of channels: every input element read
        once, the output and the switch written once."""
        N, C = xp.shape[:2]
        shape = (C, N) + tuple(out_hw)  # channel-first, as the kernels index
        n_off = kernel[0] * kernel[1]
        idx_type = np.uint8 if n_off <= 256 else np.int32
        if xp.transpose(1, 0, 2, 3).flags.c_contiguous:  # the input's layout, as np.empty_like keeps it
            out_t, idx_t = np.empty(shape, xp.dtype), np.empty(shape, idx_type)
        else:
            out_t = np.empty((N, C) + tuple(out_hw), xp.dtype).transpose(1, 0, 2, 3)
            idx_t = np.empty((N, C) + tuple(out_hw), idx_type).transpose(1, 0, 2, 3)
        xt = xp.transpose(1, 0, 2, 3)
        if kernel == stride == (2, 2):
            fn = kernels.get("max_pool_forward_2x2")
            parallel.run(lambda a, b: fn(xt, out_t, idx_t, a, b), C, xp.nbytes)
        else:
            fn = kernels.get("max_pool_forward")
            (kh, kw), (sh, sw) = kernel, stride
            parallel.run(lambda a, b: fn(xt, out_t, idx_t, kh, kw, sh, sw, a, b), C, xp.nbytes)
        self.idx = idx_t.transpose(1, 0, 2, 3) if self.needs_input_grad[0] else None
        return out_t.transpose(1, 0, 2, 3)

    def backward(self, g):
        k, s, p, out_hw, _ = self.geom
        gx, tiles = self._grad_buffer(None, g.dtype)
        idx = self.idx
        if kernels.handles(g.dtype):
            gt, it, gxt = g.transpose(1, 0, 2, 3), idx.transpose(1, 0, 2, 3), gx.transpose(1, 0, 2, 3)
            if k == s == (2, 2):
                fn = kernels.get("max_pool_backward_2x2")
                parallel.run(lambda a, b: fn(gt, it, gxt, tiles, a, b), g.shape[1], gx.nbytes)
            else:
                fn = kernels.get("max_pool_backward")
                parallel.run(lambda a, b: fn(gt, it, gxt, k[0], k[1], s[0], s[1], tiles, a, b), g.shape[1], gx.nbytes)
            return (self._crop(gx),)
        g = self._match_layout(g)
        offs = list(_offsets(k, s, out_hw))

        def channels(c0, c1):
            g_c, ix, gx_c = g[:, c0:c1], idx[:, c0:c1], gx[:, c0:c1]
            for o, sl in offs:
                if tiles:
                    np.multiply(g_c, ix == o, out=gx_c[sl])
                else:
                    gx_c[sl] += np.where(ix == o, g_c, 0)

        parallel.run(channels, g.shape[1], gx.nbytes)
        # (switches kept: backward may run twice with retain_graph)
        return (self._crop(gx),)


def warm_kernels(x) -> None:
    """Run max pooling forward and backward once on ``x`` (2x2 and 3x3/2 windows, the upstream
    gradient in both layouts), so that the compiled kernels for its dtype and layout are ready."""
    for k, s in ((2, 2), (3, 2)):
        for g_layout in ("nchw", "channel_major"):
            op = MaxPool2d()
            op.needs_input_grad = (True,)
            k2, s2, p2, out_hw = pool_geometry(x.shape, k, s, 0, "max_pool2d", "floor")
            y = op.forward(x, kernel=k2, stride=s2, padding=p2, out_hw=out_hw)
            g = np.ones(y.shape, y.dtype)
            if g_layout == "channel_major":
                g = np.ascontiguousarray(g.transpose(1, 0, 2, 3)).transpose(1, 0, 2, 3)
            op.backward(g)


class AvgPool2d(_Pool):
    """y = (1/(KH*KW)) sum over the window (padding counts as zeros, PyTorch's default);
    dy/dx = 1/(KH*KW) for every element of the window."""

    def forward(self, x, *, kernel, stride, padding, out_hw):
        self.geom = (kernel, stride, padding, out_hw, x.shape)
        self._note_layout(x)
        xp = _pad(x, padding, 0.0)
        offs = list(_offsets(kernel, stride, out_hw))
        out = xp[offs[0][1]].copy(order="K")
        for _, sl in offs[1:]:
            out += xp[sl]
        out *= out.dtype.type(1.0 / (kernel[0] * kernel[1]))
        return out

    def backward(self, g):
        k, s, p, out_hw, _ = self.geom
        gx, tiles = self._grad_buffer(None, g.dtype)
        gs = self._match_layout(g) * g.dtype.type(1.0 / (k[0] * k[1]))
        for _, sl in _offsets(k, s, out_hw):
            if tiles:
                gx[sl] = gs
            else:
                gx[sl] += gs
        return (self._crop(gx),)


class LPPool2d(_Pool):
    """y = (sum over the window of x^p)^(1/p) (p=2: the L2-norm pooling);
    dy/dx = x^(p-1) * y^(1-p) (0 where the window sum is 0)."""

    def forward(self, x, *, norm_type, kernel, stride, out_hw):
        self.geom = (kernel, stride, (0, 0), out_hw, x.shape)
        p = norm_type
        xq = x * x if p == 2 else x**p
        offs = list(_offsets(kernel, stride, out_hw))
        ssum = xq[offs[0][1]].copy(order="K")
        for _, sl in offs[1:]:
            ssum += xq[sl]
        y = np.sqrt(ssum) if p == 2 else ssum ** (1.0 / p)
        self.x, self.y, self.p = x, y, p
        return y

    def backward(self, g):
        k, s, _, out_hw, _ = self.geom
        x, y, p = self.x, self.y, self.p
        gx, tiles = self._grad_buffer(None, g.dtype)
        with np.errstate(divide="ignore", invalid="ignore"):
            coef = np.where(y != 0, g * (y ** (1 - p) if p != 2 else 1 / y), 0).astype(g.dtype)
        xq = x if p == 2 else (np.ones_like(x) if p == 1 else x ** (p - 1))
        for _, sl in _offsets(k, s, out_hw):
            if tiles:
                np.multiply(coef, xq[sl], out=gx[sl])
            else:
                gx[sl] += coef * xq[sl]
        return (gx,)


class GlobalAvgPool2d(Function):
    """y[n, c] = mean over H, W of x[n, c] (kept as (N, C, 1, 1)); dy/dx = 1/(H*W)."""

    def forward(self, x):
        self.shape = x.shape
        return x.mean(axis=(2, 3), keepdims=True)

    def backward(self, g):
        N, C, H, W = self.shape
        gx = np.empty(self.shape, g.dtype)
        gx[...] = g * g.dtype.type(1.0 / (H * W))
        return (gx,)


def _check(x, name):
    x = lift(x)
    check_input(x, None, name)
    return x


def max_pool2d(x, kernel_size, stride=None, padding=0, *, name="max_pool2d", rounding="exact"):
    """Max pooling over NCHW windows (stride defaults to the kernel size, as in PyTorch)."""
    x = _check(x, name)
    k, s, p, out_hw = pool_geometry(x.shape, kernel_size, stride, padding, name, rounding)
    return MaxPool2d.apply(x, kernel=k, stride=s, padding=p, out_hw=out_hw)


def avg_pool2d(x, kernel_size, stride=None, padding=0, *, name="avg_pool2d", rounding="exact"):
    """Average pooling; zero padding counts in the average (PyTorch's count_include_pad=True)."""
    x = _check(x, name)
    k, s, p, out_hw = pool_geometry(x.shape, kernel_size, stride, padding, name, rounding)
    return AvgPool2d.apply(x, kernel=k, stride=s, padding=p, out_hw=out_hw)


def lp_pool2d(x, norm_type, kernel_size, stride=None, *, name="lp_pool2d", rounding="exact"):
    """Power-average pooling (sum x^p)^(1/p) over each window, as PyTorch's lp_pool2d."""
    x = _check(x, name)
    if not isinstance(norm_type, (int, float)) or norm_type <= 0:
        raise ValueError(f"{name}: norm_type must be a positive number, got {norm_type!r}")
    k, s, _, out_hw = pool_geometry(x.shape, kernel_size, stride, 0, name, rounding)
    return LPPool2d.apply(
        x, norm_type=float(norm_type) if norm_type not in (1, 2) else int(norm_type), kernel=k, stride=s, out_hw=out_hw
    )


def global_avg_pool2d(x, *, name="global_avg_pool2d"):
    """Mean over the spatial axes, output (N, C, 1, 1)."""
    return GlobalAvgPool2d.apply(_check(x, name))
