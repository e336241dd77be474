"""Fully connected layers: Linear, Maxout, Identity."""

from __future__ import annotations

import numpy as np

from nnlab.engine._args import check_bool, check_dtype
from nnlab.nn import functional as F
from nnlab.nn import init as _init
from nnlab.nn._checks import positive_ints
from nnlab.nn.module import Module
from nnlab.nn.parameter import Parameter, check_allocation


class Identity(Module):
    """Returns its input unchanged (a placeholder, e.g. for a removed classifier head)."""

    def forward(self, x):
        return x


class WeightedLayer(Module):
    """Base of the layers with one weight and an optional bias (Linear, Maxout, Conv2d): the weight
    is filled by ``init`` (a name or callable, see ``nn.init.init_weight_``) and the bias starts at 0;
    ``reset_parameters()`` draws both afresh."""

    def _make_weight_and_bias(self, weight_shape, bias_size: int, bias: bool, init, dtype) -> None:
        name = type(self).__name__
        bias, dtype = check_bool(name, "bias", bias), check_dtype(name, dtype)
        self.init = init
        check_allocation(weight_shape)
        self.weight = Parameter(np.zeros(weight_shape, dtype=dtype))
        if bias:
            self.bias = Parameter(np.zeros(bias_size, dtype=dtype))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        if _init.default_init() == "torch" and self._default_init():
            _init.torch_default_(self.weight, self.bias)  # nnlab.set_default_init("torch")
            return
        _init.init_weight_(self.weight, self.init)
        if self.bias is not None:
            _init.zeros_(self.bias)

    def _default_init(self) -> bool:
        """Whether ``init`` is this layer's default (the one nnlab.set_default_init replaces)."""
        import inspect

        p = inspect.signature(type(self).__init__).parameters.get("init")
        return p is not None and isinstance(self.init, str) and self.init == p.default


class Linear(WeightedLayer):
    """y = x W^T + b, a layer of ``out_features`` neurons each seeing all ``in_features`` inputs.

    Weight (out_features, in_features), bias (out_features,): in*out + out learnable numbers.
    Default init: He, N(0, 1) * sqrt(2 / in_features), since ReLU follows most Linear layers
    (the notes' recommendation); pass ``init="xavier"`` (alias "lecun", 1/sqrt(in)) for
    sigmoid/tanh nets, "small" (0.01 N(0, 1)), "sparse" (10 random inputs per unit),
    "xavier_uniform"/"xavier_normal" (Glorot) or a callable. Biases start at zero.

    Shape:
        input (N, in_features) or (..., in_features); output (..., out_features).
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True, init="he", dtype=np.float32):
        super().__init__()
        self.in_features, self.out_features = positive_ints(
            "Linear", in_features=in_features, out_features=out_features
        )
        self._make_weight_and_bias((self.out_features, self.in_features), self.out_features, bias, init, dtype)

    @property
    def label(self) -> str:
        return f"Linear({self.in_features}->{self.out_features})"

    def forward(self, x):
        # Read from _parameters: ``self.weight`` first fails the normal attribute lookup and then
        # runs Module.__getattr__, 0.4 us per parameter on every layer of every step. A subclass
        # (which may define weight as a property) and a deleted parameter take the usual lookup.
        p = self._parameters
        if type(self) is Linear and "weight" in p and "bias" in p:
            w, b = p["weight"], p["bias"]
        else:
            w, b = self.weight, self.bias
        return F.linear(x, w, b, name=self.label)

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"


class Maxout(WeightedLayer):
    """Maxout units: y_j = max_k (x W_jk^T + b_jk) over ``pieces`` linear pieces.

    Generalizes ReLU (max(0, w x + b) is a 2-piece maxout with one piece fixed at 0) without dead
    units, at ``pieces`` times the parameters: (in + 1) * out * pieces.
    Weight (out_features * pieces, in_features), rows grouped per unit (unit j uses rows
    j*pieces ... j*pieces + pieces - 1). Default init: "xavier" (1/sqrt(in)), since the max of
    several pieces already shifts the output up; biases zero.

    Shape:
        input (N, in_features); output (N, out_features).
    """

    def __init__(
        self, in_features: int, out_features: int, pieces: int = 2, bias: bool = True, init="xavier", dtype=np.float32
    ):
        super().__init__()
        self.in_features, self.out_features, self.pieces = positive_ints(
            "Maxout", in_features=in_features, out_features=out_features, pieces=pieces
        )
        rows = self.out_features * self.pieces
        self._make_weight_and_bias((rows, self.in_features), rows, bias, init, dtype)

    @property
    def label(self) -> str:
        return f"Maxout({self.in_features}->{self.out_features}, pieces={self.pieces})"

    def forward(self, x):
        z = F.linear(x, self.weight, self.bias, name=self.label)
        return F.maxout(z, self.pieces, name=self.label)

    def extra_repr(self) -> str:
        return (
            f"in_features={self.in_features}, out_features={self.out_features}, "
            f"pieces={self.pieces}, bias={self.bias is not None}"
        )
