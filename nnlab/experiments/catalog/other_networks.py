"""The essays' other networks (003): Hopfield's memories as energy minima and the capacity of Hebbian
storage, a KAN's learned edge functions (finer grids, higher cost per step), and the deep forest's
depth that grows with the data. The measurements come from the parts' own APIs (nnlab.hopfield,
nn.KAN, nnlab.forest); the figures and commands behind docs/hopfield.md, docs/kan.md and
docs/forest.md go further."""

from __future__ import annotations

import time

import numpy as np

import nnlab
from nnlab import nn
from nnlab.experiments.common import figure, save, seeded, spread_bars
from nnlab.experiments.registry import Experiment, all_of, register, threshold_verdict
from nnlab.hopfield import HopfieldNetwork
from nnlab.hopfield.experiments import CRITICAL_LOAD, capacity_curve
from nnlab.hopfield.patterns import flip_bits, random_patterns

SRC = "003"


# ---- Hopfield: memories are stable states, minima of an energy that updates never raise -------------
def _run_hopfield_energy(seed: int, quick: bool) -> dict:
    N, P, probes = (100, 5, 5) if quick else (400, 20, 20)
    X = random_patterns(P, N, seed=seed)
    net = HopfieldNetwork(N).store(X)
    rng = seeded(seed)
    rises, fixed, overlaps, trajectories = [], [], [], []
    for mu in range(probes):
        r = net.recall(flip_bits(X[mu], 0.2, rng), mode="async", seed=rng, record="flip")
        e = np.asarray(r.energies)
        rises.append(float(np.max(np.diff(e))) if len(e) > 1 else 0.0)
        fixed.append(net.is_fixed_point(r.state))
        overlaps.append(float(r.state @ X[mu] / N))
        if mu < 4:
            trajectories.append(e)
    return {
        "N": N,
        "patterns": P,
        "largest_energy_rise": max(rises),
        "stored_fixed_points": float(np.mean([net.is_fixed_point(x) for x in X])),
        "final_states_fixed": float(np.mean(fixed)),
        "mean_overlap_from_20pct_noise": float(np.mean(overlaps)),
        "_energies": trajectories,
    }


def _judge_hopfield_energy(runs):
    return all_of(
        [
            threshold_verdict(
                [r["largest_energy_rise"] for r in runs], "<=", 0.0, "largest energy change of one asynchronous flip"
            ),
            threshold_verdict(
                [r["stored_fixed_points"] for r in runs], "==", 1.0, "fraction of stored patterns that are fixed points"
            ),
            threshold_verdict(
                [r["mean_overlap_from_20pct_noise"] for r in runs],
                ">=",
                0.95,
                "mean overlap with the memory after recall from 20% flipped bits",
            ),
        ],
        "memories are stable minima that asynchronous updates descend to",
    )


def _plot_hopfield_energy(runs, out):
    fig, axes = figure(1, 1, size=(6.4, 3.6))
    ax = axes[0][0]
    for i, e in enumerate(runs[0]["_energies"]):
        ax.plot(np.arange(len(e)), e, label=f"probe {i}")
    ax.set_xlabel("asynchronous flips")
    ax.set_ylabel("energy E = -1/2 s^T W s")
    ax.set_title(f"recall from 20% flipped bits, N = {runs[0]['N']}, P = {runs[0]['patterns']}", fontsize=9)
    ax.legend(fontsize=7)
    return [save(fig, out, "energy")]


register(
    Experiment(
        name="hopfield_energy",
        source=SRC,
        heading="Hopfield 网络",
        claim=(
            "Memories are stable equilibria, minima of an Ising-like energy: asynchronous updates never raise "
            "the energy and carry a corrupted pattern back to the stored one."
        ),
        run=_run_hopfield_energy,
        judge=_judge_hopfield_energy,
        plot=_plot_hopfield_energy,
        tags=("hopfield",),
    )
)


# ---- Hopfield: Hebbian storage holds about 0.138 N random patterns --------------------------------------
_LOADS = (0.05, 0.10, CRITICAL_LOAD, 0.20, 0.30)


def _run_hopfield_capacity(seed: int, quick: bool) -> dict:
    N, probes = (200, 10) if quick else (400, 20)
    curve = capacity_curve(N, loads=_LOADS, seeds=(seed,), rule="hebb", noise=0.1, probes=probes)
    return {"N": N, **{f"{load:g}": float(v) for load, v in zip(_LOADS, curve["overlaps"][0])}}


def _judge_hopfield_capacity(runs):
    return all_of(
        [
            threshold_verdict([r["0.1"] for r in runs], ">=", 0.9, "mean recall overlap at 0.10 patterns per neuron"),
            threshold_verdict([r["0.2"] for r in runs], "<=", 0.7, "mean recall overlap at 0.20 patterns per neuron"),
        ],
        "recall from 10% flipped bits works below 0.138 N patterns and fails above",
    )


