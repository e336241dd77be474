"""Sanity checks before training (the notes' list): cheap tests that catch most broken setups.

1. The initial loss matches its expected value. With small weights every class gets the same
   score: the softmax loss is ln C, the multiclass SVM (margin delta) (C - 1) * delta. Checked
   twice: on a copy with the weights shrunk (tests the loss and the data pipeline) and on the
   model as initialized (tests the initialization: far above the expected value means the scores
   start large and confident).
2. Raising the regularization strength raises the loss.
3. The model overfits a tiny subset (20 examples, no regularization, no dropout): 100% training
   accuracy and a loss near zero. If it cannot, training on the full set is pointless.

Each check prints pass/fail (or warn), its numbers and what a failure usually means.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass, field

import numpy as np

from nnlab.diagnostics.hooks import remove_all_hooks
from nnlab.engine import autograd
from nnlab.engine import random as nn_random
from nnlab.engine.tensor import Tensor

__all__ = ["sanity_check", "SanityReport", "CheckResult", "expected_initial_loss"]


@dataclass
class CheckResult:
    name: str
    status: str  # "pass", "warn" or "fail"
    numbers: str
    meaning: str = ""  # what a failure (or warning) usually means
    values: dict = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        return self.status != "fail"

    def __str__(self) -> str:
        s = f"[{self.status.upper():4}] {self.name}: {self.numbers}"
        if self.status != "pass" and self.meaning:
            s += "\n       " + self.meaning
        return s


@dataclass
class SanityReport:
    checks: list

    @property
    def ok(self) -> bool:
        return all(c.passed for c in self.checks)

    def __bool__(self) -> bool:
        return self.ok

    def __getitem__(self, name: str) -> CheckResult:
        for c in self.checks:
            if c.name == name:
                return c
        raise KeyError(f"no sanity check named {name!r}; checks: {[c.name for c in self.checks]}")

    @property
    def failed(self) -> list:
        return [c.name for c in self.checks if c.status == "fail"]

    def __str__(self) -> str:
        head = "sanity checks: " + ("all passed" if self.ok else f"FAILED ({', '.join(self.failed)})")
        return "\n".join([head] + [str(c) for c in self.checks])

    def __repr__(self) -> str:
        return f"SanityReport(ok={self.ok}, failed={self.failed})"


def _loss_kind(loss_fn) -> str:
    name = type(loss_fn).__name__.lower()
    if "crossentropy" in name or getattr(loss_fn, "__name__", "") == "cross_entropy":
        return "softmax"
    if "svm" in name or "hinge" in name:
        return "svm"
    return "other"


def expected_initial_loss(loss_fn, num_classes: int):
    """(value, formula) of the loss when all scores are equal, or (None, '') if unknown."""
    kind = _loss_kind(loss_fn)
    if kind == "softmax":
        return math.log(num_classes), f"ln C = ln {num_classes}"
    if kind == "svm" and hasattr(loss_fn, "delta"):
        d = float(loss_fn.delta)
        if getattr(loss_fn, "squared", False):
            return (num_classes - 1) * d * d, f"(C - 1) delta^2 = {num_classes - 1} x {d:g}^2"
        return (num_classes - 1) * d, f"(C - 1) delta = {num_classes - 1} x {d:g}"
    return None, ""


def _copy(model):
    m = copy.deepcopy(model)
    remove_all_hooks(m)
    return m


def _loss_value(model, loss_fn, X, y, reg=None) -> tuple[float, np.ndarray]:
    with autograd.no_grad():
        out = model(Tensor(X))
        L = loss_fn(out, y)
        if reg is not None:
            L = L + reg(model)
    return float(L.data), out.data


def _shrunk(model, factor: float):
    m = _copy(model)
    for p in m.parameters():
        if p.data.ndim >= 2:
            p.data = (p.data * factor).astype(p.data.dtype)
    return m


def _scaled_regularizer(reg, factor):
    r = copy.deepcopy(reg)
    for k in ("l2", "l1"):
        if hasattr(r, k):
            setattr(r, k, float(getattr(r, k)) * factor)
    if isinstance(getattr(r, "per_layer", None), dict):
        r.per_layer = {p: {k: float(v) * factor for k, v in c.items()} for p, c in r.per_layer.items()}
    return r


def sanity_check(
    model,
    loss_fn,
    X,
    y,
    *,
    regularizer=None,
    subset: int = 20,
    steps: int = 300,
    lr: float = 1e-2,
    optimizer: str = "adam",
    seed: int = 0,
    batch: int = 256,
    verbose: bool = False,
) -> SanityReport:
    """Run the three sanity checks on ``model`` (never modified: every check runs on a copy).

    Args:
        model, loss_fn: the network and its data loss ``loss_fn(outputs, y)``.
        X, y: training data (a batch of up to ``batch`` examples is used for the loss checks,
            ``subset`` of them for the overfitting test).
        regularizer: the regularizer used in training (default: L2 with lambda 1e-3), for check 2.
        steps, lr, optimizer: the overfitting run (full-batch; "adam" or "sgd").
        verbose: print the report.
    """
    from nnlab import nn

    X = np.asarray(getattr(X, "data", X))
    y = np.asarray(getattr(y, "data", y))
    if len(X) != len(y):
        raise ValueError(f"sanity_check: X has {len(X)} examples but y has {len(y)}")
    if len(X) < 2:
        raise ValueError(f"sanity_check: needs at least 2 examples, got {len(X)}")
    X = X.astype(np.float32) if X.dtype.kind == "f" else X
    rng = np.random.default_rng(seed)
    idx = np.sort(rng.choice(len(X), size=min(batch, len(X)), replace=False))
    Xb, yb = X[idx], y[idx]
    state = nn_random.get_state()
    checks = []
    try:
        # ---- 1. initial loss ---------------------------------------------------------------
        init_loss, out = _loss_value(model, loss_fn, Xb, yb)
        C = int(out.shape[1]) if out.ndim >= 2 else 1
        expected, formula = expected_initial_loss(loss_fn, C)
        small_loss, _ = _loss_value(_shrunk(model, 1e-3), loss_fn, Xb, yb)
        known = expected is not None
        if not known:  # unknown loss: the small-weights loss is the reference
            expected, formula = small_loss, "loss with weights x 1e-3"
        else:
            rel = abs(small_loss - expected) / max(expected, 1e-12)
            checks.append(
                CheckResult(
                    "loss with small weights",
                    "pass" if rel < 0.05 else "fail",
                    f"{small_loss:.4f} with weights shrunk 1000x, expected {expected:.4f} ({formula})",
                    "with all scores equal the loss must be its chance value: the loss is not averaged over "
                    "the batch, the softmax/margin is computed wrongly, or the outputs are not class scores "
                    "(e.g. a softmax applied twice, or a final non-linearity)",
                    {"loss": small_loss, "expected": expected},
                )
            )
        ratio = init_loss / max(expected, 1e-12)
        if not np.isfinite(init_loss) or ratio > 3.0:
            status = "fail"
        elif ratio > 1.5 or ratio < 0.5:
            status = "warn"
        else:
            status = "pass"
        checks.append(
            CheckResult(
                "initial loss",
                status,
                f"{init_loss:.4f} at initialization, expected about {expected:.4f} ({formula}), ratio {ratio:.2f}",
                (
                    "the loss starts far above its chance value: the initial weights are too large (scores start "
                    "big and confidently wrong). Use small random weights, 1/sqrt(n) (tanh/sigmoid) or He "
                    "sqrt(2/n) (ReLU), and a small init for the output layer"
                    if ratio > 1 or not np.isfinite(init_loss)
                    else "the loss starts below its chance value: the labels may leak into the inputs, or the loss "
                    "ignores part of the labels"
                ),
                {"loss": init_loss, "expected": expected, "ratio": ratio},
            )
        )

        # ---- 2. regularization raises the loss ------------------------------------------------
        reg = regularizer if regularizer is not None else nn.Regularizer(l2=1e-3)
        base = (
            reg
            if float(getattr(reg, "l2", 0) or 0) + float(getattr(reg, "l1", 0) or 0) > 0
            else nn.Regularizer(l2=1e-3)
        )
        low, _ = _loss_value(model, loss_fn, Xb, yb, base)
        high, _ = _loss_value(model, loss_fn, Xb, yb, _scaled_regularizer(base, 100.0))
        checks.append(
            CheckResult(
                "regularization raises the loss",
                "pass" if high > low else "fail",
                f"data loss {init_loss:.4f}; + regularization: {low:.4f}; strength x100: {high:.4f}",
                "a stronger penalty must give a larger total loss: the regularization term is not added to the "
                "loss, has the wrong sign, or penalizes no parameter",
                {"low": low, "high": high},
            )
        )

        # ---- 3. overfit a tiny subset ----------------------------------------------------------
        checks.append(
            _overfit(model, loss_fn, X, y, subset, steps, lr, optimizer, rng, expected * (0.05 if known else 0.1))
        )
    finally:
        nn_random.set_state(state)
    report = SanityReport(checks)
    if verbose:
        print(report)
    return report


def _overfit(model, loss_fn, X, y, subset, steps, lr, optimizer, rng, target) -> CheckResult:
    from nnlab import optim

    m = _copy(model)
    for mod in m.modules():  # no regularization of any kind
        if type(mod).__name__.lower().startswith("dropout") and hasattr(mod, "p"):
            mod.p = 0.0
    m.train()
    k = min(subset, len(X))
    idx = np.sort(rng.choice(len(X), size=k, replace=False))
    Xs, ys = X[idx], y[idx]
    params = [p for p in m.parameters() if p.requires_grad]
    opt = optim.Adam(params, lr=lr) if optimizer == "adam" else optim.SGD(params, lr=lr, momentum=0.9)
    target = max(target, 1e-3)
    first = last = acc = None
    done = 0
    for step in range(steps):
        out = m(Tensor(Xs))
        L = loss_fn(out, ys)
        lv = float(L.data)
        if first is None:
            first = lv
        if not np.isfinite(lv):
            last = lv
            break
        acc = _accuracy(out.data, ys)
        last, done = lv, step + 1
        if acc == 1.0 and lv <= target:
            break
        opt.zero_grad()
        L.backward()
        opt.step()
    ok = acc == 1.0 and last is not None and np.isfinite(last) and last <= target
    acc_s = "n/a" if acc is None else f"{acc * 100:.0f}%"
    return CheckResult(
        f"overfit {k} examples",
        "pass" if ok else "fail",
        f"after {done} full-batch steps ({optimizer}, lr {lr:g}, no regularization): training accuracy {acc_s}, "
        f"loss {first:.4f} -> {last:.4g} (target <= {target:.3g})",
        "a network must be able to memorize 20 examples. If it cannot: the loss does not see the labels "
        "(ignored, shuffled apart from the inputs, wrong dtype), gradients do not reach the weights "
        "(a wrong or detached backward; run gradcheck_model), the learning rate is far off, or the "
        "network is far too small",
        {"accuracy": acc, "first_loss": first, "loss": last, "steps": done},
    )


def _accuracy(scores: np.ndarray, y: np.ndarray):
    if scores.ndim != 2 or scores.shape[1] < 2:
        return None
    labels = y if y.ndim == 1 else np.asarray(y).argmax(axis=1)
    return float(np.mean(scores.argmax(axis=1) == labels))
