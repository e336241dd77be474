"""Dropout layer (inverted dropout)."""

from __future__ import annotations

from nnlab.nn import functional as F
from nnlab.nn._checks import is_number
from nnlab.nn.module import Module


class Dropout(Module):
    """Inverted dropout. ``p`` is the drop probability, as in PyTorch; the notes' keep probability
    is 1 - p (their p = 0.5 default is the same either way).

    In training each entry is zeroed with probability p and the survivors are scaled by 1/(1 - p),
    so the expected activation is unchanged and evaluation is the plain identity (no rescaling at
    test time). Masks come from nnlab's seeded generator.

    Shape: any; output has the input's shape.
    """

    def __init__(self, p: float = 0.5, inplace: bool = False):
        super().__init__()
        if not (is_number(p) and 0.0 <= p <= 1.0):
            raise ValueError(f"Dropout: p (drop probability) must lie in [0, 1], got {p!r}")
        self.p = float(p)

    def forward(self, x):
        return F.dropout(x, self.p, training=self.training)

    def extra_repr(self) -> str:
        return f"p={self.p}"


class Dropout2d(Dropout):
    """Channel dropout: each (example, channel) feature map is zeroed with probability p and the
    kept maps scaled by 1/(1 - p) (neighbouring pixels are correlated, so dropping single pixels
    of a conv feature map regularizes little). Identity in eval mode.

    Shape: (N, C, H, W) or (C, H, W); output has the input's shape.
    """

    def __init__(self, p: float = 0.5, inplace: bool = False):
        super().__init__(p)

    def forward(self, x):
        return F.dropout2d(x, self.p, training=self.training)
