"""LeNet-5 (LeCun et al., 1998): the first successful convolutional network, on digits.

conv5x5(6) -> pool2 -> conv5x5(16) -> pool2 -> FC 120 -> FC 84 -> FC classes. At the classic
32x32 input it has 61,706 parameters (156 + 2,416 + 48,120 + 10,164 + 850). A 28x28 input
(MNIST) is padded by 2 in the first convolution so that every later layer keeps the classic
shapes and the count stays 61,706.
"""

from __future__ import annotations

from nnlab import nn
from nnlab.zoo._geometry import chain_out, check_size


class LeNet5(nn.Module):
    """LeNet-5 with ReLU and max pooling (``pool="avg"`` gives the original subsampling layers).

    Shape:
        input (N, in_channels, input_size, input_size) -> scores (N, num_classes)
    """

    def __init__(self, num_classes: int = 10, input_size: int = 32, in_channels: int = 1, pool: str = "max"):
        super().__init__()
        s = check_size(input_size, "lenet5")
        if pool not in ("max", "avg"):
            raise ValueError(f"lenet5: pool must be 'max' or 'avg', got {pool!r}")
        Pool = nn.MaxPool2d if pool == "max" else nn.AvgPool2d
        pad = 2 if s == 28 else 0
        h = chain_out(s, [("conv1", 5, 1, pad), ("pool1", 2, 2, 0), ("conv2", 5, 1, 0), ("pool2", 2, 2, 0)], "lenet5")
        self.features = nn.Sequential(
            nn.Conv2d(in_channels, 6, 5, padding=pad),
            nn.ReLU(),
            Pool(2, 2),
            nn.Conv2d(6, 16, 5),
            nn.ReLU(),
            Pool(2, 2),
        )
        self.flatten = nn.Flatten()
        self.classifier = nn.Sequential(
            nn.Linear(16 * h * h, 120),
            nn.ReLU(),
            nn.Linear(120, 84),
            nn.ReLU(),
            nn.Linear(84, num_classes),
        )

    def forward(self, x):
        return self.classifier(self.flatten(self.features(x)))


def lenet5(num_classes: int = 10, input_size: int = 32, in_channels: int = 1, **kw) -> LeNet5:
    return LeNet5(num_classes=num_classes, input_size=input_size, in_channels=in_channels, **kw)
