"""A/B of one workload's nnlab training step between a git revision and the working tree:
``python -m benchmarks.ab_step HEAD~1 2 [--blocks 20]``.

Both versions run in one process: ``nnlab`` and ``benchmarks`` of the revision (``git archive`` into
a temporary directory) and of the working tree are imported one after the other, each building its
own case, and blocks of steps alternate between them (old-new, new-old, ...), so that load on a
shared machine falls on both alike. One BLAS thread; prints the median per-step CPU time
(``time.process_time``) and wall time of each and their ratio.
"""

from __future__ import annotations

import argparse
import importlib
import os
import statistics
import subprocess
import sys
import tempfile
import time

_PKGS = ("nnlab", "benchmarks")


def _load(root: str, key: str):
    """Import nnlab and benchmarks from ``root`` (forgetting any loaded copy) and build the case."""
    for m in [m for m in sys.modules if m.split(".")[0] in _PKGS]:
        del sys.modules[m]
    sys.path.insert(0, root)
    try:
        nnlab = importlib.import_module("nnlab")
        nnlab.tune_allocator()
        parallel = importlib.import_module("nnlab.engine.parallel")
        parallel.set_num_threads(1)
        run = importlib.import_module("benchmarks.run")
        row = next(r for r in run.speed_rows() if r.key == key)
        case = row.nnlab()
        if not os.path.realpath(nnlab.__file__).startswith(os.path.realpath(root)):
            raise RuntimeError(f"imported {nnlab.__file__}, not the copy in {root}")
        return case
    finally:
        sys.path.remove(root)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.ab_step")
    ap.add_argument("rev", help="git revision to compare the working tree with (old)")
    ap.add_argument("key", help="workload row key: 1a 1b 2 3t 3i 4")
    ap.add_argument("--blocks", type=int, default=20)
    ap.add_argument("--seconds", type=float, default=0.2, help="length of one block")
    args = ap.parse_args(argv)
    import numpy  # noqa: F401  (loaded first, so that threadpoolctl finds its BLAS)
    from threadpoolctl import threadpool_limits

    threadpool_limits(1)
    top = subprocess.run(["git", "rev-parse", "--show-toplevel"], capture_output=True, text=True, check=True)
    top = top.stdout.strip()
    with tempfile.TemporaryDirectory() as tmp:
        old_root, new_root = os.path.join(tmp, "old"), os.path.join(tmp, "new")
        os.makedirs(old_root)
        archive = subprocess.run(["git", "-C", top, "archive", args.rev, *_PKGS], capture_output=True, check=True)
        subprocess.run(["tar", "-x", "-C", old_root], input=archive.stdout, check=True)
        os.symlink(top, new_root)
        cases = {"old": _load(old_root, args.key), "new": _load(new_root, args.key)}
        for c in cases.values():
            for _ in range(50):
                c.step()
        t0 = time.perf_counter()
        for _ in range(20):
            cases["new"].step()
        n = max(10, int(args.seconds / ((time.perf_counter() - t0) / 20)))
        cpu = {k: [] for k in cases}
        wall = {k: [] for k in cases}
        for b in range(args.blocks):
            for k in ("old", "new") if b % 2 == 0 else ("new", "old"):
                step = cases[k].step
                c0, w0 = time.process_time(), time.perf_counter()
                for _ in range(n):
                    step()
                cpu[k].append((time.process_time() - c0) / n)
                wall[k].append((time.perf_counter() - w0) / n)
    co, cn = statistics.median(cpu["old"]), statistics.median(cpu["new"])
    wo, wn = statistics.median(wall["old"]), statistics.median(wall["new"])
    ratios = sorted(b / a for a, b in zip(cpu["old"], cpu["new"]))
    q = len(ratios) // 4
    print(f"workload {args.key}: {args.rev} (old) vs working tree (new), {args.blocks} alternating blocks of {n} steps")
    print(
        f"  CPU  old {co * 1e6:8.1f} us  new {cn * 1e6:8.1f} us  new/old {cn / co:.3f} "
        f"(per-block ratios: median {statistics.median(ratios):.3f}, IQR {ratios[q]:.3f}-{ratios[-q - 1]:.3f})"
    )
    print(f"  wall old {wo * 1e6:8.1f} us  new {wn * 1e6:8.1f} us  new/old {wn / wo:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
