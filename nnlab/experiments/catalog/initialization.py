"""Weight initialization (000, «设置数据和模型»: weight initialization) and the initial loss."""

from __future__ import annotations

import numpy as np

from nnlab.experiments.registry import Experiment, all_of, register, threshold_verdict


def _run_init(seed: int, quick: bool) -> dict:
    from nnlab.experiments.init_study import run_init_study

    width, samples = (200, 200) if quick else (500, 1000)  # the notes' net: 10 layers of 500 units
    res = run_init_study(layers=10, width=width, samples=samples, seed=seed)
    regimes = {
        name: {k: [row[k] for row in r["layers"]] for k in ("std", "saturated", "dead", "grad_rms")}
        for name, r in res.items()
    }
    return {"width": width, "samples": samples, "regimes": regimes, "_results": res}


def _judge_init(runs) -> object:
    g = lambda name, key: [r["regimes"][name][key] for r in runs]  # noqa: E731
    small = [s[-1] / s[0] for s in g("tanh, std 0.01", "std")]
    big = [sat[-1] for sat in g("tanh, std 1.0", "saturated")]
    calib_std = [min(s) for s in g("tanh, std 1/sqrt(n)", "std")]
    calib_sat = [max(sat) for sat in g("tanh, std 1/sqrt(n)", "saturated")]
    he = [max(s) / min(s) for s in g("relu, He sqrt(2/n)", "std")]
    parts = [
        threshold_verdict(small, "<", 1e-3, "std 0.01: last/first layer activation std"),
        threshold_verdict(big, ">", 0.5, "std 1: saturated fraction (|tanh| > 0.99) at layer 10"),
        threshold_verdict(calib_std, ">", 0.1, "1/sqrt(n): smallest layer std"),
        threshold_verdict(calib_sat, "<", 0.05, "1/sqrt(n): largest saturated fraction"),
        threshold_verdict(he, "<", 2.0, "He + ReLU: max/min layer std"),
    ]
    return all_of(parts, "all five initialization regimes as the notes describe")


def _plot_init(runs, out):
    from nnlab.experiments.init_study import plot_init_study

    return [plot_init_study(runs[0]["_results"], f"{out}/histograms.png")]


register(
    Experiment(
        name="init",
        source="000",
        heading="4. 设置数据和模型: 权重初始化",
        claim="In a 10-layer tanh net, weights of std 0.01 collapse the activations to zero, std 1 saturates "
        "them at +-1, and std 1/sqrt(n) keeps a healthy spread; ReLU with He init (sqrt(2/n)) keeps the "
        "activation scale constant with depth.",
        run=_run_init,
        judge=_judge_init,
        plot=_plot_init,
    )
)


# ---- the initial loss is ln C ---------------------------------------------------------------
def _run_initial_loss(seed: int, quick: bool) -> dict:
    import nnlab
    from nnlab import nn
    from nnlab.data import make_spiral
    from nnlab.experiments.common import digits, loss_of, seeded

    seeded(seed)
    Xtr, ytr = digits(500 if quick else 4000, seed=seed)[:2]
    out = {}
    for name, (X, y, C, sizes) in {
        "digits (C=10)": (Xtr, ytr, 10, [784, 100, 10]),
        "spiral (C=3)": (*make_spiral(100, 3, seed=seed), 3, [2, 100, 3]),
    }.items():
        nnlab.manual_seed(seed)
        model = nn.Sequential(nn.Linear(sizes[0], sizes[1]), nn.ReLU(), nn.Linear(sizes[1], sizes[2], init="small"))
        loss = loss_of(model, X.astype(np.float32), y)
        out[name] = {"loss": loss, "lnC": float(np.log(C)), "rel_error": abs(loss - np.log(C)) / np.log(C)}
    return out


def _judge_initial_loss(runs):
    parts = [
        threshold_verdict([r[k]["rel_error"] for r in runs], "<", 0.02, f"{k}: |loss0 - ln C| / ln C") for k in runs[0]
    ]
    return all_of(parts, "initial softmax loss within 2% of ln C")


def _plot_initial_loss(runs, out):
    from nnlab.experiments.common import figure, save

    fig, ax = figure(size=(5, 3))
    ax = ax[0][0]
    keys = list(runs[0])
    for i, k in enumerate(keys):
        ax.scatter(
            [i] * len(runs), [r[k]["loss"] for r in runs], color="C0", label="measured (per seed)" if i == 0 else None
        )
        ax.hlines(runs[0][k]["lnC"], i - 0.3, i + 0.3, colors="r", label="ln C" if i == 0 else None)
    ax.set_xticks(range(len(keys)))
    ax.set_xticklabels(keys)
    ax.set_ylabel("loss before training")
    ax.legend(fontsize=7)
    return [save(fig, out, "initial_loss")]


register(
    Experiment(
        name="initial_loss",
        source="000",
        heading="7. 合理性检查",
        claim="With small weights in the last layer, the initial softmax loss is ln C (2.302 for 10 classes).",
        run=_run_initial_loss,
        judge=_judge_initial_loss,
        plot=_plot_initial_loss,
    )
)
