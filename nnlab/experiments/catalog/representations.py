"""What the layers learn (003): linear-probe accuracy per layer, the digit network's hidden units as
images and its confident answers to noise, and the four backpropagation equations."""

from __future__ import annotations

import numpy as np

import nnlab
from nnlab import nn, optim
from nnlab.data import make_spiral
from nnlab.experiments.common import accuracy, digits, figure, fit, mlp, save, seeded
from nnlab.experiments.registry import Experiment, all_of, register, threshold_verdict

SRC = "003"


# ---- linear probes per layer ------------------------------------------------------------------------
def _features(model, X):
    """The input and the output of every ReLU, in order."""
    feats, h = [X], nnlab.tensor(X)
    model.eval()
    with nnlab.no_grad():
        for m in model:
            h = m(h)
            if isinstance(m, nn.ReLU):
                feats.append(h.data.copy())
    model.train()
    return feats


def _probe(F, y, Fd, yd, classes, seed, steps):
    mu, sd = F.mean(0), F.std(0) + 1e-6
    rng = seeded(seed)
    lin = nn.Sequential(nn.Linear(F.shape[1], classes, init="small"))
    fit(
        lin,
        ((F - mu) / sd).astype(np.float32),
        y,
        optim.Adam(lin.parameters(), lr=0.01),
        epochs=steps,
        batch_size=len(F),
        rng=rng,
    )
    return accuracy(lin, ((Fd - mu) / sd).astype(np.float32), yd)


def _run_probe(seed: int, quick: bool) -> dict:
    X, y = make_spiral(100, 3, seed=seed)
    Xd, yd = make_spiral(100, 3, seed=seed + 50)
    X, Xd = X.astype(np.float32), Xd.astype(np.float32)
    rng = seeded(seed)
    model = mlp([2, 50, 50, 50, 3])
    fit(model, X, y, optim.Adam(model.parameters(), lr=0.01), epochs=300 if quick else 2000, batch_size=len(X), rng=rng)
    F, Fd = _features(model, X), _features(model, Xd)
    probes = [_probe(a, y, b, yd, 3, seed, 200 if quick else 1000) for a, b in zip(F, Fd)]
    return {
        "layers": ["input"] + [f"hidden {i}" for i in range(1, len(probes))],
        "probe": probes,
        "net_dev": accuracy(model, Xd, yd),
    }


def _judge_probe(runs):
    return all_of(
        [
            threshold_verdict(
                [r["probe"][-1] - r["probe"][0] for r in runs],
                ">",
                0.2,
                "linear-probe dev accuracy: last hidden layer - input",
            ),
            threshold_verdict(
                [min(b - a for a, b in zip(r["probe"], r["probe"][1:])) for r in runs],
                ">=",
                -0.02,
                "smallest change from one layer to the next (never worse by > 2 points)",
            ),
        ],
        "later layers make the spiral's classes linearly separable",
    )


def _plot_probe(runs, out):
    fig, ax = figure(size=(6, 3.6))
    ax = ax[0][0]
    for i, r in enumerate(runs):
        ax.plot(r["probe"], "o-", label=f"seed {i} (net: {r['net_dev'] * 100:.0f}%)")
    ax.set_xticks(range(len(runs[0]["layers"])))
    ax.set_xticklabels(runs[0]["layers"])
    ax.set_ylabel("linear-probe dev accuracy")
    ax.set_ylim(0, 1.02)
    ax.set_title("3-class spiral, 2-50-50-50-3 ReLU net", fontsize=9)
    ax.legend(fontsize=8)
    return [save(fig, out, "probes")]


register(
    Experiment(
        name="linear_probe",
        source=SRC,
        heading="案例一: 动图显示神经网络各层之间的效果 (ConvNetJS)",
        claim="Each hidden layer makes the classes more linearly separable: a linear classifier on the last "
        "hidden layer's activations does far better (> 20 points) than on the raw spiral.",
        run=_run_probe,
        judge=_judge_probe,
        plot=_plot_probe,
    )
)


