"""The autograd engine: Tensor, the Function (gate) base, and reverse-mode differentiation."""

from nnlab.engine.tensor import Tensor, tensor
from nnlab.engine.autograd import no_grad, enable_grad, grad_enabled
from nnlab.engine.function import Function

__all__ = ["Tensor", "tensor", "no_grad", "enable_grad", "grad_enabled", "Function"]
