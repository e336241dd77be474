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
    """Sizes that do not fit are floored as in PyTorch (``ceil_mode=True`` rounds up); ``strict=True``
    or ``nnlab.set_strict_geometry(True)`` makes them the notes' ValueError (see nn.geometry)."""

    def __init__(
        self,
        kernel_size,
        stride=None,
        padding=0,
        rounding: str | None = None,
        *,
        ceil_mode: bool = False,
        strict: bool | None = None,
    ):
        super().__init__()
        name = type(self).__name__
        self.kernel_size = pair(kernel_size, "kernel_size", name, minimum=1)
        self.stride = self.kernel_size if stride is None else pair(stride, "stride", name, minimum=1)
        self.padding = pair(padding, "padding", name, minimum=0)
        self.rounding = _rounding(rounding, name, allow_default=True)
        self.ceil_mode, self.strict = bool(ceil_mode), strict

    def _geometry_kw(self) -> dict:
        return {"name": self.label, "rounding": self.rounding, "strict": self.strict}

    @property
    def label(self) -> str:
        return f"{type(self).__name__}({self.extra_repr()})"

    def extra_repr(self) -> str:
        s = f"kernel_size={_fmt(self.kernel_size)}, stride={_fmt(self.stride)}"
        if self.padding != (0, 0):
            s += f", padding={_fmt(self.padding)}"
        if self.ceil_mode:
            s += ", ceil_mode=True"
        if self.rounding is not None:
            s += f", rounding={self.rounding!r}"
        if self.strict is not None:
            s += f", strict={self.strict}"
        return s


class MaxPool2d(_Pool2d):
    """Max over each window, per channel; backward routes the gradient to each window's winner
    (the recorded switch). Overlapping pooling (kernel 3, stride 2, AlexNet) works too; padding is
    -inf so a padded position never wins. Stride defaults to the kernel size.

    Shape:
        input (N, C, H, W); output (N, C, H_out, W_out), H_out = floor((H + 2P - K)/S) + 1
        (rounded up with ``ceil_mode``; must be whole when strict).
    """

    def __init__(
        self,
        kernel_size,
        stride=None,
        padding=0,
        dilation=1,
        return_indices: bool = False,
        ceil_mode: bool = False,
        rounding: str | None = None,
        *,
        strict: bool | None = None,
    ):
        if dilation not in (1, (1, 1)) or return_indices:
            raise ValueError("MaxPool2d: dilation and return_indices are not supported")
        super().__init__(kernel_size, stride, padding, rounding, ceil_mode=ceil_mode, strict=strict)

    def forward(self, x):
        return F.max_pool2d(
            x, self.kernel_size, self.stride, self.padding, ceil_mode=self.ceil_mode, **self._geometry_kw()
        )


class AvgPool2d(_Pool2d):
    """Mean over each window (zero padding counts in the mean, as PyTorch's default).

    Shape:
        input (N, C, H, W); output (N, C, H_out, W_out), as MaxPool2d.
    """

    def __init__(
        self,
        kernel_size,
        stride=None,
        padding=0,
        ceil_mode: bool = False,
        count_include_pad: bool = True,
        divisor_override=None,
        rounding: str | None = None,
        *,
        strict: bool | None = None,
    ):
        super().__init__(kernel_size, stride, padding, rounding, ceil_mode=ceil_mode, strict=strict)
        self.count_include_pad, self.divisor_override = bool(count_include_pad), divisor_override

    def forward(self, x):
        return F.avg_pool2d(
            x,
            self.kernel_size,
            self.stride,
            self.padding,
            self.ceil_mode,
            self.count_include_pad,
            self.divisor_override,
            **self._geometry_kw(),
        )


class LPPool2d(_Pool2d):
    """(sum over the window of x^p)^(1/p); p=2 is L2-norm pooling, p -> inf approaches max pooling.

    Shape:
        input (N, C, H, W); output (N, C, H_out, W_out), H_out = (H - K)/S + 1.
    """

    def __init__(
        self,
        norm_type,
        kernel_size,
        stride=None,
        ceil_mode: bool = False,
        rounding: str | None = None,
        *,
        strict: bool | None = None,
    ):
        super().__init__(kernel_size, stride, 0, rounding, ceil_mode=ceil_mode, strict=strict)
        if not is_number(norm_type) or norm_type <= 0:
            raise ValueError(
                f"LPPool2d: norm_type must be a positive finite number (2: L2-norm pooling), got {norm_type!r}"
            )
        self.norm_type = norm_type

    def forward(self, x):
        return F.lp_pool2d(x, self.norm_type, self.kernel_size, self.stride, self.ceil_mode, **self._geometry_kw())

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
