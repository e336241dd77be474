"""Pooling layers: max (with switches), average, Lp (L2-norm pooling), global average."""
from __future__ import annotations

from nnlab.engine.ops.conv import pair
from nnlab.nn import functional as F
from nnlab.nn._checks import is_number
from nnlab.nn.conv import _rounding
from nnlab.nn.module import Module


def _fmt(p):
    return p[0] if p[0] == p[1] else p


class _Pool2d(Module):
    def __init__(self, kernel_size, stride=None, padding=0, rounding: str = "exact"):
        super().__init__()
        name = type(self).__name__
        self.kernel_size = pair(kernel_size, "kernel_size", name, minimum=1)
        self.stride = self.kernel_size if stride is None else pair(stride, "stride", name, minimum=1)
        self.padding = pair(padding, "padding", name, minimum=0)
        self.rounding = _rounding(rounding, name)

    @property
    def label(self) -> str:
        return f"{type(self).__name__}({self.extra_repr()})"

    def extra_repr(self) -> str:
        s = f"kernel_size={_fmt(self.kernel_size)}, stride={_fmt(self.stride)}"
        if self.padding != (0, 0):
            s += f", padding={_fmt(self.padding)}"
        return s


class MaxPool2d(_Pool2d):
    """Max over each window, per channel; backward routes the gradient to each window's winner
    (the recorded switch). Overlapping pooling (kernel 3, stride 2, AlexNet) works too; padding is
    -inf so a padded position never wins. Stride defaults to the kernel size.

    Shape:
        input (N, C, H, W); output (N, C, H_out, W_out), H_out = (H + 2P - K)/S + 1 (must be whole
        unless ``rounding="floor"``).
    """

    def forward(self, x):
        return F.max_pool2d(x, self.kernel_size, self.stride, self.padding, name=self.label,
                            rounding=self.rounding)


class AvgPool2d(_Pool2d):
    """Mean over each window (zero padding counts in the mean, as PyTorch's default).

    Shape:
        input (N, C, H, W); output (N, C, H_out, W_out), as MaxPool2d.
    """

    def forward(self, x):
        return F.avg_pool2d(x, self.kernel_size, self.stride, self.padding, name=self.label,
                            rounding=self.rounding)


class LPPool2d(_Pool2d):
    """(sum over the window of x^p)^(1/p); p=2 is L2-norm pooling, p -> inf approaches max pooling.

    Shape:
        input (N, C, H, W); output (N, C, H_out, W_out), H_out = (H - K)/S + 1.
    """

    def __init__(self, norm_type, kernel_size, stride=None, rounding: str = "exact"):
        super().__init__(kernel_size, stride, 0, rounding)
        if not is_number(norm_type) or norm_type <= 0:
            raise ValueError(f"LPPool2d: norm_type must be a positive finite number (2: L2-norm pooling), "
                             f"got {norm_type!r}")
        self.norm_type = norm_type

    def forward(self, x):
        return F.lp_pool2d(x, self.norm_type, self.kernel_size, self.stride, name=self.label,
                           rounding=self.rounding)

    def extra_repr(self) -> str:
        return f"norm_type={self.norm_type}, " + super().extra_repr()


class GlobalAvgPool2d(Module):
    """Mean of each channel over all positions (GoogLeNet/NIN replace big FC layers with it).

    Shape:
        input (N, C, H, W); output (N, C, 1, 1).
    """

    def forward(self, x):
        return F.global_avg_pool2d(x, name=type(self).__name__)


class AdaptiveAvgPool2d(GlobalAvgPool2d):
    """PyTorch's name for global average pooling; only output_size (1, 1) is supported.

    Shape:
        input (N, C, H, W); output (N, C, 1, 1).
    """

    def __init__(self, output_size=(1, 1)):
        super().__init__()
        if output_size not in (1, (1, 1), [1, 1]):
            raise ValueError(f"AdaptiveAvgPool2d: only output_size (1, 1) is supported, got {output_size!r}")
        self.output_size = (1, 1)

    def extra_repr(self) -> str:
        return "output_size=(1, 1)"
