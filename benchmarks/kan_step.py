"""A KAN training step against an MLP with the same parameter count, both in nnlab.

[64, 64, 10] KAN (grid 5, cubic: 10 parameters per edge, 47,360 in all) against a 64-H-10 ReLU MLP
with H chosen for the same count, batch 1024, float32, Adam, MSE on random targets. Steps alternate
(KAN block, MLP block, MLP block, KAN block, ...); each block is timed in wall and process CPU time;
the figures are medians and the ratio is KAN step time / MLP step time.

    .venv/bin/python -m benchmarks.kan_step [--repeats 7] [--block 1.0]
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np


def build(batch: int = 1024, width=(64, 64, 10)):
    """{"kan": step, "mlp": step} and the two parameter counts."""
    import nnlab
    import nnlab.nn as nn
    import nnlab.nn.functional as F

    nnlab.manual_seed(0)
    kan = nn.KAN(list(width), grid=5, k=3)
    n_kan = kan.num_parameters()
    d_in, d_out = width[0], width[-1]
    hidden = round((n_kan - d_out) / (d_in + 1 + d_out))
    mlp = nn.Sequential(nn.Linear(d_in, hidden), nn.ReLU(), nn.Linear(hidden, d_out))
    rng = np.random.default_rng(0)
    x = nnlab.tensor(rng.uniform(-1, 1, (batch, d_in)).astype(np.float32))
    y = nnlab.tensor(rng.standard_normal((batch, d_out)).astype(np.float32))
    steps = {}
    for name, model in (("kan", kan), ("mlp", mlp)):
        opt = nnlab.optim.Adam(model.parameters(), lr=1e-3)

        def step(model=model, opt=opt):
            opt.zero_grad()
            loss = F.mse_loss(model(x), y)
            loss.backward()
            opt.step()

        steps[name] = step
    return steps, n_kan, mlp.num_parameters(), hidden


def measure(repeats: int = 7, block_s: float = 1.0, warmup_s: float = 1.0, batch: int = 1024) -> dict:
    steps, n_kan, n_mlp, hidden = build(batch)
    per_block = {}
    for name, step in steps.items():
        n, t0 = 0, time.perf_counter()
        while n < 2 or time.perf_counter() - t0 < warmup_s:
            step()
            n += 1
        per_block[name] = max(1, round(block_s / ((time.perf_counter() - t0) / n)))
    wall = {k: [] for k in steps}
    cpu = {k: [] for k in steps}
    order = list(steps)
    for r in range(repeats):
        for name in order if r % 2 == 0 else order[::-1]:
            k = per_block[name]
            w0, c0 = time.perf_counter(), time.process_time()
            for _ in range(k):
                steps[name]()
            wall[name].append((time.perf_counter() - w0) / k * 1e3)
            cpu[name].append((time.process_time() - c0) / k * 1e3)
    med = lambda v: statistics.median(v)  # noqa: E731
    return {
        "params": {"kan": n_kan, "mlp": n_mlp, "mlp_hidden": hidden},
        "batch": batch,
        "wall_ms": {k: med(v) for k, v in wall.items()},
        "cpu_ms": {k: med(v) for k, v in cpu.items()},
        "ratio_wall": med(wall["kan"]) / med(wall["mlp"]),
        "ratio_cpu": med(cpu["kan"]) / med(cpu["mlp"]),
    }


def describe(r: dict) -> str:
    p = r["params"]
    return (
        f"KAN [64,64,10] ({p['kan']} params) {r['wall_ms']['kan']:.1f} ms wall / {r['cpu_ms']['kan']:.1f} ms CPU "
        f"per step; MLP 64-{p['mlp_hidden']}-10 ({p['mlp']} params) {r['wall_ms']['mlp']:.1f} / "
        f"{r['cpu_ms']['mlp']:.1f} ms; KAN/MLP step time {r['ratio_wall']:.2f}x wall, {r['ratio_cpu']:.2f}x CPU"
    )


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.kan_step", description=__doc__.split("\n")[0])
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--block", type=float, default=1.0)
    args = ap.parse_args(argv)
    print(describe(measure(args.repeats, args.block)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