def _plot_hopfield_capacity(runs, out):
    fig, axes = figure(1, 1, size=(6.4, 3.6))
    ax = axes[0][0]
    for i, r in enumerate(runs):
        ax.plot(_LOADS, [r[f"{x:g}"] for x in _LOADS], "o-", alpha=0.7, label=f"seed {i}")
    ax.axvline(CRITICAL_LOAD, color="k", ls="--", lw=1, label="0.138 N")
    ax.set_xlabel("load P / N")
    ax.set_ylabel("overlap after recall")
    ax.set_title(f"Hebbian storage, N = {runs[0]['N']}, 10% flipped bits", fontsize=9)
    ax.legend(fontsize=7)
    return [save(fig, out, "capacity")]


register(
    Experiment(
        name="hopfield_capacity",
        source=SRC,
        heading="Hopfield 网络",
        claim=(
            "Hebbian storage has a capacity: about 0.138 N random patterns can be recalled from a corrupted "
            "cue; at 0.10 N recall is near perfect, at 0.20 N it fails."
        ),
        run=_run_hopfield_capacity,
        judge=_judge_hopfield_capacity,
        plot=_plot_hopfield_capacity,
        tags=("hopfield",),
    )
)


# ---- KAN: learned functions on the edges, finer with the grid, at a higher cost per step -----------------
def _hello(X):
    return np.exp(np.sin(np.pi * X[:, :1]) + X[:, 1:] ** 2)


