"""Model zoo: the notes' case-study networks, each ``builder(num_classes=..., input_size=..., in_channels=...)``."""

from nnlab.zoo.alexnet import AlexNet, ZFNet, alexnet, zfnet
from nnlab.zoo.googlenet import GoogLeNet, Inception, googlenet
from nnlab.zoo.lenet import LeNet5, lenet5
from nnlab.zoo.nin import NIN, nin
from nnlab.zoo.resnet import CifarResNet, ResNet, resnet18, resnet20, resnet34, resnet50
from nnlab.zoo.vgg import VGG, cfgs, make_layers, vgg11, vgg13, vgg16, vgg19
from nnlab.zoo.registry import SMALL_INPUT, build, get, names

__all__ = [
    "AlexNet",
    "ZFNet",
    "alexnet",
    "zfnet",
    "GoogLeNet",
    "Inception",
    "googlenet",
    "LeNet5",
    "lenet5",
    "NIN",
    "nin",
    "CifarResNet",
    "ResNet",
    "resnet18",
    "resnet20",
    "resnet34",
    "resnet50",
    "VGG",
    "cfgs",
    "make_layers",
    "vgg11",
    "vgg13",
    "vgg16",
    "vgg19",
    "SMALL_INPUT",
    "build",
    "get",
    "names",
]
