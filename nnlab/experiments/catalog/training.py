"""Activations, batch norm, the learning-rate regimes and the update ratio (000 «神经网络», «检查学习过程»;
001 «为什么引入Relu»; 004 «Batch标准化»)."""

from __future__ import annotations

import numpy as np

from nnlab import nn, optim
from nnlab.experiments.common import accuracy, digits, figure, fit, mlp, save, seeded, spread_bars
from nnlab.experiments.registry import Experiment, all_of, register, threshold_verdict

# ---- ReLU vs tanh vs sigmoid -------------------------------------------------------------------
_ACTS = {"relu": (nn.ReLU, "he"), "tanh": (nn.Tanh, "xavier"), "sigmoid": (nn.Sigmoid, "xavier")}


def _run_activations(seed: int, quick: bool) -> dict:
    n, target, max_epochs = (800, 0.85, 4) if quick else (4000, 0.95, 15)
    Xtr, ytr = digits(n, seed=seed)[:2]
    Xev, yev = Xtr[:1000], ytr[:1000]  # convergence is measured on training data, as in the notes' figure
    out = {"target": target, "max_epochs": max_epochs}
    for name, (act, init) in _ACTS.items():
        rng = seeded(seed)
        model = mlp([784, 100, 100, 100, 10], act=act, init=init)
        opt = optim.SGD(model.parameters(), lr=0.05)
        curve, reached = [], None
        for q in range(max_epochs * 4):  # evaluate every quarter epoch
            fit(model, Xtr, ytr, opt, epochs=0.25, batch_size=32, rng=rng)
            acc = accuracy(model, Xev, yev)
            curve.append(acc)
            if acc >= target and reached is None:
                reached = (q + 1) / 4
                if not quick:
                    break
        out[name] = {"epochs_to_target": reached, "train_curve": curve}
    return out


def _ratio(a, b, cap):
    """a / b in epochs; a run that never reached the target counts as reaching it just after the
    last epoch (a lower bound on the ratio); None when b never reached it."""
    if b is None:
        return None
    return (cap + 0.25 if a is None else a) / b


def _judge_activations(runs):
    e = lambda r, k: r[k]["epochs_to_target"]  # noqa: E731
    return all_of(
        [
            threshold_verdict(
                [_ratio(e(r, "tanh"), e(r, "relu"), r["max_epochs"]) for r in runs],
                ">",
                1.0,
                "epochs to target: tanh / ReLU",
            ),
            threshold_verdict(
                [_ratio(e(r, "sigmoid"), e(r, "tanh"), r["max_epochs"]) for r in runs],
                ">",
                1.0,
                "epochs to target: sigmoid / tanh",
            ),
        ],
        "ReLU reaches the target training accuracy first, sigmoid last",
    )


def _plot_activations(runs, out):
    fig, ax = figure(size=(6.4, 3.8))
    ax = ax[0][0]
    for name, color in zip(_ACTS, ("C0", "C1", "C2")):
        for i, r in enumerate(runs):
            c = r[name]["train_curve"]
            ax.plot(np.arange(1, len(c) + 1) / 4, c, color=color, alpha=0.8, label=name if i == 0 else None)
    ax.axhline(runs[0]["target"], color="k", ls=":", label="target")
    ax.set_xlabel("epoch")
    ax.set_ylabel("training accuracy")
    ax.set_ylim(0, 1)
    ax.set_title("784-100-100-100-10, SGD lr 0.05, batch 32 (one line per seed)", fontsize=9)
    ax.legend(fontsize=8)
    return [save(fig, out, "dev_accuracy")]


register(
    Experiment(
        name="activations",
        source="001",
        heading="第二个问题:为什么引入Relu呢?",
        claim="With the same optimizer, a ReLU net reaches a target training accuracy on the digits in fewer "
        "epochs than tanh, and tanh in fewer than sigmoid (the notes quote 6x faster for ReLU over tanh).",
        run=_run_activations,
        judge=_judge_activations,
        plot=_plot_activations,
    )
)


# ---- batch norm: robustness to bad initialization and to a large learning rate ------------------
_BN_LRS = (0.05, 0.5, 2.0)
_INITS = {"std 0.01": lambda n: 0.01, "He": lambda n: np.sqrt(2.0 / n), "std 0.3": lambda n: 0.3}


