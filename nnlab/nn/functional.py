"""nnlab.nn.functional (``F``): the operations of the layers as plain functions on Tensors.

Layers call these; users call them without layers. Each function checks its input and raises a
ValueError/TypeError that names the operation (or the layer passed as ``name``), what was
expected and what came, instead of letting a NumPy broadcasting error surface from deep inside.

Loss conventions: every loss averages over the batch by default. ``cross_entropy``,
``multiclass_svm``, ``hierarchical_softmax_loss`` return mean_i L_i. ``mse_loss``, ``l1_loss`` and
``binary_cross_entropy_with_logits`` follow PyTorch: the mean over all elements (for one output
per example that is the same thing); pass ``reduction="batchmean"`` for the notes' form, a sum
over each example's entries averaged over the batch. ``l2_loss`` is the notes' L2 loss
L_i = ||f_i - y_i||^2 averaged over the batch (no 1/2); ``binary_hinge`` is the notes' attribute
loss L_i = sum_j max(0, 1 - y_ij f_ij) averaged over the batch.
"""
from __future__ import annotations

from nnlab.engine._args import check_float_input
from nnlab.engine import ops
from nnlab.engine.ops import loss as _loss
from nnlab.engine.ops.linalg import linear as _linear
from nnlab.engine.ops import norm as _norm
from nnlab.engine.ops.elementwise import lift
from nnlab.engine.ops.loss import LabelTree
from nnlab.engine.tensor import Tensor

__all__ = [
    "linear", "relu", "sigmoid", "tanh", "leaky_relu", "softmax", "log_softmax", "dropout",
    "batch_norm", "maxout", "flatten", "cross_entropy", "multiclass_svm", "binary_hinge",
    "binary_cross_entropy_with_logits", "mse_loss", "l1_loss", "l2_loss",
    "hierarchical_softmax_loss", "LabelTree",
]


def _float_input(x, name: str) -> Tensor:
    x = lift(x)
    if x.dtype.kind != "f":
        raise TypeError(f"{name}: expected a floating-point input (float32, or float64 for "
                        f"gradient checks), got dtype {x.dtype}; convert with x.float()")
    return x


# ---- layers ---------------------------------------------------------------------------------
def linear(x, weight, bias=None, *, name: str = "linear"):
    """y = x W^T + b with W of shape (out, in). x is (N, in) or (..., in)."""
    return _linear(x, weight, bias, name=name)


def relu(x):
    """max(0, x); local gradient 1[x > 0]."""
    return ops.relu(_float_input(x, "relu"))


def sigmoid(x):
    """1 / (1 + e^-x); local gradient s (1 - s)."""
    return ops.sigmoid(_float_input(x, "sigmoid"))


def tanh(x):
    """tanh x; local gradient 1 - tanh^2 x."""
    return ops.tanh(_float_input(x, "tanh"))


def leaky_relu(x, negative_slope: float = 0.01):
    """x for x > 0, a x otherwise; local gradient 1 or a."""
    return ops.leaky_relu(_float_input(x, "leaky_relu"), negative_slope)


def softmax(x, axis: int = -1):
    """Normalized exponentials, computed after subtracting the max (stable for huge scores)."""
    return ops.softmax(_float_input(x, "softmax"), axis=axis)


def log_softmax(x, axis: int = -1):
    """x - logsumexp(x), stable."""
    return ops.log_softmax(_float_input(x, "log_softmax"), axis=axis)


