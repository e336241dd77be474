"""Activations, batch norm, the learning-rate regimes and the update ratio (000 «神经网络», «检查学习过程»;
001 «为什么引入Relu»; 004 «Batch标准化»)."""
from __future__ import annotations

import numpy as np

from nnlab import nn, optim
from nnlab.experiments.common import accuracy, digits, figure, fit, loss_of, mlp, save, seeded, spread_bars
from nnlab.experiments.registry import Experiment, all_of, register, threshold_verdict

# ---- ReLU vs tanh vs sigmoid -------------------------------------------------------------------
_ACTS = {"relu": (nn.ReLU, "he"), "tanh": (nn.Tanh, "xavier"), "sigmoid": (nn.Sigmoid, "xavier")}


def _run_activations(seed: int, quick: bool) -> dict:
    n, target, max_epochs = (800, 0.85, 4) if quick else (4000, 0.95, 15)
    Xtr, ytr = digits(n, seed=seed)[:2]
    Xev, yev = Xtr[:1000], ytr[:1000]   # convergence is measured on training data, as in the notes' figure
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
    return all_of([
        threshold_verdict([_ratio(e(r, "tanh"), e(r, "relu"), r["max_epochs"]) for r in runs], ">", 1.0,
                          "epochs to target: tanh / ReLU"),
        threshold_verdict([_ratio(e(r, "sigmoid"), e(r, "tanh"), r["max_epochs"]) for r in runs], ">", 1.0,
                          "epochs to target: sigmoid / tanh"),
    ], "ReLU reaches the target training accuracy first, sigmoid last")


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


register(Experiment(
    name="activations", source="001", heading="第二个问题:为什么引入Relu呢?",
    claim="With the same optimizer, a ReLU net reaches a target training accuracy on the digits in fewer "
          "epochs than tanh, and tanh in fewer than sigmoid (the notes quote 6x faster for ReLU over tanh).",
    run=_run_activations, judge=_judge_activations, plot=_plot_activations))


# ---- batch norm: robustness to bad initialization and to a large learning rate ------------------
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
            fit(model, Xtr, ytr, optim.SGD(model.parameters(), lr=0.05, momentum=0.9), epochs=epochs,
                batch_size=50, rng=rng)
            out["init"][f"{key}, {init}"] = accuracy(model, Xdv, ydv)
        for lr in (0.05, 0.5, 2.0):
            rng = seeded(seed)
            model = _bn_net(bn, _INITS["He"], np.random.default_rng(seed))
            fit(model, Xtr, ytr, optim.SGD(model.parameters(), lr=lr, momentum=0.9), epochs=epochs,
                batch_size=50, rng=rng)
            out["lr"][f"{key}, lr {lr}"] = accuracy(model, Xdv, ydv)
    return out


def _judge_batchnorm(runs):
    worst = lambda r, key: min(v for k, v in r["init"].items() if k.startswith(key))  # noqa: E731
    return all_of([
        threshold_verdict([worst(r, "batchnorm") - worst(r, "plain") for r in runs], ">", 0.10,
                          "worst dev accuracy over the three inits: batch norm - plain"),
        threshold_verdict([r["lr"]["batchnorm, lr 2.0"] - r["lr"]["plain, lr 2.0"] for r in runs], ">", 0.10,
                          "dev accuracy at lr 2.0 (momentum 0.9): batch norm - plain"),
    ], "batch norm forgives bad inits and a large learning rate")


def _plot_batchnorm(runs, out):
    fig, axes = figure(1, 2, size=(10, 3.8))
    for ax, key, title in ((axes[0][0], "init", "initialization (lr 0.05)"), (axes[0][1], "lr", "learning rate (He init)")):
        labels = list(runs[0][key])
        spread_bars(ax, labels, [[r[key][k] for k in labels] for r in runs], "dev accuracy", title)
        ax.set_ylim(0, 1)
    return [save(fig, out, "batchnorm")]


register(Experiment(
    name="batchnorm", source="004", heading="3. 超参数调试和Batch标准化",
    claim="Batch normalization makes a deep net robust to bad weight initialization and lets it train "
          "with a larger learning rate.",
    run=_run_batchnorm, judge=_judge_batchnorm, plot=_plot_batchnorm))


# ---- loss-curve regimes and the update/parameter ratio ----------------------------------------
_REGIMES = {"low": 1e-4, "good": 0.1, "high": 1.0, "very high": 5.0}


def _run_lr_regimes(seed: int, quick: bool) -> dict:
    n, epochs = (800, 2) if quick else (4000, 5)
    Xtr, ytr = digits(n, seed=seed)[:2]
    out = {}
    for name, lr in _REGIMES.items():
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
        out[name] = {"lr": lr, "first_loss": losses[0], "final_loss": float(np.mean(losses[-20:])),
                     "diverged": bool(not np.isfinite(losses[-1]) or np.mean(losses[-20:]) > losses[0]),
                     "update_ratio_median": float(np.median(ratios)) if ratios else None,
                     "_losses": losses}
    return out


def _judge_lr_regimes(runs):
    return all_of([
        threshold_verdict([float(r["very high"]["diverged"]) for r in runs], "==", 1.0,
                          "very high lr: loss ends above its start or non-finite"),
        threshold_verdict([r["low"]["final_loss"] / r["good"]["final_loss"] for r in runs], ">", 2.0,
                          "low lr: final loss / good lr's"),
        threshold_verdict([r["high"]["final_loss"] / r["good"]["final_loss"] for r in runs], ">", 1.0,
                          "high lr: final loss / good lr's"),
        threshold_verdict([abs(np.log10(r["good"]["update_ratio_median"]) + 3) for r in runs], "<", 1.0,
                          "good lr: |log10(update/param ratio) + 3|"),
    ], "the four loss-curve regimes and an update ratio near 1e-3")


def _plot_lr_regimes(runs, out):
    fig, axes = figure(1, 2, size=(10, 3.8))
    ax = axes[0][0]
    for name, color in zip(_REGIMES, ("C2", "C0", "C1", "C3")):
        L = np.asarray(runs[0][name]["_losses"], dtype=float)
        L = np.where(np.isfinite(L), L, np.nan)
        ax.plot(L, color=color, lw=0.8, label=f"{name} (lr {_REGIMES[name]:g})")
    ax.set_ylim(0, 5)
    ax.set_xlabel("iteration")
    ax.set_ylabel("training loss (seed 0)")
    ax.legend(fontsize=8)
    ax = axes[0][1]
    labels = list(_REGIMES)
    vals = [[r[k]["update_ratio_median"] or np.nan for k in labels] for r in runs]
    ax.semilogy(range(len(labels)), np.nanmedian(np.asarray(vals, dtype=float), axis=0), "o-")
    ax.axhline(1e-3, color="k", ls=":", label="1e-3 (notes)")
    ax.set_xticks(range(len(labels)))
    ax.set_xticklabels(labels)
    ax.set_ylabel("median ||lr dW|| / ||W||, first layer")
    ax.legend(fontsize=8)
    return [save(fig, out, "loss_curves")]


register(Experiment(
    name="lr_regimes", source="000", heading="8. 检查学习过程",
    claim="A very high learning rate makes the loss explode, a low one decreases it slowly, a high one "
          "stalls above a good one; at a good rate the update/parameter ratio is about 1e-3.",
    run=_run_lr_regimes, judge=_judge_lr_regimes, plot=_plot_lr_regimes))
