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

import numpy as np

from nnlab.engine._args import check_float_input
from nnlab.engine import ops
from nnlab.engine.ops import elementwise as _elementwise
from nnlab.engine.ops import loss as _loss
from nnlab.engine.ops.linalg import linear as _linear
from nnlab.engine.ops import norm as _norm
from nnlab.engine.ops.elementwise import lift
from nnlab.engine.ops.loss import LabelTree
from nnlab.engine.tensor import Tensor

__all__ = [
    "linear",
    "relu",
    "sigmoid",
    "tanh",
    "leaky_relu",
    "softmax",
    "log_softmax",
    "dropout",
    "batch_norm",
    "maxout",
    "flatten",
    "cross_entropy",
    "multiclass_svm",
    "binary_hinge",
    "binary_cross_entropy_with_logits",
    "mse_loss",
    "l1_loss",
    "l2_loss",
    "hierarchical_softmax_loss",
    "LabelTree",
]


def _float_input(x, name: str) -> Tensor:
    if not isinstance(x, Tensor):
        x = lift(x)
    if x.data.dtype.kind != "f":
        raise TypeError(
            f"{name}: expected a floating-point input (float32, or float64 for "
            f"gradient checks), got dtype {x.dtype}; convert with x.float()"
        )
    return x


# ---- layers ---------------------------------------------------------------------------------
def linear(x, weight, bias=None, *, name: str = "linear"):
    """y = x W^T + b with W of shape (out, in). x is (N, in) or (..., in)."""
    return _linear(x, weight, bias, name=name)


def relu(x, inplace: bool = False):
    """max(0, x); local gradient 1[x > 0]. (``inplace`` is accepted for PyTorch code and ignored:
    the result is a new tensor.)"""
    return _elementwise.ReLU.apply(_float_input(x, "relu"))


def sigmoid(x):
    """1 / (1 + e^-x); local gradient s (1 - s)."""
    return _elementwise.Sigmoid.apply(_float_input(x, "sigmoid"))


def tanh(x):
    """tanh x; local gradient 1 - tanh^2 x."""
    return _elementwise.Tanh.apply(_float_input(x, "tanh"))


def leaky_relu(x, negative_slope: float = 0.01):
    """x for x > 0, a x otherwise; local gradient 1 or a."""
    return ops.leaky_relu(_float_input(x, "leaky_relu"), negative_slope)


def softmax(x, dim: int | None = None, *, axis: int | None = None, dtype=None):
    """Normalized exponentials along ``dim`` (torch) / ``axis`` (default: the last), computed after
    subtracting the max (stable for huge scores)."""
    x = _float_input(x, "softmax") if dtype is None else lift(x).astype(dtype)
    return ops.softmax(x, axis=_dim_axis(dim, axis, "softmax"))


def log_softmax(x, dim: int | None = None, *, axis: int | None = None, dtype=None):
    """x - logsumexp(x) along ``dim`` / ``axis`` (default: the last), stable."""
    x = _float_input(x, "log_softmax") if dtype is None else lift(x).astype(dtype)
    return ops.log_softmax(x, axis=_dim_axis(dim, axis, "log_softmax"))


def _dim_axis(dim, axis, name):
    if dim is not None and axis is not None:
        raise TypeError(f"{name}: give dim or axis, not both (they are synonyms)")
    return -1 if dim is None and axis is None else (dim if dim is not None else axis)


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


def dropout(x, p: float = 0.5, training: bool = True, inplace: bool = False, rng=None):
    """Inverted dropout: drop each entry with probability p (keep = 1 - p) and scale the kept ones
    by 1/keep during training; identity when ``training`` is False."""
    return _norm.dropout(_float_input(x, "dropout"), p=p, training=training, rng=rng)


def batch_norm(
    x,
    running_mean=None,
    running_var=None,
    weight=None,
    bias=None,
    training: bool = False,
    momentum: float = 0.1,
    eps: float = 1e-5,
    *,
    name="batch_norm",
):
    """Batch normalization over channel axis 1 (see nnlab.engine.ops.norm.batch_norm)."""
    return _norm.batch_norm(
        x, running_mean, running_var, weight, bias, training=training, momentum=momentum, eps=eps, name=name
    )


