"""nnlab: deep learning from first principles on NumPy.

``import nnlab`` loads the engine only. Everything above it (``nnlab.nn``, ``nnlab.optim``,
``nnlab.zoo``, ``nnlab.Trainer``, ...) is imported on first use, so a program pays only for the
parts it touches and importing nnlab has no side effect beyond that.
"""
import importlib

from nnlab.engine import Tensor, tensor, no_grad, enable_grad, Function
from nnlab.engine.random import manual_seed
from nnlab.engine.allocator import tune_allocator

__version__ = "0.1.0"

# Public names defined above the engine: name -> the module that holds it.
_LAZY_NAMES = {
    "gradcheck": "nnlab.diagnostics.gradcheck",
    "summary": "nnlab.nn.summary",
    "memory_estimate": "nnlab.nn.summary",
    "Trainer": "nnlab.train.trainer",
    "save": "nnlab.train.checkpoint",
    "load": "nnlab.train.checkpoint",
}
# Subpackages (any nnlab.<name> package is) reachable as attributes after ``import nnlab`` (as ``torch.nn`` after ``import torch``).
_SUBPACKAGES = ("engine", "nn", "optim", "data", "train", "diagnostics", "zoo", "tune", "ensemble",
                "report", "cli", "utils", "experiments")

__all__ = ["Tensor", "tensor", "no_grad", "enable_grad", "Function", "manual_seed", "tune_allocator",
           "gradcheck", "summary", "memory_estimate", "Trainer", "save", "load"]


def __getattr__(name):
    if name in _LAZY_NAMES:
        value = getattr(importlib.import_module(_LAZY_NAMES[name]), name)
    elif not name.startswith("_"):  # a subpackage: nnlab.zoo, nnlab.nn, ...
        try:
            value = importlib.import_module(f"nnlab.{name}")
        except ModuleNotFoundError as e:
            if e.name != f"nnlab.{name}":  # a real missing dependency inside the subpackage
                raise
            raise AttributeError(f"module 'nnlab' has no attribute {name!r}") from None
    else:
        raise AttributeError(f"module 'nnlab' has no attribute {name!r}")
    globals()[name] = value  # later lookups skip __getattr__
    return value


def __dir__():
    return sorted(set(globals()) | set(_LAZY_NAMES) | set(_SUBPACKAGES))
