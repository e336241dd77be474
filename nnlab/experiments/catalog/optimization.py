"""Parameter updates (000 «9. 参数更新»; 004 «2. 优化算法»): the update rules on test surfaces and on
the digits, mini-batch gradient noise, the bias correction of exponentially weighted averages and
learning-rate decay."""

from __future__ import annotations

import numpy as np

import nnlab
from nnlab import nn, optim
from nnlab.experiments.common import digits, figure, fit, loss_of, optimizer, save, seeded, spread_bars
from nnlab.experiments.registry import Experiment, all_of, register, threshold_verdict

RULES = ("sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam")
_LR_GRID = (1e-3, 3e-3, 1e-2, 3e-2, 1e-1, 3e-1)


# ---- the update rules on a saddle, an ill-conditioned quadratic and Rosenbrock -----------------
def _saddle(p):  # 5 x^2 - 0.05 y^2: steep in x, a slow escape along y
    x, y = p[0], p[1]
    return 5.0 * x * x - 0.05 * y * y


def _quadratic(p):  # condition number 50
    x, y = p[0], p[1]
    return 0.5 * x * x + 25.0 * y * y


def _rosenbrock(p):
    x, y = p[0], p[1]
    return (1.0 - x) * (1.0 - x) + 100.0 * (y - x * x) * (y - x * x)


_SURFACES = {
    # name: (function, start, steps, goal test on the trajectory, plot box)
    "saddle": (_saddle, (1.0, 1e-3), 300, lambda xy: abs(xy[1]) >= 1.0, (-1.2, 1.2, -2.2, 2.2)),
    "ill-conditioned quadratic": (
        _quadratic,
        (-4.0, 1.0),
        300,
        lambda xy: 0.5 * xy[0] ** 2 + 25 * xy[1] ** 2 < 1e-3,
        (-4.5, 1, -1.3, 1.3),
    ),
    "rosenbrock": (
        _rosenbrock,
        (-1.5, 2.0),
        1500,
        lambda xy: (xy[0] - 1) ** 2 + (xy[1] - 1) ** 2 < 1e-2,
        (-2, 2, -1, 3),
    ),
}


def _trajectory(fn, start, rule, lr, steps, goal):
    p = nnlab.tensor(np.array(start, dtype=np.float64), requires_grad=True)  # a copy: the rule updates it in place
    opt = optimizer(rule, [p], lr)
    path, hit = [p.data.copy()], None
    for t in range(steps):
        opt.zero_grad()
        fn(p).backward()
        opt.step()
        xy = p.data.copy()
        path.append(xy)
        if not np.all(np.isfinite(xy)) or np.abs(xy).max() > 1e6:
            break
        if hit is None and goal(xy):
            hit = t + 1
    return hit, np.asarray(path)


def _run_surfaces(seed: int, quick: bool) -> dict:
    rng = np.random.default_rng(seed)
    grid = (1e-2, 1e-1) if quick else _LR_GRID
    out = {}
    for name, (fn, start, steps, goal, _) in _SURFACES.items():
        if quick:
            steps = steps // 3
        start = np.asarray(start) * (1 + 0.05 * rng.standard_normal(2))  # each seed nudges the start
        res = {}
        for rule in RULES:
            best = None
            for lr in grid:
                hit, path = _trajectory(fn, start, rule, lr, steps, goal)
                key = hit if hit is not None else steps + 1
                if best is None or key < best[0]:
                    best = (key, lr, path)
            res[rule] = {"steps_to_goal": best[0] if best[0] <= steps else None, "best_lr": best[1], "_path": best[2]}
        out[name] = {"max_steps": steps, **res}
    return out


def _steps(r, surface, rule):
    s = r[surface][rule]["steps_to_goal"]
    return s if s is not None else r[surface]["max_steps"] + 1  # censored: a lower bound


def _judge_surfaces(runs):
    return all_of(
        [
            threshold_verdict(
                [
                    _steps(r, "saddle", "sgd") / min(_steps(r, "saddle", k) for k in ("adagrad", "rmsprop", "adam"))
                    for r in runs
                ],
                ">",
                1.0,
                "saddle: steps to escape, SGD / best adaptive rule",
            ),
            threshold_verdict(
                [
                    _steps(r, "ill-conditioned quadratic", "sgd") / _steps(r, "ill-conditioned quadratic", "momentum")
                    for r in runs
                ],
                ">",
                1.0,
                "ill-conditioned quadratic: steps to f < 1e-3, SGD / momentum",
            ),
            threshold_verdict(
                [_steps(r, "rosenbrock", "sgd") / _steps(r, "rosenbrock", "adam") for r in runs],
                ">",
                1.0,
                "Rosenbrock: steps to within 0.1 of (1, 1), SGD / Adam",
            ),
        ],
        "adaptive rules escape the saddle, momentum crosses the ravine, Adam reaches Rosenbrock's minimum faster than SGD",
    )


