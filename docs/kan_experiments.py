"""The KAN figures of docs/kan.md: grid-extension staircase, error against grid size, continual
learning of five peaks (KAN against an MLP of equal parameter count), and hello-KAN's edge plot.

    .venv/bin/python docs/kan_experiments.py            # writes docs/kan_*.png, prints the numbers
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

import nnlab
import nnlab.nn as nn
import nnlab.nn.functional as F

OUT = Path(__file__).resolve().parent


def rmse(model, X, y):
    with nnlab.no_grad():
        return float(np.sqrt(np.mean((model(nnlab.tensor(X)).data - y) ** 2)))


def new_figure(figsize=(6.4, 4.0)):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=figsize, dpi=100)
    FigureCanvasAgg(fig)
    return fig


def staircase_and_scaling(grids=(3, 10, 20, 50, 100), steps=50, seed=1, tag="staircase"):
    """pykan's Example 1: f = exp(sin(pi x) + y^2) on a [2, 1, 1] KAN; the grid is refined through
    ``grids`` with ``steps`` L-BFGS steps at each size (grids fixed between refinements). Seeds 1
    and 2 train; seeds 0 and 3 stall near RMSE 0.6 at grid 3 (a poor start for so small a net)."""
    rng = np.random.default_rng(0)
    f = lambda X: np.exp(np.sin(np.pi * X[:, :1]) + X[:, 1:] ** 2)  # noqa: E731
    Xtr, Xte = rng.uniform(-1, 1, (1000, 2)), rng.uniform(-1, 1, (1000, 2))
    ytr, yte = f(Xtr), f(Xte)
    nnlab.manual_seed(seed)
    model = nn.KAN([2, 1, 1], grid=grids[0], k=3, noise_scale=0.3).double()
    train, test, ends = [], [], []
    for i, G in enumerate(grids):
        if i:
            model.refine(G, Xtr)
        train += model.fit(Xtr, ytr, steps)
        test.append(rmse(model, Xte, yte))
        ends.append(len(train))
        print(f"grid {G:3d}: train RMSE {train[-1]:.3e}, test RMSE {test[-1]:.3e}")
    fig = new_figure()
    ax = fig.subplots()
    ax.semilogy(np.arange(1, len(train) + 1), train, label="train RMSE")
    for e, G in zip([0] + ends[:-1], grids):
        ax.axvline(e, color="0.8", lw=0.8)
        ax.text(e + 1, max(train) * 0.7, f"G={G}", fontsize=8)
    ax.set_xlabel("L-BFGS step")
    ax.set_ylabel("RMSE")
    ax.set_title("[2,1,1] KAN, grid extended " + " -> ".join(map(str, grids)))
    ax.legend()
    fig.tight_layout()
    fig.savefig(OUT / f"kan_{tag}_loss.png")
    first_drop = train[ends[0] - 1] / train[ends[1] - 1]
    print(f"first refinement (G {grids[0]} -> {grids[1]}): train RMSE drops {first_drop:.1f}x")

    # slope of log test RMSE against log G, up to the grid with the lowest test error (beyond it
    # 1000 points no longer pin down the G + 3 coefficients per edge: train falls, test rises)
    G = np.array(grids, dtype=float)
    use = np.arange(len(G)) <= int(np.argmin(test))
    test = np.array(test)
    slope = np.polyfit(np.log(G[use]), np.log(test[use]), 1)[0]
    print(f"test RMSE against G over G = {G[use].astype(int).tolist()}: slope {slope:.2f}")
    fig = new_figure()
    ax = fig.subplots()
    ax.loglog(G, test, "o-", label="test RMSE")
    ax.loglog(G, [train[e - 1] for e in ends], "s-", color="tab:green", alpha=0.6, label="train RMSE")
    ax.loglog(G, test[0] * (G / G[0]) ** -4.0, "--", color="0.5", label="G^-4 (theory, k = 3)")
    ax.loglog(
        G[use],
        np.exp(np.polyval(np.polyfit(np.log(G[use]), np.log(test[use]), 1), np.log(G[use]))),
        ":",
        color="tab:red",
        label=f"fit: slope {slope:.2f}",
    )
    ax.set_xlabel("grid intervals G")
    ax.set_ylabel("RMSE at the end of each grid")
    ax.set_title("error against grid size, [2,1,1] KAN")
    ax.legend()
    fig.tight_layout()
    fig.savefig(OUT / f"kan_{tag}_error_vs_grid.png")
    return first_drop, slope, test


def continual_learning(steps=100, seed=0):
    """pykan's Example 8: five Gaussian peaks exp(-300 (x - c)^2) on [-1, 1], shown one region at a
    time (100 points each). KAN [1, 1], grid 200, cubic, no base branch, scalers frozen; MLP
    1-H-1 tanh with the same parameter count; both trained with L-BFGS per phase."""
    centers = np.linspace(-0.8, 0.8, 5)
    f = lambda x: np.exp(-300 * (x - centers[:, None, None]) ** 2).sum(axis=0)  # noqa: E731
    xs = np.linspace(-1, 1, 1000)[:, None]
    nnlab.manual_seed(seed)
    kan = nn.KAN([1, 1], grid=200, k=3, base="zero", noise_scale=0.1).double()
    for layer in kan.layers:
        layer.spline_scaler.requires_grad = False
        layer.base_weight.requires_grad = False
    n_kan = kan.num_parameters(trainable_only=True)
    hidden = (n_kan - 1) // 3  # 1-H-1: 3H + 1 parameters
    mlp = nn.Sequential(nn.Linear(1, hidden, init="xavier"), nn.Tanh(), nn.Linear(hidden, 1, init="xavier")).double()
    print(f"continual learning: KAN {n_kan} trainable parameters, MLP 1-{hidden}-1 {mlp.num_parameters()}")
    phases = []
    for p in range(5):
        lo, hi = -1 + 0.4 * p, -1 + 0.4 * (p + 1)
        x = np.linspace(lo, hi, 100)[:, None]
        y = f(x)
        for model in (kan, mlp):
            params = [q for q in model.parameters() if q.requires_grad]
            opt = nnlab.optim.LBFGS(
                params,
                max_iter=20,
                history_size=10,
                line_search_fn="strong_wolfe",
                tolerance_grad=1e-32,
                tolerance_change=1e-32,
            )
            xt, yt = nnlab.tensor(x), nnlab.tensor(y)
            for _ in range(steps // 20):

                def closure(model=model, opt=opt, xt=xt, yt=yt):
                    opt.zero_grad()
                    loss = F.mse_loss(model(xt), yt)
                    loss.backward()
                    return loss

                opt.step(closure)
        with nnlab.no_grad():
            phases.append((kan(nnlab.tensor(xs)).data.copy(), mlp(nnlab.tensor(xs)).data.copy()))
    # error on the first peak's region after each phase
    first = (xs[:, 0] >= -1) & (xs[:, 0] < -0.6)
    truth = f(xs)
    for p, (yk, ym) in enumerate(phases):
        ek = float(np.sqrt(np.mean((yk[first] - truth[first]) ** 2)))
        em = float(np.sqrt(np.mean((ym[first] - truth[first]) ** 2)))
        print(f"after phase {p + 1}: RMSE on peak 1's region: KAN {ek:.2e}, MLP {em:.2e}")
    fig = new_figure(figsize=(12, 4.6))
    axes = fig.subplots(2, 5, sharex=True, sharey=True)
    for p, (yk, ym) in enumerate(phases):
        for row, (name, yy) in enumerate((("KAN", yk), (f"MLP 1-{hidden}-1", ym))):
            ax = axes[row, p]
            ax.plot(xs, truth, color="0.85", lw=2.5)
            ax.axvspan(-1 + 0.4 * p, -0.6 + 0.4 * p, color="tab:orange", alpha=0.15)
            ax.plot(xs, yy, color="tab:blue" if row == 0 else "tab:red", lw=1.2)
            ax.set_title(f"{name}, after phase {p + 1}", fontsize=8)
            ax.set_ylim(-0.5, 1.5)
            ax.tick_params(labelsize=7)
    fig.suptitle("continual learning: one peak's region per phase (shaded); grey = target", fontsize=10)
    fig.tight_layout()
    fig.savefig(OUT / "kan_continual.png")
    return phases


def hello_kan(seed=0, figures=True):
    """pykan's hellokan, as tests/nn/test_kan.py runs it: [2, 5, 1], grid 3, 30 steps with the
    penalty, prune, 20 steps, refine to 10, 30 steps, symbolic fit, fine-tune; edge plots."""
    rng = np.random.default_rng(0)
    f = lambda X: np.exp(np.sin(np.pi * X[:, :1]) + X[:, 1:] ** 2)  # noqa: E731
    X, Xte = rng.uniform(-1, 1, (1000, 2)), rng.uniform(-1, 1, (1000, 2))
    y, yte = f(X), f(Xte)
    nnlab.manual_seed(seed)
    model = nn.KAN([2, 5, 1], grid=3, k=3, noise_scale=0.3).double()
    model.fit(X, y, 30, update_grid_every=5, lamb=3e-3)
    if figures:
        model.plot(OUT / "kan_hello_before_prune.png", x=X, title="hello KAN [2,5,1] after 30 steps with the penalty")
    model = model.prune(5e-2, X)
    model.fit(X, y, 20, update_grid_every=5)
    coarse = rmse(model, Xte, yte)
    model.refine(10, X)
    model.fit(X, y, 30)
    fine = rmse(model, Xte, yte)
    print(
        f"seed {seed}: pruned to {model.width}; test RMSE grid 3 {coarse:.3e}, after refine(10) {fine:.3e} "
        f"({coarse / fine:.1f}x)"
    )
    model.auto_symbolic(X)
    for l, layer in enumerate(model.layers):
        for key, fit in sorted(layer.symbolic.items()):
            print(f"  layer {l} edge {key}: {fit.name}, r2 {fit.r2:.8f}")
    if figures:
        model.plot(OUT / "kan_hello.png", x=X, title=f"pruned to {model.width}, grid 10, symbolic fits dashed")
    from nnlab.nn.kan_symbolic import finetune

    print("  formula before fine-tuning:", model.symbolic_formula()[0])
    print(
        f"  symbolic fine-tune: train RMSE {finetune(model, X, y):.2e}, "
        f"test RMSE {np.sqrt(np.mean((model.symbolic_predict(Xte) - yte) ** 2)):.2e}"
    )
    print("  formula:", model.symbolic_formula()[0])


if __name__ == "__main__":
    which = sys.argv[1:] or ["staircase", "scaling", "continual", "hello"]
    t0 = time.process_time()
    if "staircase" in which:  # pykan's Example 1 refines 3 -> 10 first
        staircase_and_scaling((3, 10, 20, 50, 100), tag="staircase")
    if "scaling" in which:  # pykan's grid loop
        staircase_and_scaling((3, 5, 10, 20, 50, 100), tag="scaling")
    if "continual" in which:
        continual_learning()
    if "hello" in which:
        hello_kan(0)
    if "hello-seeds" in which:
        for seed in (1, 2):
            hello_kan(seed, figures=False)
    print(f"CPU time {time.process_time() - t0:.1f} s")
