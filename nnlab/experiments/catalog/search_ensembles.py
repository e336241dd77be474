"""Hyperparameter search (000 «10. 超参数调优»; 004 «3. 超参数调试») and model ensembles (000
«模型集成»): random vs grid search with an unimportant parameter, coarse-to-fine, ensembles of 1..N
members and parameter averaging."""

from __future__ import annotations

import copy

import numpy as np

from nnlab import optim
from nnlab.ensemble import Ensemble
from nnlab.experiments.common import accuracy, digits, figure, fit, mlp, save, seeded, spread_bars
from nnlab.experiments.registry import Experiment, all_of, register, threshold_verdict


# ---- random vs grid search -----------------------------------------------------------------------
def _objective(rng):
    """A validation score over (important, unimportant) in [0, 1]^2, as in Bergstra & Bengio's
    figure: a peak of random position and width in the important parameter, a weak ripple in the
    other."""
    c, w = rng.uniform(0.1, 0.9), rng.uniform(0.03, 0.1)
    phase = rng.uniform(0, 2 * np.pi)
    return lambda a, b: np.exp(-0.5 * ((a - c) / w) ** 2) + 0.02 * np.sin(6 * b + phase)


def _run_search(seed: int, quick: bool) -> dict:
    rng = np.random.default_rng(seed)
    reps, budget = (100, 9) if quick else (1000, 9)
    k = int(np.sqrt(budget))
    grid_axis = (np.arange(k) + 0.5) / k
    ga, gb = np.meshgrid(grid_axis, grid_axis)
    wins, ties, c2f_wins, examples = 0, 0, 0, None
    for i in range(reps):
        f = _objective(rng)
        grid_best = f(ga, gb).max()
        ra, rb = rng.random(budget), rng.random(budget)
        rand_best = f(ra, rb).max()
        wins += rand_best > grid_best
        ties += rand_best == grid_best
        # coarse-to-fine: half the budget (x2) coarse, then the same again around the best third
        n1 = budget
        a1, b1 = rng.random(n1), rng.random(n1)
        s1 = f(a1, b1)
        top = np.argsort(s1)[-3:]
        lo, hi = a1[top].min(), a1[top].max()
        span = max(hi - lo, 0.1)
        a2 = np.clip(rng.uniform(lo - span / 2, hi + span / 2, n1), 0, 1)
        c2f = max(s1.max(), f(a2, rng.random(n1)).max())
        one_stage = f(rng.random(2 * n1), rng.random(2 * n1)).max()
        c2f_wins += c2f > one_stage
        if examples is None:
            examples = (f, ra, rb)
    return {
        "budget": budget,
        "repetitions": reps,
        "random_beats_grid": wins / reps,
        "ties": ties / reps,
        "coarse_to_fine_beats_one_stage": c2f_wins / reps,
        "_example": examples,
    }


def _judge_search(runs):
    return all_of(
        [
            threshold_verdict(
                [r["random_beats_grid"] for r in runs],
                ">",
                0.5,
                "fraction of searches where random (9 trials) beats a 3x3 grid",
            ),
            threshold_verdict(
                [r["coarse_to_fine_beats_one_stage"] for r in runs],
                ">",
                0.5,
                "fraction where coarse-to-fine (9 + 9) beats 18 random trials",
            ),
        ],
        "random search beats grid search when one parameter does not matter; coarse-to-fine helps",
    )


def _plot_search(runs, out):
    f, ra, rb = runs[0]["_example"]
    fig, axes = figure(1, 2, size=(9, 4))
    ga, gb = np.meshgrid(np.linspace(0, 1, 200), np.linspace(0, 1, 200))
    for ax, (title, a, b) in zip(
        axes[0],
        (
            ("grid", *[g.ravel() for g in np.meshgrid((np.arange(3) + 0.5) / 3, (np.arange(3) + 0.5) / 3)]),
            ("random", ra, rb),
        ),
    ):
        ax.contourf(ga, gb, f(ga, gb), levels=20, cmap="Greens")
        ax.scatter(a, b, c="k", s=18)
        ax.set_xlabel("important parameter")
        ax.set_ylabel("unimportant parameter")
        ax.set_title(f"{title}: {len(np.unique(np.round(a, 6)))} distinct values of the important one", fontsize=9)
    return [save(fig, out, "search")]