def _bn_net(batchnorm: bool, std_of, rng):
    model = mlp([784, 100, 100, 100, 100, 10], batchnorm=batchnorm)
    for m in model.modules():
        if isinstance(m, nn.Linear):
            m.weight.data = (rng.standard_normal(m.weight.shape) * std_of(m.in_features)).astype(np.float32)
    return model


def _run_batchnorm(seed: int, quick: bool) -> dict:
    n, epochs = (600, 1) if quick else (4000, 2)
    Xtr, ytr, Xdv, ydv = digits(n, seed=seed)[:4]
    out = {"init": {}, "lr": {}}
    for bn in (False, True):
        key = "batchnorm" if bn else "plain"
        for init, std_of in _INITS.items():
            rng = seeded(seed)
            model = _bn_net(bn, std_of, np.random.default_rng(seed))
            fit(
                model,
                Xtr,
                ytr,
                optim.SGD(model.parameters(), lr=0.05, momentum=0.9),
                epochs=epochs,
                batch_size=50,
                rng=rng,
            )
            out["init"][f"{key}, {init}"] = accuracy(model, Xdv, ydv)
        for lr in _BN_LRS:
            rng = seeded(seed)
            model = _bn_net(bn, _INITS["He"], np.random.default_rng(seed))
            fit(
                model,
                Xtr,
                ytr,
                optim.SGD(model.parameters(), lr=lr, momentum=0.9),
                epochs=epochs,
                batch_size=50,
                rng=rng,
            )
            out["lr"][f"{key}, lr {lr}"] = accuracy(model, Xdv, ydv)
    return out


def _judge_batchnorm(runs):
    worst = lambda r, key: min(v for k, v in r["init"].items() if k.startswith(key))  # noqa: E731
    return all_of(
        [
            threshold_verdict(
                [worst(r, "batchnorm") - worst(r, "plain") for r in runs],
                ">",
                0.10,
                "worst dev accuracy over the three inits: batch norm - plain",
            ),
            threshold_verdict(
                [_largest_usable(r, "batchnorm") - _largest_usable(r, "plain") for r in runs],
                ">",
                0.0,
                "log10(largest lr of 0.05, 0.5, 2 reaching 80% of the best dev accuracy): batch norm - plain",
            ),
        ],
        "batch norm forgives bad inits and a large learning rate",
    )


def _largest_usable(r, key):
    best = max(r["lr"].values())
    ok = [lr for lr in _BN_LRS if r["lr"][f"{key}, lr {lr}"] >= 0.8 * best]
    return float(np.log10(max(ok))) if ok else float(np.log10(_BN_LRS[0]) - 1)


def _plot_batchnorm(runs, out):
    fig, axes = figure(1, 2, size=(10, 3.8))
    for ax, key, title in (
        (axes[0][0], "init", "initialization (lr 0.05)"),
        (axes[0][1], "lr", "learning rate (He init)"),
    ):
        labels = list(runs[0][key])
        spread_bars(ax, labels, [[r[key][k] for k in labels] for r in runs], "dev accuracy", title)
        ax.set_ylim(0, 1)
    return [save(fig, out, "batchnorm")]


register(
    Experiment(
        name="batchnorm",
        source="004",
        heading="3. 超参数调试和Batch标准化",
        claim="Batch normalization makes a deep net robust to bad weight initialization and lets it train "
        "with a larger learning rate.",
        run=_run_batchnorm,
        judge=_judge_batchnorm,
        plot=_plot_batchnorm,
    )
)


# ---- loss-curve regimes and the update/parameter ratio ----------------------------------------
# The regimes are relative to the best rate of a sweep (10x apart): "good" is the rate with the
# lowest final loss, "low" 100x below it, "high" 10x above, "very high" 100x above.
_SWEEP = (1e-4, 1e-3, 1e-2, 1e-1, 1.0, 10.0, 100.0)


