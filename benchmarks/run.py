"""nnlab against PyTorch on the same workloads, in one run: ``python -m benchmarks.run``.

Method (timings on shared 2-core machines are noisy, so every figure is a median and every ratio
compares numbers taken minutes apart, never across runs):

* both frameworks use the same thread count: PyTorch gets as many threads as NumPy's BLAS uses;
* each side first warms up (caches, allocator, lazy imports) and the warm-up sets how many steps make
  one timed block (about ``--block`` seconds);
* timed blocks alternate nnlab, PyTorch, PyTorch, nnlab, ... so drift hits both sides alike;
* throughput is the median over ``--repeats`` blocks; ratio = nnlab median / PyTorch median
  (above 1 means nnlab is faster; for memory rows below 1 means nnlab uses less);
* peak memory of a training workload is ``VmHWM`` of a fresh child process that imports only the
  framework it measures and runs only that workload;
* workloads 1 and 2 also time a hand-written NumPy reference of the same step (no autograd) in the
  same alternation: the nnlab/ref column is what nnlab's abstraction costs;
* OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE are removed for this run (see SCRUBBED_VARS); the header
  prints the BLAS kernel and thread count then in use.

Options: ``--quick`` (short blocks), ``--repeats N``, ``--only W`` (workload number(s), e.g. ``2`` or
``1,3``), ``--no-memory``, ``--json PATH``.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import gc
import importlib.util
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from typing import Callable

# Measure as users run: some machines set OPENBLAS_CORETYPE (and OPENBLAS_L2_SIZE), which forces
# older OpenBLAS kernels (Haswell/AVX2 on an AVX-512 CPU: half the one-thread GEMM rate) that a
# user's machine would not pick. OpenBLAS reads them once, when NumPy loads it, so a run started
# with them set starts itself again without them (this run and its children only; tests and CI
# keep the environment as it is). The header says what was removed.
SCRUBBED_VARS = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")
if __name__ == "__main__" and any(v in os.environ for v in SCRUBBED_VARS):
    _removed = {v: os.environ.pop(v) for v in SCRUBBED_VARS if v in os.environ}
    os.environ["NNLAB_BENCH_SCRUBBED"] = ",".join(f"{k}={v}" for k, v in _removed.items())
    os.execv(sys.executable, [sys.executable, "-m", "benchmarks.run"] + sys.argv[1:])

import numpy as np  # noqa: E402  (after the environment is settled)

from benchmarks import workloads as W  # noqa: E402


# ---- the rows of the table -------------------------------------------------------------
@dataclass
class Row:
    key: str  # "1a", "3i", ...: the first character is the workload number
    name: str
    unit: str
    nnlab: Callable | None = None  # builder -> Case, or (Case, flops)
    torch: Callable | None = None
    floor: float | None = None  # required nnlab/torch ratio (speed: >=; memory: <=)
    reference: Callable | None = None  # hand-written NumPy code of the same step (no autograd)
    memory: bool = False  # also measure peak RSS of a child running it
    higher_is_better: bool = True
    result: dict = field(default_factory=dict)


# Targets: nnlab at least level with PyTorch everywhere, 1.2x where it led before (1a, 2, 3i);
# peak memory at most PyTorch's; at least 0.9 of the hand-written NumPy reference (workloads 1, 2);
# convolution forward at least 60% of NumPy's GEMM rate (workload 6).
MEMORY_FLOOR = 1.0
REFERENCE_FLOOR = 0.9
GEMM_FRACTION_FLOOR = 0.6


def speed_rows() -> list[Row]:
    return [
        Row(
            "1a",
            "MLP 784-256-256-10 train, batch 128",
            "samples/s",
            lambda: W.w1_nnlab(128),
            lambda: W.w1_torch(128),
            1.2,
            memory=True,
            reference=lambda: W.w1_numpy(128),
        ),
        Row(
            "1b",
            "MLP 784-256-256-10 train, batch 32",
            "samples/s",
            lambda: W.w1_nnlab(32),
            lambda: W.w1_torch(32),
            1.0,
            memory=True,
            reference=lambda: W.w1_numpy(32),
        ),
        Row(
            "2",
            "digits 784-16-16-10 sigmoid+MSE train, batch 10",
            "samples/s",
            W.w2_nnlab,
            W.w2_torch,
            1.2,
            memory=True,
            reference=W.w2_numpy,
        ),
        Row(
            "3t",
            "CNN 1x28x28 train, batch 64",
            "samples/s",
            lambda: W.w3_nnlab(True),
            lambda: W.w3_torch(True),
            1.0,
            memory=True,
        ),
        Row(
            "3i",
            "CNN 1x28x28 inference, batch 64",
            "samples/s",
            lambda: W.w3_nnlab(False),
            lambda: W.w3_torch(False),
            1.2,
        ),
        Row("4", "CIFAR-shaped CNN + BN train, batch 64", "samples/s", W.w4_nnlab, W.w4_torch, 1.0, memory=True),
    ]


def throughput_rows() -> list[Row]:
    """Workload 6: rows whose builders return (Case, flops); the figure is GFLOP/s.

    Per convolution of workload 3: the GEMM of its im2col shape on ready operands (NumPy; the
    torch column is torch.mm of the same shape), the forward, and the backward (dX, dW, db)."""
    rows = [Row("6g", f"float32 GEMM {W.GEMM_N}^3 (nnlab column: NumPy)", "GFLOP/s", W.gemm_numpy, W.gemm_torch)]
    for i, (name, shape, cout) in enumerate(W.CONV_LAYERS):
        k = f"{i + 1}"
        m = f"({cout}, {shape[1] * 9}) @ ({shape[1] * 9}, {shape[0] * shape[2] * shape[3]})"
        rows.append(
            Row(
                f"6s{k}",
                f"GEMM {m}, {name}'s shape (nnlab column: NumPy)",
                "GFLOP/s",
                (lambda i=i: W.conv_gemm_numpy(i)),
                (lambda i=i: W.conv_gemm_torch(i)),
            )
        )
        rows.append(
            Row(
                f"6c{k}",
                f"conv2d forward, workload 3 {name}",
                "GFLOP/s",
                (lambda i=i: W.conv_nnlab(i)),
                (lambda i=i: W.conv_torch(i)),
            )
        )
        rows.append(
            Row(
                f"6b{k}",
                f"conv2d backward (dX, dW, db), workload 3 {name}",
                "GFLOP/s",
                (lambda i=i: W.conv_backward_nnlab(i)),
                (lambda i=i: W.conv_backward_torch(i)),
            )
        )
    return rows


# ---- environment ---------------------------------------------------------------------------
def blas_threads() -> int:
    """Threads NumPy's BLAS uses (threadpoolctl when present, else the CPU count)."""
    try:
        from threadpoolctl import threadpool_info

        n = [i["num_threads"] for i in threadpool_info() if i.get("user_api") == "blas"]
        if n:
            return int(n[0])
    except Exception:  # threadpoolctl missing or unable to inspect: fall back
        pass
    return os.cpu_count() or 1


