"""Layers, losses and initializers (PyTorch names)."""

from nnlab.nn.module import Module, register_module
from nnlab.nn.parameter import Parameter

# Each part adds its exports below, one import line per file.
from nnlab.nn.linear import Linear, Maxout, Identity
from nnlab.nn.activation import ReLU, Sigmoid, Tanh, LeakyReLU, Softmax, LogSoftmax
from nnlab.nn.dropout import Dropout
from nnlab.nn.normalization import BatchNorm1d, BatchNorm2d
from nnlab.nn.container import Sequential, ModuleList, Flatten
from nnlab.nn.loss import (
    CrossEntropyLoss,
    MultiClassSVMLoss,
    MSELoss,
    L1Loss,
    L2Loss,
    BCEWithLogitsLoss,
    BinaryHingeLoss,
    HierarchicalSoftmaxLoss,
)
from nnlab.nn.regularization import Regularizer, MaxNorm
from nnlab.nn import functional, init
from nnlab.nn.conv import Conv2d, LocallyConnected2d
from nnlab.nn.pooling import MaxPool2d, AvgPool2d, LPPool2d, GlobalAvgPool2d, AdaptiveAvgPool2d
from nnlab.nn.lrn import LocalResponseNorm
from nnlab.nn.summary import summary, memory_estimate, receptive_field
from nnlab.nn.convert import to_fully_convolutional
from nnlab.nn import transfer
from nnlab.nn.blocks import BasicBlock, Bottleneck, InceptionModule, MLPConv
from nnlab.nn.kan import KANLinear, KAN, kan_regularization

# PyTorch names used by torch programs (nnlab/nn/dropout.py, loss.py)
from nnlab.nn.dropout import Dropout2d
from nnlab.nn.loss import NLLLoss
