"""nnlab: deep learning from first principles on NumPy."""
from nnlab.engine import Tensor, tensor, no_grad, enable_grad, Function
from nnlab.engine.random import manual_seed
from nnlab.diagnostics.gradcheck import gradcheck
from nnlab.nn.summary import summary, memory_estimate
from nnlab import nn, optim, data
from nnlab.train.trainer import Trainer
from nnlab.train.checkpoint import save, load

__version__ = "0.1.0"
__all__ = ["Tensor", "tensor", "no_grad", "enable_grad", "Function", "manual_seed", "gradcheck", "summary", "memory_estimate",
           "Trainer", "save", "load"]

# ---- PyTorch names: torch code runs with `import torch` mapped to `import nnlab` ---------------
import numpy as _np  # noqa: E402
from nnlab.engine.creation import *  # noqa: E402,F401,F403  zeros, ones, randn, arange, from_numpy, ...
from nnlab.engine.creation import __all__ as _creation_names  # noqa: E402
from nnlab.engine.functions import *  # noqa: E402,F401,F403  cat, stack, flatten, max, sin, exp, ...
from nnlab.engine.functions import __all__ as _function_names  # noqa: E402
from nnlab.engine.device import device, cuda, accelerator, set_default_device, get_default_device  # noqa: E402
from nnlab.nn.geometry import set_strict_geometry, strict_geometry  # noqa: E402
from nnlab.nn.init import set_default_init  # noqa: E402
from nnlab.utils.data import Generator  # noqa: E402
import nnlab.utils.data  # noqa: E402,F401  nnlab.utils.data.DataLoader, as torch.utils.data

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
__all__ += [n for n in (*_creation_names, *_function_names, "device", "cuda", "accelerator",
                        "set_strict_geometry", "strict_geometry", "set_default_init", "Generator",
                        "set_default_device", "get_default_device",
                        "float32", "float64", "float16", "int64", "int32", "int16", "int8", "uint8",
                        "double", "half", "long", "short") if not hasattr(_builtins, n)]
