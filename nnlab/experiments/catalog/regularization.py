"""Regularization (000 «设置数据和模型: 正则化»; 004 «深度学习的实用层面»): dropout and L2 close the
train/dev gap, L1 makes weights sparse, max-norm tolerates a larger learning rate, inverted dropout
equals test-time scaling, and a big regularized net beats a small one."""

from __future__ import annotations

import numpy as np

import nnlab
from nnlab import nn, optim
from nnlab.experiments.common import accuracy, digits, figure, fit, mlp, save, seeded, spread_bars
from nnlab.experiments.registry import Experiment, all_of, register, threshold_verdict

SRC_000 = "4. 设置数据和模型: 正则化"


# ---- dropout and L2 close the train/dev gap ----------------------------------------------------
def _run_gap(seed: int, quick: bool) -> dict:
    n, epochs = (300, 10) if quick else (1000, 40)
    Xtr, ytr, Xdv, ydv = digits(n, seed=seed)[:4]
    out = {}
    for name, (p, l2) in {"none": (0.0, 0.0), "dropout 0.5": (0.5, 0.0), "L2 1e-2": (0.0, 1e-2)}.items():
        rng = seeded(seed)
        model = mlp([784, 400, 400, 10], dropout=p)
        reg = nn.Regularizer(l2=l2) if l2 else None
        fit(
            model,
            Xtr,
            ytr,
            optim.SGD(model.parameters(), lr=0.05, momentum=0.9),
            epochs=epochs,
            batch_size=50,
            rng=rng,
            regularizer=reg,
        )
        tr, dv = accuracy(model, Xtr, ytr), accuracy(model, Xdv, ydv)
        out[name] = {"train": tr, "dev": dv, "gap": tr - dv}
    return out


def _judge_gap(runs):
    return all_of(
        [
            threshold_verdict(
                [r["none"]["gap"] - r["dropout 0.5"]["gap"] for r in runs],
                ">",
                0.01,
                "train-dev gap without - with dropout 0.5",
            ),
            threshold_verdict(
                [r["none"]["gap"] - r["L2 1e-2"]["gap"] for r in runs],
                ">",
                0.01,
                "train-dev gap without - with L2 1e-2",
            ),
        ],
        "dropout and L2 each shrink the train/dev gap by more than one point",
    )


def _plot_gap(runs, out):
    fig, axes = figure(1, 2, size=(9, 3.6))
    labels = list(runs[0])
    spread_bars(
        axes[0][0],
        labels,
        [[r[k]["gap"] for k in labels] for r in runs],
        "train - dev accuracy",
        "gap (784-400-400-10 on few digits)",
    )
    spread_bars(axes[0][1], labels, [[r[k]["dev"] for k in labels] for r in runs], "dev accuracy", "dev accuracy")
    return [save(fig, out, "gap")]


register(
    Experiment(
        name="dropout_l2_gap",
        source="004",
        heading="1. 深度学习的实用层面 (正则化, dropout)",
        claim="On a small training set, dropout and L2 regularization each shrink the gap between training and "
        "dev accuracy of an over-parameterized net.",
        run=_run_gap,
        judge=_judge_gap,
        plot=_plot_gap,
    )
)


# ---- L1 gives sparse weights --------------------------------------------------------------------
def _run_l1(seed: int, quick: bool) -> dict:
    n, epochs = (500, 5) if quick else (4000, 10)
    Xtr, ytr, Xdv, ydv = digits(n, seed=seed)[:4]
    out = {}
    for name, reg in {"L1 1e-2": nn.Regularizer(l1=1e-2), "L2 1e-2": nn.Regularizer(l2=1e-2), "none": None}.items():
        rng = seeded(seed)
        model = mlp([784, 100, 10])
        fit(
            model,
            Xtr,
            ytr,
            optim.SGD(model.parameters(), lr=0.05),
            epochs=epochs,
            batch_size=50,
            rng=rng,
            regularizer=reg,
        )
        w = model[0].weight.data
        out[name] = {
            "near_zero": float(np.mean(np.abs(w) < 1e-3)),
            "dev": accuracy(model, Xdv, ydv),
            "_w": w.ravel().copy(),
        }
    return out


