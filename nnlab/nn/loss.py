"""Loss modules: thin wrappers over the fused loss gates in nnlab.nn.functional.

Each returns the batch-averaged data loss (a scalar Tensor) by default; ``reduction`` can be
"mean", "sum" or "none" (per-example, or per-element for the elementwise losses, which also
accept "batchmean": per-example sums averaged over the batch).
"""

from __future__ import annotations

# the reductions the fused loss gates accept: per example, and per element ("batchmean" too)
from nnlab.engine.ops.loss import _ELEMENT_REDUCTIONS as _PER_ELEMENT, _REDUCTIONS as _PER_EXAMPLE
from nnlab.nn import functional as F
from nnlab.nn._checks import is_number
from nnlab.nn.module import Module


class _Loss(Module):
    reductions = _PER_EXAMPLE  # what the functional form accepts

    def __init__(self, reduction: str = "mean"):
        super().__init__()
        if reduction not in self.reductions:
            raise ValueError(f"{type(self).__name__}: reduction must be one of {self.reductions}, got {reduction!r}")
        self.reduction = reduction

    def extra_repr(self) -> str:
        return f"reduction={self.reduction!r}"


class CrossEntropyLoss(_Loss):
    """Softmax cross-entropy on logits: L_i = -log softmax(f_i)[y_i]; labels are indices (N,) or
    one-hot/probability targets (N, C).

    Shape: logits (N, C), labels (N,) or (N, C); output scalar.
    """

    def __init__(self, reduction: str = "mean", *, weight=None, ignore_index: int = -100, label_smoothing: float = 0.0):
        super().__init__(reduction)  # PyTorch's weight / ignore_index / label_smoothing as keywords
        if not (is_number(label_smoothing) and 0.0 <= label_smoothing <= 1.0):
            raise ValueError(f"CrossEntropyLoss: label_smoothing must lie in [0, 1], got {label_smoothing!r}")
        self.weight, self.ignore_index, self.label_smoothing = weight, int(ignore_index), float(label_smoothing)

    def forward(self, logits, labels):
        return F.cross_entropy(
            logits,
            labels,
            weight=self.weight,
            ignore_index=self.ignore_index,
            reduction=self.reduction,
            label_smoothing=self.label_smoothing,
        )


class MultiClassSVMLoss(_Loss):
    """Multiclass SVM (hinge) loss: L_i = sum_{j != y_i} max(0, f_j - f_{y_i} + delta), or the
    squared hinge with ``squared=True``.

    Shape: scores (N, C), labels (N,); output scalar.
    """

    def __init__(self, delta: float = 1.0, squared: bool = False, reduction: str = "mean"):
        super().__init__(reduction)
        if not (is_number(delta) and delta >= 0):
            raise ValueError(f"MultiClassSVMLoss: delta must be a finite number >= 0, got {delta!r}")
        self.delta, self.squared = float(delta), bool(squared)

    def forward(self, scores, labels):
        return F.multiclass_svm(scores, labels, delta=self.delta, squared=self.squared, reduction=self.reduction)

    def extra_repr(self) -> str:
        return f"delta={self.delta}, squared={self.squared}, reduction={self.reduction!r}"


class MSELoss(_Loss):
    """Mean squared error over all elements (PyTorch's convention).

    Shape: prediction and target of the same shape; output scalar.
    """

    reductions = _PER_ELEMENT

    def forward(self, pred, target):
        return F.mse_loss(pred, target, reduction=self.reduction)


class L2Loss(_Loss):
    """The notes' L2 regression loss ||f_i - y_i||^2, summed per example, averaged over the batch.

    Shape: prediction and target (N, D); output scalar.
    """

    reductions = _PER_ELEMENT

    def __init__(self):
        super().__init__("batchmean")

    def forward(self, pred, target):
        return F.l2_loss(pred, target)


class L1Loss(_Loss):
    """Mean absolute error over all elements (PyTorch's convention); "batchmean" gives the notes'
    ||f_i - y_i||_1 averaged over the batch.

    Shape: prediction and target of the same shape; output scalar.
    """

    reductions = _PER_ELEMENT

    def forward(self, pred, target):
        return F.l1_loss(pred, target, reduction=self.reduction)


class BCEWithLogitsLoss(_Loss):
    """Independent logistic (sigmoid cross-entropy) loss per attribute on logits, labels 0/1.

    Shape: logits and labels (N, K); output scalar.
    """

    reductions = _PER_ELEMENT

    def forward(self, logits, labels):
        return F.binary_cross_entropy_with_logits(logits, labels, reduction=self.reduction)


class BinaryHingeLoss(_Loss):
    """Independent binary hinge per attribute, labels +1/-1: L_i = sum_j max(0, 1 - y_ij f_ij),
    averaged over the batch.

    Shape: scores and labels (N, K); output scalar.
    """

    reductions = _PER_ELEMENT

    def __init__(self, reduction: str = "batchmean"):
        super().__init__(reduction)

    def forward(self, scores, labels):
        return F.binary_hinge(scores, labels, reduction=self.reduction)


class HierarchicalSoftmaxLoss(_Loss):
    """Hierarchical softmax over a label tree given by parent pointers (see F.LabelTree):
    -log P(leaf) with P(leaf) the product of sibling softmaxes along its path.

    Shape: scores (N, num_nodes), labels (N,) in [0, num_leaves); output scalar.
    """

    def __init__(self, parents, reduction: str = "mean"):
        super().__init__(reduction)
        self.tree = parents if isinstance(parents, F.LabelTree) else F.LabelTree(parents)

    def forward(self, scores, labels):
        return F.hierarchical_softmax_loss(scores, labels, self.tree, reduction=self.reduction)

    def extra_repr(self) -> str:
        return f"nodes={self.tree.num_nodes}, classes={self.tree.num_classes}, reduction={self.reduction!r}"


class NLLLoss(_Loss):
    """Negative log-likelihood of log-probabilities (put a LogSoftmax before it; together they are
    CrossEntropyLoss). ``weight`` rescales classes; targets equal to ``ignore_index`` are skipped.

    Shape: log-probabilities (N, C), targets (N,); output scalar ("mean", "sum") or (N,) ("none").
    """

    reductions = ("mean", "sum", "none")

    def __init__(self, weight=None, ignore_index: int = -100, reduction: str = "mean"):
        super().__init__(reduction)
        self.weight, self.ignore_index = weight, int(ignore_index)

    def forward(self, log_probs, target):
        return F.nll_loss(
            log_probs, target, weight=self.weight, ignore_index=self.ignore_index, reduction=self.reduction
        )
