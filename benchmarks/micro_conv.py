"""Micro-benchmark of workload 3's conv/pool layers (batch 64, float32), nnlab against PyTorch.

    python benchmarks/micro_conv.py            # forward+backward and inference, medians and ratios
    python benchmarks/micro_conv.py --orders   # im2col copy cost of the two patch column orders
    python benchmarks/micro_conv.py --pool     # ways of recording max-pool switches
    python benchmarks/micro_conv.py --dx       # conv input gradient: col2im vs flipped-filter conv

Layers: conv3x3 1->32 pad 1 on 28x28, maxpool 2, conv3x3 32->64 pad 1 on 14x14, maxpool 2 (each
with a ReLU after the conv as in the workload, so the conv output layout is exercised downstream).
The two frameworks alternate within each repetition; PyTorch runs with NumPy's thread count.
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
from numpy.lib.stride_tricks import as_strided

import nnlab
from nnlab.nn import functional as F


def _threads() -> int:
    try:
        from threadpoolctl import threadpool_info

        return max(i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas")
    except Exception:
        return int(os.environ.get("OMP_NUM_THREADS", os.cpu_count() or 1))


def _median(f, reps):
    ts = []
    for _ in range(reps):
        t = time.perf_counter()
        f()
        ts.append(time.perf_counter() - t)
    return float(np.median(ts))


def column_orders(reps: int = 20) -> None:
    """Copy cost of (C*K*K, N*OH*OW) columns against (N*OH*OW, C*K*K) for workload 3's convs."""
    for N, C, H in [(64, 1, 28), (64, 32, 14)]:
        x = np.random.standard_normal((N, C, H + 2, H + 2)).astype(np.float32)
        sN, sC, sH, sW = x.strides
        chan_major = as_strided(x, (C, 3, 3, N, H, H), (sC, sH, sW, sN, sH, sW))
        pix_major = as_strided(x, (N, H, H, C, 3, 3), (sN, sH, sW, sC, sH, sW))
        a = _median(lambda: np.ascontiguousarray(chan_major), reps)
        b = _median(lambda: np.ascontiguousarray(pix_major), reps)
        print(
            f"im2col copy N={N} C={C} {H}x{H}: (C*K*K, N*OH*OW) {a * 1e3:.2f} ms, "
            f"(N*OH*OW, C*K*K) {b * 1e3:.2f} ms, ratio {b / a:.1f}x"
        )


def pool_switches(reps: int = 20) -> None:
    """2x2 max pool of a (64, 32, 28, 28) conv output: the max by reshape (no switches), the max
    over strided offset slices alone, and three ways to record the winning offset per window
    (np.putmask, np.where, arithmetic select)."""
    x = np.ascontiguousarray(np.random.standard_normal((32, 64, 28, 28)).astype(np.float32))
    x = x.transpose(1, 0, 2, 3)  # a conv output: channel-major memory
    x_nchw = np.ascontiguousarray(x)  # the reshape needs NCHW memory: copied outside the timing
    offs = [(0, 1), (1, 0), (1, 1)]

    def run(how):
        if how == "reshape":  # max over the two kernel axes of a (N, C, OH, 2, OW, 2) view
            return x_nchw.reshape(64, 32, 14, 2, 14, 2).max(axis=(3, 5))
        out = x[:, :, 0::2, 0::2].copy(order="K")
        idx = np.zeros(out.shape, np.uint8)
        for o, (i, j) in enumerate(offs, 1):
            v = x[:, :, i::2, j::2]
            if how == "putmask":
                np.putmask(idx, v > out, o)
            elif how == "where":
                idx = np.where(v > out, np.uint8(o), idx)
            elif how == "arith":
                better = v > out
                idx += better * (np.uint8(o) - idx)
            np.maximum(out, v, out=out)

    for how in ("reshape", "max only", "putmask", "where", "arith"):
        print(f"max pool 2x2 (64, 32, 28, 28), {how:8s}: {_median(lambda: run(how), reps) * 1e3:.2f} ms")


