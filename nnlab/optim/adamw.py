"""AdamW: Adam with decoupled weight decay (Loshchilov & Hutter): the weights shrink by
lr * weight_decay each step instead of weight_decay * x joining the gradient, so the decay is not
rescaled by Adam's per-coordinate step sizes."""

from __future__ import annotations

from nnlab.optim.adam import Adam


class AdamW(Adam):
    """AdamW (PyTorch's defaults: lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2)::

    x *= 1 - lr * weight_decay
    then the Adam update of x with the plain gradient
    """

    coupled_weight_decay = False

    def __init__(self, params, lr: float = 1e-3, betas=(0.9, 0.999), eps: float = 1e-8, weight_decay: float = 1e-2):
        super().__init__(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay)

    def _hyper(self, group):
        return super()._hyper(group) + (float(group["weight_decay"]),)

    def _update(self, w, dw, st, hyper, tmp):
        lr, b1, b2, eps, wd = hyper
        if wd:
            w *= 1.0 - lr * wd
        super()._update(w, dw, st, hyper[:4], tmp)