_LIMITER = None


def limit_blas(n: int) -> None:
    """Pin NumPy's BLAS (and this process's OpenMP) to ``n`` threads, here and in children."""
    global _LIMITER
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(n)
    try:
        from threadpoolctl import threadpool_limits

        _LIMITER = threadpool_limits(n)
    except ImportError:
        pass
    from nnlab.engine import parallel  # nnlab's split memory passes follow the same count

    parallel.set_num_threads(n)


def import_torch(threads: int):
    try:
        import torch
    except ImportError:
        return None
    torch.set_num_threads(threads)
    try:
        torch.set_num_interop_threads(threads)
    except RuntimeError:  # already set (only allowed once per process)
        pass
    return torch


def machine_info(torch) -> dict:
    cpu = "unknown"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    blas, kernel = "unknown", "unknown"
    try:
        from threadpoolctl import threadpool_info

        b = [i for i in threadpool_info() if i.get("user_api") == "blas"]
        if b:
            kernel = str(b[0].get("architecture"))
            blas = f"{b[0]['internal_api']} {b[0].get('version')} ({kernel})"
    except Exception:
        pass
    scrubbed = os.environ.get("NNLAB_BENCH_SCRUBBED")
    return {
        "date": _dt.date.today().isoformat(),
        "nproc": os.cpu_count(),
        "cpu": cpu,
        "python": platform.python_version(),
        "numpy": np.__version__,
        "torch": torch.__version__ if torch is not None else None,
        "blas": blas,
        "blas_kernel": kernel,
        "threads": blas_threads(),  # after any --threads limit
        "env_removed": scrubbed or "none set",
        "loadavg_at_start": [round(x, 2) for x in os.getloadavg()],
    }


