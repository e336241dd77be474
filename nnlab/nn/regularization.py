"""Regularization: weight penalties (L2, L1, elastic net) and the max-norm constraint.

The penalty is returned as its own scalar Tensor so that a training loop can report the data loss
and the regularization loss separately and back-propagate their sum.

Which parameters are penalized: weights (parameters with 2 or more dimensions: Linear and conv
weights). Biases and batch-norm gamma/beta (1-D parameters) are left alone unless
``include_bias=True`` (the notes: penalizing biases is uncommon and rarely matters).
"""

from __future__ import annotations

import numpy as np

from nnlab.engine.function import Function
from nnlab.engine.tensor import Tensor
from nnlab.nn._checks import is_number

__all__ = ["Regularizer", "MaxNorm", "l2_penalty", "l1_penalty", "elastic_net_penalty", "max_norm_"]


class WeightPenalty(Function):
    """R(w) = l2/2 * sum w^2 + l1 * sum |w|; dR/dw = l2 * w + l1 * sign(w)."""

    def forward(self, w, *, l2=0.0, l1=0.0):
        self.w, self.l2, self.l1 = w, l2, l1
        r = 0.0
        if l2:
            r += 0.5 * l2 * float(np.vdot(w, w))
        if l1:
            r += l1 * float(np.abs(w).sum())
        return np.asarray(r, dtype=w.dtype)

    def backward(self, g):
        w = self.w
        gw = np.zeros_like(w)
        if self.l2:
            gw += w.dtype.type(self.l2) * w
        if self.l1:
            gw += w.dtype.type(self.l1) * np.sign(w)
        return (gw * g,)


def _penalty(params, l2=0.0, l1=0.0) -> Tensor:
    terms = [WeightPenalty.apply(p, l2=float(l2), l1=float(l1)) for p in params]
    if not terms:
        return Tensor(np.asarray(0.0, dtype=np.float32))
    total = terms[0]
    for t in terms[1:]:
        total = total + t
    return total


def l2_penalty(params, lam: float) -> Tensor:
    """lam/2 * sum of squares of every given parameter (gradient lam * w)."""
    return _penalty(list(params), l2=lam)


def l1_penalty(params, lam: float) -> Tensor:
    """lam * sum of absolute values (gradient lam * sign(w)): drives weights to exact zeros."""
    return _penalty(list(params), l1=lam)


def elastic_net_penalty(params, l1: float, l2: float) -> Tensor:
    """l1 * |w| + l2/2 * w^2 combined."""
    return _penalty(list(params), l2=l2, l1=l1)


def _strength(name: str, v) -> float:
    if not (is_number(v) and v >= 0):
        raise ValueError(f"Regularizer: {name} must be a finite number >= 0, got {v!r}")
    return float(v)


def _is_weight(p) -> bool:
    return p.ndim >= 2


class Regularizer:
    """Weight penalty of a model: ``reg(model)`` returns the regularization loss (a scalar Tensor
    on the graph, so ``(data_loss + reg(model)).backward()`` adds l2 * w + l1 * sign(w) to every
    penalized weight's gradient).

    Args:
        l2: strength lambda of (lambda / 2) * sum w^2.
        l1: strength of lambda * sum |w|. Both together give the elastic net.
        per_layer: overrides by module-name prefix, e.g. ``{"fc1": {"l2": 1e-3}, "0": {"l1": 0}}``;
            the longest matching prefix wins, unspecified keys fall back to the global strengths.
        include_bias: also penalize 1-D parameters (biases, batch-norm gamma/beta).
    """

    def __init__(self, l2: float = 0.0, l1: float = 0.0, per_layer: dict | None = None, include_bias: bool = False):
        self.l2, self.l1 = _strength("l2", l2), _strength("l1", l1)
        self.per_layer = {}
        for prefix, cfg in (per_layer or {}).items():
            bad = set(cfg) - {"l2", "l1"}
            if bad:
                raise ValueError(
                    f"Regularizer: per_layer[{prefix!r}] has unknown keys {sorted(bad)} (expected 'l2' and/or 'l1')"
                )
            self.per_layer[prefix] = {k: _strength(f"per_layer[{prefix!r}][{k!r}]", v) for k, v in cfg.items()}
        self.include_bias = include_bias

    def strengths(self, name: str) -> tuple[float, float]:
        """(l2, l1) for the parameter with this dotted name."""
        best = None
        for prefix in self.per_layer:
            if name == prefix or name.startswith(prefix + "."):
                if best is None or len(prefix) > len(best):
                    best = prefix
        cfg = self.per_layer.get(best, {})
        return float(cfg.get("l2", self.l2)), float(cfg.get("l1", self.l1))

    def penalized(self, model):
        """(name, parameter, l2, l1) for each parameter that receives a non-zero penalty.

        A ``per_layer`` prefix that names no parameter of the model is an error (a typo would
        otherwise leave that layer at the global strength without a word)."""
        named = list(model.named_parameters())
        for prefix in self.per_layer:
            if not any(n == prefix or n.startswith(prefix + ".") for n, _ in named):
                layers = sorted({n.rsplit(".", 1)[0] for n, _ in named if "." in n})
                raise ValueError(
                    f"Regularizer: per_layer prefix {prefix!r} matches no parameter of "
                    f"the model; its layers are {layers}"
                )
        for name, p in named:
            if not p.requires_grad or not (self.include_bias or _is_weight(p)):
                continue
            l2, l1 = self.strengths(name)
            if l2 or l1:
                yield name, p, l2, l1

    def __call__(self, model) -> Tensor:
        terms = [WeightPenalty.apply(p, l2=l2, l1=l1) for _, p, l2, l1 in self.penalized(model)]
        if not terms:
            dtype = next((p.dtype for p in model.parameters()), np.float32)
            return Tensor(np.asarray(0.0, dtype=dtype))
        total = terms[0]
        for t in terms[1:]:
            total = total + t
        return total

    def __repr__(self) -> str:
        return f"Regularizer(l2={self.l2}, l1={self.l1}, per_layer={self.per_layer}, include_bias={self.include_bias})"


def max_norm_(weight, c: float) -> None:
    """Project each unit's incoming weight vector onto the ball ||w_j||_2 <= c, in place.

    A unit is a row of a Linear weight (out, in) or a filter of a conv weight (out, in, kh, kw).
    """
    w = weight.data
    flat = w.reshape(w.shape[0], -1)
    norms = np.sqrt((flat * flat).sum(axis=1))
    scale = np.minimum(1.0, c / np.maximum(norms, np.finfo(w.dtype).tiny)).astype(w.dtype)
    w *= scale.reshape((-1,) + (1,) * (w.ndim - 1))


class MaxNorm:
    """Max-norm constraint: after each optimizer step, ``MaxNorm(c).apply(model)`` rescales every
    unit whose incoming weight vector is longer than c back onto the sphere of radius c (typical
    c: 3 or 4). Keeps updates bounded even with large learning rates.
    """

    def __init__(self, c: float = 3.0, include_bias: bool = False):
        if not (is_number(c) and c > 0):
            raise ValueError(f"MaxNorm: c must be a finite number > 0, got {c!r}")
        self.c, self.include_bias = float(c), include_bias

    def apply(self, model) -> None:
        for _, p in model.named_parameters():
            if _is_weight(p) or (self.include_bias and p.ndim == 1):
                if p.ndim == 1:
                    n = float(np.linalg.norm(p.data))
                    if n > self.c:
                        p.data *= p.data.dtype.type(self.c / n)
                else:
                    max_norm_(p, self.c)

    __call__ = apply

    def __repr__(self) -> str:
        return f"MaxNorm(c={self.c})"
