"""Profile one workload's nnlab training step: ``python -m benchmarks.profile_step 2``.

Prints the median time per step, then a cProfile table (own time per function, per step) or, with
``--pyinstrument``, a call tree. Used to find per-op Python overhead in the engine.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import statistics
import sys
import time

from benchmarks import run as bench


def time_step(step, n: int, repeats: int = 7, clock=time.perf_counter) -> float:
    """Median seconds per step over ``repeats`` blocks of ``n`` steps."""
    out = []
    for _ in range(repeats):
        t0 = clock()
        for _ in range(n):
            step()
        out.append((clock() - t0) / n)
    return statistics.median(out)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.profile_step")
    ap.add_argument("key", help="workload row key: 1a 1b 2 3t 3i 4")
    ap.add_argument("--steps", type=int, default=None)
    ap.add_argument("--top", type=int, default=25)
    ap.add_argument("--pyinstrument", action="store_true")
    ap.add_argument(
        "--cpu",
        action="store_true",
        help="time with process CPU time (steadier on a loaded machine; counts all threads)",
    )
    ap.add_argument("--no-profile", action="store_true")
    args = ap.parse_args(argv)
    __import__("nnlab").tune_allocator()  # as the nnlab command does (docs/benchmarks.md)
    row = next(r for r in bench.speed_rows() if r.key == args.key)
    case = row.nnlab()
    for _ in range(20):
        case.step()
    clock = time.process_time if args.cpu else time.perf_counter
    per = time_step(case.step, 20, 1)
    n = args.steps or max(20, int(2.0 / per))
    per = time_step(case.step, n, clock=clock)
    print(
        f"workload {row.key} ({row.name}): {per * 1e6:.1f} us/step"
        f"{' CPU' if args.cpu else ''}, {case.samples / per:,.0f} samples/s (median of 7 x {n} steps)"
    )
    if args.no_profile:
        return 0
    if args.pyinstrument:
        from pyinstrument import Profiler

        prof = Profiler(interval=0.0001)
        prof.start()
        for _ in range(n):
            case.step()
        prof.stop()
        print(prof.output_text(unicode=False, color=False, show_all=False))
        return 0
    pr = cProfile.Profile()
    pr.enable()
    for _ in range(n):
        case.step()
    pr.disable()
    st = pstats.Stats(pr, stream=sys.stdout)
    print(f"cProfile over {n} steps (times include profiler overhead; divide by {n} for per step):")
    st.sort_stats("tottime").print_stats(args.top)
    return 0


if __name__ == "__main__":
    sys.exit(main())