# ---- timing ---------------------------------------------------------------------------------
def measure(cases: dict, repeats: int, block_s: float, warmup_s: float, pause: float = 0.1) -> dict:
    """Median throughput (``case.samples`` per second) of each case, blocks alternating.

    Returns {name: {"median": ..., "runs": [...], "steps": steps per block}}.
    """
    steps = {}
    for name, case in cases.items():
        n, t0 = 0, time.perf_counter()
        while n < 2 or time.perf_counter() - t0 < warmup_s:
            case.step()
            n += 1
        per_step = (time.perf_counter() - t0) / n
        steps[name] = max(1, int(round(block_s / per_step)))
    runs = {name: [] for name in cases}
    names = list(cases)
    for r in range(repeats):
        for name in names if r % 2 == 0 else names[::-1]:
            case, k = cases[name], steps[name]
            gc.collect()
            # Idle BLAS/OpenMP worker threads of the block just timed keep spinning for a while
            # and would steal the cores of the other framework's block: let them go to sleep.
            time.sleep(pause)
            t0 = time.perf_counter()
            for _ in range(k):
                case.step()
            dt = time.perf_counter() - t0
            runs[name].append(case.samples * k / dt)
    return {name: {"median": statistics.median(v), "runs": v, "steps": steps[name]} for name, v in runs.items()}


def _build(builder):
    """(case, None) or (None, reason)."""
    try:
        out = builder()
    except W.Missing as e:
        return None, f"n/a (missing: {e})"
    except Exception as e:  # a layer exists but fails: report it instead of stopping the suite
        return None, f"error: {type(e).__name__}: {e}"[:160]
    if isinstance(out, tuple):  # (Case, flops): the figure becomes GFLOP/s
        case, flops = out
        case.samples = flops / 1e9
        return case, None
    return out, None


def run_speed(row: Row, torch, repeats, block_s, warmup_s) -> None:
    cases, res = {}, row.result
    case, why = _build(row.nnlab)
    if case is None:
        res["nnlab_note"] = why
    else:
        cases["nnlab"] = case
        if case.dtype != "float32":
            res["note"] = f"nnlab output is {case.dtype}, not float32"
    if torch is None:
        res["torch_note"] = "torch missing"
    else:
        tcase, why = _build(row.torch)
        if tcase is None:
            res["torch_note"] = why
        else:
            cases["torch"] = tcase
    if row.reference is not None:
        rcase, why = _build(row.reference)
        if rcase is None:
            res["reference_note"] = why
        else:
            cases["reference"] = rcase
    if cases:
        m = measure(cases, repeats, block_s, warmup_s)
        for name, v in m.items():
            res[name] = v["median"]
            res[f"{name}_runs"] = v["runs"]


