"""Learning-rate (and momentum) schedules: pure value(t) functions plus a wrapper that writes them
into an optimizer's parameter groups.

Every schedule is an object with ``__call__(t) -> value`` (t = step or epoch, from 0) and
``value(t, base)``. Built with a number first (``StepLR(0.1, step_size=5)``) it is a pure function of
t. Built with an optimizer first (``StepLR(opt, step_size=5)``, as in PyTorch) it is bound: each
group's own initial lr is the base, and ``step()`` advances t and writes the new values. The same
binding is available explicitly as ``Scheduler(optimizer, schedule, key="lr" | "momentum")``.

The notes' annealing forms: step decay (halve every few epochs), exponential ``a0 e^(-kt)``, 1/t
``a0 / (1 + kt)`` (the same formula as ``a0 / (1 + decay_rate * epoch)``), ``r^epoch a0``,
``k / sqrt(epoch) a0``, reduce-on-plateau, and a momentum schedule rising from 0.5 to 0.99.
"""

from __future__ import annotations

import copy
import math

import numpy as np

from nnlab.engine._args import check_float, check_int, check_int_list
from nnlab.optim.optimizer import Optimizer

__all__ = [
    "Schedule",
    "Scheduler",
    "Constant",
    "StepLR",
    "StepDecay",
    "MultiStepLR",
    "ExponentialLR",
    "ExponentialDecay",
    "InverseTimeDecay",
    "InverseSqrtDecay",
    "LambdaLR",
    "CosineAnnealingLR",
    "LinearWarmup",
    "MomentumSchedule",
    "ReduceLROnPlateau",
    "OneCycleLR",
]


class Schedule:
    """Base: ``value(t, base)`` is the schedule; ``__call__(t)`` uses the base given at construction."""

    def __init__(self, base=None):
        self._bound = None
        if isinstance(base, Optimizer):
            self.base = None
            self._bound = Scheduler(base, self)
        else:
            if base is not None and not (isinstance(base, (int, float)) and math.isfinite(base)):
                raise TypeError(
                    f"{type(self).__name__}: first argument must be a number (the initial "
                    f"value) or an Optimizer, got {type(base).__name__}"
                )
            self.base = None if base is None else float(base)

    def value(self, t: float, base: float) -> float:
        raise NotImplementedError

    def __call__(self, t: float) -> float:
        if self.base is None:
            raise ValueError(
                f"{type(self).__name__}: no initial value; build it with a number first or use it through an optimizer"
            )
        return self.value(t, self.base)

    # ---- PyTorch-style use when bound to an optimizer ----------------------------------
    def _scheduler(self) -> "Scheduler":
        if self._bound is None:
            raise TypeError(
                f"{type(self).__name__}: step() needs the schedule to be built with an "
                f"optimizer (or wrapped in Scheduler(optimizer, schedule))"
            )
        return self._bound

    def step(self) -> None:
        self._scheduler().step()

    def get_last_lr(self) -> list[float]:
        return self._scheduler().get_last()

    @property
    def last_epoch(self) -> int:
        return self._scheduler().t

    def state_dict(self) -> dict:
        return self._scheduler().state_dict()

    def load_state_dict(self, state: dict) -> None:
        self._scheduler().load_state_dict(state)


def _check(name, key, value, lo=0.0, lo_open=False, hi=None):
    ok = isinstance(value, (int, float)) and math.isfinite(value) and (value > lo if lo_open else value >= lo)
    if ok and hi is not None:
        ok = value <= hi
    if not ok:
        bound = (">" if lo_open else ">=") + f" {lo}" + (f" and <= {hi}" if hi is not None else "")
        raise ValueError(f"{name}: {key} must be a number {bound}, got {value!r}")


class Constant(Schedule):
    """a(t) = a0."""

    def value(self, t, base):
        return base