def _cpu_per_step(model, X, y, steps):
    opt = nnlab.optim.Adam(model.parameters(), lr=1e-3)
    xt = nnlab.tensor(X)
    times = []
    for _ in range(steps):
        t0 = time.process_time()
        loss = nnlab.nn.functional.cross_entropy(model(xt), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        times.append(time.process_time() - t0)
    return float(np.median(times[1:]))


def _run_kan(seed: int, quick: bool) -> dict:
    rng = seeded(seed)
    X, Xte = rng.uniform(-1, 1, (1000, 2)), rng.uniform(-1, 1, (1000, 2))
    y, yte = _hello(X), _hello(Xte)
    nnlab.manual_seed(seed)
    model = nn.KAN([2, 5, 1], grid=3, k=3, noise_scale=0.3).double()
    steps = 10 if quick else 30
    curve = model.fit(X, y, steps, update_grid_every=5)

    def test_rmse():
        with nnlab.no_grad():
            return float(np.sqrt(np.mean((model(nnlab.tensor(Xte)).data - yte) ** 2)))

    coarse = test_rmse()
    model.refine(10, X)
    curve += model.fit(X, y, steps)
    fine = test_rmse()
    # cost: one Adam step of a [64, 64, 10] KAN against a one-hidden-layer MLP of the same parameter count
    width, batch = (16, 256) if quick else (64, 1024)
    kan = nn.KAN([width, width, 10], grid=5, k=3)
    n_kan = kan.num_parameters()
    hidden = int(round((n_kan - 10) / (width + 1 + 10)))
    mlp = nn.Sequential(nn.Linear(width, hidden), nn.ReLU(), nn.Linear(hidden, 10))
    n_mlp = mlp.num_parameters()
    Xc = rng.uniform(-1, 1, (batch, width)).astype(np.float32)
    yc = rng.integers(0, 10, batch)
    reps = 5 if quick else 11
    t_kan, t_mlp = [], []
    for _ in range(2):  # alternate the two, medians
        t_kan.append(_cpu_per_step(kan, Xc, yc, reps))
        t_mlp.append(_cpu_per_step(mlp, Xc, yc, reps))
    return {
        "test_rmse_grid3": coarse,
        "test_rmse_grid10": fine,
        "refinement_gain": coarse / fine,
        "kan_params": int(n_kan),
        "mlp_params": int(n_mlp),
        "kan_step_ms": 1e3 * float(np.median(t_kan)),
        "mlp_step_ms": 1e3 * float(np.median(t_mlp)),
        "step_cost_ratio": float(np.median(t_kan) / np.median(t_mlp)),
        "_curve": curve,
        "_switch": steps,
    }


def _judge_kan(runs):
    return all_of(
        [
            threshold_verdict(
                [r["refinement_gain"] for r in runs], ">=", 5.0, "test RMSE at grid 3 / after refining to grid 10"
            ),
            threshold_verdict([r["test_rmse_grid10"] for r in runs], "<", 1e-3, "test RMSE after refining to grid 10"),
            threshold_verdict(
                [r["step_cost_ratio"] for r in runs],
                ">",
                1.0,
                "CPU time of a KAN step / an MLP step with the same parameter count",
            ),
        ],
        "a KAN's edge functions sharpen with the grid, and learning functions costs more than learning weights",
    )


def _plot_kan(runs, out):
    fig, axes = figure(1, 2, size=(10, 3.4))
    ax = axes[0][0]
    for i, r in enumerate(runs):
        ax.semilogy(np.arange(1, len(r["_curve"]) + 1), r["_curve"], label=f"seed {i}")
    ax.axvline(runs[0]["_switch"] + 0.5, color="k", ls="--", lw=1, label="grid 3 -> 10")
    ax.set_xlabel("L-BFGS step")
    ax.set_ylabel("train RMSE")
    ax.set_title("[2, 5, 1] KAN on exp(sin(pi x) + y^2)", fontsize=9)
    ax.legend(fontsize=7)
    spread_bars(
        axes[0][1],
        ["KAN", "MLP"],
        [[r["kan_step_ms"], r["mlp_step_ms"]] for r in runs],
        "CPU ms per training step",
        f"equal parameters ({runs[0]['kan_params']} vs {runs[0]['mlp_params']})",
    )
    return [save(fig, out, "kan")]


register(
    Experiment(
        name="kan_edges",
        source=SRC,
        heading="KAN",
        claim=(
            "A KAN learns a B-spline function on every edge instead of a weight: refining the grid makes the "
            "functions finer (test error falls at least 5x from grid 3 to 10, below 1e-3), and learning "
            "functions costs more per step than learning weights."
        ),
        run=_run_kan,
        judge=_judge_kan,
        plot=_plot_kan,
        tags=("kan",),
    )
)


# ---- Deep forest: the depth adapts to the amount of data ---------------------------------------------------
def _run_forest(seed: int, quick: bool) -> dict:
    from nnlab.forest.compare import digits_split, run_cascade, run_forest, run_mlp

    Xtr, Xte, ytr, yte = digits_split()
    sizes = (100, 400) if quick else (100, 400, len(Xtr))
    kw = {"n_trees": 20, "k": 2} if quick else {}
    out = {"sizes": list(sizes)}
    order = np.random.default_rng(seed).permutation(len(Xtr))
    for n in sizes:
        idx = order[:n]
        c = run_cascade(Xtr[idx], ytr[idx], Xte, yte, seed, n_jobs=1, **kw)
        out[str(n)] = {"levels": c["layers"], "cascade": c["accuracy"], "trees": c["trees"]}
    n = sizes[-1]
    idx = order[:n]
    out["forest_same_trees"] = run_forest(Xtr[idx], ytr[idx], Xte, yte, seed, out[str(n)]["trees"], n_jobs=1)[
        "accuracy"
    ]
    if not quick:
        out["mlp"] = run_mlp(Xtr, ytr, Xte, yte, seed)["accuracy"]
    return out


def _judge_forest(runs):
    small, large = str(runs[0]["sizes"][0]), str(runs[0]["sizes"][-1])
    parts = [
        threshold_verdict(
            [r[large]["levels"] - r[small]["levels"] for r in runs],
            ">=",
            1,
            f"levels kept with {large} training digits - with {small}",
        )
    ]
    if all("mlp" in r for r in runs):
        parts.append(
            threshold_verdict(
                [r[large]["cascade"] - r["mlp"] for r in runs],
                ">=",
                -0.01,
                "cascade accuracy - nnlab MLP accuracy (8x8 digits)",
            )
        )
    return all_of(parts, "the cascade grows deeper with more data and is close to a neural network")


def _plot_forest(runs, out):
    fig, axes = figure(1, 2, size=(10, 3.4))
    sizes = runs[0]["sizes"]
    ax = axes[0][0]
    for i, r in enumerate(runs):
        ax.plot(sizes, [r[str(n)]["levels"] for n in sizes], "o-", alpha=0.7, label=f"seed {i}")
    ax.set_xscale("log")
    ax.set_xlabel("training digits")
    ax.set_ylabel("levels kept")
    ax.set_title("the cascade's depth against the data", fontsize=9)
    ax.legend(fontsize=7)
    labels = ["cascade", "RF, same trees"] + (["nnlab MLP"] if "mlp" in runs[0] else [])
    rows = [[r[str(sizes[-1])]["cascade"], r["forest_same_trees"]] + ([r["mlp"]] if "mlp" in r else []) for r in runs]
    spread_bars(axes[0][1], labels, rows, "test accuracy", f"{sizes[-1]} training digits")
    axes[0][1].set_ylim(max(0.0, float(np.min(rows)) - 0.03), 1.0)  # the differences are a point or two
    return [save(fig, out, "forest")]


register(
    Experiment(
        name="deep_forest_depth",
        source=SRC,
        heading="探索深度学习之外的方法:深度森林",
        claim=(
            "A deep forest has adaptive model complexity: the cascade decides how deep to grow from the amount "
            "of data, and its accuracy is close to a deep neural network's on the same task."
        ),
        run=_run_forest,
        judge=_judge_forest,
        plot=_plot_forest,
        tags=("forest",),
    )
)
