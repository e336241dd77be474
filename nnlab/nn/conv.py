"""Convolution layers: Conv2d (shared filters) and LocallyConnected2d (one filter per position)."""

from __future__ import annotations

import math

import numpy as np

from nnlab.engine._args import check_bool, check_dtype
from nnlab.engine.ops.conv import pair
from nnlab.nn import functional as F
from nnlab.nn import geometry as _geometry
from nnlab.nn import init as _init
from nnlab.nn._checks import positive_ints as _features
from nnlab.nn.linear import WeightedLayer
from nnlab.nn.module import Module
from nnlab.nn.parameter import Parameter, check_allocation


def _fmt(p):
    return p[0] if p[0] == p[1] else p


def _rounding(rounding, name: str, allow_default: bool = False):
    # checked here, not only when a size does not fit: a typo must not pass silently on the sizes
    # that happen to fit. None: decided per call by nnlab.nn.geometry (floor unless strict).
    if rounding is None and allow_default:
        return None
    if rounding not in ("exact", "floor"):
        raise ValueError(f"{name}: rounding must be 'exact' or 'floor', got {rounding!r}")
    return rounding


class Conv2d(WeightedLayer):
    """2-D convolution (cross-correlation, as in PyTorch) over NCHW input.

    ``out_channels`` filters, each of shape (in_channels/groups, kh, kw), slide over the zero-padded
    input with the given stride and dilation (a dilated kernel spans D(F-1)+1 pixels). Weight
    (out_channels, in_channels/groups, kh, kw), bias (out_channels,).
    Default init: He, N(0, 1) * sqrt(2 / fan_in) with fan_in = in_channels/groups * kh * kw, since a
    ReLU follows most convolutions; ``init=`` takes "xavier"/"lecun", "xavier_uniform", "small" or a
    callable. Biases start at zero.
    When (W - F + 2P)/S + 1 is not a whole number the output size is floored as in PyTorch (the
    last rows/columns no window reaches are ignored, and ``nnlab.summary`` / ``nnlab check`` list
    the layer); ``strict=True`` (or ``nnlab.set_strict_geometry(True)``, or ``rounding="exact"``)
    makes it a ValueError listing paddings/strides that fit, the notes' rule.

    Shape:
        input (N, in_channels, H, W); output (N, out_channels, H_out, W_out) with
        H_out = (H + 2 P_h - D_h (K_h - 1) - 1) / S_h + 1 (likewise W_out).
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size,
        stride=1,
        padding=0,
        dilation=1,
        groups: int = 1,
        bias: bool = True,
        init="he",
        rounding: str | None = None,
        dtype=np.float32,
        *,
        strict: bool | None = None,
        padding_mode: str = "zeros",
        device=None,
    ):
        super().__init__()
        name = f"Conv2d({in_channels}, {out_channels})"
        in_channels, out_channels = _features(name, in_channels=in_channels, out_channels=out_channels)
        if (
            isinstance(groups, bool)
            or not isinstance(groups, (int, np.integer))
            or groups < 1
            or in_channels % groups
            or out_channels % groups
        ):
            raise ValueError(
                f"{name}: groups={groups!r} must be a positive int dividing in_channels "
                f"({in_channels}) and out_channels ({out_channels})"
            )
        groups = int(groups)
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size = pair(kernel_size, "kernel_size", name, minimum=1)
        self.stride = pair(stride, "stride", name, minimum=1)
        self.padding = pair(padding, "padding", name, minimum=0)
        self.dilation = pair(dilation, "dilation", name, minimum=1)
        self.groups, self.rounding = groups, _rounding(rounding, name, allow_default=True)
        self.strict = strict
        if padding_mode != "zeros":
            raise ValueError(f"{name}: only padding_mode='zeros' is supported, got {padding_mode!r}")
        if device is not None:
            from nnlab.engine.device import device as _device

            _device(device)
        self._make_weight_and_bias(
            (out_channels, in_channels // groups) + self.kernel_size, out_channels, bias, init, dtype
        )

    @property
    def label(self) -> str:
        return f"Conv2d({self.extra_repr()})"

    def output_shape(self, input_shape):
        """(C_out, H_out, W_out) for an input (C, H, W) (or (N, C, H, W)), with the same checks as forward."""
        from nnlab.engine.ops.conv import conv_geometry

        shape = tuple(input_shape)
        shape = (1,) + shape if len(shape) == 3 else shape
        *_, (oh, ow) = conv_geometry(
            shape,
            self.weight.shape,
            self.stride,
            self.padding,
            self.dilation,
            self.groups,
            self.label,
            _geometry.resolve(self.rounding, False, self.strict, self.label),
        )
        return (self.out_channels, oh, ow)

    def forward(self, x):
        return F.conv2d(
            x,
            self.weight,
            self.bias,
            self.stride,
            self.padding,
            self.dilation,
            self.groups,
            name=self.label,
            rounding=self.rounding,
            strict=self.strict,
        )

    def extra_repr(self) -> str:
        s = f"{self.in_channels}, {self.out_channels}, kernel_size={_fmt(self.kernel_size)}"
        if self.stride != (1, 1):
            s += f", stride={_fmt(self.stride)}"
        if self.padding != (0, 0):
            s += f", padding={_fmt(self.padding)}"
        if self.dilation != (1, 1):
            s += f", dilation={_fmt(self.dilation)}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        if self.bias is None:
            s += ", bias=False"
        if self.rounding is not None:
            s += f", rounding={self.rounding!r}"
        if self.strict is not None:
            s += f", strict={self.strict}"
        return s


class LocallyConnected2d(Module):
    """Convolution geometry with unshared weights: every output position has its own filter bank.

    Useful when the input is centered and different regions need different features (the notes'
    face example). Built for one input size: weight (H_out, W_out, out_channels, in_channels, kh, kw),
    bias (out_channels, H_out, W_out), so the parameter count is H_out*W_out times a Conv2d's.
    Default init: He with fan_in = in_channels * kh * kw.

    Shape:
        input (N, in_channels, H, W) with (H, W) = ``input_size``; output (N, out_channels, H_out, W_out).
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        input_size,
        kernel_size,
        stride=1,
        padding=0,
        bias: bool = True,
        rounding: str = "exact",
        dtype=np.float32,
    ):
        super().__init__()
        from nnlab.engine.ops.conv import out_size

        name = f"LocallyConnected2d({in_channels}, {out_channels})"
        self.in_channels, self.out_channels = _features(name, in_channels=in_channels, out_channels=out_channels)
        self.input_size = pair(input_size, "input_size", name, minimum=1)
        self.kernel_size = pair(kernel_size, "kernel_size", name, minimum=1)
        self.stride = pair(stride, "stride", name, minimum=1)
        self.padding = pair(padding, "padding", name, minimum=0)
        self.rounding = _rounding(rounding, name)
        bias, dtype = check_bool(name, "bias", bias), check_dtype(name, dtype)
        oh, ow = (
            out_size(
                self.input_size[a],
                self.kernel_size[a],
                self.stride[a],
                self.padding[a],
                1,
                name=name,
                axis=("height", "width")[a],
                rounding=rounding,
            )
            for a in (0, 1)
        )
        self.output_size = (oh, ow)
        kh, kw = self.kernel_size
        fan_in = in_channels * kh * kw
        check_allocation((oh, ow, out_channels, in_channels, kh, kw))
        self.weight = Parameter(np.zeros((oh, ow, out_channels, in_channels, kh, kw), dtype=dtype))
        _init.normal_(self.weight, 0.0, math.sqrt(2.0 / fan_in))
        if bias:
            self.bias = Parameter(np.zeros((out_channels, oh, ow), dtype=dtype))
        else:
            self.register_parameter("bias", None)

    @property
    def label(self) -> str:
        return f"LocallyConnected2d({self.extra_repr()})"

    def forward(self, x):
        dtype = getattr(x, "dtype", None)
        if dtype is not None and dtype != self.weight.dtype:
            # (the functional twin promotes silently; a float64 batch into float32 weights would
            # give float64 outputs and float32 weight gradients)
            raise TypeError(
                f"{self.label}: input dtype {np.dtype(dtype)} differs from the weights' "
                f"{self.weight.dtype}; convert one of them (model.double() or x.float())"
            )
        return F.locally_connected2d(
            x, self.weight, self.bias, self.stride, self.padding, name=self.label, rounding=self.rounding
        )

    def extra_repr(self) -> str:
        s = (
            f"{self.in_channels}, {self.out_channels}, input_size={_fmt(self.input_size)}, "
            f"kernel_size={_fmt(self.kernel_size)}"
        )
        if self.stride != (1, 1):
            s += f", stride={_fmt(self.stride)}"
        if self.padding != (0, 0):
            s += f", padding={_fmt(self.padding)}"
        if self.bias is None:
            s += ", bias=False"
        if self.rounding != "exact":
            s += f", rounding={self.rounding!r}"
        return s