def input_gradient(reps: int = 20) -> None:
    """dX of conv2 (64 images, 32->64 channels, 14x14, pad 1): W^T dY then col2im, against the
    notes' formulation as a convolution of the padded dY with the flipped, transposed filters."""
    from nnlab.engine.ops.conv import col2im, im2col

    N, C, H, O = 64, 32, 14, 64
    w = np.random.standard_normal((O, C, 3, 3)).astype(np.float32)
    g = np.ascontiguousarray(np.random.standard_normal((O, N, H, H)).astype(np.float32)).transpose(1, 0, 2, 3)

    def via_col2im():
        d = w.reshape(O, -1).T @ g.transpose(1, 0, 2, 3).reshape(O, -1)
        return col2im(d, (N, C, H, H), 3, 3, H, H, (1, 1), (1, 1), (1, 1))

    def via_flipped_conv():
        wt = w[:, :, ::-1, ::-1].transpose(1, 0, 2, 3).reshape(C, -1)
        return (wt @ im2col(g, 3, 3, H, H, (1, 1), (1, 1), (1, 1))).reshape(C, N, H, H).transpose(1, 0, 2, 3)

    np.testing.assert_allclose(via_col2im(), via_flipped_conv(), rtol=1e-3, atol=1e-3)
    a, b = _median(via_col2im, reps), _median(via_flipped_conv, reps)
    print(f"conv2 dX: GEMM + col2im {a * 1e3:.2f} ms, flipped-filter conv {b * 1e3:.2f} ms")


def layers(reps: int = 30) -> None:
    import torch

    threads = _threads()
    torch.set_num_threads(threads)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((64, 1, 28, 28)).astype(np.float32)
    w1 = (rng.standard_normal((32, 1, 3, 3)) * 0.4).astype(np.float32)
    b1 = np.zeros(32, np.float32)
    w2 = (rng.standard_normal((64, 32, 3, 3)) * 0.08).astype(np.float32)
    b2 = np.zeros(64, np.float32)
    g = rng.standard_normal((64, 64, 7, 7)).astype(np.float32)

    P = [nnlab.nn.Parameter(a) for a in (w1, b1, w2, b2)]
    T = [torch.tensor(a, requires_grad=True) for a in (w1, b1, w2, b2)]
    xn, xt, gn, gt = nnlab.tensor(x), torch.tensor(x), nnlab.tensor(g), torch.tensor(g)

    def nn_fwd():
        h = F.max_pool2d(F.relu(F.conv2d(xn, P[0], P[1], padding=1)), 2)
        return F.max_pool2d(F.relu(F.conv2d(h, P[2], P[3], padding=1)), 2)

    def nn_step():
        (nn_fwd() * gn).sum().backward()

    def nn_infer():
        with nnlab.no_grad():
            nn_fwd()

    tf = torch.nn.functional

    def t_fwd():
        h = tf.max_pool2d(tf.relu(tf.conv2d(xt, T[0], T[1], padding=1)), 2)
        return tf.max_pool2d(tf.relu(tf.conv2d(h, T[2], T[3], padding=1)), 2)

    def t_step():
        (t_fwd() * gt).sum().backward()

    def t_infer():
        with torch.no_grad():
            t_fwd()

    for f in (nn_step, t_step, nn_infer, t_infer):
        f()
    res = {k: [] for k in ("nn_step", "t_step", "nn_infer", "t_infer")}
    for _ in range(reps):  # alternate the frameworks inside every repetition
        for name, f in (("nn_step", nn_step), ("t_step", t_step), ("nn_infer", nn_infer), ("t_infer", t_infer)):
            res[name].append(_median(f, 1))
    m = {k: float(np.median(v)) for k, v in res.items()}
    print(f"threads: numpy BLAS {threads}, torch {torch.get_num_threads()}; batch 64; {reps} reps")
    for kind in ("step", "infer"):
        a, b = m[f"nn_{kind}"], m[f"t_{kind}"]
        label = "forward+backward" if kind == "step" else "forward (no grad)"
        print(f"{label:18s} nnlab {a * 1e3:7.2f} ms  torch {b * 1e3:7.2f} ms  speed ratio nnlab/torch {b / a:.2f}")
    # GFLOP/s of the conv forwards alone (workload 6): 2*O*C*K*K*N*OH*OW flops per conv
    h = nnlab.tensor(rng.standard_normal((64, 32, 14, 14)).astype(np.float32))
    for label, inp, wt, flops in (
        ("conv1 1->32 28x28", xn, P[0], 2 * 32 * 9 * 64 * 784),
        ("conv2 32->64 14x14", h, P[2], 2 * 64 * 288 * 64 * 196),
    ):

        def f():
            with nnlab.no_grad():
                F.conv2d(inp, wt, None, padding=1)

        t = _median(f, reps)
        print(f"{label}: forward {t * 1e3:.2f} ms = {flops / t / 1e9:.0f} GFLOP/s")


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--orders", action="store_true", help="compare the im2col column orders")
    ap.add_argument("--pool", action="store_true", help="compare ways of recording max-pool switches")
    ap.add_argument("--dx", action="store_true", help="compare ways of computing the input gradient")
    ap.add_argument("--reps", type=int, default=30)
    args = ap.parse_args()
    if args.orders:
        column_orders()
    elif args.pool:
        pool_switches()
    elif args.dx:
        input_gradient()
    else:
        layers(args.reps)
