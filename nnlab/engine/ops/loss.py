"""Fused loss gates: each computes a batch loss in one forward and its gradient in closed form.

Fusing (rather than composing exp, log, sum...) keeps the forward numerically stable (log-sum-exp
with the max shift, logistic loss through softplus) and makes the backward one cheap expression,
e.g. (p - y) / N for softmax cross-entropy.

Conventions shared by every loss here:
- scores/predictions have the batch on axis 0; the result is averaged over the batch
  (``reduction="mean"``) unless ``reduction`` says otherwise: ``"sum"`` or ``"none"``
  (per-example losses for the classification losses, per-element values for the elementwise ones).
- For the elementwise losses (MSE, L1, BCE with logits, binary hinge) ``"mean"`` divides by the
  number of elements (as PyTorch does) and ``"batchmean"`` sums over each example's entries and
  divides by the batch size N (the notes' L = 1/N sum_i L_i with L_i a sum over dimensions).
- Labels, targets and label trees are constants: no gradient flows into them, except the
  regression target of ``mse``/``l1``/``l2`` which is a differentiable input like in PyTorch.
- NaN or Inf in the scores, or labels out of range, raise a ValueError that names the op.
"""

from __future__ import annotations

import math

import numpy as np

from nnlab.engine._args import check_bool, check_float
from nnlab.engine.function import Function
from nnlab.engine.ops.elementwise import lift
from nnlab.engine.tensor import Tensor

_REDUCTIONS = ("mean", "sum", "none")
_ELEMENT_REDUCTIONS = ("mean", "sum", "none", "batchmean")


# ---- input checks ------------------------------------------------------------------------
def _raw(x):
    return x.data if isinstance(x, Tensor) else np.asarray(x)


def _check_scores(op: str, x: np.ndarray, ndim: int | None = 2) -> None:
    if x.dtype.kind != "f":
        raise TypeError(f"{op}: expected floating-point scores, got dtype {x.dtype}")
    if ndim is not None and x.ndim != ndim:
        raise ValueError(f"{op}: expected scores of shape (N, C), got shape {x.shape}")
    if x.ndim >= 1 and x.shape[0] == 0:
        raise ValueError(f"{op}: got an empty batch (shape {x.shape})")
    _check_finite_scores(op, x)


def _check_finite_scores(op: str, x: np.ndarray) -> None:
    if not np.isfinite(x).all():
        bad = x[~np.isfinite(x)].ravel()[0]
        raise ValueError(f"{op}: scores contain non-finite values ({bad}); check the learning rate or the inputs")


def _check_reduction(op: str, reduction: str, allowed=_REDUCTIONS) -> None:
    if reduction not in allowed:
        raise ValueError(f"{op}: reduction must be one of {allowed}, got {reduction!r}")


def _int_labels(op: str, labels, n: int, c: int) -> np.ndarray:
    y = _raw(labels)
    if y.dtype.kind not in "iu":
        raise TypeError(f"{op}: integer class labels expected, got dtype {y.dtype}")
    if y.shape != (n,):
        raise ValueError(f"{op}: expected {n} labels (shape ({n},)) for scores with {n} rows, got shape {y.shape}")
    bad = (y < 0) | (y >= c)
    if bad.any():
        raise ValueError(
            f"{op}: labels must lie in [0, {c}); got {y[bad][0]} (at position {int(np.flatnonzero(bad)[0])})"
        )
    return y.astype(np.intp, copy=False)


def _same_shape(op: str, what: str, y: np.ndarray, shape: tuple) -> None:
    if y.shape != shape:
        raise ValueError(f"{op}: {what} must have the scores' shape {shape}, got {y.shape}")


class _Reduced(Function):
    """Shared reduction logic: forward computes per-item losses ``L`` and their local gradients
    ``G`` (dL_item/dx); backward scales G by the upstream gradient and the reduction's factor."""

    def _finish(self, per_item: np.ndarray, local_grad: np.ndarray, reduction: str, n_batch: int):
        self.local, self.reduction = local_grad, reduction
        self.item_shape = per_item.shape
        if reduction == "none":
            return per_item
        total = per_item.sum(dtype=per_item.dtype)
        if reduction == "sum":
            self.scale = 1.0
            return np.asarray(total, dtype=local_grad.dtype)
        denom = per_item.size if reduction == "mean" else n_batch
        self.scale = 1.0 / denom
        return np.asarray(total / denom, dtype=local_grad.dtype)

    def backward(self, g):
        return (self._input_grad(g),)

    def _input_grad(self, g: np.ndarray) -> np.ndarray:
        if self.reduction == "none":
            g = g.reshape(self.item_shape + (1,) * (self.local.ndim - len(self.item_shape)))
            return (self.local * g).astype(self.local.dtype, copy=False)
        return (self.local * (g * self.scale)).astype(self.local.dtype, copy=False)