def _plot_surfaces(runs, out):
    r = runs[0]
    fig, axes = figure(1, 3, size=(15, 4.6))
    for ax, (name, (fn, _, _, _, box)) in zip(axes[0], _SURFACES.items()):
        gx, gy = np.meshgrid(np.linspace(box[0], box[1], 200), np.linspace(box[2], box[3], 200))
        Z = fn((gx, gy))
        levels = np.quantile(Z, np.linspace(0.02, 0.98, 25)) if name != "rosenbrock" else np.logspace(-1, 3.5, 20)
        ax.contour(gx, gy, Z, levels=np.unique(levels), colors="#bbb", linewidths=0.6)
        for i, rule in enumerate(RULES):
            path = r[name][rule]["_path"]
            s = r[name][rule]["steps_to_goal"]
            ax.plot(
                path[:, 0],
                path[:, 1],
                lw=1.2,
                color=f"C{i}",
                label=f"{rule} (lr {r[name][rule]['best_lr']:g}): {s if s is not None else '>' + str(r[name]['max_steps'])}",
            )
        ax.set_xlim(box[0], box[1])
        ax.set_ylim(box[2], box[3])
        ax.set_title(f"{name}: steps to goal at each rule's best lr", fontsize=9)
        ax.legend(fontsize=6.5, loc="lower right")
    return [save(fig, out, "trajectories")]


register(
    Experiment(
        name="optimizers_surfaces",
        source="000",
        heading="9. 参数更新",
        claim="On a saddle the per-parameter adaptive rules (Adagrad, RMSprop, Adam) escape sooner than SGD; on an "
        "ill-conditioned quadratic momentum converges sooner than SGD; on Rosenbrock Adam reaches the "
        "minimum sooner than SGD (each rule at its best learning rate from one grid).",
        run=_run_surfaces,
        judge=_judge_surfaces,
        plot=_plot_surfaces,
    )
)


# ---- the update rules on the digits --------------------------------------------------------------
_DIGIT_LRS = {
    "sgd": (0.03, 0.1, 0.3),
    "momentum": (0.01, 0.03, 0.1),
    "nesterov": (0.01, 0.03, 0.1),
    "adagrad": (0.01, 0.03, 0.1),
    "rmsprop": (3e-4, 1e-3, 3e-3),
    "adam": (3e-4, 1e-3, 3e-3),
}


def _run_opt_digits(seed: int, quick: bool) -> dict:
    n, epochs = (500, 1) if quick else (4000, 3)
    Xtr, ytr = digits(n, seed=seed)[:2]
    out = {}
    for rule, lrs in _DIGIT_LRS.items():
        best = None
        for lr in lrs[1:2] if quick else lrs:
            rng = seeded(seed)
            model = nn.Sequential(nn.Linear(784, 100), nn.ReLU(), nn.Linear(100, 10))
            losses = fit(
                model, Xtr, ytr, optimizer(rule, model.parameters(), lr), epochs=epochs, batch_size=50, rng=rng
            )
            final = loss_of(model, Xtr, ytr)
            if best is None or final < best[0]:
                best = (final, lr, losses)
        out[rule] = {"train_loss": best[0], "best_lr": best[1], "_losses": best[2]}
    return out


def _judge_opt_digits(runs):
    return all_of(
        [
            threshold_verdict(
                [r["sgd"]["train_loss"] / r["adam"]["train_loss"] for r in runs],
                ">",
                1.0,
                "final training loss: SGD / Adam",
            ),
            threshold_verdict(
                [r["sgd"]["train_loss"] / r["momentum"]["train_loss"] for r in runs],
                ">",
                1.0,
                "final training loss: SGD / momentum",
            ),
        ],
        "Adam and momentum train faster than plain SGD",
    )


