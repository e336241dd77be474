"""Local response normalization across channels (AlexNet), PyTorch's definition."""

from __future__ import annotations

import numpy as np

from nnlab.engine.function import Function
from nnlab.engine.ops.elementwise import lift


def _window_sum(a, before: int, after: int):
    """s[:, c] = sum of a[:, c-before : c+after+1] along axis 1 (zeros outside), for any rank >= 2.
    The loop runs over the window's offsets (size terms), each one a vectorized add."""
    C = a.shape[1]
    pad = [(0, 0)] * a.ndim
    pad[1] = (before, after)
    ap = np.pad(a, pad)
    out = ap[:, 0:C].copy()
    for o in range(1, before + after + 1):
        out += ap[:, o : o + C]
    return out


class LocalResponseNorm(Function):
    """y_c = x_c / D_c^beta with D_c = k + (alpha/n) sum_{j=c-n//2}^{c+(n-1)//2} x_j^2.

    Local gradient: dy_c/dx_j = [c=j] D_c^-beta - (2 alpha beta / n) x_c x_j D_c^(-beta-1) for j in
    c's window, so dx_j = g_j D_j^-beta - (2 alpha beta / n) x_j sum_{c: j in window(c)} g_c x_c D_c^(-beta-1)
    (the transposed window: (n-1)//2 channels before j, n//2 after)."""

    def forward(self, x, *, size, alpha, beta, k):
        n = size
        d = _window_sum(x * x, n // 2, (n - 1) // 2)
        d *= x.dtype.type(alpha / n)
        d += x.dtype.type(k)
        scale = d**-beta
        self.saved = (x, d, scale, n, alpha, beta)
        return x * scale

    def backward(self, g):
        x, d, scale, n, alpha, beta = self.saved
        t = g * x * scale / d
        back = _window_sum(t, (n - 1) // 2, n // 2)
        return (g * scale - x.dtype.type(2 * alpha * beta / n) * x * back,)


def local_response_norm(
    x, size: int, alpha: float = 1e-4, beta: float = 0.75, k: float = 1.0, *, name: str = "local_response_norm"
):
    """Normalize each value by the squares of ``size`` neighbouring channels (input (N, C, ...))."""
    x = lift(x)
    if x.ndim < 3:
        raise ValueError(f"{name}: expected input (N, C, ...) with at least 3 dimensions, got {x.shape}")
    if not isinstance(size, (int, np.integer)) or size < 1:
        raise ValueError(f"{name}: size must be a positive int, got {size!r}")
    return LocalResponseNorm.apply(x, size=int(size), alpha=float(alpha), beta=float(beta), k=float(k))