# ---- losses -------------------------------------------------------------------------------------
def cross_entropy(
    logits,
    labels,
    weight=None,
    size_average=None,
    ignore_index: int = -100,
    reduce=None,
    reduction: str = "mean",
    label_smoothing: float = 0.0,
):
    """Softmax cross-entropy; labels are class indices (N,) or one-hot/probability targets (N, C).
    Gradient w.r.t. the logits: (softmax(logits) - y) / N (one fused gate). PyTorch's ``weight``,
    ``ignore_index`` and ``label_smoothing`` go through log_softmax + nll_loss instead."""
    if size_average is not None or reduce is not None:
        raise TypeError(
            "cross_entropy: size_average and reduce are deprecated in PyTorch too; "
            "use reduction='mean' | 'sum' | 'none'"
        )
    y = labels.data if isinstance(labels, Tensor) else np.asarray(labels)
    hard = y.ndim == 1 and y.dtype.kind in "iu"
    if weight is None and label_smoothing == 0.0 and not (hard and (y == ignore_index).any()):
        return _loss.softmax_cross_entropy(logits, labels, reduction=reduction)
    if not hard:
        raise ValueError("cross_entropy: weight, ignore_index and label_smoothing need integer class labels (N,)")
    logp = log_softmax(logits, dim=1)
    loss = nll_loss(logp, y, weight=weight, ignore_index=ignore_index, reduction=reduction)
    if label_smoothing:
        eps = float(label_smoothing)
        c = logp.shape[1]
        keep = y != ignore_index
        w = (
            np.ones(c, logp.dtype)
            if weight is None
            else np.asarray(weight.data if isinstance(weight, Tensor) else weight, logp.dtype)
        )
        # the uniform target's term, weighted per class as PyTorch does; "mean" divides by the
        # summed weights of the counted targets, as nll_loss
        smooth = -(logp * Tensor(w)).sum(1) / c * Tensor(keep.astype(logp.dtype))
        denom = float((w[np.where(keep, y, 0)] * keep).sum())
        smooth = smooth if reduction == "none" else smooth.sum() if reduction == "sum" else smooth.sum() / denom
        loss = loss * (1 - eps) + smooth * eps
    return loss


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
from nnlab.engine.ops import conv as _conv  # noqa: E402
from nnlab.engine.ops import pool as _pool  # noqa: E402
from nnlab.engine.ops.conv import locally_connected2d  # noqa: E402
from nnlab.engine.ops.lrn import local_response_norm  # noqa: E402
from nnlab.nn import geometry as _geometry  # noqa: E402


# Sizes that do not fit: floored as PyTorch does unless strict (see nnlab.nn.geometry), and every
# floored call that leaves input rows/columns unseen is recorded for summary and `nnlab check`.
def conv2d(
    x,
    weight,
    bias=None,
    stride=1,
    padding=0,
    dilation=1,
    groups=1,
    *,
    name: str = "conv2d",
    rounding: str | None = None,
    strict: bool | None = None,
):
    """2-D cross-correlation (PyTorch's conv2d) on NCHW input; weight (O, C/groups, KH, KW).
    ``padding="valid"`` is 0; ``padding="same"`` (stride 1) keeps the size, as in torch."""
    rounding = _geometry.resolve(rounding, False, strict, name)
    if rounding == "ceil":
        raise ValueError(f"{name}: convolutions round down or fit exactly; 'ceil' is for pooling")
    if isinstance(padding, str):
        padding = _conv_padding(padding, weight, stride, dilation, name)
        if isinstance(padding, tuple) and len(padding) == 4:  # asymmetric "same": pad first
            top, bottom, left, right = padding
            x = ops.pad(lift(x), ((0, 0), (0, 0), (top, bottom), (left, right)))
            padding = 0
    x = lift(x)
    if x.ndim == 4 and getattr(weight, "ndim", 0) == 4:
        k = tuple(weight.shape[2:])
        _geometry.dropped(
            name,
            x.shape[2:],
            k,
            _conv.pair(stride, "stride", name, minimum=1),
            _conv.pair(padding, "padding", name),
            _conv.pair(dilation, "dilation", name, minimum=1),
            rounding,
        )
    return _conv.conv2d(x, weight, bias, stride, padding, dilation, groups, name=name, rounding=rounding)