# ---- memory: one fresh child per (workload, framework) --------------------------------------
def _status_kb(field: str) -> int:
    """A VmRSS/VmHWM figure of this process in KiB.

    VmHWM (peak RSS) belongs to the address space, so it starts afresh at exec; ``ru_maxrss`` does
    not: a child forked from this process (which has PyTorch loaded) would inherit its peak.
    """
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def child_memory(key: str, framework: str, steps: int, threads: int) -> None:
    """Run in a child: build one workload for one framework, run ``steps`` steps, print JSON."""
    if framework == "torch":
        import_torch(threads)
    else:
        import nnlab  # noqa: F401  (count the import in the baseline, as torch's is)
    base = _status_kb("VmRSS")
    row = next(r for r in speed_rows() if r.key == key)
    case, why = _build(row.nnlab if framework == "nnlab" else row.torch)
    if case is None:
        print(json.dumps({"error": why}))
        return
    for _ in range(steps):
        case.step()
    peak = _status_kb("VmHWM")
    print(json.dumps({"peak_mb": peak / 1024, "base_mb": base / 1024}))


def measure_memory(key: str, framework: str, steps: int, threads: int) -> dict:
    cmd = [
        sys.executable,
        "-m",
        "benchmarks.run",
        "--child",
        key,
        framework,
        "--child-steps",
        str(steps),
        "--threads",
        str(threads),
    ]
    p = subprocess.run(cmd, capture_output=True, text=True, cwd=_repo_root(), timeout=600)
    try:
        return json.loads(p.stdout.strip().splitlines()[-1])
    except (IndexError, json.JSONDecodeError):
        return {"error": f"child failed: {p.stderr.strip().splitlines()[-1:] or p.returncode}"}


def _repo_root() -> str:
    return os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


# ---- workload 5: the main job end to end ------------------------------------------------------
def run_main_job(timeout: float) -> dict:
    """``nnlab train`` with its defaults in a scratch directory: wall time and peak RSS of the child."""
    if importlib.util.find_spec("nnlab.cli.main") is None:
        return {"error": "n/a (missing: nnlab train CLI)"}
    # The job's own process writes its VmHWM at exit (see _status_kb for why not ru_maxrss).
    code = (
        "import atexit, sys\n"
        "def hwm():\n"
        "    for line in open('/proc/self/status'):\n"
        "        if line.startswith('VmHWM:'):\n"
        "            open('peak_kb', 'w').write(line.split()[1])\n"
        "atexit.register(hwm)\n"
        "from nnlab.cli.main import main\n"
        "sys.argv = ['nnlab', 'train']\n"
        "r = main()\n"
        "sys.exit(r if isinstance(r, int) else 0)\n"
    )
    with tempfile.TemporaryDirectory(prefix="nnlab-bench-") as tmp:
        log = open(os.path.join(tmp, "log.txt"), "w+")
        env = dict(os.environ, PYTHONPATH=_repo_root() + os.pathsep + os.environ.get("PYTHONPATH", ""))
        t0 = time.perf_counter()
        p = subprocess.Popen([sys.executable, "-c", code], cwd=tmp, stdout=log, stderr=subprocess.STDOUT, env=env)
        timer = threading.Timer(timeout, p.kill)
        timer.start()
        p.wait()
        wall = time.perf_counter() - t0
        timer.cancel()
        if p.returncode != 0:
            log.seek(0)
            tail = log.read().strip().splitlines()[-1:] or [""]
            return {"error": f"exit {p.returncode}: {tail[0][:120]}"}
        with open(os.path.join(tmp, "peak_kb")) as f:
            peak_kb = int(f.read())
        return {"wall_s": wall, "peak_mb": peak_kb / 1024}


# ---- report ------------------------------------------------------------------------------------
def _fmt(v) -> str:
    if v is None:
        return "-"
    if isinstance(v, str):
        return v
    if v >= 1000:
        return f"{v:,.0f}"
    if v >= 100:
        return f"{v:.0f}"
    return f"{v:.3g}" if v < 10 else f"{v:.1f}"


TABLE_HEAD = ["workload", "unit", "nnlab", "torch", "ratio", "floor", "met?", "NumPy ref", "nnlab/ref", "met? (>= 0.9)"]


def table_cells(e: dict) -> list[str]:
    has_ref = e.get("reference") is not None
    return [
        e["key"] + " " + e["name"],
        e["unit"],
        _fmt(e.get("nnlab")),
        _fmt(e.get("torch")),
        _fmt(e.get("ratio")) if e.get("ratio") is not None else "-",
        e.get("floor_text", "-"),
        e.get("met_text", "-"),
        _fmt(e.get("reference")) if has_ref else "-",
        _fmt(e.get("ref_ratio")) if e.get("ref_ratio") is not None else "-",
        e.get("ref_met_text", "-"),
    ]


