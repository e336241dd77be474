"""GoogLeNet / Inception v1 (Szegedy et al. 2014), without the auxiliary classifiers.

Nine Inception modules, each running 1x1, 1x1->3x3, 1x1->5x5 and 3x3-pool->1x1 branches in
parallel and concatenating them along channels; the 1x1 "reduce" convolutions keep the parameter
count low, and global average pooling replaces AlexNet's large FC layers (one 1024 -> classes FC
remains).

Variants (1000 classes):

- ``"original"`` (default): the paper's layers with biases, ReLU and local response norm in the
  stem, real 5x5 convolutions: 6,998,552 parameters, derived module by module
  (see tests/zoo/test_zoo.py for the arithmetic).
- ``"torchvision"``: batch norm after every convolution (convolutions without bias) and, as in the
  torchvision implementation, 3x3 kernels in the "5x5" branch: 6,624,904 parameters.

The notes' "4M" is the paper's figure for the convolutional part; the exact totals above include
the final FC layer (1,025,000 parameters).
"""

from __future__ import annotations

from nnlab import nn
from nnlab.engine import ops
from nnlab.nn.blocks import InceptionModule
from nnlab.zoo._geometry import check_size

# (in, 1x1, 3x3 reduce, 3x3, 5x5 reduce, 5x5, pool proj) for 3a, 3b, 4a..4e, 5a, 5b
INCEPTION_CFG = {
    "3a": (192, 64, 96, 128, 16, 32, 32),
    "3b": (256, 128, 128, 192, 32, 96, 64),
    "4a": (480, 192, 96, 208, 16, 48, 64),
    "4b": (512, 160, 112, 224, 24, 64, 64),
    "4c": (512, 128, 128, 256, 24, 64, 64),
    "4d": (512, 112, 144, 288, 32, 64, 64),
    "4e": (528, 256, 160, 320, 32, 128, 128),
    "5a": (832, 256, 160, 320, 32, 128, 128),
    "5b": (832, 384, 192, 384, 48, 128, 128),
}


def conv_unit(cin: int, cout: int, k: int, stride: int = 1, padding: int = 0, bn: bool = False):
    """CONV -> ReLU, or CONV (no bias) -> BN -> ReLU."""
    if bn:
        return nn.Sequential(
            nn.Conv2d(cin, cout, k, stride=stride, padding=padding, bias=False, rounding="floor"),
            nn.BatchNorm2d(cout, eps=1e-3),
            nn.ReLU(),
        )
    return nn.Sequential(nn.Conv2d(cin, cout, k, stride=stride, padding=padding, rounding="floor"), nn.ReLU())


class Inception(nn.Module):
    """Inception v1 module with a configurable "5x5" kernel and conv -> BN -> ReLU units: what the
    torchvision variant needs (``nnlab.nn.blocks.InceptionModule`` is the paper's module).

    Shape:
        input (N, in_channels, H, W) -> (N, c1 + c3 + c5 + pool_proj, H, W)
    """

    def __init__(
        self,
        in_channels: int,
        c1: int,
        r3: int,
        c3: int,
        r5: int,
        c5: int,
        pool_proj: int,
        bn: bool = False,
        k5: int = 5,
    ):
        super().__init__()
        self.branch1 = conv_unit(in_channels, c1, 1, bn=bn)
        self.branch3 = nn.Sequential(conv_unit(in_channels, r3, 1, bn=bn), conv_unit(r3, c3, 3, padding=1, bn=bn))
        self.branch5 = nn.Sequential(
            conv_unit(in_channels, r5, 1, bn=bn), conv_unit(r5, c5, k5, padding=k5 // 2, bn=bn)
        )
        self.branch_pool = nn.Sequential(nn.MaxPool2d(3, 1, padding=1), conv_unit(in_channels, pool_proj, 1, bn=bn))

    def forward(self, x):
        return ops.concatenate([self.branch1(x), self.branch3(x), self.branch5(x), self.branch_pool(x)], axis=1)


class GoogLeNet(nn.Module):
    """Inception v1 network; the 3x3 stride-2 max pools use padding 1 and round down, so a 224
    input gives the paper's 112, 56, 28, 14, 7 map sizes.

    Shape:
        input (N, in_channels, input_size, input_size) -> scores (N, num_classes)
    """

    def __init__(
        self,
        num_classes: int = 1000,
        input_size: int = 224,
        in_channels: int = 3,
        variant: str = "original",
        dropout: float = 0.4,
    ):
        super().__init__()
        check_size(input_size, "googlenet")
        if variant not in ("original", "torchvision"):
            raise ValueError(f"googlenet: variant must be 'original' or 'torchvision', got {variant!r}")
        bn = variant == "torchvision"
        k5 = 3 if bn else 5

        def pool(k=3):
            return nn.MaxPool2d(k, 2, padding=1 if k == 3 else 0, rounding="floor")

        def lrn():
            # Caffe's LRN (as in the reference model) divides alpha by the window size, as nnlab does.
            return [] if bn else [nn.LocalResponseNorm(5, alpha=1e-4, beta=0.75, k=1.0)]

        def inc(key):
            if bn:
                return Inception(*INCEPTION_CFG[key], bn=True, k5=k5)
            return InceptionModule(*INCEPTION_CFG[key])

        self.variant = variant
        self.features = nn.Sequential(
            conv_unit(in_channels, 64, 7, stride=2, padding=3, bn=bn),
            pool(),
            *lrn(),
            conv_unit(64, 64, 1, bn=bn),
            conv_unit(64, 192, 3, padding=1, bn=bn),
            *lrn(),
            pool(),
            inc("3a"),
            inc("3b"),
            pool(),
            inc("4a"),
            inc("4b"),
            inc("4c"),
            inc("4d"),
            inc("4e"),
            pool(2),
            inc("5a"),
            inc("5b"),
            nn.GlobalAvgPool2d(),
        )
        self.flatten = nn.Flatten()
        self.classifier = nn.Sequential(nn.Dropout(dropout), nn.Linear(1024, num_classes))

    def forward(self, x):
        return self.classifier(self.flatten(self.features(x)))


def googlenet(num_classes: int = 1000, input_size: int = 224, in_channels: int = 3, **kw) -> GoogLeNet:
    return GoogLeNet(num_classes=num_classes, input_size=input_size, in_channels=in_channels, **kw)
