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