# ---- softmax cross-entropy ------------------------------------------------------------------
class SoftmaxCrossEntropy(_Reduced):
    """L_i = -sum_j y_ij log p_ij with p = softmax(x_i), computed as logsumexp(x_i) - x_i . y_i.

    Integer labels mean one-hot y. Local gradient: dL_i/dx_i = p_i * sum_j y_ij - y_i, which is
    p_i - y_i whenever the targets sum to 1; averaged over the batch this is (p - y) / N.
    """

    def forward(self, x, *, labels, reduction="mean"):
        n, c = x.shape
        m = x.max(axis=1, keepdims=True)
        shifted = x - m
        e = np.exp(shifted)
        s = e.sum(axis=1, keepdims=True)
        p = e / s
        log_s = np.log(s)
        if labels.ndim == 1:
            rows = np.arange(n)
            per = log_s[:, 0] - shifted[rows, labels]
            grad = p
            grad[rows, labels] -= 1
        else:
            y = labels.astype(x.dtype, copy=False)
            ysum = y.sum(axis=1, keepdims=True)
            per = (log_s * ysum - (shifted * y).sum(axis=1, keepdims=True))[:, 0]
            grad = p * ysum - y
        return self._finish(per.astype(x.dtype, copy=False), grad, reduction, n)


def softmax_cross_entropy(logits, labels, reduction: str = "mean"):
    """Softmax cross-entropy of (N, C) logits against integer labels (N,) in [0, C) or targets
    (N, C) that are one-hot or class probabilities."""
    op = "cross_entropy"
    x = lift(logits)
    _check_scores(op, x.data)
    _check_reduction(op, reduction)
    n, c = x.shape
    y = _raw(labels)
    if y.ndim == 2:
        if y.dtype.kind not in "fiub":
            raise TypeError(f"{op}: target probabilities must be numeric, got dtype {y.dtype}")
        _same_shape(op, "one-hot/probability targets", y, x.shape)
        if (y < 0).any() or not np.isfinite(y).all():
            raise ValueError(f"{op}: target probabilities must be finite and non-negative")
    else:
        y = _int_labels(op, y, n, c)
    return SoftmaxCrossEntropy.apply(x, labels=y, reduction=reduction)


# ---- multiclass SVM -----------------------------------------------------------------------------
class MultiClassSVM(_Reduced):
    """L_i = sum_{j != y_i} max(0, s_j - s_{y_i} + delta) (or its square with ``squared=True``).

    Local gradient (hinge): ds_j = 1[margin_j > 0] for j != y_i, ds_{y_i} = -(number of positive
    margins). Squared hinge: ds_j = 2 max(0, margin_j), ds_{y_i} = -sum_j 2 max(0, margin_j).
    """

    def forward(self, s, *, labels, delta=1.0, squared=False, reduction="mean"):
        n, c = s.shape
        rows = np.arange(n)
        correct = s[rows, labels][:, None]
        margins = s - correct + s.dtype.type(delta)
        margins[rows, labels] = 0
        pos = np.maximum(margins, 0)
        if squared:
            per = (pos * pos).sum(axis=1)
            grad = 2 * pos
        else:
            per = pos.sum(axis=1)
            grad = (margins > 0).astype(s.dtype)
        grad[rows, labels] = -grad.sum(axis=1)
        return self._finish(per, grad, reduction, n)


def multiclass_svm(scores, labels, delta: float = 1.0, squared: bool = False, reduction: str = "mean"):
    op = "multiclass_svm"
    x = lift(scores)
    _check_scores(op, x.data)
    _check_reduction(op, reduction)
    delta, squared = check_float(op, "delta", delta, min=0.0), check_bool(op, "squared", squared)
    y = _int_labels(op, labels, *x.shape)
    return MultiClassSVM.apply(x, labels=y, delta=delta, squared=squared, reduction=reduction)


