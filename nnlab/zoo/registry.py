"""Model registry: ``get(name)`` returns a builder, ``names()`` lists them."""

from __future__ import annotations

from nnlab.zoo.alexnet import alexnet, zfnet
from nnlab.zoo.googlenet import googlenet
from nnlab.zoo.lenet import lenet5
from nnlab.zoo.nin import nin
from nnlab.zoo.resnet import resnet18, resnet20, resnet34, resnet50
from nnlab.zoo.vgg import vgg11, vgg13, vgg16, vgg19

_BUILDERS = {
    "lenet5": lenet5,
    "alexnet": alexnet,
    "zfnet": zfnet,
    "vgg11": vgg11,
    "vgg13": vgg13,
    "vgg16": vgg16,
    "vgg19": vgg19,
    "googlenet": googlenet,
    "resnet18": resnet18,
    "resnet34": resnet34,
    "resnet50": resnet50,
    "resnet20": resnet20,
    "nin": nin,
}

# Builders whose geometry accepts 28x28 single-channel digits (the bundled data), lightest first;
# ``nnlab train --model`` lists them. (AlexNet, ZFNet and VGG need larger inputs: 11x11/4 and 7x7/2
# first layers, five 2x2 pools.)
SMALL_INPUT = ("lenet5", "resnet20", "nin", "googlenet", "resnet18", "resnet34", "resnet50")


def names() -> list[str]:
    """Every registered model name, sorted."""
    return sorted(_BUILDERS)


def _normalize(name: str) -> str:
    return name.lower().replace("-", "").replace("_", "")


def get(name: str):
    """The builder for ``name`` (case, '-' and '_' ignored: "ResNet-18" -> resnet18).

    Each builder takes ``num_classes``, ``input_size`` and ``in_channels``.
    """
    if not isinstance(name, str):
        raise TypeError(f"zoo.get: name must be a string, got {type(name).__name__}")
    key = _normalize(name)
    if key not in _BUILDERS:
        raise ValueError(f"zoo.get: unknown model {name!r}; known models: {', '.join(names())}")
    return _BUILDERS[key]


def build(name: str, **kwargs):
    """``get(name)(**kwargs)``."""
    return get(name)(**kwargs)
