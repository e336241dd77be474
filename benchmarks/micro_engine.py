"""Per-op overhead of the engine core: ``python -m benchmarks.micro_engine``.

Times, on tiny arrays so that NumPy's own work is negligible:
  apply      one recorded gate (Function.apply + Tensor creation), per op
  apply_ng   the same under no_grad
  backward   backward through a chain of 200 gates, per node (sort + dispatch + accumulation)
  fanout     backward through 100 gates that all read the same leaf, per node
  scalar     ``x * 0.5`` (lifting a Python number), per op
  leafgrad   backward of loss = sum(x @ W) with W 784x256 (leaf gradient accumulation)
"""

from __future__ import annotations

import statistics
import sys
import time

import numpy as np


# CPU time of this process: on a loaded shared machine it is far steadier than wall time, and these
# loops are single-threaded Python (the arrays are too small for BLAS threads).
_clock = time.process_time


def _median_us(fn, n, repeats=7):
    out = []
    for _ in range(repeats):
        t0 = _clock()
        fn(n)
        out.append((_clock() - t0) / n * 1e6)
    return statistics.median(out)


def main() -> int:
    import nnlab
    from nnlab.engine import ops

    x = nnlab.tensor(np.ones(4, np.float32), requires_grad=True)

    def apply(n):
        for _ in range(n):
            ops.neg(x)

    def apply_ng(n):
        with nnlab.no_grad():
            for _ in range(n):
                ops.neg(x)

    def chain(n):
        for _ in range(n // 200):
            y = x
            for _ in range(200):
                y = ops.neg(y)
            s = ops.sum(y)
            x.grad = None
            t0 = _clock()
            s.backward()
            chain.t += _clock() - t0

    def fanout(n):
        for _ in range(n // 100):
            acc = [ops.neg(x) for _ in range(100)]
            s = ops.sum(ops.stack(acc))
            x.grad = None
            t0 = _clock()
            s.backward()
            fanout.t += _clock() - t0

    def scalar(n):
        for _ in range(n):
            x * 0.5

    xb = nnlab.tensor(np.random.default_rng(0).standard_normal((32, 784)).astype(np.float32))
    w = nnlab.tensor(np.random.default_rng(1).standard_normal((784, 256)).astype(np.float32), requires_grad=True)

    def leafgrad(n):
        for _ in range(n):
            loss = ops.sum(ops.matmul(xb, w))
            w.grad = None
            t0 = _clock()
            loss.backward()
            leafgrad.t += _clock() - t0

    def timed_part(fn, n, per, repeats=7):
        out = []
        for _ in range(repeats):
            fn.t = 0.0
            fn(n)
            out.append(fn.t / (n // per) / per * 1e6)
        return statistics.median(out)

    for f in (apply, apply_ng, scalar):
        f(2000)
    print(f"apply     {_median_us(apply, 20000):7.2f} us/op")
    print(f"apply_ng  {_median_us(apply_ng, 20000):7.2f} us/op")
    print(f"scalar    {_median_us(scalar, 20000):7.2f} us/op")
    print(f"backward  {timed_part(chain, 20000, 200):7.2f} us/node (chain of 200)")
    print(f"fanout    {timed_part(fanout, 10000, 100):7.2f} us/node (100 readers of one leaf)")
    print(f"leafgrad  {timed_part(leafgrad, 200, 1):7.2f} us/backward (784x256 weight)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