def _plot_opt_digits(runs, out):
    fig, axes = figure(1, 2, size=(11, 3.8))
    ax = axes[0][0]
    for i, rule in enumerate(RULES):
        L = np.asarray(runs[0][rule]["_losses"])
        k = 10
        ax.plot(
            np.convolve(L, np.ones(k) / k, mode="valid"),
            color=f"C{i}",
            lw=1,
            label=f"{rule} (lr {runs[0][rule]['best_lr']:g})",
        )
    ax.set_yscale("log")
    ax.set_xlabel("iteration")
    ax.set_ylabel("mini-batch loss (moving average of 10)")
    ax.legend(fontsize=7)
    spread_bars(
        axes[0][1],
        list(RULES),
        [[r[k]["train_loss"] for k in RULES] for r in runs],
        "final training loss",
        "each rule at its best lr (of 3)",
    )
    return [save(fig, out, "digits")]


register(
    Experiment(
        name="optimizers_digits",
        source="000",
        heading="9. 参数更新",
        claim="On the digits, Adam and SGD with momentum reach a lower training loss than plain SGD in the same "
        "number of epochs (each at its best learning rate of three).",
        run=_run_opt_digits,
        judge=_judge_opt_digits,
        plot=_plot_opt_digits,
    )
)


# ---- batch vs mini-batch vs single-example gradient noise (Ng) ----------------------------------
def _run_minibatch(seed: int, quick: bool) -> dict:
    n, steps = (1000, 60) if quick else (4000, 300)
    Xtr, ytr = digits(n, seed=seed)[:2]
    out = {}
    for name, (bs, lr) in {"batch (all)": (n, 0.5), "mini-batch 64": (64, 0.5), "single example": (1, 0.05)}.items():
        rng = seeded(seed)
        model = nn.Sequential(nn.Linear(784, 10, init="small"))  # softmax regression: a convex cost
        opt = optim.SGD(model.parameters(), lr=lr)
        full = [loss_of(model, Xtr, ytr)]

        def track(step, loss, model=model, full=full):
            full.append(loss_of(model, Xtr, ytr))
            return False

        fit(model, Xtr, ytr, opt, epochs=steps * bs / n, batch_size=bs, rng=rng, on_step=track)
        d = np.diff(full)
        out[name] = {"fraction_up": float(np.mean(d > 0)), "final": full[-1], "_full": full}
    return out


def _judge_minibatch(runs):
    f = lambda r, k: r[k]["fraction_up"]  # noqa: E731
    return all_of(
        [
            threshold_verdict(
                [f(r, "batch (all)") for r in runs], "<", 0.01, "batch GD: fraction of steps raising the cost"
            ),
            threshold_verdict(
                [f(r, "mini-batch 64") - f(r, "batch (all)") for r in runs], ">", 0.0, "fraction up: mini-batch - batch"
            ),
            threshold_verdict(
                [f(r, "single example") - f(r, "mini-batch 64") for r in runs],
                ">",
                0.0,
                "fraction up: single example - mini-batch",
            ),
        ],
        "the full cost falls monotonically with batch GD and gets noisier as the batch shrinks",
    )


def _plot_minibatch(runs, out):
    fig, ax = figure(size=(6.4, 3.8))
    ax = ax[0][0]
    for i, k in enumerate(("batch (all)", "mini-batch 64", "single example")):
        ax.plot(runs[0][k]["_full"], color=f"C{i}", lw=1, label=f"{k}: {runs[0][k]['fraction_up'] * 100:.0f}% steps up")
    ax.set_xlabel("update")
    ax.set_ylabel("cost on the whole training set")
    ax.legend(fontsize=8)
    return [save(fig, out, "cost")]


register(
    Experiment(
        name="minibatch_noise",
        source="004",
        heading="2. 优化算法 (Mini-batch 梯度下降)",
        claim="With batch gradient descent the cost falls at every step; with mini-batches it falls on average "
        "but with noise, and with single examples (stochastic GD) the noise is largest.",
        run=_run_minibatch,
        judge=_judge_minibatch,
        plot=_plot_minibatch,
    )
)


# ---- bias correction of the exponentially weighted average (Ng's temperatures) ------------------
def _run_ewa(seed: int, quick: bool) -> dict:
    rng = np.random.default_rng(seed)
    days = np.arange(1, 366)
    true = 15 - 10 * np.cos(2 * np.pi * (days - 15) / 365)  # a year of daily temperatures
    theta = true + 3 * rng.standard_normal(len(days))
    beta = 0.98
    v, raw, corr = 0.0, [], []
    for t, x in enumerate(theta, 1):
        v = beta * v + (1 - beta) * x
        raw.append(v)
        corr.append(v / (1 - beta**t))
    raw, corr = np.asarray(raw), np.asarray(corr)
    k = 20
    return {
        "beta": beta,
        "early_error_raw": float(np.mean(np.abs(raw[:k] - true[:k]))),
        "early_error_corrected": float(np.mean(np.abs(corr[:k] - true[:k]))),
        "late_relative_difference": float(np.max(np.abs(raw[-100:] - corr[-100:]) / np.abs(corr[-100:]))),
        "_series": (theta, raw, corr, true),
    }