# ---- attribute classification ---------------------------------------------------------------------
def _attribute_inputs(op: str, scores, labels, reduction: str):
    """(scores as a checked Tensor, labels as an array of the scores' shape) for the per-attribute losses."""
    x = lift(scores)
    _check_scores(op, x.data, ndim=None)
    _check_reduction(op, reduction, _ELEMENT_REDUCTIONS)
    y = _raw(labels)
    _same_shape(op, "labels", y, x.shape)
    return x, y


class BinaryHinge(_Reduced):
    """Independent binary hinge per attribute: L_ij = max(0, 1 - y_ij f_ij), y in {+1, -1}.

    Local gradient: dL_ij/df_ij = -y_ij where the margin is violated (1 - y f > 0), else 0.
    """

    def forward(self, f, *, labels, reduction="batchmean"):
        y = labels.astype(f.dtype, copy=False)
        m = 1 - y * f
        per = np.maximum(m, 0)
        grad = np.where(m > 0, -y, 0).astype(f.dtype, copy=False)
        return self._finish(per, grad, reduction, f.shape[0])


def binary_hinge(scores, labels, reduction: str = "batchmean"):
    """The notes' attribute loss L_i = sum_j max(0, 1 - y_ij f_j), averaged over the batch
    (``"batchmean"``); labels are +1 (has the attribute) or -1 (has not)."""
    op = "binary_hinge"
    x, y = _attribute_inputs(op, scores, labels, reduction)
    if not np.isin(y, (-1, 1)).all():
        bad = y[~np.isin(y, (-1, 1))].ravel()[0]
        raise ValueError(f"{op}: labels must be +1 or -1, got {bad}")
    return BinaryHinge.apply(x, labels=y, reduction=reduction)


class BCEWithLogits(_Reduced):
    """Logistic loss per attribute on logits f with labels y in [0, 1]:
    L = -y log s(f) - (1 - y) log(1 - s(f)) = max(f, 0) - f y + log(1 + e^-|f|) (stable form).

    Local gradient: dL/df = s(f) - y.
    """

    def forward(self, f, *, labels, reduction="mean"):
        y = labels.astype(f.dtype, copy=False)
        e = np.exp(-np.abs(f))
        per = np.maximum(f, 0) - f * y + np.log1p(e)
        sig = np.where(f >= 0, 1 / (1 + e), e / (1 + e))
        return self._finish(
            per.astype(f.dtype, copy=False), (sig - y).astype(f.dtype, copy=False), reduction, f.shape[0]
        )


def binary_cross_entropy_with_logits(logits, labels, reduction: str = "mean"):
    """Sigmoid + binary cross-entropy in one stable gate. ``"mean"`` averages over all elements
    (PyTorch); ``"batchmean"`` gives the notes' per-example sum averaged over the batch."""
    op = "binary_cross_entropy_with_logits"
    x, y = _attribute_inputs(op, logits, labels, reduction)
    if y.dtype.kind not in "fiub":
        raise TypeError(f"{op}: labels must be numeric, got dtype {y.dtype}")
    if ((y < 0) | (y > 1)).any():
        raise ValueError(f"{op}: labels must lie in [0, 1], got {y[(y < 0) | (y > 1)].ravel()[0]}")
    return BCEWithLogits.apply(x, labels=y, reduction=reduction)


# ---- regression ------------------------------------------------------------------------------------
class _Regression(_Reduced):
    """Elementwise regression loss of prediction f against target t; d = f - t."""

    def backward(self, g):
        gf = self._input_grad(g)
        return (gf if self.needs_input_grad[0] else None, -gf if self.needs_input_grad[1] else None)


class SquaredError(_Regression):
    """L = (f - t)^2 elementwise; dL/df = 2 (f - t), dL/dt = -2 (f - t)."""

    def forward(self, f, t, *, reduction="mean"):
        d = f - t
        if reduction == "none":
            return self._finish(d * d, 2 * d, reduction, f.shape[0])
        # Reduced: the sum of squares is one dot product (no d * d array, no separate sum), and
        # the local gradient is kept as d with the 2 folded into the scale that backward applies.
        self.local, self.reduction = d, reduction
        denom = 1 if reduction == "sum" else d.size if reduction == "mean" else f.shape[0]
        self.scale = 2.0 / denom
        total = np.vdot(d, d)
        return np.asarray(total if denom == 1 else total / denom, dtype=d.dtype)


class AbsoluteError(_Regression):
    """L = |f - t| elementwise; dL/df = sign(f - t) (0 at the kink)."""

    def forward(self, f, t, *, reduction="mean"):
        d = f - t
        return self._finish(np.abs(d), np.sign(d), reduction, f.shape[0])


