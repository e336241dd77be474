"""Batch normalization and (inverted) dropout as fused gates."""

from __future__ import annotations

import numpy as np

from nnlab.engine import parallel
from nnlab.engine import random as nrandom
from nnlab.engine.function import Function
from nnlab.engine.ops.elementwise import lift
from nnlab.engine.tensor import Tensor


def _channel_view(a: np.ndarray, ndim: int) -> np.ndarray:
    """Reshape a per-channel (C,) array to broadcast against (N, C, ...) inputs."""
    return a.reshape((1, -1) + (1,) * (ndim - 2))


def _channel_dot(a: np.ndarray, b: np.ndarray, axes) -> np.ndarray:
    """sum(a * b) over every axis but 1, keepdims, without an a*b temporary when both arrays are
    channel-major (a convolution's output): then each channel is one contiguous row and a batched
    (1, M) @ (M, 1) matmul is one BLAS dot per channel (5x faster than (a*b).sum on (64, 32, 32, 32)
    float32, and more accurate than np.einsum's float32 loop)."""
    c = a.shape[1]
    if a.ndim > 2:
        at, bt = a.swapaxes(0, 1), b.swapaxes(0, 1)
        if at.flags.c_contiguous and bt.flags.c_contiguous:
            a2, b2 = at.reshape(c, -1), bt.reshape(c, -1)
            return np.matmul(a2[:, None, :], b2[:, :, None]).reshape(_keep_shape(a))
    return (a * b).sum(axis=axes, keepdims=True)


def _keep_shape(a):
    return (1, a.shape[1]) + (1,) * (a.ndim - 2)


class BatchNorm(Function):
    """Per-channel normalization y = gamma * (x - mu) / sqrt(var + eps) + beta.

    Channels are axis 1; statistics run over every other axis (N for (N, C), N*H*W for NCHW).
    Training uses the batch's mean and (biased) variance; evaluation uses fixed running
    statistics, so the op is then affine in x.

    Backward in training, with xhat = (x - mu) / sigma and m values per channel (the closed form
    that folds the paths through mu and var into one line):
        dx = gamma / (m sigma) * (m dy - sum(dy) - xhat * sum(dy * xhat))
        dgamma = sum(dy * xhat),  dbeta = sum(dy)
    In evaluation: dx = gamma / sigma * dy.

    Memory passes: only xc = x - mu is kept (xhat = xc / sigma is folded into per-channel factors),
    per-channel dot products run without temporaries (_channel_dot), and dx is built as
    (gamma/sigma) dy - (per-channel constant) - (per-channel factor) xc in place: 4 full-size passes
    forward and 4 backward instead of 7 and 8.
    """

    def forward(self, x, gamma=None, beta=None, *, mean, var, eps=1e-5, training=True):
        nd = x.ndim
        axes = (0,) + tuple(range(2, nd))
        self.axes, self.training = axes, training
        self.m = x.size // x.shape[1]
        dt = x.dtype.type
        keep = _keep_shape(x)
        mu, v = np.empty(keep, x.dtype), np.empty(keep, x.dtype)
        xc, out = np.empty_like(x), np.empty_like(x)  # in x's layout (channel-major after a conv)
        self.gamma = None if gamma is None else _channel_view(gamma, nd)
        g_v = None if gamma is None else self.gamma.astype(x.dtype, copy=False)
        b_v = None if beta is None else _channel_view(beta, nd).astype(x.dtype, copy=False)
        if not training:
            mu[...] = _channel_view(mean, nd)
            v[...] = _channel_view(var, nd)
        inv_std = np.empty(keep, x.dtype)

        def channels(a, b):
            # every channel's statistics and output depend on that channel alone: the cores
            # take channel ranges (nnlab.engine.parallel)
            xs, xcs, mus, vs, isd = x[:, a:b], xc[:, a:b], mu[:, a:b], v[:, a:b], inv_std[:, a:b]
            if training:
                xs.mean(axis=axes, keepdims=True, out=mus)
            np.subtract(xs, mus, out=xcs)
            if training:
                vs[...] = _channel_dot(xcs, xcs, axes) / dt(self.m)
            isd[...] = 1.0 / np.sqrt(vs + dt(eps))
            scale = isd if g_v is None else g_v[:, a:b] * isd
            np.multiply(xcs, scale, out=out[:, a:b])
            if b_v is not None:
                out[:, a:b] += b_v[:, a:b]

        parallel.run(channels, x.shape[1], x.nbytes)
        self.xc, self.inv_std = xc, inv_std
        if training:
            self.batch_mean = mu.reshape(-1)
            self.batch_var = v.reshape(-1)
        return out

    def backward(self, g):
        axes, xc, inv_std = self.axes, self.xc, self.inv_std
        need_x, need_g, need_b = self.needs_input_grad
        dt = g.dtype.type
        keep = inv_std.shape
        scale = inv_std if self.gamma is None else (self.gamma * inv_std).astype(g.dtype, copy=False)
        want_gxhat = need_g or (need_x and self.training)
        want_sum = need_b or (need_x and self.training)
        sum_gxhat = np.empty(keep, g.dtype) if want_gxhat else None
        sum_g = np.empty(keep, g.dtype) if want_sum else None
        gx = np.empty_like(g) if need_x else None
        inv_m = dt(1.0 / self.m)

        def channels(a, b):  # per channel, as in forward
            gs, xcs, isd, sc = g[:, a:b], xc[:, a:b], inv_std[:, a:b], scale[:, a:b]
            if want_gxhat:
                sum_gxhat[:, a:b] = _channel_dot(gs, xcs, axes) * isd
            if want_sum:
                gs.sum(axis=axes, keepdims=True, out=sum_g[:, a:b])
            if need_x:
                gxs = gx[:, a:b]
                np.multiply(gs, sc, out=gxs)
                if self.training:
                    # scale/m * (m g - sum_g - xhat sum_gxhat), with xhat = xc * inv_std
                    gxs -= (sc * sum_g[:, a:b] * inv_m).astype(g.dtype, copy=False)
                    gxs -= xcs * (sc * isd * sum_gxhat[:, a:b] * inv_m).astype(g.dtype, copy=False)

        parallel.run(channels, g.shape[1], g.nbytes)
        gg = sum_gxhat.reshape(-1) if need_g else None
        gb = sum_g.reshape(-1) if need_b else None
        return gx, gg, gb