class StepLR(Schedule):
    """Step decay: a(t) = a0 * gamma^floor(t / step_size) (halve every 5 epochs: gamma=0.5, step_size=5)."""

    def __init__(self, base=None, step_size: int = 1, gamma: float = 0.1):
        check_int("StepLR", "step_size", step_size, min=1)
        _check("StepLR", "gamma", gamma, 0.0, lo_open=True)
        self.step_size, self.gamma = int(step_size), float(gamma)
        super().__init__(base)

    def value(self, t, base):
        return base * self.gamma ** (int(t) // self.step_size)


StepDecay = StepLR


class MultiStepLR(Schedule):
    """a(t) = a0 * gamma^(number of milestones <= t)."""

    def __init__(self, base=None, milestones=(), gamma: float = 0.1):
        self.milestones = sorted(check_int_list("MultiStepLR", "milestones", milestones, min=0))
        _check("MultiStepLR", "gamma", gamma, 0.0, lo_open=True)
        self.gamma = float(gamma)
        super().__init__(base)

    def value(self, t, base):
        return base * self.gamma ** sum(1 for m in self.milestones if m <= t)


class ExponentialLR(Schedule):
    """a(t) = gamma^t * a0 (the notes' ``r^epoch * a0``, 0 < r <= 1)."""

    def __init__(self, base=None, gamma: float = 0.95):
        _check("ExponentialLR", "gamma", gamma, 0.0, lo_open=True)
        self.gamma = float(gamma)
        super().__init__(base)

    def value(self, t, base):
        return base * self.gamma**t


class ExponentialDecay(Schedule):
    """a(t) = a0 * e^(-k t): fast at first, then slow."""

    def __init__(self, base=None, k: float = 0.1):
        _check("ExponentialDecay", "k", k)
        self.k = float(k)
        super().__init__(base)

    def value(self, t, base):
        return base * math.exp(-self.k * t)


class InverseTimeDecay(Schedule):
    """1/t decay: a(t) = a0 / (1 + k t); with t = epoch and k = decay_rate it is
    a = a0 / (1 + decay_rate * epoch_num). ``decay_rate`` is accepted as another name for k."""

    def __init__(self, base=None, k: float | None = None, *, decay_rate: float | None = None):
        if (k is None) == (decay_rate is None):
            raise ValueError("InverseTimeDecay: give exactly one of k and decay_rate")
        k = k if k is not None else decay_rate
        _check("InverseTimeDecay", "k", k)
        self.k = float(k)
        super().__init__(base)

    def value(self, t, base):
        return base / (1.0 + self.k * t)


class InverseSqrtDecay(Schedule):
    """a(epoch) = k / sqrt(epoch) * a0 for epoch >= 1; epoch 0 is treated as 1 (value k * a0)."""

    def __init__(self, base=None, k: float = 1.0):
        _check("InverseSqrtDecay", "k", k, 0.0, lo_open=True)
        self.k = float(k)
        super().__init__(base)

    def value(self, t, base):
        return base * self.k / math.sqrt(max(t, 1))


class LambdaLR(Schedule):
    """a(t) = a0 * fn(t) for a user function fn."""

    def __init__(self, base=None, lr_lambda=None):
        if not callable(lr_lambda):
            raise TypeError(f"LambdaLR: lr_lambda must be callable, got {type(lr_lambda).__name__}")
        self.lr_lambda = lr_lambda
        super().__init__(base)

    def value(self, t, base):
        return base * float(self.lr_lambda(t))


class CosineAnnealingLR(Schedule):
    """a(t) = eta_min + (a0 - eta_min) (1 + cos(pi t / T_max)) / 2 (half a cosine over T_max steps;
    past T_max it rises again, as PyTorch's closed form does)."""

    def __init__(self, base=None, T_max: int = 1, eta_min: float = 0.0):
        _check("CosineAnnealingLR", "T_max", T_max, 0.0, lo_open=True)
        _check("CosineAnnealingLR", "eta_min", eta_min)
        self.T_max, self.eta_min = T_max, float(eta_min)
        super().__init__(base)

    def value(self, t, base):
        return self.eta_min + (base - self.eta_min) * 0.5 * (1.0 + math.cos(math.pi * t / self.T_max))


class OneCycleLR(Schedule):
    """The one-cycle policy: warm up from max_lr / div_factor to ``max_lr`` over the first
    ``pct_start`` of ``total_steps``, then anneal to max_lr / (div_factor * final_div_factor)
    (cosine, or linear with ``anneal_strategy="linear"``; ``three_phase`` comes back down to the
    start before the final anneal), as PyTorch's OneCycleLR. The peak ``max_lr`` is the schedule's
    parameter: the optimizer's own lr is not used (PyTorch overwrites it too). Stepped per batch."""

    def __init__(
        self,
        base=None,
        max_lr=None,
        total_steps=None,
        epochs=None,
        steps_per_epoch=None,
        pct_start: float = 0.3,
        anneal_strategy: str = "cos",
        div_factor: float = 25.0,
        final_div_factor: float = 1e4,
        three_phase: bool = False,
    ):
        if total_steps is None:
            if epochs is None or steps_per_epoch is None:
                raise ValueError("OneCycleLR: give total_steps, or epochs and steps_per_epoch")
            total_steps = int(epochs) * int(steps_per_epoch)
        if not (isinstance(total_steps, (int, np.integer)) and total_steps >= 2):
            raise ValueError(f"OneCycleLR: total_steps must be an integer >= 2, got {total_steps!r}")
        _check("OneCycleLR", "max_lr", max_lr, 0.0, lo_open=True)
        _check("OneCycleLR", "pct_start", pct_start, 0.0, hi=1.0)
        if anneal_strategy not in ("cos", "linear"):
            raise ValueError(f"OneCycleLR: anneal_strategy must be 'cos' or 'linear', got {anneal_strategy!r}")
        self.max_lr, self.total_steps, self.pct_start = float(max_lr), int(total_steps), float(pct_start)
        self.anneal_strategy, self.three_phase = anneal_strategy, bool(three_phase)
        self.initial_lr = self.max_lr / div_factor
        self.min_lr = self.initial_lr / final_div_factor
        peak = float(pct_start * self.total_steps) - 1
        if three_phase:
            self.phases = [
                (peak, self.initial_lr, self.max_lr),
                (2 * peak, self.max_lr, self.initial_lr),
                (self.total_steps - 1, self.initial_lr, self.min_lr),
            ]
        else:
            self.phases = [(peak, self.initial_lr, self.max_lr), (self.total_steps - 1, self.max_lr, self.min_lr)]
        super().__init__(base)

    def _anneal(self, start, end, pct):
        if self.anneal_strategy == "linear":
            return (end - start) * pct + start
        return end + (start - end) / 2.0 * (math.cos(math.pi * pct) + 1)

    def value(self, t, base=None):
        return self.along(t, [(lo, hi) for _, lo, hi in self.phases])

    def along(self, t, endpoints):
        """The value at step t when phase i goes from endpoints[i][0] to endpoints[i][1]."""
        if t > self.total_steps:
            raise ValueError(f"OneCycleLR: stepped {t} times, more than total_steps={self.total_steps}")
        start_step = 0.0
        for i, ((end_step, _, _), (a, b)) in enumerate(zip(self.phases, endpoints)):
            if t <= end_step or i == len(self.phases) - 1:
                pct = (t - start_step) / (end_step - start_step) if end_step > start_step else 1.0
                return self._anneal(a, b, pct)
            start_step = end_step
        raise AssertionError("unreachable")  # pragma: no cover

    def __call__(self, t):
        return self.value(t)


class LinearWarmup(Schedule):
    """Linear warm-up then another schedule: for t < warmup_steps,
    a(t) = a0 * (start_factor + (1 - start_factor) t / warmup_steps); afterwards ``after(t - warmup_steps)``
    (constant a0 when ``after`` is None). Large early steps on a fresh network can diverge; warm-up avoids it."""

    def __init__(self, base=None, warmup_steps: int = 1, start_factor: float = 0.0, after: Schedule | None = None):
        if not (isinstance(warmup_steps, (int, np.integer)) and warmup_steps >= 1):
            raise ValueError(f"LinearWarmup: warmup_steps must be an integer >= 1, got {warmup_steps!r}")
        _check("LinearWarmup", "start_factor", start_factor, 0.0, hi=1.0)
        if after is not None and not isinstance(after, Schedule):
            raise TypeError(f"LinearWarmup: after must be a Schedule, got {type(after).__name__}")
        self.warmup_steps, self.start_factor, self.after = warmup_steps, float(start_factor), after
        super().__init__(base)

    def value(self, t, base):
        if t < self.warmup_steps:
            return base * (self.start_factor + (1.0 - self.start_factor) * t / self.warmup_steps)
        return base if self.after is None else self.after.value(t - self.warmup_steps, base)


class MomentumSchedule(Schedule):
    """Momentum rising linearly from ``start`` to ``end`` over ``epochs``, then constant
    (typical: 0.5 rising to 0.99). Absolute values: the optimizer's own momentum is not a base.
    Use with ``Scheduler(opt, MomentumSchedule(...), key="momentum")``."""

    def __init__(self, base=None, start: float = 0.5, end: float = 0.99, epochs: int = 10):
        _check("MomentumSchedule", "start", start, 0.0, hi=1.0)
        _check("MomentumSchedule", "end", end, 0.0, hi=1.0)
        if not (isinstance(epochs, (int, np.integer)) and epochs >= 1):
            raise ValueError(f"MomentumSchedule: epochs must be an integer >= 1, got {epochs!r}")
        if isinstance(base, Optimizer):
            raise TypeError("MomentumSchedule: bind it with Scheduler(optimizer, schedule, key='momentum')")
        self.start, self.end, self.epochs = float(start), float(end), epochs
        super().__init__(base)

    def value(self, t, base=None):
        frac = min(max(t, 0) / self.epochs, 1.0)
        return self.start + (self.end - self.start) * frac

    def __call__(self, t):
        return self.value(t)


class Scheduler:
    """Writes ``schedule`` into every parameter group's ``key`` ("lr" or "momentum").

    The learning rate has one owner, the optimizer: the base of group i is the group's value when
    the Scheduler is built, and a schedule built with a number of its own must agree with it (a
    schedule that named another rate would silently override the optimizer's). Construction writes
    the value at t=0; each ``step()`` advances t by one (call it once per epoch or per batch, as the
    schedule's unit requires). For ``key="momentum"`` on an
    optimizer with ``betas`` (Adam) the first beta is written.
    """

    def __init__(self, optimizer: Optimizer, schedule: Schedule, key: str = "lr"):
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"Scheduler: optimizer must be an nnlab Optimizer, got {type(optimizer).__name__}")
        if not callable(getattr(schedule, "value", None)):
            raise TypeError(f"Scheduler: schedule must be a Schedule, got {type(schedule).__name__}")
        if key not in ("lr", "momentum"):
            raise ValueError(f"Scheduler: key must be 'lr' or 'momentum', got {key!r}")
        self.optimizer, self.schedule, self.key = optimizer, schedule, key
        for group in optimizer.param_groups:
            if key not in group and not (key == "momentum" and "betas" in group):
                raise ValueError(f"Scheduler: {type(optimizer).__name__}'s parameter groups have no '{key}'")
        self.base_values = [self._read(g) for g in optimizer.param_groups]
        own = getattr(schedule, "base", None)
        if key == "lr" and own is not None and any(not math.isclose(own, b) for b in self.base_values):
            raise ValueError(
                f"Scheduler: {type(schedule).__name__} was built with lr {own:g} but the optimizer's "
                f"groups have lr {', '.join(f'{b:g}' for b in self.base_values)}; the optimizer owns the "
                f"learning rate: build the schedule without one ({type(schedule).__name__}(optimizer, ...) "
                f"or {type(schedule).__name__}(None, ...))"
            )
        self.t = 0
        self._write()

    def _read(self, group):
        if self.key == "momentum" and "momentum" not in group:
            return float(group["betas"][0])
        return float(group[self.key])

    def _write(self) -> None:
        own = getattr(self.schedule, "base", None) if self.key == "momentum" else None
        for group, base in zip(self.optimizer.param_groups, self.base_values):
            v = float(self.schedule.value(self.t, own if own is not None else base))
            if self.key == "momentum" and "momentum" not in group:
                group["betas"] = (v, group["betas"][1])
            else:
                group[self.key] = v

    def step(self) -> None:
        self.t += 1
        self._write()

    def get_last(self) -> list[float]:
        return [self._read(g) for g in self.optimizer.param_groups]

    get_last_lr = get_last

    def state_dict(self) -> dict:
        return {"t": self.t, "base_values": list(self.base_values), "key": self.key}

    def load_state_dict(self, state: dict) -> None:
        """Resume at the saved step with the saved bases (checked first: a bad dict changes nothing)."""
        where = "Scheduler.load_state_dict"
        if not isinstance(state, dict) or not {"t", "base_values"} <= set(state):
            raise ValueError(
                f"{where}: expected a dict with 't' and 'base_values' (from state_dict()), got {state!r:.80}"
            )
        if state.get("key", self.key) != self.key:
            raise ValueError(f"{where}: the state drives '{state['key']}', this scheduler drives '{self.key}'")
        t, bases = state["t"], state["base_values"]
        if isinstance(t, bool) or not isinstance(t, (int, np.integer)) or t < 0:
            raise ValueError(f"{where}: t must be an integer >= 0, got {t!r}")
        if not isinstance(bases, (list, tuple)) or len(bases) != len(self.optimizer.param_groups):
            n = len(bases) if isinstance(bases, (list, tuple)) else bases
            raise ValueError(f"{where}: {n} saved groups, {len(self.optimizer.param_groups)} here")
        for b in bases:
            _check("Scheduler", "a saved base value", b)
        self.t, self.base_values = int(t), [float(b) for b in bases]
        self._write()