def _run_lr_regimes(seed: int, quick: bool) -> dict:
    n, epochs = (800, 2) if quick else (4000, 5)
    Xtr, ytr = digits(n, seed=seed)[:2]
    sweep = {}
    for lr in _SWEEP:
        rng = seeded(seed)
        model = mlp([784, 100, 10])
        opt = optim.SGD(model.parameters(), lr=lr)
        W = model[0].weight
        ratios = []

        def ratio_hook(step, loss, W=W, ratios=ratios, lr=lr):
            if step % 10 == 0 and W.grad is not None:
                ratios.append(float(np.linalg.norm(lr * W.grad) / max(np.linalg.norm(W.data), 1e-30)))
            return False

        losses = fit(model, Xtr, ytr, opt, epochs=epochs, batch_size=50, rng=rng, on_step=ratio_hook)
        final = float(np.mean(losses[-20:])) if np.isfinite(losses[-1]) else float("inf")
        sweep[lr] = {
            "lr": lr,
            "first_loss": losses[0],
            "final_loss": final,
            "diverged": bool(not np.isfinite(losses[-1]) or final > losses[0]),
            "update_ratio_median": float(np.median(ratios)) if ratios else None,
            "_losses": losses,
        }
    i = int(np.argmin([sweep[lr]["final_loss"] for lr in _SWEEP]))
    pick = lambda j: sweep[_SWEEP[j]] if 0 <= j < len(_SWEEP) else None  # noqa: E731
    out = {
        "good_lr": _SWEEP[i],
        "sweep": {str(lr): {k: v for k, v in r.items() if k != "_losses"} for lr, r in sweep.items()},
    }
    for name, j in (("low", i - 2), ("good", i), ("high", i + 1), ("very high", i + 2)):
        out[name] = pick(j)
    return out


def _judge_lr_regimes(runs):
    get = lambda r, k, f: None if r[k] is None else r[k][f]  # noqa: E731
    return all_of(
        [
            threshold_verdict(
                [None if r["very high"] is None else float(r["very high"]["diverged"]) for r in runs],
                "==",
                1.0,
                "100x the best lr: loss ends above its start or non-finite",
            ),
            threshold_verdict(
                [None if r["low"] is None else r["low"]["final_loss"] / r["good"]["final_loss"] for r in runs],
                ">",
                2.0,
                "best lr / 100: final loss / the best lr's",
            ),
            threshold_verdict(
                [abs(np.log10(get(r, "good", "update_ratio_median")) + 3) for r in runs],
                "<",
                1.0,
                "best lr: |log10(update/param ratio) + 3|",
            ),
        ],
        "very high explodes, low crawls, and the best rate updates about 1e-3 of the weights per step",
    )


def _plot_lr_regimes(runs, out):
    fig, axes = figure(1, 2, size=(10, 3.8))
    ax = axes[0][0]
    r0 = runs[0]
    for name, color in zip(("low", "good", "high", "very high"), ("C2", "C0", "C1", "C3")):
        if r0[name] is None:
            continue
        L = np.asarray(r0[name]["_losses"], dtype=float)
        L = np.where(np.isfinite(L), L, np.nan)
        ax.plot(L, color=color, lw=0.8, label=f"{name} (lr {r0[name]['lr']:g})")
    ax.set_ylim(0, 5)
    ax.set_xlabel("iteration")
    ax.set_ylabel("training loss (seed 0)")
    ax.legend(fontsize=8)
    ax = axes[0][1]
    for i, r in enumerate(runs):
        ratios = [r["sweep"][str(lr)]["update_ratio_median"] for lr in _SWEEP]
        ax.loglog(_SWEEP, [np.nan if v is None else v for v in ratios], "o-", color=f"C{i}", label=f"seed {i}")
        ax.axvline(r["good_lr"], color=f"C{i}", ls=":", lw=0.8)
    ax.axhline(1e-3, color="k", ls="--", label="1e-3 (notes)")
    ax.set_xlabel("learning rate (dotted: lowest final loss)")
    ax.set_ylabel("median ||lr dW|| / ||W||, first layer")
    ax.legend(fontsize=7)
    return [save(fig, out, "loss_curves")]


register(
    Experiment(
        name="lr_regimes",
        source="000",
        heading="8. 检查学习过程",
        claim="Relative to the best learning rate of a sweep, one 100x higher makes the loss explode and one "
        "100x lower decreases it slowly (final loss at least 2x higher); at the best rate the "
        "update/parameter ratio is about 1e-3 (within 10x).",
        run=_run_lr_regimes,
        judge=_judge_lr_regimes,
        plot=_plot_lr_regimes,
    )
)
