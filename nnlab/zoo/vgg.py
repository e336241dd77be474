"""VGGNet (Simonyan & Zisserman 2014): only 3x3 stride-1 padding-1 convolutions and 2x2 max pooling.

The configuration table ``cfgs`` lists each network's convolution widths, "M" marking a pool;
``make_layers`` expands it. At 3x224x224 and 1000 classes the totals are VGG-11 132,863,336,
VGG-13 133,047,848, VGG-16 138,357,544 and VGG-19 143,667,240 parameters; in VGG-16 the first FC
layer alone holds 7*7*512*4096 = 102,760,448 weights (see ``nnlab.summary`` for the notes' table).
"""

from __future__ import annotations

from nnlab import nn
from nnlab.zoo._geometry import check_size

cfgs = {
    "11": [64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    "13": [64, 64, "M", 128, 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    "16": [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"],
    "19": [64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M", 512, 512, 512, 512, "M"],
}


def make_layers(cfg, in_channels: int = 3, batch_norm: bool = False):
    """Expand a configuration list: an int is CONV3-<int> -> [BN] -> ReLU, "M" a 2x2 max pool."""
    layers = []
    c = in_channels
    for v in cfg:
        if v == "M":
            layers.append(nn.MaxPool2d(2, 2))
        elif isinstance(v, int) and v > 0:
            layers.append(nn.Conv2d(c, v, 3, padding=1))
            if batch_norm:
                layers.append(nn.BatchNorm2d(v))
            layers.append(nn.ReLU())
            c = v
        else:
            raise ValueError(f"make_layers: entries must be positive ints or 'M', got {v!r}")
    return nn.Sequential(*layers)


class VGG(nn.Module):
    """A VGG network from a ``cfgs`` entry; ``hidden`` is the width of the two FC-4096 layers.

    Shape:
        input (N, in_channels, input_size, input_size) -> scores (N, num_classes);
        input_size must be divisible by 2**(number of pools) (32 for the standard tables).
    """

    def __init__(
        self,
        cfg,
        num_classes: int = 1000,
        input_size: int = 224,
        in_channels: int = 3,
        batch_norm: bool = False,
        hidden: int = 4096,
        dropout: float = 0.5,
    ):
        super().__init__()
        s = check_size(input_size, "vgg")
        pools = sum(1 for v in cfg if v == "M")
        if s % (2**pools):
            raise ValueError(
                f"vgg: input_size must be divisible by 2**{pools} = {2**pools} "
                f"({pools} 2x2 pools), got {s}; nearest that fit: "
                f"{s // 2**pools * 2**pools or 2**pools}, {(s // 2**pools + 1) * 2**pools}"
            )
        h = s // 2**pools
        last = [v for v in cfg if v != "M"][-1]
        self.features = make_layers(cfg, in_channels, batch_norm)
        self.flatten = nn.Flatten()
        self.classifier = nn.Sequential(
            nn.Linear(last * h * h, hidden),
            nn.ReLU(),
            nn.Dropout(dropout),
            nn.Linear(hidden, hidden),
            nn.ReLU(),
            nn.Dropout(dropout),
            nn.Linear(hidden, num_classes),
        )

    def forward(self, x):
        return self.classifier(self.flatten(self.features(x)))


def _builder(depth: str):
    def build(num_classes: int = 1000, input_size: int = 224, in_channels: int = 3, **kw) -> VGG:
        return VGG(cfgs[depth], num_classes=num_classes, input_size=input_size, in_channels=in_channels, **kw)

    build.__name__ = build.__qualname__ = f"vgg{depth}"
    build.__doc__ = f"VGG-{depth} (configuration cfgs['{depth}']); batch_norm=True adds BatchNorm2d after each conv."
    return build


vgg11 = _builder("11")
vgg13 = _builder("13")
vgg16 = _builder("16")
vgg19 = _builder("19")