class ReduceLROnPlateau:
    """Multiply every group's lr by ``factor`` when a monitored metric stops improving.

    ``step(metric)`` once per epoch. An improvement is ``metric < best * (1 - threshold)`` (mode "min",
    threshold_mode "rel"; "abs" uses ``best - threshold``; mode "max" mirrors it). After more than
    ``patience`` epochs without improvement the lr becomes ``max(lr * factor, min_lr)``, then
    ``cooldown`` epochs pass before bad epochs are counted again. This is the notes' practice of
    watching validation accuracy and cutting the rate (e.g. by 0.5) when it stalls.
    """

    def __init__(
        self,
        optimizer: Optimizer,
        mode: str = "min",
        factor: float = 0.1,
        patience: int = 10,
        threshold: float = 1e-4,
        threshold_mode: str = "rel",
        cooldown: int = 0,
        min_lr=0.0,
        eps: float = 1e-8,
    ):
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"ReduceLROnPlateau: optimizer must be an nnlab Optimizer, got {type(optimizer).__name__}")
        if mode not in ("min", "max"):
            raise ValueError(f"ReduceLROnPlateau: mode must be 'min' or 'max', got {mode!r}")
        if threshold_mode not in ("rel", "abs"):
            raise ValueError(f"ReduceLROnPlateau: threshold_mode must be 'rel' or 'abs', got {threshold_mode!r}")
        if not (isinstance(factor, (int, float)) and 0.0 < factor < 1.0):
            raise ValueError(f"ReduceLROnPlateau: factor must be in (0, 1), got {factor!r}")
        if not (isinstance(patience, (int, np.integer)) and patience >= 0):
            raise ValueError(f"ReduceLROnPlateau: patience must be an integer >= 0, got {patience!r}")
        if not (isinstance(cooldown, (int, np.integer)) and cooldown >= 0):
            raise ValueError(f"ReduceLROnPlateau: cooldown must be an integer >= 0, got {cooldown!r}")
        n = len(optimizer.param_groups)
        min_lrs = list(min_lr) if isinstance(min_lr, (list, tuple)) else [min_lr] * n
        if len(min_lrs) != n:
            raise ValueError(f"ReduceLROnPlateau: {len(min_lrs)} min_lr values for {n} parameter groups")
        self.optimizer = optimizer
        self.mode, self.factor, self.patience = mode, float(factor), patience
        self.threshold, self.threshold_mode, self.cooldown = float(threshold), threshold_mode, cooldown
        self.min_lrs = [check_float("ReduceLROnPlateau", "min_lr", m, min=0.0) for m in min_lrs]
        self.eps = check_float("ReduceLROnPlateau", "eps", eps, min=0.0)
        self.threshold = check_float("ReduceLROnPlateau", "threshold", threshold, min=0.0)
        self.best = math.inf if mode == "min" else -math.inf
        self.num_bad_epochs = 0
        self.cooldown_counter = 0
        self.last_epoch = 0

    def is_better(self, a: float, best: float) -> bool:
        if self.mode == "min":
            return a < (best * (1.0 - self.threshold) if self.threshold_mode == "rel" else best - self.threshold)
        return a > (best * (1.0 + self.threshold) if self.threshold_mode == "rel" else best + self.threshold)

    def step(self, metric) -> None:
        current = float(metric.item() if hasattr(metric, "item") else metric)
        if not math.isfinite(current):
            raise ValueError(f"ReduceLROnPlateau.step: the metric must be finite, got {current}")
        self.last_epoch += 1
        if self.is_better(current, self.best):
            self.best = current
            self.num_bad_epochs = 0
        else:
            self.num_bad_epochs += 1
        if self.cooldown_counter > 0:
            self.cooldown_counter -= 1
            self.num_bad_epochs = 0
        if self.num_bad_epochs > self.patience:
            self._reduce()
            self.cooldown_counter = self.cooldown
            self.num_bad_epochs = 0

    def _reduce(self) -> None:
        for group, min_lr in zip(self.optimizer.param_groups, self.min_lrs):
            old = float(group["lr"])
            new = max(old * self.factor, min_lr)
            if old - new > self.eps:
                group["lr"] = new

    def get_last_lr(self) -> list[float]:
        return [float(g["lr"]) for g in self.optimizer.param_groups]

    _STATE = (
        "mode",
        "factor",
        "patience",
        "threshold",
        "threshold_mode",
        "cooldown",
        "min_lrs",
        "eps",
        "best",
        "num_bad_epochs",
        "cooldown_counter",
        "last_epoch",
    )

    def state_dict(self) -> dict:
        return {k: copy.deepcopy(getattr(self, k)) for k in self._STATE}

    def load_state_dict(self, state: dict) -> None:
        """Restore a ``state_dict()``; its settings are checked like the constructor's, and nothing
        changes when one is wrong."""
        where = "ReduceLROnPlateau.load_state_dict"
        if not isinstance(state, dict):
            raise ValueError(f"{where}: expected a dict from state_dict(), got {type(state).__name__}")
        missing, unknown = set(self._STATE) - set(state), set(state) - set(self._STATE)
        if missing or unknown:
            raise ValueError(f"{where}: missing keys {sorted(missing)}, unexpected keys {sorted(unknown)}")
        probe = ReduceLROnPlateau(
            self.optimizer,
            mode=state["mode"],
            factor=state["factor"],
            patience=state["patience"],
            threshold=state["threshold"],
            threshold_mode=state["threshold_mode"],
            cooldown=state["cooldown"],
            min_lr=list(state["min_lrs"]),
            eps=state["eps"],
        )
        for key in ("num_bad_epochs", "cooldown_counter", "last_epoch"):
            v = state[key]
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 0:
                raise ValueError(f"{where}: {key} must be an integer >= 0, got {v!r}")
        try:
            best = float(state["best"])
        except (TypeError, ValueError):
            best = math.nan
        if math.isnan(best):
            raise ValueError(f"{where}: best must be a number, got {state['best']!r}")
        self.__dict__.update({k: v for k, v in probe.__dict__.items() if k != "optimizer"})
        self.best = best
        for key in ("num_bad_epochs", "cooldown_counter", "last_epoch"):
            setattr(self, key, int(state[key]))