def _judge_ewa(runs):
    return all_of(
        [
            threshold_verdict(
                [r["early_error_raw"] / r["early_error_corrected"] for r in runs],
                ">",
                2.0,
                "mean |error| over the first 20 days: uncorrected / corrected",
            ),
            threshold_verdict(
                [r["late_relative_difference"] for r in runs],
                "<",
                0.01,
                "last 100 days: max |uncorrected - corrected| / |corrected|",
            ),
        ],
        "bias correction fixes the start and changes nothing later",
    )


def _plot_ewa(runs, out):
    theta, raw, corr, true = runs[0]["_series"]
    fig, ax = figure(size=(7, 3.6))
    ax = ax[0][0]
    ax.scatter(np.arange(1, 366), theta, s=3, color="#999", label="daily value")
    ax.plot(np.arange(1, 366), raw, color="purple", label="v_t, beta 0.98 (uncorrected)")
    ax.plot(np.arange(1, 366), corr, color="green", label="v_t / (1 - beta^t)")
    ax.set_xlabel("day")
    ax.legend(fontsize=8)
    return [save(fig, out, "ewa")]


register(
    Experiment(
        name="ewa_bias_correction",
        source="004",
        heading="2. 优化算法 (指数加权平均的偏差修正)",
        claim="An exponentially weighted average started at 0 is far too low for its first days; dividing by "
        "1 - beta^t corrects the start (error at least halved) and makes no difference later.",
        run=_run_ewa,
        judge=_judge_ewa,
        plot=_plot_ewa,
    )
)


# ---- learning-rate decay --------------------------------------------------------------------------
def _run_decay(seed: int, quick: bool) -> dict:
    rng = np.random.default_rng(seed)
    n, d, epochs = (500, 20, 10) if quick else (2000, 20, 30)
    X = rng.standard_normal((n, d))
    w_true = rng.standard_normal(d)
    y = X @ w_true + 0.5 * rng.standard_normal(n)
    w_star = np.linalg.lstsq(X, y, rcond=None)[0]  # the minimum of the mean squared error
    out = {}
    for name, decay in (("constant lr", 0.0), ("lr / (1 + epoch)", 1.0)):
        w = nnlab.tensor(np.zeros(d), requires_grad=True, dtype=np.float64)
        opt = optim.SGD([w], lr=0.05)
        r = np.random.default_rng(seed)
        dist = []
        for epoch in range(epochs):
            opt.param_groups[0]["lr"] = 0.05 / (1 + decay * epoch)
            for idx in np.array_split(r.permutation(n), n // 10):
                xb = nnlab.tensor(X[idx], dtype=np.float64)
                err = xb @ w - nnlab.tensor(y[idx], dtype=np.float64)
                opt.zero_grad()
                (err * err).mean().backward()
                opt.step()
            dist.append(float(np.linalg.norm(w.data - w_star)))
        out[name] = {"final_distance": float(np.mean(dist[-3:])), "_dist": dist}
    return out


def _judge_decay(runs):
    return threshold_verdict(
        [r["constant lr"]["final_distance"] / r["lr / (1 + epoch)"]["final_distance"] for r in runs],
        ">",
        1.0,
        "final distance to the minimum: constant lr / decayed lr",
    )


def _plot_decay(runs, out):
    fig, ax = figure(size=(6.4, 3.6))
    ax = ax[0][0]
    for k in ("constant lr", "lr / (1 + epoch)"):
        ax.semilogy(np.arange(1, len(runs[0][k]["_dist"]) + 1), runs[0][k]["_dist"], label=k)
    ax.set_xlabel("epoch (mini-batches of 10)")
    ax.set_ylabel("||w - w*||")
    ax.legend(fontsize=8)
    return [save(fig, out, "distance")]


register(
    Experiment(
        name="lr_decay",
        source="004",
        heading="2. 优化算法 (学习率衰减)",
        claim="With mini-batch SGD a constant learning rate keeps wandering around the minimum; decaying it as "
        "lr0 / (1 + decay * epoch) ends closer to the minimum.",
        run=_run_decay,
        judge=_judge_decay,
        plot=_plot_decay,
    )
)
