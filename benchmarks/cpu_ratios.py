"""The benchmark's nnlab-only ratios in CPU time, for machines too loaded for wall-time ratios:
``python -m benchmarks.cpu_ratios``.

One BLAS thread and nnlab's split passes off (so CPU time is the time one core would take),
alternating blocks, medians:
- workloads 1a, 1b, 2: nnlab against the hand-written NumPy reference (target >= 0.9);
- workload 6: conv forward and backward of workload 3's layers against NumPy's GEMM at the
  layer's im2col shape and at 1024^3 (target: forward >= 60% of the GEMM rate).
"""

from __future__ import annotations

import gc
import statistics
import sys
import time

import numpy as np  # noqa: F401  (loaded before threadpoolctl limits it)


def _reference_ratios(blocks: int) -> None:
    from benchmarks import workloads as W

    for key, nn_b, ref_b in (
        ("1a", lambda: W.w1_nnlab(128), lambda: W.w1_numpy(128)),
        ("1b", lambda: W.w1_nnlab(32), lambda: W.w1_numpy(32)),
        ("2", W.w2_nnlab, W.w2_numpy),
    ):
        cases = {"nnlab": nn_b(), "ref": ref_b()}
        for c in cases.values():
            for _ in range(20):
                c.step()
        t0 = time.process_time()
        for _ in range(10):
            cases["nnlab"].step()
        k = max(10, int(0.25 / ((time.process_time() - t0) / 10)))
        res = {n: [] for n in cases}
        for b in range(blocks):
            for n in ("nnlab", "ref") if b % 2 == 0 else ("ref", "nnlab"):
                gc.collect()
                t = time.process_time()
                for _ in range(k):
                    cases[n].step()
                res[n].append(1e6 * (time.process_time() - t) / k)
        a, r = statistics.median(res["nnlab"]), statistics.median(res["ref"])
        print(
            f"{key}: nnlab {a:.1f} us/step, NumPy reference {r:.1f} us/step (CPU) -> nnlab/ref "
            f"{r / a:.3f} ({blocks} alternating blocks of {k} steps)"
        )


def _conv_fractions(calls: int) -> None:
    from benchmarks import workloads as W

    cases = {"6g": W.gemm_numpy()}
    for i in range(len(W.CONV_LAYERS)):
        cases[f"6s{i + 1}"] = W.conv_gemm_numpy(i)
        cases[f"6c{i + 1}"] = W.conv_nnlab(i)
        cases[f"6b{i + 1}"] = W.conv_backward_nnlab(i)
    res = {k: [] for k in cases}
    items = list(cases.items())
    for r in range(calls):
        for k, (case, flops) in items if r % 2 == 0 else items[::-1]:
            t = time.thread_time()
            case.step()
            res[k].append(flops / 1e9 / (time.thread_time() - t))
    m = {k: statistics.median(v) for k, v in res.items()}
    print(f"6g: NumPy GEMM 1024^3 {m['6g']:.1f} GFLOP/s (CPU; {calls} alternating calls, medians)")
    for i, (name, _, _) in enumerate(W.CONV_LAYERS, 1):
        s, c, b = m[f"6s{i}"], m[f"6c{i}"], m[f"6b{i}"]
        print(
            f"{name}: GEMM at its shape {s:.1f}, forward {c:.1f} = {100 * c / s:.0f}% of it "
            f"({100 * c / m['6g']:.0f}% of 1024^3), backward {b:.1f} GFLOP/s = {100 * b / s:.0f}%"
        )


def main(argv=None) -> int:
    from threadpoolctl import threadpool_limits

    from nnlab.engine import parallel

    threadpool_limits(1)
    parallel.set_num_threads(1)
    _reference_ratios(12)
    _conv_fractions(25)
    return 0


if __name__ == "__main__":
    sys.exit(main())
