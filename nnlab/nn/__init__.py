"""Layers, losses and initializers (PyTorch names)."""
from nnlab.nn.module import Module
from nnlab.nn.parameter import Parameter
# Each part adds its exports below, one import line per file.
