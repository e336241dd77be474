"""Local response normalization (AlexNet's cross-channel normalization)."""

from __future__ import annotations

from nnlab.nn import functional as F
from nnlab.nn._checks import is_number, positive_ints
from nnlab.nn.module import Module


class LocalResponseNorm(Module):
    """b_c = a_c / (k + alpha/size * sum of a_j^2 over the ``size`` channels around c)^beta.

    PyTorch's definition (alpha is divided by ``size``; the window covers channels
    c - size//2 ... c + (size-1)//2). AlexNet used size=5, alpha=1e-4, beta=0.75, k=2, hence the
    default k=2 here (PyTorch's layer defaults to k=1). No parameters.

    Shape:
        input (N, C, ...); output the same shape.
    """

    def __init__(self, size: int, alpha: float = 1e-4, beta: float = 0.75, k: float = 2.0):
        super().__init__()
        (size,) = positive_ints("LocalResponseNorm", size=size)
        for key, v in (("alpha", alpha), ("beta", beta), ("k", k)):
            if not is_number(v):
                raise ValueError(f"LocalResponseNorm: {key} must be a finite number, got {v!r}")
        self.size, self.alpha, self.beta, self.k = size, float(alpha), float(beta), float(k)

    def forward(self, x):
        return F.local_response_norm(
            x, self.size, self.alpha, self.beta, self.k, name=f"LocalResponseNorm({self.extra_repr()})"
        )

    def extra_repr(self) -> str:
        return f"{self.size}, alpha={self.alpha}, beta={self.beta}, k={self.k}"