def table_lines(entries: list[dict]) -> list[str]:
    head = TABLE_HEAD
    body = [table_cells(e) for e in entries]
    widths = [max(len(r[i]) for r in body + [head]) for i in range(len(head))]
    fmt = lambda r: "  ".join(c.ljust(w) if i < 2 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths)))
    lines = [fmt(head), "  ".join("-" * w for w in widths)] + [fmt(r) for r in body]
    notes = [f"  {e['key']}: {e['note']}" for e in entries if e.get("note")]
    if notes:
        lines += ["", "notes:"] + notes
    return lines


def _entry(key, name, unit, nn_v, th_v, floor=None, higher=True, note=None, ref_v=None) -> dict:
    e = {"key": key, "name": name, "unit": unit, "nnlab": nn_v, "torch": th_v, "note": note}
    if isinstance(nn_v, (int, float)) and isinstance(th_v, (int, float)) and th_v > 0:
        e["ratio"] = nn_v / th_v
    if ref_v is not None:
        e["reference"] = ref_v
        if isinstance(nn_v, (int, float)) and isinstance(ref_v, (int, float)) and ref_v > 0:
            e["ref_ratio"] = nn_v / ref_v
            e["ref_met"] = e["ref_ratio"] >= REFERENCE_FLOOR
            e["ref_met_text"] = "yes" if e["ref_met"] else "NO"
    if floor is not None:
        e["floor"] = floor
        e["floor_text"] = (">= " if higher else "<= ") + f"{floor:g}"
        if "ratio" in e:
            met = e["ratio"] >= floor if higher else e["ratio"] <= floor
            e["met"] = met
            e["met_text"] = "yes" if met else "NO"
    return e


