"""Activation layers: elementwise non-linearities with no parameters."""

from __future__ import annotations

from nnlab.nn import functional as F
from nnlab.nn._checks import is_number
from nnlab.nn.module import Module


class _Pointwise(Module):
    """A parameter-free non-linearity applied to each element: ``forward(x) = fn(x)``."""

    fn = None

    def forward(self, x):
        return self.fn(x)


class ReLU(_Pointwise):
    """max(0, x). Cheap and non-saturating for x > 0; units can die if pushed to x < 0 for good.

    Shape: any; output has the input's shape.
    """

    fn = staticmethod(F.relu)

    def __init__(self, inplace: bool = False):
        super().__init__()  # ``inplace`` is accepted for PyTorch code; the output is a new tensor


class Sigmoid(_Pointwise):
    """1 / (1 + e^-x). Saturates (gradient s(1-s) <= 1/4, ~0 at the tails) and is not zero-centered.

    Shape: any; output has the input's shape.
    """

    fn = staticmethod(F.sigmoid)


class Tanh(_Pointwise):
    """tanh x = 2 s(2x) - 1: zero-centered, still saturating.

    Shape: any; output has the input's shape.
    """

    fn = staticmethod(F.tanh)


class LeakyReLU(Module):
    """x for x > 0, negative_slope * x otherwise: a small slope keeps units from dying.

    Shape: any; output has the input's shape.
    """

    def __init__(self, negative_slope: float = 0.01):
        super().__init__()
        if not is_number(negative_slope):
            raise ValueError(f"LeakyReLU: negative_slope must be a finite number, got {negative_slope!r}")
        self.negative_slope = float(negative_slope)

    def forward(self, x):
        return F.leaky_relu(x, self.negative_slope)

    def extra_repr(self) -> str:
        return f"negative_slope={self.negative_slope}"


class Softmax(Module):
    """Normalized exponentials along ``dim`` (stable with the max shift).

    Shape: any; output has the input's shape.
    """

    def __init__(self, dim: int = -1):
        super().__init__()
        self.dim = dim

    def forward(self, x):
        return F.softmax(x, axis=self.dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class LogSoftmax(Softmax):
    """x - logsumexp(x) along ``dim``.

    Shape: any; output has the input's shape.
    """

    def forward(self, x):
        return F.log_softmax(x, axis=self.dim)