def _regression_inputs(op, pred, target, reduction):
    """Lift and check prediction and target; finiteness is checked by ``_finite_regression``."""
    x = lift(pred)
    xd = x.data
    if xd.dtype.kind != "f":
        raise TypeError(f"{op}: expected floating-point scores, got dtype {xd.dtype}")
    if xd.ndim >= 1 and xd.shape[0] == 0:
        raise ValueError(f"{op}: got an empty batch (shape {xd.shape})")
    if reduction not in _ELEMENT_REDUCTIONS:
        _check_reduction(op, reduction, _ELEMENT_REDUCTIONS)
    t = target if isinstance(target, Tensor) else Tensor(np.asarray(target, dtype=xd.dtype))
    if t.shape != x.shape:
        raise ValueError(
            f"{op}: target must have the prediction's shape {x.shape}, got {t.shape} "
            f"(no broadcasting: reshape explicitly)"
        )
    if t.dtype != x.dtype:
        if t.requires_grad or t.dtype.kind != "f" and t.dtype.kind not in "iub":
            raise TypeError(f"{op}: target dtype {t.dtype} differs from the prediction's {x.dtype}")
        t = Tensor(t.data.astype(x.dtype))
    if reduction == "none":
        _check_finite_inputs(op, x, t)
    return x, t


def _check_finite_inputs(op, x, t):
    _check_finite_scores(op, x.data)
    if not np.isfinite(t.data).all():
        raise ValueError(f"{op}: target contains non-finite values")


def _finite_regression(op, out, x, t):
    """A reduced loss is a sum of non-negative terms, so it is finite whenever both inputs are
    (barring overflow): check that one number, and scan the inputs for the detailed message only
    when it is not finite (two isfinite scans cost a third of the MSE gate on small batches)."""
    if out.data.ndim == 0 and not math.isfinite(out.data):
        _check_finite_inputs(op, x, t)
    return out


def mse(pred, target, reduction: str = "mean"):
    """Mean squared error over all elements, (1/(N D)) sum (f - t)^2 (PyTorch's MSELoss)."""
    x, t = _regression_inputs("mse_loss", pred, target, reduction)
    return _finite_regression("mse_loss", SquaredError.apply(x, t, reduction=reduction), x, t)


def l2(pred, target):
    """The notes' L2 regression loss: L_i = ||f_i - t_i||_2^2, averaged over the batch."""
    x, t = _regression_inputs("l2_loss", pred, target, "batchmean")
    return _finite_regression("l2_loss", SquaredError.apply(x, t, reduction="batchmean"), x, t)


def l1(pred, target, reduction: str = "mean"):
    """Mean absolute error over all elements (PyTorch's L1Loss); ``"batchmean"`` gives the notes'
    L_i = ||f_i - t_i||_1 averaged over the batch."""
    x, t = _regression_inputs("l1_loss", pred, target, reduction)
    return _finite_regression("l1_loss", AbsoluteError.apply(x, t, reduction=reduction), x, t)


