"""Building blocks of the classic CNNs: residual (basic, bottleneck), Inception v1, mlpconv (NIN).

Strided 3x3 convolutions with padding 1 on an even input size do not fit the formula exactly
((H - 3 + 2)/2 + 1 = H/2 + 0.5): the last window would start on the bottom padding row. The blocks
pass ``rounding="floor"`` to those convolutions (and to the strided 1x1 projection, which never
reads the odd rows anyway), so no input pixel that a window could use is dropped — as in ResNet.
"""

from __future__ import annotations

from nnlab.engine.ops.shape import concatenate
from nnlab.nn.activation import ReLU
from nnlab.nn.container import Sequential
from nnlab.nn.conv import Conv2d
from nnlab.nn.module import Module
from nnlab.nn.normalization import BatchNorm2d
from nnlab.nn.pooling import MaxPool2d
from nnlab.nn import functional as F


def _shortcut(in_channels, out_channels, stride, shortcut):
    """Identity when the shape is unchanged (and allowed), else a 1x1 projection conv + BN."""
    if shortcut not in ("auto", "identity", "projection"):
        raise ValueError(f"residual block: shortcut must be 'auto', 'identity' or 'projection', got {shortcut!r}")
    same = stride == 1 and in_channels == out_channels
    if shortcut == "identity" and not same:
        raise ValueError(
            f"residual block: an identity shortcut needs stride 1 and equal channels, "
            f"got stride {stride}, {in_channels} -> {out_channels} channels"
        )
    if shortcut == "identity" or (shortcut == "auto" and same):
        return None
    return Sequential(
        Conv2d(in_channels, out_channels, 1, stride=stride, bias=False, rounding="floor"), BatchNorm2d(out_channels)
    )


class BasicBlock(Module):
    """ResNet-18/34 block: relu(BN(conv3x3(relu(BN(conv3x3(x))))) + shortcut(x)).

    The first conv carries the stride. Convs have no bias (the following BN's shift replaces it).
    ``shortcut``: "auto" (identity if the shape is unchanged, else projection), "identity" or
    "projection" (1x1 conv + BN, the paper's option B).

    Shape:
        input (N, in_channels, H, W); output (N, out_channels, ceil(H/stride), ceil(W/stride)).
    """

    expansion = 1

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1, shortcut: str = "auto"):
        super().__init__()
        self.conv1 = Conv2d(in_channels, out_channels, 3, stride=stride, padding=1, bias=False, rounding="floor")
        self.bn1 = BatchNorm2d(out_channels)
        self.conv2 = Conv2d(out_channels, out_channels, 3, padding=1, bias=False)
        self.bn2 = BatchNorm2d(out_channels)
        self.shortcut = _shortcut(in_channels, out_channels, stride, shortcut)

    def forward(self, x):
        h = F.relu(self.bn1(self.conv1(x)))
        h = self.bn2(self.conv2(h))
        return F.relu(h + (x if self.shortcut is None else self.shortcut(x)))


class Bottleneck(Module):
    """ResNet-50+ block: 1x1 reduce to ``planes``, 3x3 (with the stride), 1x1 expand to
    ``planes * expansion``, each followed by BN (ReLU after the first two and after the sum).

    The 1x1 layers keep the 3x3 convolution cheap: it runs on ``planes`` = out/4 channels.

    Shape:
        input (N, in_channels, H, W); output (N, planes*expansion, ceil(H/stride), ceil(W/stride)).
    """

    expansion = 4

    def __init__(self, in_channels: int, planes: int, stride: int = 1, shortcut: str = "auto", expansion: int = 4):
        super().__init__()
        self.expansion = expansion
        out = planes * expansion
        self.conv1 = Conv2d(in_channels, planes, 1, bias=False)
        self.bn1 = BatchNorm2d(planes)
        self.conv2 = Conv2d(planes, planes, 3, stride=stride, padding=1, bias=False, rounding="floor")
        self.bn2 = BatchNorm2d(planes)
        self.conv3 = Conv2d(planes, out, 1, bias=False)
        self.bn3 = BatchNorm2d(out)
        self.shortcut = _shortcut(in_channels, out, stride, shortcut)

    def forward(self, x):
        h = F.relu(self.bn1(self.conv1(x)))
        h = F.relu(self.bn2(self.conv2(h)))
        h = self.bn3(self.conv3(h))
        return F.relu(h + (x if self.shortcut is None else self.shortcut(x)))


class InceptionModule(Module):
    """GoogLeNet's Inception v1 module: four parallel branches concatenated along channels:
    1x1; 1x1 reduce -> 3x3; 1x1 reduce -> 5x5; 3x3 max pool (stride 1) -> 1x1 projection.
    Every conv is followed by a ReLU (``batch_norm=True`` inserts BN before it, as later versions do).
    The 1x1 reductions make the 3x3/5x5 convolutions affordable.

    Shape:
        input (N, in_channels, H, W); output (N, ch1x1 + ch3x3 + ch5x5 + pool_proj, H, W).
    """

    def __init__(
        self,
        in_channels: int,
        ch1x1: int,
        ch3x3red: int,
        ch3x3: int,
        ch5x5red: int,
        ch5x5: int,
        pool_proj: int,
        batch_norm: bool = False,
    ):
        super().__init__()

        def unit(cin, cout, k):
            layers = [Conv2d(cin, cout, k, padding=k // 2, bias=not batch_norm)]
            if batch_norm:
                layers.append(BatchNorm2d(cout))
            return layers + [ReLU()]

        self.in_channels = in_channels
        self.out_channels = ch1x1 + ch3x3 + ch5x5 + pool_proj
        self.branch1 = Sequential(*unit(in_channels, ch1x1, 1))
        self.branch3 = Sequential(*unit(in_channels, ch3x3red, 1), *unit(ch3x3red, ch3x3, 3))
        self.branch5 = Sequential(*unit(in_channels, ch5x5red, 1), *unit(ch5x5red, ch5x5, 5))
        self.branch_pool = Sequential(MaxPool2d(3, stride=1, padding=1), *unit(in_channels, pool_proj, 1))

    def forward(self, x):
        return concatenate([self.branch1(x), self.branch3(x), self.branch5(x), self.branch_pool(x)], axis=1)


class MLPConv(Module):
    """Network-in-network mlpconv layer: a k x k conv followed by 1x1 convs, each with a ReLU,
    i.e. a small MLP slid over every position (the 1x1 convs mix channels per pixel).

    ``channels`` lists the output channels of the k x k conv and then of each 1x1 conv,
    e.g. (192, 160, 96).

    Shape:
        input (N, in_channels, H, W); output (N, channels[-1], H_out, W_out) with the k x k conv's geometry.
    """

    def __init__(self, in_channels: int, channels, kernel_size, stride=1, padding=0):
        super().__init__()
        channels = list(channels)
        if len(channels) < 1:
            raise ValueError("MLPConv: channels needs at least one entry (the k x k conv's outputs)")
        layers = [Conv2d(in_channels, channels[0], kernel_size, stride=stride, padding=padding), ReLU()]
        for cin, cout in zip(channels[:-1], channels[1:]):
            layers += [Conv2d(cin, cout, 1), ReLU()]
        self.layers = Sequential(*layers)
        self.out_channels = channels[-1]

    def forward(self, x):
        return self.layers(x)
