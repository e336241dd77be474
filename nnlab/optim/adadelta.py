"""Adadelta: RMSprop whose step size is itself a running RMS of past updates (no lr to tune, in
principle; PyTorch keeps an lr multiplier, default 1.0, used by pytorch/examples' MNIST)."""

from __future__ import annotations

import numpy as np

from nnlab.optim.optimizer import Optimizer, _num


def adadelta_update(w, dw, square_avg, acc_delta, lr: float, rho: float, eps: float, tmp) -> None:
    """In place::

        square_avg = rho * square_avg + (1 - rho) * dx**2
        delta = sqrt(acc_delta + eps) / sqrt(square_avg + eps) * dx
        acc_delta = rho * acc_delta + (1 - rho) * delta**2
        x += -lr * delta

    The ratio of the two RMS values gives the update the units of x (Zeiler 2012).
    """
    square_avg *= rho
    np.multiply(dw, dw, out=tmp)
    tmp *= 1.0 - rho
    square_avg += tmp
    np.add(square_avg, eps, out=tmp)
    np.sqrt(tmp, out=tmp)
    delta = np.add(acc_delta, eps)
    np.sqrt(delta, out=delta)
    delta /= tmp
    delta *= dw
    acc_delta *= rho
    np.multiply(delta, delta, out=tmp)
    tmp *= 1.0 - rho
    acc_delta += tmp
    delta *= lr
    w -= delta


class Adadelta(Optimizer):
    """Adadelta (PyTorch's defaults: lr=1.0, rho=0.9, eps=1e-6)::

    square_avg = rho * square_avg + (1 - rho) * dx**2
    delta = sqrt(acc_delta + eps) / sqrt(square_avg + eps) * dx
    acc_delta = rho * acc_delta + (1 - rho) * delta**2
    x += -lr * delta
    """

    def __init__(self, params, lr: float = 1.0, rho: float = 0.9, eps: float = 1e-6, weight_decay: float = 0.0):
        super().__init__(params, dict(lr=lr, rho=rho, eps=eps, weight_decay=weight_decay))

    def _check_group(self, group):
        super()._check_group(group)
        _num("Adadelta", "rho", group["rho"], 0.0, 1.0)
        _num("Adadelta", "eps", group["eps"], 0.0)

    def _hyper(self, group):
        return float(group["lr"]), float(group["rho"]), float(group["eps"])

    def _init_state(self, w, group):
        return {"square_avg": np.zeros_like(w), "acc_delta": np.zeros_like(w)}

    def _update(self, w, dw, st, hyper, tmp):
        lr, rho, eps = hyper
        adadelta_update(w, dw, st["square_avg"], st["acc_delta"], lr, rho, eps, tmp)