def _conv_padding(mode, weight, stride, dilation, name):
    if mode == "valid":
        return 0
    if mode != "same":
        raise ValueError(f"{name}: padding must be an int, a pair, 'valid' or 'same', got {mode!r}")
    if _conv.pair(stride, "stride", name, minimum=1) != (1, 1):
        raise ValueError(f"{name}: padding='same' needs stride 1 (as in PyTorch), got stride {stride!r}")
    d = _conv.pair(dilation, "dilation", name, minimum=1)
    total = [d[i] * (weight.shape[2 + i] - 1) for i in (0, 1)]
    if all(t % 2 == 0 for t in total):
        return (total[0] // 2, total[1] // 2)
    return (total[0] // 2, total[0] - total[0] // 2, total[1] // 2, total[1] - total[1] // 2)


def _pool_args(x, kernel_size, stride, padding, name):
    x = lift(x)
    _conv.check_input(x, None, name)
    k = _conv.pair(kernel_size, "kernel_size", name, minimum=1)
    s = k if stride is None or stride == [] else _conv.pair(stride, "stride", name, minimum=1)
    p = _conv.pair(padding, "padding", name, minimum=0)
    return x, k, s, p


def _ceil_extra(x, k, s, p):
    """Rows/columns to add at the bottom/right so that floor rounding gives ceil_mode's size."""
    extra = []
    for size, kk, ss, pp in zip(x.shape[2:], k, s, p):
        out = _geometry.ceil_size(size, kk, ss, pp)
        extra.append(max(0, (out - 1) * ss + kk - (size + 2 * pp)))
    return tuple(extra)


def max_pool2d(
    x,
    kernel_size,
    stride=None,
    padding=0,
    dilation=1,
    ceil_mode: bool = False,
    return_indices: bool = False,
    *,
    name: str = "max_pool2d",
    rounding: str | None = None,
    strict: bool | None = None,
):
    """Max pooling over NCHW windows (stride defaults to the kernel size), PyTorch's signature."""
    if _conv.pair(dilation, "dilation", name, minimum=1) != (1, 1):
        raise ValueError(f"{name}: dilated max pooling is not supported (dilation={dilation!r})")
    if return_indices:
        raise ValueError(
            f"{name}: return_indices=True is not supported (nnlab's max pool keeps its "
            f"switches inside the gate for backward)"
        )
    x, k, s, p = _pool_args(x, kernel_size, stride, padding, name)
    rounding = _geometry.resolve(rounding, ceil_mode, strict, name)
    if rounding == "ceil":
        eh, ew = _ceil_extra(x, k, s, p)
        if eh or ew:
            x = ops.pad(x, ((0, 0), (0, 0), (0, eh), (0, ew)), value=-np.inf)
        rounding = "floor"
    _geometry.dropped(name, x.shape[2:], k, s, p, rounding=rounding)
    return _pool.max_pool2d(x, k, s, p, name=name, rounding=rounding)


def avg_pool2d(
    x,
    kernel_size,
    stride=None,
    padding=0,
    ceil_mode: bool = False,
    count_include_pad: bool = True,
    divisor_override=None,
    *,
    name: str = "avg_pool2d",
    rounding: str | None = None,
    strict: bool | None = None,
):
    """Average pooling, PyTorch's signature: zero padding counts in the mean unless
    ``count_include_pad=False``; with ``ceil_mode`` a window hanging past the padded input averages
    over the part inside it (torch's divisor)."""
    check_float_input(name, x)
    x, k, s, p = _pool_args(x, kernel_size, stride, padding, name)
    rounding = _geometry.resolve(rounding, ceil_mode, strict, name)
    extra = (0, 0)
    if rounding == "ceil":
        extra = _ceil_extra(x, k, s, p)
        if any(extra):
            x = ops.pad(x, ((0, 0), (0, 0), (0, extra[0]), (0, extra[1])))
        rounding = "floor"
    _geometry.dropped(name, x.shape[2:], k, s, p, rounding=rounding)
    out = _pool.avg_pool2d(x, k, s, p, name=name, rounding=rounding)
    if any(extra) or not count_include_pad or divisor_override is not None:
        # The gate divides by kh*kw; rescale each window to the divisor torch uses there.
        counts = []
        for axis in (0, 1):
            size = x.shape[2 + axis] - extra[axis]
            start = np.arange(out.shape[2 + axis]) * s[axis] - p[axis]
            end = np.minimum(start + k[axis], size + p[axis])
            if not count_include_pad:
                start, end = np.maximum(start, 0), np.minimum(end, size)
            counts.append(end - start)
        divisor = (
            np.outer(counts[0], counts[1])
            if divisor_override is None
            else np.full((out.shape[2], out.shape[3]), divisor_override)
        )
        out = out * Tensor((k[0] * k[1] / divisor).astype(out.dtype))
    return out


def lp_pool2d(
    x,
    norm_type,
    kernel_size,
    stride=None,
    ceil_mode: bool = False,
    *,
    name: str = "lp_pool2d",
    rounding: str | None = None,
    strict: bool | None = None,
):
    """Power-average pooling (sum x^p)^(1/p) over each window, as PyTorch's lp_pool2d."""
    check_float_input(name, x)
    x, k, s, _ = _pool_args(x, kernel_size, stride, 0, name)
    rounding = _geometry.resolve(rounding, ceil_mode, strict, name)
    if rounding == "ceil":
        raise ValueError(f"{name}: ceil_mode is not supported for Lp pooling")
    _geometry.dropped(name, x.shape[2:], k, s, (0, 0), rounding=rounding)
    return _pool.lp_pool2d(x, norm_type, k, s, name=name, rounding=rounding)


def global_avg_pool2d(x, *, name="global_avg_pool2d"):
    """Mean over the spatial axes, output (N, C, 1, 1); floating-point input only."""
    check_float_input(name, x)
    return _pool.global_avg_pool2d(x, name=name)


def adaptive_avg_pool2d(x, output_size=1):
    """Only output size (1, 1) (global average pooling) is supported."""
    if output_size not in (1, (1, 1), [1, 1]):
        raise ValueError(f"adaptive_avg_pool2d: only output_size 1 / (1, 1) is supported, got {output_size!r}")
    return global_avg_pool2d(x, name="adaptive_avg_pool2d")


__all__ += [
    "conv2d",
    "locally_connected2d",
    "max_pool2d",
    "avg_pool2d",
    "lp_pool2d",
    "global_avg_pool2d",
    "adaptive_avg_pool2d",
    "local_response_norm",
]


# ---- PyTorch's other functional names ------------------------------------------------------------
def nll_loss(log_probs, target, weight=None, ignore_index: int = -100, reduction: str = "mean"):
    """Negative log-likelihood of (N, C) log-probabilities (e.g. ``log_softmax`` outputs) at integer
    targets: L_i = -w[y_i] x[i, y_i]. "mean" divides by the summed weights of the counted targets
    (N without ``weight``), as PyTorch; targets equal to ``ignore_index`` count for nothing."""
    x = _float_input(log_probs, "nll_loss")
    if x.ndim != 2:
        raise ValueError(f"nll_loss: expected (N, C) log-probabilities, got shape {tuple(x.shape)}")
    if reduction not in ("mean", "sum", "none"):
        raise ValueError(f"nll_loss: reduction must be 'mean', 'sum' or 'none', got {reduction!r}")
    y = np.asarray(target.data if isinstance(target, Tensor) else target)
    n, c = x.shape
    if y.shape != (n,) or y.dtype.kind not in "iu":
        raise ValueError(f"nll_loss: expected integer targets of shape ({n},), got shape {y.shape} and dtype {y.dtype}")
    keep = y != ignore_index
    bad = keep & ((y < 0) | (y >= c))
    if bad.any():
        raise ValueError(
            f"nll_loss: targets must lie in [0, {c}) (or equal ignore_index {ignore_index}), got {y[bad][:5].tolist()}"
        )
    safe = np.where(keep, y, 0)
    w = (
        np.ones(c, x.dtype)
        if weight is None
        else np.asarray(weight.data if isinstance(weight, Tensor) else weight, x.dtype)
    )
    wi = (w[safe] * keep).astype(x.dtype)
    per = -ops.getitem(x, (np.arange(n), safe)) * Tensor(wi)
    if reduction == "none":
        return per
    total = per.sum()
    return total if reduction == "sum" else total / Tensor(np.asarray(wi.sum(), x.dtype))


def dropout2d(x, p: float = 0.5, training: bool = True, inplace: bool = False):
    """Drop whole channels: each (example, channel) map is zeroed with probability p and the kept
    ones scaled by 1/(1 - p) (PyTorch's dropout2d, for convolutional features)."""
    from nnlab.engine.random import get_rng

    x = _float_input(x, "dropout2d")
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout2d: p must lie in [0, 1], got {p!r}")
    if not training or p == 0.0:
        return x
    if x.ndim not in (3, 4):
        raise ValueError(f"dropout2d: expected (N, C, H, W) or (C, H, W) input, got shape {tuple(x.shape)}")
    if p == 1.0:
        return x * Tensor(np.zeros((), x.dtype))
    shape = x.shape[:-2] + (1, 1)
    mask = (get_rng().random(shape) >= p).astype(x.dtype) / x.dtype.type(1.0 - p)
    return x * Tensor(mask)


__all__ += ["nll_loss", "dropout2d"]
