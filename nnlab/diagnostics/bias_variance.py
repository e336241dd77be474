"""The train/dev error gap read as the notes' four bias/variance cases."""

from __future__ import annotations

import numpy as np

from nnlab.diagnostics.findings import Finding
from nnlab.train.callbacks import Callback


def read_bias_variance(
    train_error: float, dev_error: float, target_error: float = 0.0, bias_tol: float = 0.05, variance_tol: float = 0.05
) -> Finding:
    """The notes' four cases (004) from the train and dev error rates.

    high bias: train error well above the target (human / Bayes) error; high variance: dev error
    well above the train error.
    """
    avoidable = train_error - target_error
    gap = dev_error - train_error
    hb, hv = avoidable > bias_tol, gap > variance_tol
    nums = f"train error {train_error * 100:.1f}%, dev error {dev_error * 100:.1f}% (gap {gap * 100:.1f} points)"
    if hb and hv:
        return Finding(
            "high_bias_high_variance",
            f"high bias and high variance: {nums}",
            "first reduce bias (bigger network, train longer), then variance (more data, regularization)",
            "bias/variance",
        )
    if hb:
        return Finding(
            "high_bias",
            f"high bias (underfitting): {nums}",
            "a bigger network (more layers or units) or longer training",
            "bias/variance",
        )
    if hv:
        return Finding(
            "high_variance",
            f"high variance (overfitting): {nums}",
            "more training data or regularization (L2, dropout, early stopping)",
            "bias/variance",
        )
    return Finding("ok", f"low bias and low variance: {nums}", "", "bias/variance")


class BiasVarianceMonitor(Callback):
    """Reads each epoch's train/dev accuracy as bias/variance (``read_bias_variance``).

    The per-epoch train accuracy in the logs is a running average over the epoch's batches, taken in
    training mode (dropout on) while the weights still change: it overstates the training error,
    by several points early in training. So at the end of training the final verdict measures the
    training error again in eval mode on up to ``eval_samples`` training examples (one forward
    pass, no graph), the same way the dev error is measured.
    """

    def __init__(
        self, target_error: float = 0.0, bias_tol: float = 0.05, variance_tol: float = 0.05, eval_samples: int = 1000
    ):
        self.target_error, self.bias_tol, self.variance_tol = target_error, bias_tol, variance_tol
        self.eval_samples = int(eval_samples)
        self.epochs: list = []  # (epoch, train_error, dev_error, kind)
        self.final = None  # (train_error measured in eval mode, dev_error, examples) at the end

    def on_train_begin(self, logs=None):
        self.final = None
        if not getattr(self.trainer, "resuming", False):
            self.epochs = []

    def on_train_end(self, logs=None):
        t, loader = self.trainer, getattr(self.trainer, "_loader", None)
        if not self.epochs or self.eval_samples < 1 or loader is None or not hasattr(loader, "X"):
            return
        n = len(loader.y)
        idx = (
            np.arange(n)
            if n <= self.eval_samples
            else np.sort(np.random.default_rng(0).choice(n, self.eval_samples, replace=False))
        )
        res = t.evaluate((loader.X[idx], loader.y[idx]), _prepared=True)
        if "accuracy" in res and np.isfinite(res.get("loss", 0.0)):
            self.final = (1.0 - float(res["accuracy"]), self.epochs[-1][2], len(idx))

    def on_epoch_end(self, epoch, logs=None):
        if "accuracy" in logs and "val_accuracy" in logs:
            tr, dv = 1.0 - float(logs["accuracy"]), 1.0 - float(logs["val_accuracy"])
            f = read_bias_variance(tr, dv, self.target_error, self.bias_tol, self.variance_tol)
            self.epochs.append((int(epoch), tr, dv, f.kind))

    def diagnose(self) -> list:
        if not self.epochs:
            return []
        if self.final is not None:
            tr, dv, n = self.final
            f = read_bias_variance(tr, dv, self.target_error, self.bias_tol, self.variance_tol)
            f.message += f"; train error measured in eval mode on {n} training examples"
            return [f]
        _, tr, dv, _ = self.epochs[-1]
        f = read_bias_variance(tr, dv, self.target_error, self.bias_tol, self.variance_tol)
        f.message += "; train error = the last epoch's running average (training mode)"
        return [f]

    def state_dict(self):
        return {"epochs": [list(e) for e in self.epochs]}

    def load_state_dict(self, state):
        self.epochs = [(int(e), float(a), float(b), str(k)) for e, a, b, k in state.get("epochs", [])]