# ---- hierarchical softmax -----------------------------------------------------------------------------
class LabelTree:
    """A label tree given as parent pointers, prepared for vectorized hierarchical softmax.

    Format: ``parents[v]`` is the index of node v's parent, -1 for the single root. Every node but
    the root carries one score (column v of the score matrix; the root's column is unused and gets a
    zero gradient). The leaves (nodes without children) are the classes: class k is the k-th leaf
    in increasing node index. Each internal node is a softmax over its children, so
    P(leaf | x) = product over the path root -> leaf of softmax(sibling scores)[node].

    Example: parents = [-1, 0, 0, 1, 1] is a root with children 1 and 2; node 1 has leaves 3, 4.
    Classes: 0 -> node 2, 1 -> node 3, 2 -> node 4.
    """

    def __init__(self, parents):
        p = np.asarray(parents)
        if p.ndim != 1 or p.dtype.kind not in "iu" or p.size < 2:
            raise ValueError(f"LabelTree: parents must be a 1-D integer array of length >= 2, got {parents!r}")
        m = p.size
        roots = np.flatnonzero(p == -1)
        if roots.size != 1:
            raise ValueError(f"LabelTree: exactly one root (parent -1) expected, got {roots.size}")
        if ((p < -1) | (p >= m)).any():
            raise ValueError(f"LabelTree: parent indices must lie in [-1, {m}), got {p.tolist()}")
        self.parents, self.root, self.num_nodes = p.astype(np.intp), int(roots[0]), m
        nonroot = np.flatnonzero(p != -1)
        # anc[v, u]: u lies on the path root -> v (root excluded, v included). Built by following
        # parent pointers one level per pass, each pass vectorized over all nodes.
        anc = np.zeros((m, m), dtype=bool)
        anc[nonroot, nonroot] = True
        cur = p.copy()
        for _ in range(m + 1):
            live = np.flatnonzero((cur != -1) & (cur != self.root))
            if live.size == 0:
                break
            anc[live, cur[live]] = True
            nxt = np.full(m, -1, dtype=p.dtype)
            nxt[live] = p[cur[live]]
            cur = nxt
        else:
            raise ValueError("LabelTree: the parent pointers contain a cycle")
        has_child = np.zeros(m, dtype=bool)
        has_child[p[nonroot]] = True
        self.leaves = np.flatnonzero(~has_child)
        self.num_classes = self.leaves.size
        # Sibling groups: nodes sorted by parent, group boundaries for reduceat.
        order = nonroot[np.argsort(p[nonroot], kind="stable")]
        par = p[order]
        starts = np.flatnonzero(np.r_[True, par[1:] != par[:-1]])
        self.order, self.starts = order, starts
        self.group_of = np.zeros(m, dtype=np.intp)
        self.group_of[order] = np.repeat(np.arange(starts.size), np.diff(np.r_[starts, order.size]))
        # on_path[k, v]: node v lies on class k's path.
        # in_group[k, u]: u's sibling group is one the path passes through (u's parent is the root
        # or an internal node on the path).
        self.on_path = anc[self.leaves]
        pu = p[nonroot]
        at_root = pu == self.root
        in_group = np.zeros_like(self.on_path)
        in_group[:, nonroot] = np.where(at_root, True, self.on_path[:, np.where(at_root, nonroot, pu)])
        self.in_group = in_group
        self.nonroot = nonroot

    def log_probs(self, s: np.ndarray):
        """Per-node log softmax within its sibling group, (N, M); also the probabilities."""
        n = s.shape[0]
        so = s[:, self.order]
        gmax = np.maximum.reduceat(so, self.starts, axis=1)
        shifted = so - gmax[:, self.group_of[self.order]]
        e = np.exp(shifted)
        gsum = np.add.reduceat(e, self.starts, axis=1)
        lp = np.zeros((n, self.num_nodes), dtype=s.dtype)
        lp[:, self.order] = shifted - np.log(gsum)[:, self.group_of[self.order]]
        prob = np.zeros_like(lp)
        prob[:, self.order] = e / gsum[:, self.group_of[self.order]]
        return lp, prob

    def __repr__(self):
        return f"LabelTree(nodes={self.num_nodes}, classes={self.num_classes})"


class HierarchicalSoftmax(_Reduced):
    """L_i = -log P(y_i | x_i) = -sum_{v on path(y_i)} log softmax_{siblings(v)}(s)_v.

    Local gradient: dL_i/ds_u = p_u [u's sibling group lies on the path] - [u on the path],
    the softmax "p - y" rule applied in every group the path passes through.
    """

    def forward(self, s, *, labels, tree, reduction="mean"):
        lp, prob = tree.log_probs(s)
        on = tree.on_path[labels]
        per = -(lp * on).sum(axis=1)
        grad = (prob * tree.in_group[labels] - on).astype(s.dtype, copy=False)
        return self._finish(per.astype(s.dtype, copy=False), grad, reduction, s.shape[0])


def hierarchical_softmax(scores, labels, tree, reduction: str = "mean"):
    """Hierarchical softmax loss; ``tree`` is a LabelTree or its parent-pointer list, and scores
    have one column per tree node (see LabelTree for the format)."""
    op = "hierarchical_softmax_loss"
    if not isinstance(tree, LabelTree):
        tree = LabelTree(tree)
    x = lift(scores)
    _check_scores(op, x.data)
    _check_reduction(op, reduction)
    if x.shape[1] != tree.num_nodes:
        raise ValueError(f"{op}: expected one score per tree node ({tree.num_nodes} columns), got shape {x.shape}")
    y = _int_labels(op, labels, x.shape[0], tree.num_classes)
    return HierarchicalSoftmax.apply(x, labels=y, tree=tree, reduction=reduction)