def run_throughput(torch, repeats, block_s, warmup_s) -> list[dict]:
    """Workload 6 rows, then per convolution the forward's share of NumPy's GEMM rate (at the
    layer's own im2col shape, and at 1024^3), the target being 60% of the former."""
    out, rates = [], {}
    for row in throughput_rows():
        run_speed(row, torch, repeats, block_s, warmup_s)
        r = row.result
        nn_v = r.get("nnlab", r.get("nnlab_note"))
        th_v = r.get("torch", r.get("torch_note"))
        rates[row.key] = (r.get("nnlab"), r.get("torch"))
        note = r.get("note")
        if row.key == "6g" and r.get("nnlab_runs"):
            note = f"best block {max(r['nnlab_runs']):.0f} GFLOP/s (medians suffer from other load)"
        out.append(_entry(row.key, row.name, row.unit, nn_v, th_v, note=note))
        print("  " + table_lines(out[-1:])[2], flush=True)
        if row.key.startswith("6b"):
            k = row.key[2:]
            conv_nn, conv_th = rates.get(f"6c{k}", (None, None))
            gemm_nn, gemm_th = rates.get(f"6s{k}", (None, None))
            square = rates.get("6g", (None, None))[0]
            if isinstance(conv_nn, float) and isinstance(gemm_nn, float):
                frac = conv_nn / gemm_nn
                th_frac = conv_th / gemm_th if isinstance(conv_th, float) and isinstance(gemm_th, float) else None
                note = (
                    f"nnlab conv forward {conv_nn:.0f} GFLOP/s = {100 * frac:.0f}% of NumPy's "
                    f"GEMM at the layer's shape ({gemm_nn:.0f})"
                    + (
                        f", {100 * conv_nn / square:.0f}% of its {W.GEMM_N}^3 rate ({square:.0f})"
                        if isinstance(square, float)
                        else ""
                    )
                    + (f"; torch: {100 * th_frac:.0f}% of torch.mm at that shape" if th_frac else "")
                )
                e = {
                    "key": f"6f{k}",
                    "name": f"conv2d forward / NumPy GEMM at the layer's shape, "
                    f"workload 3 {W.CONV_LAYERS[int(k) - 1][0]}",
                    "unit": "fraction",
                    "nnlab": frac,
                    "torch": th_frac,
                    "note": note,
                    "floor": GEMM_FRACTION_FLOOR,
                    "floor_text": f">= {GEMM_FRACTION_FLOOR:g} (nnlab)",
                    "met": frac >= GEMM_FRACTION_FLOOR,
                }
                e["met_text"] = "yes" if e["met"] else "NO"
                out.append(e)
                print("  " + table_lines(out[-1:])[2], flush=True)
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.run", description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="short warm-up and blocks (noisier)")
    ap.add_argument("--repeats", type=int, default=None, help="timed blocks per framework (default 7, quick 5)")
    ap.add_argument("--only", default=None, help="workload numbers to run, e.g. 2 or 1,3")
    ap.add_argument("--no-memory", action="store_true", help="skip the peak-RSS children and workload 5")
    ap.add_argument("--json", default=os.path.join("runs", "bench", "latest.json"), help="where to write the results")
    ap.add_argument("--block", type=float, default=None, help="seconds per timed block")
    ap.add_argument(
        "--threads",
        type=int,
        default=None,
        help="pin both frameworks to N threads (default: NumPy's BLAS count); on a loaded "
        "machine --threads 1 gives steadier ratios",
    )
    ap.add_argument("--child", nargs=2, default=None, help=argparse.SUPPRESS)
    ap.add_argument("--child-steps", type=int, default=20, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    __import__("nnlab").tune_allocator()  # as the nnlab command does (docs/benchmarks.md)

    threads = args.threads or blas_threads()
    if args.threads:
        limit_blas(args.threads)
    if args.child:
        child_memory(args.child[0], args.child[1], args.child_steps, threads)
        return 0

    repeats = args.repeats or (5 if args.quick else 7)
    block_s = args.block or (0.25 if args.quick else 1.0)
    warmup_s = 0.2 if args.quick else 1.0
    only = set(args.only.replace(" ", "").split(",")) if args.only else None
    wanted = lambda key: only is None or key[0] in only

    torch = import_torch(threads)
    info = machine_info(torch)
    print(f"nnlab vs PyTorch  {info['date']}  {info['nproc']} CPUs ({info['cpu']}), {threads} threads each")
    print(
        f"NumPy {info['numpy']} (BLAS {info['blas']}), PyTorch {info['torch'] or 'MISSING'}, "
        f"Python {info['python']}; medians of {repeats} alternating blocks of ~{block_s:g} s"
    )
    print(
        f"BLAS kernel {info['blas_kernel']}, {info['threads']} threads (threadpoolctl); "
        f"removed from this run's environment: {info['env_removed']}"
    )
    print(
        f"load average at start: {info['loadavg_at_start']} (other processes slow both sides, "
        "PyTorch's OpenMP threads most)"
    )
    if torch is None:
        print("PyTorch is not installed: nnlab figures only (make bench installs torch==2.13.0).")
    print(flush=True)

    entries = []
    for row in speed_rows():
        if not wanted(row.key):
            continue
        run_speed(row, torch, repeats, block_s, warmup_s)
        r = row.result
        nn_v = r.get("nnlab", r.get("nnlab_note"))
        th_v = r.get("torch", r.get("torch_note"))
        ref_v = r.get("reference", r.get("reference_note")) if row.reference else None
        entries.append(_entry(row.key, row.name, row.unit, nn_v, th_v, row.floor, note=r.get("note"), ref_v=ref_v))
        entries[-1]["runs"] = {k: r[k] for k in ("nnlab_runs", "torch_runs", "reference_runs") if k in r}
        print("  " + table_lines(entries[-1:])[2], flush=True)
        if row.memory and not args.no_memory:
            steps = 10 if args.quick else 30
            mem = {
                fw: measure_memory(row.key, fw, steps, threads)
                for fw in (["nnlab", "torch"] if torch is not None else ["nnlab"])
            }
            get = lambda fw: mem[fw].get("peak_mb", mem[fw].get("error")) if fw in mem else "torch missing"
            note = None
            if all("base_mb" in mem.get(fw, {}) for fw in ("nnlab", "torch")):
                note = (
                    "peak RSS above the post-import baseline: nnlab "
                    f"{mem['nnlab']['peak_mb'] - mem['nnlab']['base_mb']:.0f} MB, torch "
                    f"{mem['torch']['peak_mb'] - mem['torch']['base_mb']:.0f} MB"
                )
            entries.append(
                _entry(
                    row.key, row.name, "peak RSS MB", get("nnlab"), get("torch"), MEMORY_FLOOR, higher=False, note=note
                )
            )
            print("  " + table_lines(entries[-1:])[2], flush=True)

    if wanted("5") and not args.no_memory:
        job = run_main_job(timeout=1800)
        name = "main job: nnlab train (defaults), end to end"
        if "error" in job:
            entries.append(_entry("5", name, "wall s", job["error"], "no equivalent"))
        else:
            entries.append(_entry("5", name, "wall s", job["wall_s"], "no equivalent"))
            entries.append(_entry("5", name, "peak RSS MB", job["peak_mb"], "no equivalent"))
        print("  " + table_lines(entries[-1:])[2], flush=True)

    if wanted("5") and not args.no_memory:
        # The babysitting monitors are on by default in `nnlab train`; their cost must stay < 10%.
        from nnlab.diagnostics.overhead import measure_overhead

        name = "default monitors' overhead on nnlab train (cnn defaults: 4000 digits, 10 epochs)"
        try:
            r = measure_overhead("cnn", repeats=3 if args.quick else 5)
            note = (
                f"A/B CPU time {100 * r['ab_overhead']:+.1f}% ({r['plain_seconds']:.2f} s -> "
                f"{r['monitored_seconds']:.2f} s); one-off end-of-run writing {r['end_of_run_seconds']:.2f} s; "
                f"instrumented total {100 * r['total_overhead']:.1f}%"
            )
            entries.append(
                _entry("5m", name, "% of step time", round(100 * r["per_step_overhead"], 2), "no equivalent", note=note)
            )
        except Exception as exc:  # a broken monitor must not hide the other figures
            entries.append(_entry("5m", name, "% of step time", f"error: {exc}", "no equivalent"))
        print("  " + table_lines(entries[-1:])[2], flush=True)

    if wanted("7"):  # KAN [64,64,10] step against an equal-parameter MLP, both nnlab (benchmarks/kan_step.py)
        from benchmarks import kan_step

        r = kan_step.measure(repeats, block_s, warmup_s)
        entries.append(
            _entry(
                "7",
                "KAN [64,64,10] train step / equal-parameter MLP (both nnlab), batch 1024",
                "ms/step",
                round(r["wall_ms"]["kan"], 2),
                round(r["wall_ms"]["mlp"], 2),
                10,
                higher=False,
                note="torch column: the nnlab MLP; " + kan_step.describe(r),
            )
        )
        print("  " + table_lines(entries[-1:])[2], flush=True)

    if wanted("6"):
        entries += run_throughput(torch, repeats, min(block_s, 0.5), warmup_s)

    if wanted("8"):  # the playground: steps/s with its page streaming vs none, step-to-frame delay
        from benchmarks.playground import bench_entries

        for e in bench_entries(_entry, quick=args.quick):
            entries.append(e)
            print("  " + table_lines(entries[-1:])[2], flush=True)

    print()
    print("\n".join(table_lines(entries)))
    if args.json:
        path = args.json
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        with open(path, "w") as f:
            json.dump(
                {
                    "machine": info,
                    "repeats": repeats,
                    "block_s": block_s,
                    "command": "python -m benchmarks.run " + " ".join(argv if argv is not None else sys.argv[1:]),
                    "rows": entries,
                },
                f,
                indent=1,
            )
        print(f"\nwritten: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