def _judge_l1(runs):
    return threshold_verdict(
        [r["L1 1e-2"]["near_zero"] / max(r["L2 1e-2"]["near_zero"], 1e-9) for r in runs],
        ">",
        5.0,
        "fraction of first-layer weights with |w| < 1e-3: L1 / L2",
        detail="L1 near-zero fractions: "
        + ", ".join(f"{r['L1 1e-2']['near_zero']:.2f}" for r in runs)
        + "; L2: "
        + ", ".join(f"{r['L2 1e-2']['near_zero']:.3f}" for r in runs),
    )


def _plot_l1(runs, out):
    fig, axes = figure(1, 3, size=(11, 3.2))
    for ax, k in zip(axes[0], ("L1 1e-2", "L2 1e-2", "none")):
        ax.hist(runs[0][k]["_w"], bins=120, range=(-0.2, 0.2), color="#7aa6d6")
        ax.set_yscale("log")
        ax.set_title(f"{k}: {runs[0][k]['near_zero'] * 100:.0f}% |w| < 1e-3", fontsize=9)
        ax.set_xlabel("first-layer weight")
    return [save(fig, out, "weights")]


register(
    Experiment(
        name="l1_sparse",
        source="000",
        heading=SRC_000,
        claim="L1 regularization drives most weights to (nearly) zero, L2 only makes them small: L1 leaves at "
        "least 5x as many first-layer weights below 1e-3 in magnitude.",
        run=_run_l1,
        judge=_judge_l1,
        plot=_plot_l1,
    )
)


# ---- max-norm allows a larger learning rate ------------------------------------------------------
_MAXNORM_LRS = (0.03, 0.1, 0.3, 1.0)


def _run_maxnorm(seed: int, quick: bool) -> dict:
    n, epochs = (600, 1) if quick else (4000, 2)
    Xtr, ytr, Xdv, ydv = digits(n, seed=seed)[:4]
    out = {}
    for name, c in (("plain", None), ("max-norm c=3", 3.0)):
        constraint = nn.MaxNorm(c) if c else None
        accs = {}
        for lr in _MAXNORM_LRS:
            rng = seeded(seed)
            model = mlp([784, 200, 200, 10])
            fit(
                model,
                Xtr,
                ytr,
                optim.SGD(model.parameters(), lr=lr, momentum=0.9),
                epochs=epochs,
                batch_size=50,
                rng=rng,
                after_step=constraint.apply if constraint else None,
            )
            accs[str(lr)] = accuracy(model, Xdv, ydv)
        out[name] = accs
    return out


def _largest_ok(accs, floor):
    ok = [float(lr) for lr, a in accs.items() if a >= floor]
    return max(ok) if ok else None


def _judge_maxnorm(runs):
    vals = []
    for r in runs:
        floor = 0.8 * max(max(r["plain"].values()), max(r["max-norm c=3"].values()))
        a, b = _largest_ok(r["max-norm c=3"], floor), _largest_ok(r["plain"], floor)
        vals.append(None if a is None or b is None else float(np.log10(a / b)))
    return threshold_verdict(vals, ">", 0.0, "log10(largest lr within 80% of the best dev accuracy: max-norm / plain)")


def _plot_maxnorm(runs, out):
    fig, ax = figure(size=(6, 3.6))
    ax = ax[0][0]
    for name, color in (("plain", "C0"), ("max-norm c=3", "C1")):
        arr = np.asarray([[r[name][str(lr)] for lr in _MAXNORM_LRS] for r in runs])
        ax.semilogx(_MAXNORM_LRS, np.median(arr, 0), "o-", color=color, label=name)
        ax.fill_between(_MAXNORM_LRS, arr.min(0), arr.max(0), color=color, alpha=0.2)
    ax.set_xlabel("learning rate (SGD, momentum 0.9)")
    ax.set_ylabel("dev accuracy")
    ax.legend(fontsize=8)
    return [save(fig, out, "lr_sweep")]


