"""``nnlab.optim.lr_scheduler``: PyTorch's scheduler classes over nnlab's schedules.

Each class here is the schedule of the same name in ``nnlab.optim.schedules`` (one formula, one
place), taking the optimizer first as torch's do, plus torch's bookkeeping arguments
(``last_epoch=-1``, ``verbose``). The optimizer owns the learning rate: the schedule reads each
group's lr when it is built and writes the scheduled value into the group on every ``step()``.
"""

from __future__ import annotations

from nnlab.optim import schedules as _s
from nnlab.optim.optimizer import Optimizer

__all__ = [
    "LRScheduler",
    "StepLR",
    "MultiStepLR",
    "ExponentialLR",
    "CosineAnnealingLR",
    "LambdaLR",
    "OneCycleLR",
    "ReduceLROnPlateau",
]

LRScheduler = _s.Schedule


def _torch_signature(schedule_cls):
    """The schedule class with torch's constructor: optimizer first, last_epoch/verbose accepted."""

    class Bound(schedule_cls):
        def __init__(self, optimizer, *args, last_epoch: int = -1, verbose=False, **kwargs):
            if not isinstance(optimizer, Optimizer):
                raise TypeError(
                    f"{schedule_cls.__name__}: the first argument must be an nnlab "
                    f"optimizer, got {type(optimizer).__name__}"
                )
            if last_epoch != -1:
                raise ValueError(
                    f"{schedule_cls.__name__}: last_epoch={last_epoch} (resuming) is done "
                    f"with load_state_dict(); build with last_epoch=-1"
                )
            super().__init__(optimizer, *args, **kwargs)

    Bound.__name__ = Bound.__qualname__ = schedule_cls.__name__
    Bound.__doc__ = schedule_cls.__doc__
    return Bound


StepLR = _torch_signature(_s.StepLR)
MultiStepLR = _torch_signature(_s.MultiStepLR)
ExponentialLR = _torch_signature(_s.ExponentialLR)
CosineAnnealingLR = _torch_signature(_s.CosineAnnealingLR)
LambdaLR = _torch_signature(_s.LambdaLR)
ReduceLROnPlateau = _s.ReduceLROnPlateau


class _InverseCycle(_s.Schedule):
    """Momentum over a one-cycle run: max_momentum where the lr is lowest, base_momentum at its peak."""

    def __init__(self, cycle: _s.OneCycleLR, base_momentum: float, max_momentum: float):
        self.cycle, self.lo, self.hi = cycle, float(base_momentum), float(max_momentum)
        super().__init__(None)

    def value(self, t, base=None):
        hi, lo = self.hi, self.lo
        ends = [(hi, lo), (lo, hi), (hi, hi)] if self.cycle.three_phase else [(hi, lo), (lo, hi)]
        return self.cycle.along(t, ends)


class OneCycleLR(_s.OneCycleLR):
    """PyTorch's OneCycleLR: lr from max_lr/div_factor up to max_lr and down to a tiny value,
    stepped once per batch; with ``cycle_momentum`` the momentum (or Adam's beta1) moves the
    other way between ``max_momentum`` and ``base_momentum``."""

    def __init__(
        self,
        optimizer,
        max_lr,
        total_steps=None,
        epochs=None,
        steps_per_epoch=None,
        pct_start: float = 0.3,
        anneal_strategy: str = "cos",
        cycle_momentum: bool = True,
        base_momentum: float = 0.85,
        max_momentum: float = 0.95,
        div_factor: float = 25.0,
        final_div_factor: float = 1e4,
        three_phase: bool = False,
        last_epoch: int = -1,
        verbose=False,
    ):
        if not isinstance(optimizer, Optimizer):
            raise TypeError(
                f"OneCycleLR: the first argument must be an nnlab optimizer, got {type(optimizer).__name__}"
            )
        if last_epoch != -1:
            raise ValueError("OneCycleLR: resume with load_state_dict(), not last_epoch")
        groups = optimizer.param_groups
        if cycle_momentum and not all("momentum" in g or "betas" in g for g in groups):
            raise ValueError(
                f"OneCycleLR: {type(optimizer).__name__} has no momentum to cycle; pass cycle_momentum=False"
            )
        super().__init__(
            None,
            max_lr=max_lr,
            total_steps=total_steps,
            epochs=epochs,
            steps_per_epoch=steps_per_epoch,
            pct_start=pct_start,
            anneal_strategy=anneal_strategy,
            div_factor=div_factor,
            final_div_factor=final_div_factor,
            three_phase=three_phase,
        )
        self._bound = _s.Scheduler(optimizer, self)
        self._momentum = (
            _s.Scheduler(optimizer, _InverseCycle(self, base_momentum, max_momentum), key="momentum")
            if cycle_momentum
            else None
        )

    def step(self) -> None:
        self._bound.step()
        if self._momentum is not None:
            self._momentum.step()
