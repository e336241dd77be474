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
    "set_strict_geometry": "nnlab.nn.geometry",
    "strict_geometry": "nnlab.nn.geometry",
    "set_default_init": "nnlab.nn.init",
    "Generator": "nnlab.utils.data",
    "set_num_threads": "nnlab.engine.parallel",
    "get_num_threads": "nnlab.engine.parallel",
}
# Subpackages (any nnlab.<name> package is) reachable as attributes after ``import nnlab`` (as ``torch.nn`` after ``import torch``).
_SUBPACKAGES = (
    "engine",
    "nn",
    "optim",
    "data",
    "train",
    "diagnostics",
    "zoo",
    "tune",
    "ensemble",
    "report",
    "cli",
    "utils",
    "experiments",
)

__all__ = [
    "Tensor",
    "tensor",
    "no_grad",
    "enable_grad",
    "Function",
    "manual_seed",
    "tune_allocator",
    "set_num_threads",
    "get_num_threads",
    "gradcheck",
    "summary",
    "memory_estimate",
    "Trainer",
    "save",
    "load",
]

# ---- PyTorch names: torch code runs with `import torch` mapped to `import nnlab` ---------------
# Creation functions, math and devices live in the engine, so they load with it.
import numpy as _np  # noqa: E402
from nnlab.engine.creation import *  # noqa: E402,F401,F403  zeros, ones, randn, arange, from_numpy, ...
from nnlab.engine.creation import __all__ as _creation_names  # noqa: E402
from nnlab.engine.functions import *  # noqa: E402,F401,F403  cat, stack, flatten, max, sin, exp, ...
from nnlab.engine.functions import __all__ as _function_names  # noqa: E402
from nnlab.engine.device import device, cuda, accelerator, set_default_device, get_default_device  # noqa: E402

float32 = float = _np.float32
float64 = double = _np.float64
float16 = half = _np.float16
int64 = long = _np.int64
int32 = int = _np.int32
int16 = short = _np.int16
int8 = _np.int8
uint8 = _np.uint8
bool = _np.bool_

import builtins as _builtins  # noqa: E402

# `from nnlab import *` must not shadow Python's max, sum, abs, float, int, bool...
__all__ += [
    n
    for n in (
        *_creation_names,
        *_function_names,
        "device",
        "cuda",
        "accelerator",
        "set_strict_geometry",
        "strict_geometry",
        "set_default_init",
        "Generator",
        "set_default_device",
        "get_default_device",
        "float32",
        "float64",
        "float16",
        "int64",
        "int32",
        "int16",
        "int8",
        "uint8",
        "double",
        "half",
        "long",
        "short",
    )
    if not hasattr(_builtins, n)
]


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
