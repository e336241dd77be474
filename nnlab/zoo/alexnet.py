"""AlexNet (Krizhevsky, Sutskever, Hinton 2012) and ZFNet (Zeiler & Fergus 2013).

AlexNet variants (parameter counts at the default input size, 1000 classes):

- ``"original"`` (default): the paper's network as trained on two GPUs. 96-256-384-384-256
  filters, 11x11 stride 4 on a 227x227 input (so the first layer is 55x55x96 with 34,944
  parameters), local response normalization after conv1/conv2, overlapping 3x3 stride-2 max
  pooling, and conv2/conv4/conv5 split in two groups (each half sees only its own GPU's
  channels): 60,965,224 parameters.
- ``"merged"``: the same layers on one device (no groups): 62,378,344 parameters.
- ``"torchvision"``: the one-GPU re-design popularised by torchvision (64-192-384-256-256, no
  LRN, padding 2 in conv1): 61,100,840 parameters (input 223 so that every window tiles).

ZFNet keeps AlexNet's shape but uses a 7x7 stride-2 first layer and larger middle layers
(see ``ZFNet``).
"""

from __future__ import annotations

from nnlab import nn
from nnlab.zoo._geometry import chain_out, check_size

_VARIANTS = ("original", "merged", "torchvision")


def _lrn():
    """The paper's normalization: b = a / (2 + 1e-4 * sum of a^2 over 5 neighbouring channels)^0.75.
    nnlab's layer (like PyTorch's) divides alpha by the window size, hence alpha = 5 * 1e-4."""
    return nn.LocalResponseNorm(5, alpha=5e-4, beta=0.75, k=2.0)


def _classifier(in_features: int, hidden: int, num_classes: int, dropout: float):
    return nn.Sequential(
        nn.Dropout(dropout),
        nn.Linear(in_features, hidden),
        nn.ReLU(),
        nn.Dropout(dropout),
        nn.Linear(hidden, hidden),
        nn.ReLU(),
        nn.Linear(hidden, num_classes),
    )


class AlexNet(nn.Module):
    """AlexNet; ``hidden`` sets the width of the two 4096-unit FC layers (smaller for tests).

    Shape:
        input (N, in_channels, input_size, input_size) -> scores (N, num_classes)
    """

    def __init__(
        self,
        num_classes: int = 1000,
        input_size: int | None = None,
        in_channels: int = 3,
        variant: str = "original",
        hidden: int = 4096,
        dropout: float = 0.5,
    ):
        super().__init__()
        if variant not in _VARIANTS:
            raise ValueError(f"alexnet: variant must be one of {_VARIANTS}, got {variant!r}")
        if input_size is None:
            input_size = 227 if variant != "torchvision" else 223
        s = check_size(input_size, "alexnet")
        self.variant = variant
        if variant == "torchvision":
            widths, pad1, groups, lrn = (64, 192, 384, 256, 256), 2, 1, False
        else:
            widths, pad1, groups, lrn = (96, 256, 384, 384, 256), 0, 2 if variant == "original" else 1, True
        c1, c2, c3, c4, c5 = widths
        layers = [nn.Conv2d(in_channels, c1, 11, stride=4, padding=pad1), nn.ReLU()]
        if lrn:
            layers.append(_lrn())
        layers += [nn.MaxPool2d(3, 2), nn.Conv2d(c1, c2, 5, padding=2, groups=groups), nn.ReLU()]
        if lrn:
            layers.append(_lrn())
        layers += [
            nn.MaxPool2d(3, 2),
            nn.Conv2d(c2, c3, 3, padding=1),
            nn.ReLU(),
            nn.Conv2d(c3, c4, 3, padding=1, groups=groups),
            nn.ReLU(),
            nn.Conv2d(c4, c5, 3, padding=1, groups=groups),
            nn.ReLU(),
            nn.MaxPool2d(3, 2),
        ]
        h = chain_out(
            s, [("conv1", 11, 4, pad1), ("pool1", 3, 2, 0), ("pool2", 3, 2, 0), ("pool5", 3, 2, 0)], "alexnet"
        )
        self.features = nn.Sequential(*layers)
        self.flatten = nn.Flatten()
        self.classifier = _classifier(c5 * h * h, hidden, num_classes, dropout)

    def forward(self, x):
        return self.classifier(self.flatten(self.features(x)))


class ZFNet(nn.Module):
    """ZFNet: AlexNet with a 7x7 stride-2 first layer (96 filters) and 384/384/256 middle layers.

    The paper's 224 input with a 7x7 stride-2 filter does not tile (its frameworks rounded
    down), so the default input is 225 with padding 1: 225 -> 111 -> pool 55 -> conv 5x5/2
    (padding 1) 27 -> pool 13 -> 13 -> pool 6, ending at the paper's 6x6x256. The parameter
    count does not depend on those paddings: 62,357,608 at 1000 classes (derived layer by
    layer: 14,208 + 614,656 + 885,120 + 1,327,488 + 884,992 + 37,752,832 + 16,781,312 + 4,097,000).

    Shape:
        input (N, in_channels, input_size, input_size) -> scores (N, num_classes)
    """

    def __init__(
        self,
        num_classes: int = 1000,
        input_size: int = 225,
        in_channels: int = 3,
        hidden: int = 4096,
        dropout: float = 0.5,
    ):
        super().__init__()
        s = check_size(input_size, "zfnet")
        h = chain_out(
            s,
            [("conv1", 7, 2, 1), ("pool1", 3, 2, 0), ("conv2", 5, 2, 1), ("pool2", 3, 2, 0), ("pool5", 3, 2, 0)],
            "zfnet",
        )
        self.features = nn.Sequential(
            nn.Conv2d(in_channels, 96, 7, stride=2, padding=1),
            nn.ReLU(),
            _lrn(),
            nn.MaxPool2d(3, 2),
            nn.Conv2d(96, 256, 5, stride=2, padding=1),
            nn.ReLU(),
            _lrn(),
            nn.MaxPool2d(3, 2),
            nn.Conv2d(256, 384, 3, padding=1),
            nn.ReLU(),
            nn.Conv2d(384, 384, 3, padding=1),
            nn.ReLU(),
            nn.Conv2d(384, 256, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(3, 2),
        )
        self.flatten = nn.Flatten()
        self.classifier = _classifier(256 * h * h, hidden, num_classes, dropout)

    def forward(self, x):
        return self.classifier(self.flatten(self.features(x)))


def alexnet(num_classes: int = 1000, input_size: int | None = None, in_channels: int = 3, **kw) -> AlexNet:
    return AlexNet(num_classes=num_classes, input_size=input_size, in_channels=in_channels, **kw)


def zfnet(num_classes: int = 1000, input_size: int = 225, in_channels: int = 3, **kw) -> ZFNet:
    return ZFNet(num_classes=num_classes, input_size=input_size, in_channels=in_channels, **kw)