register(
    Experiment(
        name="max_norm",
        source="000",
        heading=SRC_000,
        claim="A max-norm constraint (||w|| <= 3 per unit) keeps training stable at learning rates where the "
        "unconstrained net diverges.",
        run=_run_maxnorm,
        judge=_judge_maxnorm,
        plot=_plot_maxnorm,
    )
)


# ---- inverted dropout == test-time scaling ------------------------------------------------------
class _Mask(nn.Module):
    """Dropout with masks drawn from a shared generator: ``inverted`` scales survivors by 1/keep
    during training (identity at test), the vanilla form keeps them and multiplies by keep at test."""

    def __init__(self, keep, rng, inverted):
        super().__init__()
        self.keep, self.rng, self.inverted = keep, rng, inverted

    def forward(self, x):
        if self.training:
            m = (self.rng.random(x.shape) < self.keep).astype(x.data.dtype)
            return x * nnlab.tensor(m / self.keep if self.inverted else m)
        return x if self.inverted else x * self.keep


def _dropout_net(keep, seed, inverted):
    rng = np.random.default_rng(seed)
    init = np.random.default_rng(seed + 1)
    layers = [
        nn.Linear(784, 200, dtype=np.float64),
        nn.ReLU(),
        _Mask(keep, rng, inverted),
        nn.Linear(200, 10, dtype=np.float64),
    ]
    layers[0].weight.data = init.standard_normal((200, 784)) * np.sqrt(2 / 784)
    w2 = init.standard_normal((10, 200)) * np.sqrt(2 / 200)
    # vanilla dropout's weights after the mask are the inverted ones / keep (the same function)
    layers[3].weight.data = w2 if inverted else w2 / keep
    return nn.Sequential(*layers)


def _run_inverted(seed: int, quick: bool) -> dict:
    n, epochs, keep, lr = (300, 1, 0.8, 0.05) if quick else (4000, 3, 0.5, 0.05)
    Xtr, ytr, _, _, Xte, yte = digits(n, seed=seed)
    Xtr, Xte = Xtr.astype(np.float64), Xte.astype(np.float64)
    logits = {}
    for inverted in (True, False):
        model = _dropout_net(keep, seed, inverted)
        # d/dW2 of the vanilla form is keep x the inverted one's, and W2 itself is 1/keep larger:
        # the same trajectory needs lr / keep^2 on the weights after the mask.
        groups = [
            {"params": [model[0].weight, model[0].bias, model[3].bias], "lr": lr},
            {"params": [model[3].weight], "lr": lr if inverted else lr / keep**2},
        ]
        fit(model, Xtr, ytr, optim.SGD(groups, lr=lr), epochs=epochs, batch_size=50, rng=np.random.default_rng(seed))
        model.eval()
        with nnlab.no_grad():
            logits[inverted] = model(nnlab.tensor(Xte)).data
    a, b = logits[True], logits[False]
    return {
        "keep": keep,
        "max_abs_logit_diff": float(np.abs(a - b).max()),
        "prediction_agreement": float(np.mean(a.argmax(1) == b.argmax(1))),
        "test_accuracy": float(np.mean(a.argmax(1) == yte)),
    }


def _judge_inverted(runs):
    return all_of(
        [
            threshold_verdict([r["prediction_agreement"] for r in runs], "==", 1.0, "test predictions that agree"),
            threshold_verdict([r["max_abs_logit_diff"] for r in runs], "<", 1e-6, "max |logit difference| (float64)"),
        ],
        "inverted dropout and test-time scaling give the same predictions",
    )


register(
    Experiment(
        name="inverted_dropout",
        source="004",
        heading="1. 深度学习的实用层面 (反向随机失活)",
        claim="Inverted dropout (divide by keep_prob while training, nothing at test) and vanilla dropout "
        "(multiply by keep_prob at test) give the same test predictions.",
        run=_run_inverted,
        judge=_judge_inverted,
        plot=None,
    )
)


