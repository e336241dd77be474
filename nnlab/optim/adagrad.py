"""Adagrad: a per-parameter learning rate scaled by the history of squared gradients."""

from __future__ import annotations

import numpy as np

from nnlab.optim.optimizer import Optimizer, _num


def adagrad_update(w, dw, cache, lr: float, eps: float, tmp) -> None:
    """In place: ``cache += dx**2;  x += -lr * dx / (sqrt(cache) + eps)``.

    Elements with large past gradients get small steps. The square root matters (without it the
    method works much worse); ``eps`` (1e-8 to 1e-4) only keeps the division finite.
    """
    np.multiply(dw, dw, out=tmp)
    cache += tmp
    step_by_root_cache(w, dw, cache, lr, eps, tmp)


def step_by_root_cache(w, dw, cache, lr: float, eps: float, tmp) -> None:
    """``x += -lr * dx / (sqrt(cache) + eps)`` in place (Adagrad's and RMSprop's common step)."""
    np.sqrt(cache, out=tmp)
    tmp += eps
    np.divide(dw, tmp, out=tmp)
    tmp *= lr
    w -= tmp


class Adagrad(Optimizer):
    """Adagrad (the notes' form, eps outside the square root as in ``torch.optim.Adagrad``)::

        cache += dx**2
        x += -lr * dx / (sqrt(cache) + eps)

    ``cache`` starts at ``initial_accumulator_value``; dx includes ``weight_decay * x`` if set.
    The effective rate only shrinks, which in deep networks often stops learning too early.
    """

    def __init__(
        self,
        params,
        lr: float = 1e-2,
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        initial_accumulator_value: float = 0.0,
    ):
        defaults = dict(lr=lr, eps=eps, weight_decay=weight_decay, initial_accumulator_value=initial_accumulator_value)
        super().__init__(params, defaults)

    def _check_group(self, group):
        super()._check_group(group)
        _num("Adagrad", "eps", group["eps"], 0.0)
        _num("Adagrad", "initial_accumulator_value", group["initial_accumulator_value"], 0.0)

    # one update per parameter, inside Optimizer.step's loop
    def _hyper(self, group):
        return float(group["lr"]), float(group["eps"])

    def _init_state(self, w, group):
        return {"sum": np.full_like(w, group["initial_accumulator_value"])}

    def _update(self, w, dw, st, hyper, tmp):
        adagrad_update(w, dw, st["sum"], hyper[0], hyper[1], tmp)
