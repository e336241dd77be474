"""The modern (continuous) Hopfield network of Ramsauer et al., "Hopfield Networks is All You
Need" (2020): stored patterns are the columns of X (d, M), a state xi is a d-vector, and

    update:  xi <- X softmax(beta X^T xi)
    energy:  E(xi) = -1/beta log sum_i exp(beta x_i^T xi) + 1/2 xi^T xi + 1/beta log M + 1/2 max_i |x_i|^2

One update is exactly one read-out of softmax attention with the query xi, keys = values = the
stored patterns and scale beta. A large beta retrieves one pattern in a single update; a small beta
lands on an average of many (the "global average" fixed point), with metastable averages of a few
similar patterns in between.

The update is built from nnlab Tensor ops, so gradients flow through it when the inputs require them.
"""

from __future__ import annotations

import math

import numpy as np

from nnlab.engine import Tensor, tensor
from nnlab.nn import functional as F

__all__ = ["ModernHopfield"]


def _as_array(x, name: str) -> np.ndarray:
    a = np.asarray(getattr(x, "data", x))
    if not np.issubdtype(a.dtype, np.number) or np.issubdtype(a.dtype, np.complexfloating):
        raise TypeError(f"{name}: expected a real numeric array, got dtype {a.dtype}")
    if not np.all(np.isfinite(a)):
        raise ValueError(f"{name}: contains NaN or infinite values")
    return a


class ModernHopfield:
    """Continuous Hopfield memory over the columns of ``X`` (d, M) with inverse temperature ``beta``.

    States may be one vector (d,) or a batch (B, d); NumPy in gives NumPy out, a Tensor in gives a
    Tensor out (differentiable through the update).
    """

    def __init__(self, X, beta: float = 1.0):
        a = _as_array(X, "ModernHopfield: X")
        if a.ndim != 2 or a.shape[0] < 1 or a.shape[1] < 1:
            raise ValueError(
                f"ModernHopfield: X must be a (d, M) matrix whose columns are the stored patterns, got shape {a.shape}"
            )
        if (
            isinstance(beta, bool)
            or not isinstance(beta, (int, float, np.integer, np.floating))
            or not math.isfinite(beta)
            or beta <= 0
        ):
            raise ValueError(f"ModernHopfield: beta must be a positive finite number, got {beta!r}")
        self.X = a.astype(np.float64)
        self.beta = float(beta)
        self.d, self.M = self.X.shape
        self._keys = tensor(self.X.T.copy(), dtype=np.float64)  # (M, d): keys = values
        self._keys_t = tensor(self.X.copy(), dtype=np.float64)  # (d, M)

    def __repr__(self) -> str:
        return f"ModernHopfield(d={self.d}, M={self.M}, beta={self.beta:g})"

    def _query(self, xi, name: str):
        is_tensor = isinstance(xi, Tensor)
        q = xi if is_tensor else tensor(_as_array(xi, name).astype(np.float64), dtype=np.float64)
        if q.ndim not in (1, 2) or q.shape[-1] != self.d:
            raise ValueError(
                f"{name}: expected a state of length d={self.d} or a (B, {self.d}) batch, got shape {tuple(q.shape)}"
            )
        if is_tensor and q.dtype != np.float64:
            q = q.double()
        return q, is_tensor

    def separation(self, xi):
        """The softmax weights p = softmax(beta X^T xi) over the stored patterns, (M,) or (B, M)."""
        q, is_tensor = self._query(xi, "separation: xi")
        p = F.softmax((q @ self._keys_t) * self.beta, axis=-1)
        return p if is_tensor else p.data

    def update(self, xi):
        """One step xi <- X softmax(beta X^T xi)."""
        q, is_tensor = self._query(xi, "update: xi")
        p = F.softmax((q @ self._keys_t) * self.beta, axis=-1)
        out = p @ self._keys
        return out if is_tensor else out.data

    def retrieve(self, xi, steps: int = 1):
        """``steps`` updates from ``xi`` (the paper retrieves in one)."""
        if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 1:
            raise ValueError(f"retrieve: steps must be a positive int, got {steps!r}")
        for _ in range(int(steps)):
            xi = self.update(xi)
        return xi

    def energy(self, xi):
        """The energy above (float for one state, array for a batch); the update never raises it."""
        q, _ = self._query(xi, "energy: xi")
        v = q.data
        z = self.beta * (v @ self.X)
        zmax = z.max(-1)
        lse = zmax + np.log(np.exp(z - zmax[..., None]).sum(-1))
        big = 0.5 * float((self.X**2).sum(0).max())
        E = -lse / self.beta + 0.5 * (v * v).sum(-1) + math.log(self.M) / self.beta + big
        return float(E) if v.ndim == 1 else E
