"""Network in Network (Lin, Chen, Yan 2013), the CIFAR-10 model.

Each "mlpconv" layer is a spatial convolution followed by two 1x1 convolutions, i.e. a small
MLP slid over every position (the notes: a 1x1xN convolution mixes the depth at each pixel).
The last mlpconv emits one map per class and global average pooling turns the maps into scores,
so there is no fully connected layer. Parameters at 10 classes: 966,986, derived as
(3*25*192+192) + (192*160+160) + (160*96+96) + (96*25*192+192) + 2*(192*192+192)
+ (192*9*192+192) + (192*192+192) + (192*10+10).
"""

from __future__ import annotations

from nnlab import nn
from nnlab.nn.blocks import MLPConv
from nnlab.zoo._geometry import check_size


class NIN(nn.Module):
    """NIN: three mlpconv blocks separated by 3x3 stride-2 pooling (padding 1, rounding down:
    32 -> 16 -> 8) and dropout, then global average pooling of the per-class maps.

    Shape:
        input (N, in_channels, input_size, input_size) -> scores (N, num_classes)
    """

    def __init__(self, num_classes: int = 10, input_size: int = 32, in_channels: int = 3, dropout: float = 0.5):
        super().__init__()
        check_size(input_size, "nin")
        self.features = nn.Sequential(
            MLPConv(in_channels, (192, 160, 96), 5, padding=2),
            nn.MaxPool2d(3, 2, padding=1, rounding="floor"),
            nn.Dropout(dropout),
            MLPConv(96, (192, 192, 192), 5, padding=2),
            nn.AvgPool2d(3, 2, padding=1, rounding="floor"),
            nn.Dropout(dropout),
        )
        # The last mlpconv is the classifier: its final 1x1 convolution gives one map per class.
        self.classifier = nn.Sequential(
            MLPConv(192, (192, 192, num_classes), 3, padding=1), nn.GlobalAvgPool2d(), nn.Flatten()
        )

    def forward(self, x):
        return self.classifier(self.features(x))


def nin(num_classes: int = 10, input_size: int = 32, in_channels: int = 3, **kw) -> NIN:
    return NIN(num_classes=num_classes, input_size=input_size, in_channels=in_channels, **kw)
