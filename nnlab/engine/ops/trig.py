"""Trigonometric gates (sin, cos): the polynomial-fitting tutorials' targets and Fourier features."""

from __future__ import annotations

import numpy as np

from nnlab.engine.function import Function
from nnlab.engine.ops.elementwise import lift


class Sin(Function):
    """z = sin x; dz/dx = cos x."""

    def forward(self, x):
        self.x = x
        return np.sin(x)

    def backward(self, g):
        return (g * np.cos(self.x),)


class Cos(Function):
    """z = cos x; dz/dx = -sin x."""

    def forward(self, x):
        self.x = x
        return np.cos(x)

    def backward(self, g):
        return (-g * np.sin(self.x),)


def _float(x, op):
    x = lift(x)
    if x.dtype.kind != "f":
        x = x.float()
    return x


def sin(x):
    return Sin.apply(_float(x, "sin"))


def cos(x):
    return Cos.apply(_float(x, "cos"))
