"""Layers, losses and initializers."""
from nnlab.nn.module import Module
from nnlab.nn.parameter import Parameter
