"""Every differentiable op (gate) of the engine, as functions on Tensors."""

from nnlab.engine.ops.elementwise import (
    add,
    sub,
    mul,
    div,
    neg,
    pow,
    exp,
    log,
    sqrt,
    abs,
    maximum,
    minimum,
    where,
    clip,
    cast,
    sigmoid,
    tanh,
    relu,
    leaky_relu,
)
from nnlab.engine.ops.reduce import sum, mean, max, min, logsumexp, softmax, log_softmax
from nnlab.engine.ops.shape import (
    reshape,
    flatten,
    transpose,
    getitem,
    concatenate,
    stack,
    pad,
)
from nnlab.engine.ops.linalg import matmul, linear

__all__ = [
    "add",
    "sub",
    "mul",
    "div",
    "neg",
    "pow",
    "exp",
    "log",
    "sqrt",
    "abs",
    "maximum",
    "minimum",
    "where",
    "clip",
    "cast",
    "sigmoid",
    "tanh",
    "relu",
    "leaky_relu",
    "sum",
    "mean",
    "max",
    "min",
    "logsumexp",
    "softmax",
    "log_softmax",
    "reshape",
    "flatten",
    "transpose",
    "getitem",
    "concatenate",
    "stack",
    "pad",
    "matmul",
    "linear",
]
from nnlab.engine.ops.loss import (  # noqa: E402
    softmax_cross_entropy,
    multiclass_svm,
    binary_hinge,
    binary_cross_entropy_with_logits,
    mse,
    l1,
    l2,
    hierarchical_softmax,
    LabelTree,
)
from nnlab.engine.ops.norm import batch_norm, dropout  # noqa: E402

__all__ += [
    "softmax_cross_entropy",
    "multiclass_svm",
    "binary_hinge",
    "binary_cross_entropy_with_logits",
    "mse",
    "l1",
    "l2",
    "hierarchical_softmax",
    "LabelTree",
    "batch_norm",
    "dropout",
]
from nnlab.engine.ops.conv import conv2d, locally_connected2d
from nnlab.engine.ops.pool import max_pool2d, avg_pool2d, lp_pool2d, global_avg_pool2d
from nnlab.engine.ops.lrn import local_response_norm

__all__ += [
    "conv2d",
    "locally_connected2d",
    "max_pool2d",
    "avg_pool2d",
    "lp_pool2d",
    "global_avg_pool2d",
    "local_response_norm",
]
from nnlab.engine.ops.spline import kan_linear  # noqa: E402

__all__ += ["kan_linear"]