def batch_norm(
    x,
    running_mean=None,
    running_var=None,
    weight=None,
    bias=None,
    training=False,
    momentum=0.1,
    eps=1e-5,
    *,
    name="batch_norm",
):
    """Batch normalization over channel axis 1 (PyTorch's argument order).

    In training the batch statistics normalize and the running buffers (NumPy arrays, updated in
    place) follow an exponentially weighted average:
    running = (1 - momentum) * running + momentum * batch_stat, with the unbiased batch variance.
    In evaluation the running statistics normalize.
    """
    x = lift(x)
    if x.dtype.kind != "f":
        raise TypeError(f"{name}: expected a floating-point input, got dtype {x.dtype}")
    if x.ndim < 2:
        raise ValueError(f"{name}: expected input of shape (N, C) or (N, C, ...), got {x.shape}")
    c = x.shape[1]
    for what, a in (("running_mean", running_mean), ("running_var", running_var), ("weight", weight), ("bias", bias)):
        if a is not None and tuple(np.shape(a.data if isinstance(a, Tensor) else a)) != (c,):
            shape = np.shape(a.data if isinstance(a, Tensor) else a)
            raise ValueError(
                f"{name}: expected {what} of shape ({c},) for an input with {c} "
                f"channels (input shape {x.shape}), got {shape}"
            )
    m = x.size // c
    if training:
        if m < 2:
            raise ValueError(
                f"{name}: training needs more than one value per channel to compute "
                f"batch statistics, got input shape {x.shape}"
            )
    elif running_mean is None or running_var is None:
        raise ValueError(f"{name}: evaluation mode needs running_mean and running_var")
    out = BatchNorm.apply(x, weight, bias, mean=running_mean, var=running_var, eps=eps, training=training)
    if training:
        fn = out._ctx
        if fn is not None:
            bm, bv = fn.batch_mean, fn.batch_var
        else:  # untracked: recompute the statistics (cheap relative to the forward)
            axes = (0,) + tuple(range(2, x.ndim))
            bm, bv = x.data.mean(axis=axes), x.data.var(axis=axes)
        if running_mean is not None:
            running_mean *= 1 - momentum
            running_mean += momentum * bm.astype(running_mean.dtype, copy=False)
        if running_var is not None:
            running_var *= 1 - momentum
            running_var += momentum * (bv * (m / (m - 1))).astype(running_var.dtype, copy=False)
    return out


class Dropout(Function):
    """Inverted dropout: y = x * mask / keep with mask ~ Bernoulli(keep), keep = 1 - p.

    Scaling at train time keeps E[y] = x, so evaluation is the identity. dy/dx = mask / keep.
    """

    def forward(self, x, *, p, rng):
        keep = 1.0 - p
        if keep <= 0:
            self.mask, self.scale = np.zeros(x.shape, dtype=bool), x.dtype.type(0)
        else:
            # Keep only a boolean mask (1 byte per entry) and one scale for backward.
            self.mask = rng.random(x.shape, dtype=np.float32) >= np.float32(p)
            self.scale = x.dtype.type(1.0 / keep)
        out = x * self.mask
        out *= self.scale
        return out

    def backward(self, g):
        gx = g * self.mask
        gx *= self.scale
        return (gx,)


def dropout(x, p=0.5, training=True, rng=None, *, name="dropout"):
    """Zero each entry with probability ``p`` and scale the survivors by 1/(1 - p) (training);
    return x unchanged otherwise. Uses nnlab's seeded generator unless ``rng`` is given."""
    x = lift(x)
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"{name}: drop probability p must lie in [0, 1], got {p}")
    if x.dtype.kind != "f":
        raise TypeError(f"{name}: expected a floating-point input, got dtype {x.dtype}")
    if not training or p == 0.0:
        return x
    return Dropout.apply(x, p=float(p), rng=rng if rng is not None else nrandom.get_rng())