register(
    Experiment(
        name="random_vs_grid",
        source="000",
        heading="10. 超参数调优 (随机搜索优于网格搜索)",
        claim="With the same budget, random search finds a better value than grid search when one of two "
        "parameters barely matters (it tries 9 values of the important one instead of 3), and a "
        "coarse-to-fine second stage beats spending the budget on one stage.",
        run=_run_search,
        judge=_judge_search,
        plot=_plot_search,
    )
)


# ---- ensembles and parameter averaging ------------------------------------------------------------
def _run_ensembles(seed: int, quick: bool) -> dict:
    n, epochs, members = (500, 2, 3) if quick else (4000, 4, 5)
    Xtr, ytr, Xdv, ydv, Xte, yte = digits(n, seed=seed)
    models, finals, averaged = [], [], []
    for m in range(members):
        rng = seeded(1000 * seed + m)
        model = mlp([784, 100, 10])
        avg = copy.deepcopy(model)
        pairs = list(zip(model.parameters(), avg.parameters()))
        for _, a in pairs:
            a.data[...] = 0
        decay, t = 0.99, [0]

        def polyak(_model, pairs=pairs, t=t, decay=decay):  # exponential running average of the weights, from 0
            t[0] += 1
            for p, a in pairs:
                a.data *= decay
                a.data += (1 - decay) * p.data

        fit(
            model,
            Xtr,
            ytr,
            optim.SGD(model.parameters(), lr=0.1, momentum=0.9),
            epochs=epochs,
            batch_size=50,
            rng=rng,
            after_step=polyak,
        )
        for _, a in pairs:  # bias correction, as for Adam's moments
            a.data /= 1 - decay ** t[0]
        models.append(model)
        finals.append(accuracy(model, Xte, yte))
        averaged.append(accuracy(avg, Xte, yte))
    ev = Ensemble(models).evaluate(Xte, yte)
    return {
        "by_members": ev["by_members"],
        "members": ev["members"],
        "members_mean": ev["members_mean"],
        "ensemble_gain": ev["by_members"][-1] - ev["members_mean"],
        "averaged": averaged,
        "final": finals,
        "averaging_gain": float(np.mean(np.asarray(averaged) - np.asarray(finals))),
    }


def _judge_ensembles(runs):
    return all_of(
        [
            threshold_verdict(
                [r["ensemble_gain"] for r in runs], ">", 0.01, "test accuracy: ensemble of all members - mean member"
            ),
            threshold_verdict(
                [r["averaging_gain"] for r in runs],
                ">",
                0.0,
                "test accuracy: running average of the weights - final weights (mean over members)",
            ),
        ],
        "an ensemble gains over its members and averaged weights beat the last ones",
    )


def _plot_ensembles(runs, out):
    fig, axes = figure(1, 2, size=(10, 3.6))
    ax = axes[0][0]
    for i, r in enumerate(runs):
        ax.plot(range(1, len(r["by_members"]) + 1), r["by_members"], "o-", label=f"seed {i}")
        ax.axhline(r["members_mean"], color=f"C{i}", ls=":", lw=0.8)
    ax.set_xlabel("members in the ensemble (mean of probabilities)")
    ax.set_ylabel("test accuracy (dotted: mean member)")
    ax.legend(fontsize=8)
    spread_bars(
        axes[0][1],
        ["final weights", "averaged weights"],
        [[np.mean(r["final"]), np.mean(r["averaged"])] for r in runs],
        "test accuracy (mean member)",
        "parameter averaging (decay 0.99, bias-corrected)",
    )
    lo = min(min(r["final"] + r["averaged"]) for r in runs)
    axes[0][1].set_ylim(max(0, lo - 0.02), 1)
    return [save(fig, out, "ensembles")]


register(
    Experiment(
        name="ensembles",
        source="000",
        heading="11. 评价: 模型集成",
        claim="Averaging the predictions of independently trained nets gains accuracy over a single net "
        "(the notes: a few percent), and a running average of the weights does better than the final "
        "weights.",
        run=_run_ensembles,
        judge=_judge_ensembles,
        plot=_plot_ensembles,
    )
)
