"""RMSprop: Adagrad with a leaky (exponentially weighted) average of squared gradients."""

from __future__ import annotations

import numpy as np

from nnlab.optim.adagrad import step_by_root_cache
from nnlab.optim.optimizer import Optimizer, _num


def rmsprop_update(w, dw, cache, lr: float, decay_rate: float, eps: float, tmp) -> None:
    """In place: ``cache = decay_rate * cache + (1 - decay_rate) * dx**2;
    x += -lr * dx / (sqrt(cache) + eps)``.

    Unlike Adagrad's sum, the average forgets, so the step size does not shrink monotonically.
    """
    cache *= decay_rate
    np.multiply(dw, dw, out=tmp)
    tmp *= 1.0 - decay_rate
    cache += tmp
    step_by_root_cache(w, dw, cache, lr, eps, tmp)


class RMSprop(Optimizer):
    """RMSprop::

        cache = decay_rate * cache + (1 - decay_rate) * dx**2
        x += -lr * dx / (sqrt(cache) + eps)

    ``decay_rate`` is typically 0.9, 0.99 or 0.999 (PyTorch calls it ``alpha``; both names are
    accepted). ``cache`` starts at 0. eps is outside the square root, as in the cs231n notes and
    ``torch.optim.RMSprop``; the other notes' ``dW / sqrt(S + eps)`` differs only for tiny caches.
    """

    def __init__(
        self,
        params,
        lr: float = 1e-2,
        decay_rate: float = 0.99,
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        *,
        alpha: float | None = None,
    ):
        if alpha is not None:
            decay_rate = alpha
        defaults = dict(lr=lr, decay_rate=decay_rate, eps=eps, weight_decay=weight_decay)
        super().__init__(params, defaults)

    def _check_group(self, group):
        if "alpha" in group:
            group["decay_rate"] = group.pop("alpha")
        super()._check_group(group)
        _num("RMSprop", "decay_rate", group["decay_rate"], 0.0, 1.0)
        _num("RMSprop", "eps", group["eps"], 0.0)

    # one update per parameter, inside Optimizer.step's loop
    def _hyper(self, group):
        return float(group["lr"]), float(group["decay_rate"]), float(group["eps"])

    def _init_state(self, w, group):
        return {"square_avg": np.zeros_like(w)}

    def _update(self, w, dw, st, hyper, tmp):
        lr, rho, eps = hyper
        rmsprop_update(w, dw, st["square_avg"], lr, rho, eps, tmp)