def maxout(x, pieces: int, *, name: str = "maxout"):
    """Max over groups of ``pieces`` consecutive features: (N, D*k) -> (N, D).

    The gradient goes to the winning piece of each group (the max gate's switch).
    """
    x = _float_input(x, name)
    if pieces < 1 or x.ndim < 2 or x.shape[-1] % pieces:
        raise ValueError(f"{name}: expected (N, D * {pieces}) features, got shape {tuple(x.shape)}")
    grouped = ops.reshape(x, x.shape[:-1] + (x.shape[-1] // pieces, pieces))
    return ops.max(grouped, axis=-1)


def flatten(x, start_dim: int = 1):
    """Merge every axis from ``start_dim`` on; (N, C, H, W) -> (N, C*H*W) by default."""
    return ops.flatten(x, start_dim)  # checks start_dim (negative counts from the end)


def dropout(x, p: float = 0.5, training: bool = True, rng=None):
    """Inverted dropout: drop each entry with probability p (keep = 1 - p) and scale the kept ones
    by 1/keep during training; identity when ``training`` is False."""
    return _norm.dropout(_float_input(x, "dropout"), p=p, training=training, rng=rng)


def batch_norm(x, running_mean=None, running_var=None, weight=None, bias=None,
               training: bool = False, momentum: float = 0.1, eps: float = 1e-5, *, name="batch_norm"):
    """Batch normalization over channel axis 1 (see nnlab.engine.ops.norm.batch_norm)."""
    return _norm.batch_norm(x, running_mean, running_var, weight, bias, training=training,
                            momentum=momentum, eps=eps, name=name)


# ---- losses -------------------------------------------------------------------------------------
def cross_entropy(logits, labels, reduction: str = "mean"):
    """Softmax cross-entropy; labels are class indices (N,) or one-hot/probability targets (N, C).
    Gradient w.r.t. the logits: (softmax(logits) - y) / N."""
    return _loss.softmax_cross_entropy(logits, labels, reduction=reduction)


def multiclass_svm(scores, labels, delta: float = 1.0, squared: bool = False, reduction: str = "mean"):
    """Multiclass SVM: L_i = sum_{j != y_i} max(0, s_j - s_{y_i} + delta) (squared if asked)."""
    return _loss.multiclass_svm(scores, labels, delta=delta, squared=squared, reduction=reduction)


def binary_hinge(scores, labels, reduction: str = "batchmean"):
    """Independent binary hinge per attribute, labels +1/-1: sum_j max(0, 1 - y_ij f_ij)."""
    return _loss.binary_hinge(scores, labels, reduction=reduction)


def binary_cross_entropy_with_logits(logits, labels, reduction: str = "mean"):
    """Independent logistic loss per attribute on logits, labels in {0, 1} (or probabilities)."""
    return _loss.binary_cross_entropy_with_logits(logits, labels, reduction=reduction)


def mse_loss(pred, target, reduction: str = "mean"):
    """Mean squared error over all elements (PyTorch's MSELoss); the digit recognizer's loss."""
    return _loss.mse(pred, target, reduction=reduction)


def l1_loss(pred, target, reduction: str = "mean"):
    """Mean absolute error over all elements (PyTorch's L1Loss)."""
    return _loss.l1(pred, target, reduction=reduction)


def l2_loss(pred, target):
    """The notes' L2 regression loss: ||f_i - y_i||_2^2 summed per example, averaged over the batch."""
    return _loss.l2(pred, target)


def hierarchical_softmax_loss(scores, labels, tree, reduction: str = "mean"):
    """-log P(label) where P(leaf) is the product of sibling softmaxes along the tree path;
    ``tree`` is a LabelTree or a parent-pointer list (parents[root] = -1), one score column per node."""
    return _loss.hierarchical_softmax(scores, labels, tree, reduction=reduction)


# ======================================================================================
# Convolution and pooling functions (conv2d, max_pool2d, avg_pool2d, lp_pool2d, ...)
# are appended below this line by the CNN part.
# ======================================================================================
from nnlab.engine.ops.conv import conv2d, locally_connected2d  # noqa: E402
from nnlab.engine.ops.pool import max_pool2d  # noqa: E402
from nnlab.engine.ops import pool as _pool  # noqa: E402
from nnlab.engine.ops.lrn import local_response_norm  # noqa: E402


def avg_pool2d(x, *args, name="avg_pool2d", **kwargs):
    """Average pooling (see ``engine.ops.pool.avg_pool2d``); integer or boolean input is refused."""
    check_float_input(name, x)
    return _pool.avg_pool2d(x, *args, name=name, **kwargs)


def lp_pool2d(x, *args, name="lp_pool2d", **kwargs):
    """Power-average pooling (see ``engine.ops.pool.lp_pool2d``); floating-point input only."""
    check_float_input(name, x)
    return _pool.lp_pool2d(x, *args, name=name, **kwargs)


def global_avg_pool2d(x, *, name="global_avg_pool2d"):
    """Mean over the spatial axes, output (N, C, 1, 1); floating-point input only."""
    check_float_input(name, x)
    return _pool.global_avg_pool2d(x, name=name)


def adaptive_avg_pool2d(x, output_size=1):
    """Only output size (1, 1) (global average pooling) is supported."""
    if output_size not in (1, (1, 1), [1, 1]):
        raise ValueError(f"adaptive_avg_pool2d: only output_size 1 / (1, 1) is supported, got {output_size!r}")
    return global_avg_pool2d(x, name="adaptive_avg_pool2d")


__all__ += ["conv2d", "locally_connected2d", "max_pool2d", "avg_pool2d", "lp_pool2d",
            "global_avg_pool2d", "adaptive_avg_pool2d", "local_response_norm"]