# ---- the 784-16-16-10 digit network ---------------------------------------------------------------
def _run_digit16(seed: int, quick: bool) -> dict:
    from nnlab.train.models import OneHotMSELoss, digit16

    n, epochs = (1000, 3) if quick else (4000, 30)
    Xtr, ytr, Xdv, ydv = digits(n, seed=seed)[:4]
    rng = seeded(seed)
    model = digit16()
    w0 = next(m for m in model.modules() if isinstance(m, nn.Linear)).weight.data.copy()
    loss = OneHotMSELoss()
    fit(
        model,
        Xtr.reshape(-1, 1, 28, 28),
        ytr,
        optim.SGD(model.parameters(), lr=1.5),
        epochs=epochs,
        batch_size=10,
        rng=rng,
        loss=loss,
    )
    W = next(m for m in model.modules() if isinstance(m, nn.Linear)).weight.data.copy()
    noise = np.random.default_rng(seed).random((1000, 1, 28, 28)).astype(np.float32)
    model.eval()
    with nnlab.no_grad():
        out_noise = model(nnlab.tensor(noise)).data
        out_real = model(nnlab.tensor(Xdv.reshape(-1, 1, 28, 28))).data
    top_noise = np.sort(out_noise, 1)
    dev = float(np.mean(out_real.argmax(1) == ydv))

    def smooth(w):  # correlation of horizontally neighbouring weights: strokes are smooth, noise is not
        img = w.reshape(-1, 28, 28)
        a, b = img[:, :, :-1].ravel(), img[:, :, 1:].ravel()
        return float(np.corrcoef(a, b)[0, 1])

    return {
        "dev_accuracy": dev,
        "noise_top_output_median": float(np.median(top_noise[:, -1])),
        "noise_confident_fraction": float(np.mean((top_noise[:, -1] > 0.5) & (top_noise[:, -2] < 0.5))),
        "noise_class_histogram": np.bincount(out_noise.argmax(1), minlength=10).tolist(),
        "weight_neighbour_corr": smooth(W),
        "weight_neighbour_corr_init": smooth(w0),
        "_W": W,
    }


def _judge_digit16(runs):
    return threshold_verdict(
        [r["noise_confident_fraction"] for r in runs],
        ">",
        0.5,
        "fraction of random-noise images answered with exactly one output above 0.5",
        detail="hidden units' neighbouring-pixel weight correlation (1 = smooth strokes, 0 = "
        "no structure): "
        + ", ".join(f"{r['weight_neighbour_corr']:.2f} (init {r['weight_neighbour_corr_init']:.2f})" for r in runs),
    )


def _plot_digit16(runs, out):
    r = runs[0]
    from nnlab.report.plots import image_grid

    p1 = image_grid(
        r["_W"].reshape(-1, 28, 28),
        [f"unit {i}" for i in range(len(r["_W"]))],
        f"{out}/hidden_units.png",
        cols=8,
        suptitle=f"first hidden layer of 784-16-16-10 (dev {r['dev_accuracy'] * 100:.1f}%)",
        cmap="bwr",
        normalize=True,
    )
    fig, ax = figure(size=(6, 3.2))
    ax = ax[0][0]
    ax.bar(range(10), r["noise_class_histogram"], color="#7aa6d6")
    ax.set_xticks(range(10))
    ax.set_xlabel("answer to uniform noise images")
    ax.set_ylabel("count of 1000")
    ax.set_title(
        f"{r['noise_confident_fraction'] * 100:.0f}% answered with one output > 0.5 and the rest < 0.5", fontsize=9
    )
    return [p1, save(fig, out, "noise_answers")]


register(
    Experiment(
        name="digit_hidden_units",
        source=SRC,
        heading="再谈神经网络的运作机制",
        claim="The 784-16-16-10 digit network does not know what it does not know: shown random noise, it "
        "mostly answers with one confident digit (exactly one output above 0.5); its hidden units look "
        "like loose patterns rather than strokes.",
        run=_run_digit16,
        judge=_judge_digit16,
        plot=_plot_digit16,
    )
)


# ---- the four backpropagation equations -----------------------------------------------------------------
def _run_bp(seed: int, quick: bool) -> dict:
    from nnlab.explain.equations import compare

    shapes = [(4, 5, 3), (10, 8, 8, 3)] if quick else [(4, 5, 3), (10, 8, 8, 3), (784, 30, 10), (20, 16, 16, 16, 5)]
    res = [compare(s, batch=8, seed=seed) for s in shapes]
    return {
        "shapes": [list(s) for s in shapes],
        "dW_rel_diff": max(r["dW_rel_diff"] for r in res),
        "db_rel_diff": max(r["db_rel_diff"] for r in res),
    }


def _judge_bp(runs):
    return threshold_verdict(
        [max(r["dW_rel_diff"], r["db_rel_diff"]) for r in runs],
        "<",
        1e-10,
        "largest relative difference, BP1-BP4 by hand vs autograd (float64)",
    )


register(
    Experiment(
        name="backprop_equations",
        source=SRC,
        heading="反向传播算法(Backpropagation Algorithm, BP)",
        claim="The four equations (output error, error propagated backward, bias gradient, weight gradient) "
        "computed by hand give the gradients autograd gives, for sigmoid MLPs of several shapes.",
        run=_run_bp,
        judge=_judge_bp,
        plot=None,
    )
)
