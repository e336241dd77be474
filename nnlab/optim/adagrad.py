"""Adagrad: a per-parameter learning rate scaled by the history of squared gradients."""
from __future__ import annotations

import numpy as np

from nnlab.optim.optimizer import Optimizer, _num, _with_weight_decay


def adagrad_update(w, dw, cache, lr: float, eps: float, tmp) -> None:
    """In place: ``cache += dx**2;  x += -lr * dx / (sqrt(cache) + eps)``.

    Elements with large past gradients get small steps. The square root matters (without it the
    method works much worse); ``eps`` (1e-8 to 1e-4) only keeps the division finite.
    """
    np.multiply(dw, dw, out=tmp)
    cache += tmp
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

    def __init__(self, params, lr: float = 1e-2, eps: float = 1e-8, weight_decay: float = 0.0,
                 initial_accumulator_value: float = 0.0):
        defaults = dict(lr=lr, eps=eps, weight_decay=weight_decay,
                        initial_accumulator_value=initial_accumulator_value)
        super().__init__(params, defaults)

    def _check_group(self, group):
        super()._check_group(group)
        _num("Adagrad", "eps", group["eps"], 0.0)
        _num("Adagrad", "initial_accumulator_value", group["initial_accumulator_value"], 0.0)

    def step(self, closure=None):
        """One Adagrad update of every parameter with a gradient."""
        loss = self._eval_closure(closure)
        state = self.state
        work = self._work
        for group, idx in zip(self.param_groups, self._group_index):
            lr = float(group["lr"])
            eps = float(group["eps"])
            wd = float(group["weight_decay"])
            for p, i in zip(group["params"], idx):
                dw = p.grad
                if dw is None or not p.requires_grad:
                    continue
                w = p.data
                if wd:
                    dw = _with_weight_decay(w, dw, wd, self._decay_buffer(i, w))
                st = state.get(i)
                if st is None:
                    st = state[i] = {"sum": np.full_like(w, group["initial_accumulator_value"])}
                adagrad_update(w, dw, st["sum"], lr, eps, work(i, w))
        return loss
