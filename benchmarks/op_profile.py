"""Per-op CPU time of one workload's nnlab training step: ``python -m benchmarks.op_profile 3t``.

Every gate's forward and backward (the ``Function`` subclasses of ``nnlab.engine.ops``) is wrapped
with a process-CPU-time clock, keyed by gate, direction and input shape (so the layers of a
network show separately); the step runs with one BLAS thread (other processes on a shared machine
then change the figures far less than wall time). Prints the median per step of each key and what
the step spends outside the gates (autograd, optimizer, module calls). ``benchmarks.profile_step``
gives the cProfile view of the same step instead.
"""

from __future__ import annotations

import argparse
import collections
import importlib
import pkgutil
import statistics
import sys
import time

import numpy as np


def _gates():
    import nnlab.engine.ops as ops
    from nnlab.engine.function import Function

    for m in pkgutil.iter_modules(ops.__path__):
        importlib.import_module(f"nnlab.engine.ops.{m.name}")
    todo, seen = [Function], []
    while todo:
        for sub in todo.pop().__subclasses__():
            seen.append(sub)
            todo.append(sub)
    return seen


def instrument(totals: dict) -> None:
    """Wrap forward/backward of every gate so that each call adds its CPU time to ``totals``."""
    clock = time.process_time
    for cls in _gates():
        for meth in ("forward", "backward"):
            f = cls.__dict__.get(meth)
            if f is None:
                continue

            def timed(self, *args, _f=f, _meth=meth, **kwargs):
                t = clock()
                out = _f(self, *args, **kwargs)
                if _meth == "forward":
                    self._profile_key = "%s(%s)" % (
                        type(self).__name__,
                        ", ".join("x".join(map(str, a.shape)) for a in args if isinstance(a, np.ndarray)),
                    )
                totals[(getattr(self, "_profile_key", type(self).__name__), _meth)] += clock() - t
                return out

            setattr(cls, meth, timed)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.op_profile")
    ap.add_argument("key", help="workload row key: 1a 1b 2 3t 3i 4")
    ap.add_argument("--steps", type=int, default=20, help="timed steps (median per key)")
    ap.add_argument("--top", type=int, default=25)
    args = ap.parse_args(argv)
    __import__("nnlab").tune_allocator()  # as the nnlab command and benchmarks.run do (docs/benchmarks.md)
    from threadpoolctl import threadpool_limits
    from benchmarks import run as bench

    threadpool_limits(1)
    from nnlab.engine import parallel

    parallel.set_num_threads(1)  # one core in all: the memory passes unsplit too
    totals: dict = collections.defaultdict(float)
    instrument(totals)
    row = next(r for r in bench.speed_rows() if r.key == args.key)
    case = row.nnlab()
    for _ in range(3):
        case.step()
    per_key, steps = collections.defaultdict(list), []
    for _ in range(args.steps):
        totals.clear()
        t = time.process_time()
        case.step()
        steps.append(time.process_time() - t)
        for k, v in totals.items():
            per_key[k].append(v)
    step = statistics.median(steps)
    print(
        f"workload {row.key} ({row.name}): {step * 1e3:.2f} ms CPU per step, one BLAS thread (median of {args.steps})"
    )
    meds = sorted(((statistics.median(v), k) for k, v in per_key.items()), reverse=True)
    for m, (name, meth) in meds[: args.top]:
        print(f"  {m * 1e3:8.2f} ms  {100 * m / step:5.1f}%  {name}.{meth}")
    inside = sum(m for m, _ in meds)
    print(f"  {(step - inside) * 1e3:8.2f} ms  {100 * (step - inside) / step:5.1f}%  outside the gates")
    return 0


if __name__ == "__main__":
    sys.exit(main())
