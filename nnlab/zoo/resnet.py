"""Residual networks (He et al. 2015): ResNet-18/34/50 for ImageNet and the CIFAR ResNet-20.

Each block computes relu(F(x) + shortcut(x)); with the identity shortcut the gradient reaches
earlier layers through the addition unchanged, which is what lets the depth grow. Parameter
counts at 1000 classes (independent of input size thanks to global average pooling):
ResNet-18 11,689,512, ResNet-34 21,797,672, ResNet-50 25,557,032 (stride on the 3x3 convolution
of the bottleneck, projection shortcuts where the shape changes). ResNet-20 for CIFAR-10 at 10
classes: 269,722 with the paper's option A shortcuts (parameter-free: subsample by 2 and zero-pad
the new channels; the default), 272,474 with option B (1x1 conv + BN projections at the two stage
changes, 2,752 more parameters: 16*32 + 2*32 + 32*64 + 2*64). Both round to the paper's "0.27M".

Like the reference implementations, strided layers round down when a window does not tile the
input (``rounding="floor"``): at 224 the stem gives 112 -> 56, then 28, 14, 7.
"""

from __future__ import annotations

from nnlab import nn
from nnlab.engine import ops
from nnlab.nn.blocks import BasicBlock, Bottleneck
from nnlab.zoo._geometry import check_size


def _conv(cin, cout, k, stride=1):
    return nn.Conv2d(cin, cout, k, stride=stride, padding=k // 2, bias=False, rounding="floor")


class PadShortcut(nn.Module):
    """Option A shortcut: keep every ``stride``-th pixel and zero-pad the extra channels (no parameters).

    Shape:
        input (N, C, H, W) -> (N, out_channels, ceil(H / stride), ceil(W / stride))
    """

    def __init__(self, in_channels: int, out_channels: int, stride: int):
        super().__init__()
        if out_channels < in_channels:
            raise ValueError(f"PadShortcut: out_channels ({out_channels}) must be >= in_channels ({in_channels})")
        self.in_channels, self.out_channels, self.stride = in_channels, out_channels, stride

    def forward(self, x):
        if self.stride > 1:
            x = ops.getitem(
                x, (slice(None), slice(None), slice(None, None, self.stride), slice(None, None, self.stride))
            )
        extra = self.out_channels - self.in_channels
        if extra:
            x = ops.pad(x, ((0, 0), (extra // 2, extra - extra // 2), (0, 0), (0, 0)))
        return x

    def extra_repr(self) -> str:
        return f"{self.in_channels}->{self.out_channels}, stride={self.stride}"


class BasicBlockA(BasicBlock):
    """A basic residual block whose shortcut, where the shape changes, is option A (``PadShortcut``).

    Shape:
        input (N, in_channels, H, W) -> (N, out_channels, ceil(H / stride), ceil(W / stride))
    """

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1):
        same = stride == 1 and in_channels == out_channels
        super().__init__(in_channels, out_channels, stride, shortcut="identity" if same else "projection")
        if not same:
            self.shortcut = PadShortcut(in_channels, out_channels, stride)


class ResNet(nn.Module):
    """ImageNet-style ResNet: 7x7/2 stem, 3x3/2 max pool, four stages (64, 128, 256, 512 planes),
    global average pooling and one FC layer.

    Shape:
        input (N, in_channels, input_size, input_size) -> scores (N, num_classes)
    """

    def __init__(self, block: str, layers, num_classes: int = 1000, input_size: int = 224, in_channels: int = 3):
        super().__init__()
        check_size(input_size, "resnet")
        Block = {"basic": BasicBlock, "bottleneck": Bottleneck}[block]
        stages = [
            _conv(in_channels, 64, 7, 2),
            nn.BatchNorm2d(64),
            nn.ReLU(),
            nn.MaxPool2d(3, 2, padding=1, rounding="floor"),
        ]
        c = 64
        for i, (planes, n) in enumerate(zip((64, 128, 256, 512), layers)):
            blocks = []
            for j in range(n):
                blocks.append(Block(c, planes, 2 if (j == 0 and i > 0) else 1))
                c = planes * Block.expansion
            stages.append(nn.Sequential(*blocks))
        stages.append(nn.GlobalAvgPool2d())
        self.features = nn.Sequential(*stages)
        self.flatten = nn.Flatten()
        self.classifier = nn.Linear(c, num_classes)

    def forward(self, x):
        return self.classifier(self.flatten(self.features(x)))


class CifarResNet(nn.Module):
    """The CIFAR ResNet-(6n+2): 3x3 conv (16) and three stages of n basic blocks with 16, 32, 64
    planes on 32x32, 16x16, 8x8 maps, option A shortcuts, global pooling, FC. n = 3 is ResNet-20.

    Shape:
        input (N, in_channels, input_size, input_size) -> scores (N, num_classes)
    """

    def __init__(
        self, n: int = 3, num_classes: int = 10, input_size: int = 32, in_channels: int = 3, shortcut: str = "pad"
    ):
        super().__init__()
        check_size(input_size, "resnet20")
        layers = [_conv(in_channels, 16, 3), nn.BatchNorm2d(16), nn.ReLU()]
        c = 16
        if shortcut not in ("pad", "projection"):
            raise ValueError(
                f"resnet20: shortcut must be 'pad' (option A) or 'projection' (option B), got {shortcut!r}"
            )
        for i, planes in enumerate((16, 32, 64)):
            blocks = []
            for j in range(n):
                stride = 2 if (j == 0 and i > 0) else 1
                blocks.append(BasicBlockA(c, planes, stride) if shortcut == "pad" else BasicBlock(c, planes, stride))
                c = planes
            layers.append(nn.Sequential(*blocks))
        layers.append(nn.GlobalAvgPool2d())
        self.features = nn.Sequential(*layers)
        self.flatten = nn.Flatten()
        self.classifier = nn.Linear(c, num_classes)

    def forward(self, x):
        return self.classifier(self.flatten(self.features(x)))


def resnet18(num_classes: int = 1000, input_size: int = 224, in_channels: int = 3) -> ResNet:
    return ResNet("basic", (2, 2, 2, 2), num_classes, input_size, in_channels)


def resnet34(num_classes: int = 1000, input_size: int = 224, in_channels: int = 3) -> ResNet:
    return ResNet("basic", (3, 4, 6, 3), num_classes, input_size, in_channels)


def resnet50(num_classes: int = 1000, input_size: int = 224, in_channels: int = 3) -> ResNet:
    return ResNet("bottleneck", (3, 4, 6, 3), num_classes, input_size, in_channels)


def resnet20(num_classes: int = 10, input_size: int = 32, in_channels: int = 3, shortcut: str = "pad") -> CifarResNet:
    """ResNet-20 (CIFAR); ``shortcut="projection"`` uses 1x1 conv shortcuts (option B) instead of option A."""
    return CifarResNet(3, num_classes, input_size, in_channels, shortcut)