# ---- a big net with L2 instead of a small net (the notes' 20-unit figure) -------------------------
_BIG = {
    "3 units": (3, 0.0),
    "6 units": (6, 0.0),
    "20 units, L2 1e-4": (20, 1e-4),
    "20 units, L2 1e-3": (20, 1e-3),
    "20 units, L2 1e-2": (20, 1e-2),
    "20 units, L2 1e-1": (20, 1e-1),
}


def _run_bignet(seed: int, quick: bool) -> dict:
    from nnlab.data import make_moons

    n, steps = (200, 300) if quick else (300, 3000)
    X, y = make_moons(n, noise=0.3, seed=seed)
    Xd, yd = make_moons(1000, noise=0.3, seed=seed + 100)
    Xt, yt = make_moons(1000, noise=0.3, seed=seed + 200)
    X, Xd, Xt = X.astype(np.float32), Xd.astype(np.float32), Xt.astype(np.float32)
    out, grids = {}, {}
    gx, gy = np.meshgrid(np.linspace(-2, 3, 120), np.linspace(-1.5, 2, 90))
    G = np.c_[gx.ravel(), gy.ravel()].astype(np.float32)
    for name, (h, l2) in _BIG.items():
        seeded(seed)
        model = mlp([2, h, 2])
        reg = nn.Regularizer(l2=l2) if l2 else None
        fit(
            model,
            X,
            y,
            optim.Adam(model.parameters(), lr=0.01),
            epochs=steps,
            batch_size=len(X),
            rng=np.random.default_rng(seed),
            regularizer=reg,
        )
        out[name] = {"train": accuracy(model, X, y), "dev": accuracy(model, Xd, yd), "test": accuracy(model, Xt, yt)}
        with nnlab.no_grad():
            model.eval()
            grids[name] = model(nnlab.tensor(G)).data.argmax(1).reshape(gx.shape)
    out["_grids"], out["_data"] = grids, (X, y)
    return out


def _judge_bignet(runs):
    def chosen(r, prefix):  # the configuration a dev-set search would pick; its test accuracy
        cands = {k: v for k, v in r.items() if not k.startswith("_") and k.startswith(prefix)}
        return cands[max(cands, key=lambda k: cands[k]["dev"])]["test"]

    return threshold_verdict(
        [chosen(r, "20 units") - _best_small(r) for r in runs],
        ">=",
        0.0,
        "test accuracy: 20 units with the dev-chosen L2 - the dev-chosen small net (3 or 6 units)",
    )


def _best_small(r):
    small = {k: r[k] for k in ("3 units", "6 units")}
    return small[max(small, key=lambda k: small[k]["dev"])]["test"]


def _plot_bignet(runs, out):
    r = runs[0]
    names = [k for k in r if not k.startswith("_")]
    fig, axes = figure(2, 3, size=(11, 6))
    X, y = r["_data"]
    for ax, k in zip(axes.ravel(), names):
        ax.contourf(np.linspace(-2, 3, 120), np.linspace(-1.5, 2, 90), r["_grids"][k], alpha=0.35, cmap="coolwarm")
        ax.scatter(X[:, 0], X[:, 1], c=y, s=6, cmap="coolwarm")
        ax.set_title(f"{k}: dev {r[k]['dev'] * 100:.1f}%", fontsize=9)
        ax.set_xticks([])
        ax.set_yticks([])
    return [save(fig, out, "boundaries")]


register(
    Experiment(
        name="big_net_l2",
        source="000",
        heading="3. 神经元层结构: 设置层的数量和尺寸",
        claim="Rather than a small network for fear of overfitting, use a big one and regularize: 20 hidden "
        "units with a suitable L2 strength generalize at least as well as 3 or 6 units.",
        run=_run_bignet,
        judge=_judge_bignet,
        plot=_plot_bignet,
    )
)
