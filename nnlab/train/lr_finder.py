"""Learning-rate range test: let the learning rate grow exponentially for a few hundred steps,
record the loss, and suggest the rate where the (smoothed) loss falls fastest.

The loss curve against log(lr) is flat while the rate is too small, falls steeply in the useful
range, then turns up and explodes. The suggestion is the point of steepest descent of the
smoothed curve, d loss / d log10(lr) most negative, taken before the divergence. The curve is
noisy (mini-batches, dropout), so the test runs from k seeds (fresh initialization and shuffling
each) and reports the median suggestion with its spread.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from nnlab.engine import random as nrandom
from nnlab.engine.tensor import Tensor
from nnlab.train.metrics import ema_smooth

__all__ = ["lr_find", "LRFinderResult", "steepest_descent"]


@dataclass
class LRFinderResult:
    """Curves and suggestions of a range test.

    Attributes:
        lrs, losses, smoothed: one array per seed (runs stop early when the loss diverges).
        suggestions: the steepest-descent learning rate of each seed.
        suggestion: their median (geometric middle when k is even).
        spread: (min, max) over seeds; ``log10_std`` the standard deviation of log10(suggestions).
    """

    lrs: list = field(default_factory=list)
    losses: list = field(default_factory=list)
    smoothed: list = field(default_factory=list)
    suggestions: list = field(default_factory=list)
    seeds: list = field(default_factory=list)

    @property
    def suggestion(self) -> float:
        return float(10 ** np.median(np.log10(self.suggestions)))

    @property
    def spread(self) -> tuple[float, float]:
        return float(min(self.suggestions)), float(max(self.suggestions))

    @property
    def log10_std(self) -> float:
        return float(np.std(np.log10(self.suggestions)))

    def __str__(self) -> str:
        lo, hi = self.spread
        return (
            f"suggested lr {self.suggestion:.3g} (median of {len(self.suggestions)} seeds; "
            f"range {lo:.3g} to {hi:.3g}, log10 std {self.log10_std:.2f})"
        )

    def plot(self, ax=None):
        """Loss against learning rate (log axis), each seed, with the suggestions marked."""
        import matplotlib

        matplotlib.use("Agg", force=False)
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(figsize=(6, 4))
        for lr, raw, sm, s in zip(self.lrs, self.losses, self.smoothed, self.suggestions):
            (line,) = ax.plot(lr, sm, lw=1.5)
            ax.plot(lr, raw, lw=0.5, alpha=0.3, color=line.get_color())
            ax.axvline(s, color=line.get_color(), ls=":", lw=1)
        ax.axvline(self.suggestion, color="k", ls="--", lw=1, label=f"suggested {self.suggestion:.2g}")
        ax.set_xscale("log")
        ax.set_xlabel("learning rate")
        ax.set_ylabel("loss (smoothed)")
        ax.legend()
        return ax


def steepest_descent(lrs, smoothed, skip_start: int = 10) -> int:
    """Index of the most negative d smoothed / d log10(lr), ignoring the first ``skip_start``
    points (the moving average still warms up there)."""
    lrs, smoothed = np.asarray(lrs, dtype=np.float64), np.asarray(smoothed, dtype=np.float64)
    if len(lrs) < 3:
        raise ValueError(
            f"lr_find: need at least 3 recorded steps to find a slope, got {len(lrs)}; "
            "raise num_steps or lower start_lr"
        )
    slope = np.gradient(smoothed, np.log10(lrs))
    lo = min(skip_start, len(lrs) - 2)
    return lo + int(np.argmin(slope[lo:]))


def lr_find(
    model,
    loss_fn,
    data,
    optimizer=None,
    *,
    start_lr: float = 1e-6,
    end_lr: float = 10.0,
    num_steps: int = 200,
    batch_size: int = 32,
    seeds=(0, 1, 2),
    beta: float = 0.95,
    diverge: float = 4.0,
    regularizer=None,
) -> LRFinderResult:
    """Run the range test from each seed and suggest a learning rate.

    Args:
        model: a function ``() -> Module`` (called after seeding, so each seed has its own
            initialization) or a Module (its weights are restored before each run and at the end).
        loss_fn: ``loss(outputs, labels)``.
        data: ArrayDataset or (X, y) (preprocessed as for training).
        optimizer: ``make(params, lr)``; default SGD with momentum 0.9.
        start_lr, end_lr, num_steps: lr_t = start_lr * (end_lr / start_lr) ** (t / (num_steps - 1)).
        beta: smoothing of the loss (bias-corrected moving average).
        diverge: stop a run once the smoothed loss exceeds ``diverge`` times its minimum.
    """
    from nnlab.data.loader import DataLoader
    from nnlab.nn.module import Module

    if not 0 < start_lr < end_lr:
        raise ValueError(f"lr_find: need 0 < start_lr < end_lr, got {start_lr} and {end_lr}")
    if num_steps < 3:
        raise ValueError(f"lr_find: num_steps must be >= 3, got {num_steps}")
    seeds = list(seeds)
    if not seeds:
        raise ValueError("lr_find: give at least one seed")
    if optimizer is None:
        from nnlab.optim import SGD

        def optimizer(params, lr):
            return SGD(params, lr=lr, momentum=0.9)

    saved = model.state_dict() if isinstance(model, Module) else None
    rng_state = nrandom.get_state()
    schedule = start_lr * (end_lr / start_lr) ** (np.arange(num_steps) / (num_steps - 1))
    result = LRFinderResult()
    try:
        for seed in seeds:
            nrandom.manual_seed(seed)
            if saved is not None:
                net = model
                net.load_state_dict(saved)
            else:
                net = model()
            net.train()
            opt = optimizer(list(net.parameters()), float(schedule[0]))
            loader = DataLoader(data, batch_size=batch_size, shuffle=True, seed=seed)
            lrs, losses = [], []
            best, avg = math.inf, 0.0
            step, epoch = 0, 0
            while step < num_steps:
                loader.set_epoch(epoch)
                for xb, yb in loader:
                    if step >= num_steps:
                        break
                    lr = float(schedule[step])
                    for g in opt.param_groups:
                        g["lr"] = lr
                    try:
                        with np.errstate(over="ignore", invalid="ignore"):
                            loss = loss_fn(net(Tensor(xb)), yb)
                            total = loss + regularizer(net) if regularizer is not None else loss
                            opt.zero_grad()
                            total.backward()
                            opt.step()
                        v = float(loss.data)
                    except (ValueError, FloatingPointError):  # a loss refusing non-finite scores: diverged
                        v = math.inf
                    step += 1
                    if not math.isfinite(v):
                        break
                    lrs.append(lr)
                    losses.append(v)
                    avg = beta * avg + (1 - beta) * v
                    s = avg / (1 - beta ** len(losses))
                    best = min(best, s)
                    if len(losses) > 10 and s > diverge * best:
                        step = num_steps
                        break
                else:
                    epoch += 1
                    continue
                break
            sm = ema_smooth(losses, beta)
            end = int(np.argmin(sm)) + 1 if len(sm) else 0  # search before the divergence only
            end = max(end, min(len(sm), 3))
            i = steepest_descent(lrs[:end], sm[:end], skip_start=min(10, max(end - 3, 0)))
            result.lrs.append(np.asarray(lrs))
            result.losses.append(np.asarray(losses))
            result.smoothed.append(sm)
            result.suggestions.append(float(lrs[i]))
            result.seeds.append(seed)
    finally:
        if saved is not None:
            model.load_state_dict(saved)
        nrandom.set_state(rng_state)
    return result
