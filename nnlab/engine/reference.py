"""Textbook forms of the hand-optimized gates: the oracle for the fast paths in ``ops``.

Each function is the notes' equation written directly on NumPy arrays, in the cs231n
``*_forward(...) -> (out, cache)`` / ``*_backward(dout, cache)`` shape, with no concern for speed or
memory: the sigmoid gate, batch normalization staged through its computational graph, and
convolution as a sum over filter taps on a sliding-window view (no im2col layouts, no shifted
GEMMs, no 1x1 special cases). The tests run the fast gates against these in float64 over several
shapes. Not used at run time.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

__all__ = [
    "sigmoid_forward",
    "sigmoid_backward",
    "batchnorm_forward",
    "batchnorm_backward",
    "conv2d_forward",
    "conv2d_backward",
]


# ---- sigmoid gate ------------------------------------------------------------------------------
def sigmoid_forward(x):
    """s = 1 / (1 + e^-x)."""
    s = 1 / (1 + np.exp(-x))
    return s, s


def sigmoid_backward(dout, cache):
    """The local gradient (1 - s) s, times the upstream gradient."""
    s = cache
    return (1 - s) * s * dout


# ---- batch normalization -----------------------------------------------------------------------
def _per_channel(a, ndim):
    return a.reshape((1, -1) + (1,) * (ndim - 2))


def batchnorm_forward(x, gamma, beta, eps=1e-5, mode="train", running_mean=None, running_var=None):
    """y = gamma * (x - mean) / sqrt(var + eps) + beta, per channel (axis 1).

    "train" uses the batch's mean and biased variance over every axis but 1; "test" uses the
    running statistics given. Staged one node at a time, as the computational graph is drawn.
    """
    axes = (0,) + tuple(range(2, x.ndim))
    g, b = _per_channel(gamma, x.ndim), _per_channel(beta, x.ndim)
    if mode == "train":
        mu = x.mean(axis=axes, keepdims=True)  # 1. mean
        xmu = x - mu  # 2. centre
        sq = xmu**2  # 3. square
        var = sq.mean(axis=axes, keepdims=True)  # 4. variance
    else:
        mu, var = _per_channel(running_mean, x.ndim), _per_channel(running_var, x.ndim)
        xmu = x - mu
    sqrtvar = np.sqrt(var + eps)  # 5. standard deviation
    ivar = 1 / sqrtvar  # 6. invert
    xhat = xmu * ivar  # 7. normalize
    out = g * xhat + b  # 8. scale and shift
    return out, (mode, axes, xhat, g, xmu, ivar, sqrtvar, var, eps)


def batchnorm_backward(dout, cache):
    """Back through the eight nodes of batchnorm_forward, one at a time; returns (dx, dgamma, dbeta)."""
    mode, axes, xhat, g, xmu, ivar, sqrtvar, var, eps = cache
    dbeta = dout.sum(axis=axes)
    dgamma = (dout * xhat).sum(axis=axes)
    dxhat = dout * g  # 8.
    if mode != "train":
        return dxhat * ivar, dgamma, dbeta
    m = dout.size // dout.shape[1]
    divar = (dxhat * xmu).sum(axis=axes, keepdims=True)  # 7. (ivar branch)
    dxmu1 = dxhat * ivar  # 7. (xmu branch)
    dsqrtvar = -1 / sqrtvar**2 * divar  # 6.
    dvar = 0.5 / np.sqrt(var + eps) * dsqrtvar  # 5.
    dsq = np.ones_like(xmu) / m * dvar  # 4.
    dxmu2 = 2 * xmu * dsq  # 3.
    dx1 = dxmu1 + dxmu2  # 2. (x branch)
    dmu = -(dxmu1 + dxmu2).sum(axis=axes, keepdims=True)  # 2. (mu branch)
    dx2 = np.ones_like(xmu) / m * dmu  # 1.
    return dx1 + dx2, dgamma, dbeta


# ---- convolution -------------------------------------------------------------------------------
def _pair(v):
    return (v, v) if np.isscalar(v) else tuple(v)


def _windows(x_pad, kh, kw, oh, ow, stride, dilation):
    """windows[n, c, h, w, i, j] = x_pad[n, c, S*h + D*i, S*w + D*j]."""
    (sh, sw), (dh, dw) = stride, dilation
    v = sliding_window_view(x_pad, (dh * (kh - 1) + 1, dw * (kw - 1) + 1), axis=(2, 3))
    return v[:, :, ::sh, ::sw, ::dh, ::dw][:, :, :oh, :ow]


def conv2d_forward(x, w, b=None, stride=1, padding=0, dilation=1, groups=1):
    """y[n, o, h, w] = b[o] + sum_{c, i, j} W[o, c, i, j] x_pad[n, group(o) C/G + c, S h + D i, S w + D j]."""
    stride, padding, dilation = _pair(stride), _pair(padding), _pair(dilation)
    N, C, H, W = x.shape
    O, Cg, KH, KW = w.shape
    (ph, pw), G = padding, groups
    oh = (H + 2 * ph - dilation[0] * (KH - 1) - 1) // stride[0] + 1
    ow = (W + 2 * pw - dilation[1] * (KW - 1) - 1) // stride[1] + 1
    x_pad = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    win = _windows(x_pad, KH, KW, oh, ow, stride, dilation).reshape(N, G, Cg, oh, ow, KH, KW)
    out = np.einsum("ngchwij,gocij->ngohw", win, w.reshape(G, O // G, Cg, KH, KW)).reshape(N, O, oh, ow)
    if b is not None:
        out = out + b.reshape(1, O, 1, 1)
    return out, (x, w, b, stride, padding, dilation, groups, win)


def conv2d_backward(dout, cache):
    """dW and db as sums over positions; dx by adding every tap's contribution back at the input
    pixel it read (np.add.at: repeated positions add up). Returns (dx, dw, db)."""
    x, w, b, (sh, sw), (ph, pw), (dh, dw_), G, win = cache
    N, C, H, W = x.shape
    O, Cg, KH, KW = w.shape
    _, _, oh, ow = dout.shape
    dg = dout.reshape(N, G, O // G, oh, ow)
    db = None if b is None else dout.sum(axis=(0, 2, 3))
    dw = np.einsum("ngohw,ngchwij->gocij", dg, win).reshape(O, Cg, KH, KW)
    # contribution of each (image, input channel, tap, output pixel) to the input pixel it read
    contrib = np.einsum("ngohw,gocij->ngcijhw", dg, w.reshape(G, O // G, Cg, KH, KW)).reshape(N, C, KH, KW, oh, ow)
    rows = sh * np.arange(oh)[None, :] + dh * np.arange(KH)[:, None]  # (KH, oh)
    cols = sw * np.arange(ow)[None, :] + dw_ * np.arange(KW)[:, None]  # (KW, ow)
    dx_pad = np.zeros((N, C, H + 2 * ph, W + 2 * pw), dtype=dout.dtype)
    n_i, c_i, i_i, j_i, h_i, w_i = np.indices(contrib.shape, sparse=True)
    np.add.at(dx_pad, (n_i, c_i, rows[i_i, h_i], cols[j_i, w_i]), contrib)
    return dx_pad[:, :, ph : ph + H, pw : pw + W], dw, db
