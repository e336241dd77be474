"""Adam: momentum on the gradient plus RMSprop's scaling, both bias-corrected."""

from __future__ import annotations

import math

import numpy as np

from nnlab.optim.optimizer import Optimizer, _num


def adam_update(w, dw, m, v, t: int, lr: float, beta1: float, beta2: float, eps: float, tmp) -> None:
    """In place, at step ``t`` (1-based)::

        m = beta1 * m + (1 - beta1) * dx
        v = beta2 * v + (1 - beta2) * dx**2
        mt = m / (1 - beta1**t)
        vt = v / (1 - beta2**t)
        x += -lr * mt / (sqrt(vt) + eps)

    ``m`` and ``v`` start at 0, so early averages are too small; dividing by ``1 - beta**t`` (the
    total weight the average has so far) removes that bias and matters only for small ``t``.
    """
    m *= beta1
    np.multiply(dw, 1.0 - beta1, out=tmp)
    m += tmp
    v *= beta2
    np.multiply(dw, dw, out=tmp)
    tmp *= 1.0 - beta2
    v += tmp
    # mt / (sqrt(vt) + eps) = sqrt(c2) / c1 * m / (sqrt(v) + eps sqrt(c2)) with c = 1 - beta**t:
    # the same value with one pass over the array fewer.
    root_c2 = math.sqrt(1.0 - beta2**t)
    np.sqrt(v, out=tmp)
    tmp += eps * root_c2
    np.divide(m, tmp, out=tmp)
    tmp *= lr * root_c2 / (1.0 - beta1**t)
    w -= tmp


class Adam(Optimizer):
    """Adam (bias-corrected; defaults beta1=0.9, beta2=0.999, eps=1e-8)::

        m = beta1 * m + (1 - beta1) * dx            # momentum: average of gradients
        v = beta2 * v + (1 - beta2) * dx**2         # RMSprop: average of squared gradients
        mt = m / (1 - beta1**t);  vt = v / (1 - beta2**t)
        x += -lr * mt / (sqrt(vt) + eps)

    ``t`` counts this parameter's updates from 1. The correction is ``1 - beta**t`` (the notes' text
    prints ``(1 - beta)**t``, a typo: that would blow the average up as t grows), and eps is outside
    the square root as in ``torch.optim.Adam``. ``betas`` is the PyTorch-style pair; a momentum
    schedule writes its first entry.
    """

    def __init__(self, params, lr: float = 1e-3, betas=(0.9, 0.999), eps: float = 1e-8, weight_decay: float = 0.0):
        defaults = dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay)
        super().__init__(params, defaults)

    def _check_group(self, group):
        super()._check_group(group)
        betas = group["betas"]
        if not (isinstance(betas, (tuple, list)) and len(betas) == 2):
            raise ValueError(f"Adam: betas must be a pair (beta1, beta2), got {betas!r}")
        group["betas"] = (betas[0], betas[1])
        _num("Adam", "beta1", betas[0], 0.0, 1.0)
        _num("Adam", "beta2", betas[1], 0.0, 1.0)
        _num("Adam", "eps", group["eps"], 0.0)

    # one update per parameter, inside Optimizer.step's loop
    def _hyper(self, group):
        b1, b2 = group["betas"]
        return float(group["lr"]), float(b1), float(b2), float(group["eps"])

    def _init_state(self, w, group):
        return {"step": 0, "exp_avg": np.zeros_like(w), "exp_avg_sq": np.zeros_like(w)}

    def _update(self, w, dw, st, hyper, tmp):
        lr, b1, b2, eps = hyper
        t = st["step"] = st["step"] + 1
        adam_update(w, dw, st["exp_avg"], st["exp_avg_sq"], t, lr, b1, b2, eps, tmp)
