"""Gradient check of a whole model: every parameter tensor, the notes' practice list applied.

- a float64 copy of the model (float32 round-off swamps a centered difference with h = 1e-6);
- a few data points (fewer kinks to cross);
- centered differences, relative error |a - n| / max(|a|, |n|) (``gradcheck.rel_error``);
- entries sampled from *every* parameter tensor, biases included, half of them where the analytic
  gradient is largest (so the compared numbers are not tiny) and half at random;
- dropout made deterministic by rewinding nnlab's generator before every evaluation;
- the data loss checked alone, then data + regularization with the strength raised so that its
  gradient cannot hide under the data gradient's;
- kinks: every ReLU/LeakyReLU records the sign pattern of its input and a hinge loss its margin
  pattern; an entry whose pattern differs between f(x + h) and f(x - h) crossed a kink. Where no
  pattern is recorded (max pooling, maxout, custom ops) one-sided slopes (f(x+h) - f(x))/h and
  (f(x) - f(x-h))/h that disagree give the crossing away. Such entries are reported, not graded;
- grades with the notes' thresholds (> 1e-2 wrong, 1e-4..1e-2 suspicious, < 1e-7 good), relaxed
  with depth (errors accumulate through the layers: for ten layers 1e-2 may be fine), and a
  difference within the numerical noise of the centered difference counts as agreement.

Run it again after some training steps: at initialization the network can sit in a special
configuration that hides a wrong gradient.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field

import numpy as np

from nnlab.diagnostics.gradcheck import GOOD, centered_difference, grade, rel_error, thresholds_for_depth
from nnlab.diagnostics.hooks import register_forward_hook, remove_all_hooks
from nnlab.engine import autograd
from nnlab.engine import random as nn_random
from nnlab.engine.tensor import Tensor

# grade and thresholds_for_depth live in gradcheck.py (one grader for both checks)
__all__ = ["gradcheck_model", "ModelGradcheckReport", "ParamRow", "thresholds_for_depth", "grade"]


@dataclass
class ParamRow:
    """One parameter tensor: its worst relative error over the checked entries and the grade."""

    name: str
    shape: tuple
    check: str  # "data" or "data+reg"
    checked: int
    max_rel_error: float
    grade: str
    max_abs_error: float = 0.0
    kinks: int = 0  # entries that crossed a kink (reported, not graded)
    worst_index: tuple = ()
    analytic: float = 0.0
    numeric: float = 0.0
    layer: str = ""


@dataclass
class ModelGradcheckReport:
    """What ``gradcheck_model`` found. ``bool(report)`` is ``report.ok``; ``print(report)`` shows
    one row per parameter tensor (and per check: data loss, then data + raised regularization)."""

    rows: list
    depth: int
    eps: float
    num_points: int
    thresholds: tuple
    noise: float
    notes: list = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(r.grade in ("good", "acceptable") for r in self.rows)

    def __bool__(self) -> bool:
        return self.ok

    @property
    def wrong(self) -> list:
        """Names of the parameters graded wrong."""
        return sorted({r.name for r in self.rows if r.grade == "wrong"})

    @property
    def kinks(self) -> int:
        return sum(r.kinks for r in self.rows)

    def row(self, name: str, check: str = "data") -> ParamRow:
        for r in self.rows:
            if r.name == name and r.check == check:
                return r
        raise KeyError(f"gradcheck_model report: no row for parameter {name!r} ({check})")

    def __repr__(self) -> str:
        return f"ModelGradcheckReport(ok={self.ok}, rows={len(self.rows)}, wrong={self.wrong}, kinks={self.kinks})"

    def __str__(self) -> str:
        wrong, susp, good = self.thresholds
        lines = [
            f"gradcheck_model: {'OK' if self.ok else 'FAILED'}  ({self.num_points} data points, float64, "
            f"eps={self.eps:g}, depth {self.depth}: wrong > {wrong:.1e}, suspicious > {susp:.1e}, "
            f"good < {good:.1e}; differences below {self.noise:.1e} count as agreement)"
        ]
        w = max([len(r.name) for r in self.rows] + [9])
        lines.append(
            f"{'parameter':<{w}}  {'check':<8} {'shape':<16} {'entries':>7}  {'max rel err':>11}  "
            f"{'max abs err':>11}  {'grade':<10} {'kinks':>5}"
        )
        tiny = False
        for r in self.rows:
            mark = " "
            if r.grade in ("good", "acceptable") and r.max_rel_error > self.thresholds[1]:
                mark, tiny = "*", True
            lines.append(
                f"{r.name:<{w}}  {r.check:<8} {str(r.shape):<16} {r.checked:>7}  {r.max_rel_error:>11.2e}{mark} "
                f"{r.max_abs_error:>11.2e}  {r.grade:<10} {r.kinks:>5}"
            )
        if tiny:
            lines.append(
                f"* the large relative error is between numbers within round-off of zero (|a - n| < "
                f"{self.noise:.1e}, e.g. a bias followed by batch norm): meaningless, counted as agreement"
            )
        bad = [r for r in self.rows if r.grade in ("wrong", "suspicious")]
        for r in bad:
            lines.append(
                f"  {r.name} ({r.check}) worst at {r.worst_index}: analytic {r.analytic:.6e}, "
                f"numeric {r.numeric:.6e}" + (f"  <- backward of {r.layer}" if r.layer else "")
            )
        lines.extend(self.notes)
        return "\n".join(lines)


# ------------------------------------------------------------------------------------------
# Kink recording
# ------------------------------------------------------------------------------------------
class _KinkRecorder:
    """Collects the 'winner' patterns of one evaluation: ReLU-family input signs, hinge margins."""

    def __init__(self, model, loss_fn):
        from nnlab import nn

        self.patterns: list = []
        self.handles = []
        kinked = tuple(c for c in (getattr(nn, "ReLU", None), getattr(nn, "LeakyReLU", None)) if c is not None)
        for _, m in model.named_modules():
            if isinstance(m, kinked):
                self.handles.append(register_forward_hook(m, self._relu))
        if hasattr(loss_fn, "delta") and hasattr(loss_fn, "forward"):  # hinge (SVM) loss
            self.handles.append(register_forward_hook(loss_fn, self._hinge))
        self.recording = False

    def _relu(self, module, inputs, output):
        if self.recording:
            x = inputs[0]
            self.patterns.append(np.packbits(np.asarray(getattr(x, "data", x)) > 0))

    def _hinge(self, module, inputs, output):
        if self.recording:
            s = np.asarray(getattr(inputs[0], "data", inputs[0]))
            y = np.asarray(getattr(inputs[1], "data", inputs[1]))
            if s.ndim == 2 and y.ndim == 1 and np.issubdtype(y.dtype, np.integer):
                margins = s - s[np.arange(len(y)), y][:, None] + module.delta
                self.patterns.append(np.packbits(margins > 0))

    def start(self):
        self.patterns = []
        self.recording = True

    def stop(self) -> list:
        self.recording = False
        return self.patterns

    def remove(self):
        for h in self.handles:
            h.remove()


def _same(p1: list, p2: list) -> bool:
    return len(p1) == len(p2) and all(np.array_equal(a, b) for a, b in zip(p1, p2))


# ------------------------------------------------------------------------------------------
# Helpers
# ------------------------------------------------------------------------------------------
def float64_copy(model):
    """A float64 deep copy of ``model`` with no diagnostics hooks (the original is untouched)."""
    m = copy.deepcopy(model)
    remove_all_hooks(m)
    return m.double()


def model_depth(model) -> int:
    """Number of layers that own parameters (Linear, conv, batch norm...): the depth errors
    accumulate over."""
    return max(1, sum(1 for _, m in model.named_modules() if any(p is not None for p in m._parameters.values())))


def _owner_labels(model) -> dict:
    out = {}
    for mname, m in model.named_modules():
        for pname, p in m._parameters.items():
            if p is not None:
                out[f"{mname}.{pname}" if mname else pname] = f"{type(m).__name__} '{mname or '<root>'}'"
    return out


def _boosted(regularizer, factor: float):
    """A copy of ``regularizer`` with every strength multiplied by ``factor`` (None if it has no
    strengths we know how to raise)."""
    if not (hasattr(regularizer, "l2") or hasattr(regularizer, "l1")):
        return None
    r = copy.deepcopy(regularizer)
    for k in ("l2", "l1"):
        if hasattr(r, k):
            setattr(r, k, float(getattr(r, k)) * factor)
    per = getattr(r, "per_layer", None)
    if isinstance(per, dict):
        r.per_layer = {p: {k: float(v) * factor for k, v in cfg.items()} for p, cfg in per.items()}
    return r


def _pick_entries(grad: np.ndarray, k: int, rng) -> np.ndarray:
    """Flat indices: half where |grad| is largest (comparisons well above round-off), half random."""
    n = grad.size
    if n <= k:
        return np.arange(n)
    top = k // 2
    order = np.argpartition(-np.abs(grad.reshape(-1)), top)[:top] if top else np.empty(0, np.int64)
    rest = np.setdiff1d(np.arange(n), order)
    rand = rng.choice(rest, size=k - len(order), replace=False)
    return np.sort(np.concatenate([order, rand]).astype(np.int64))


# ------------------------------------------------------------------------------------------
# The check
# ------------------------------------------------------------------------------------------
def gradcheck_model(
    model,
    loss_fn,
    X,
    y,
    *,
    num_points: int = 3,
    eps: float = 1e-6,
    seed: int = 0,
    regularizer=None,
    entries_per_param: int = 10,
    reg_boost: float | None = None,
    noise_factor: float = 1.0,
) -> ModelGradcheckReport:
    """Check the analytic gradient of ``loss_fn(model(X), y)`` for every parameter tensor.

    Args:
        model: an nnlab Module (not modified: the check runs on a float64 copy, in the model's
            current train/eval mode, so dropout is checked with a fixed mask).
        loss_fn: ``loss_fn(outputs, y) -> scalar Tensor`` (a loss module or a function).
        X, y: data; ``num_points`` examples are drawn from them (seeded).
        eps: the step h of the centered difference.
        seed: picks the data points and the checked entries.
        regularizer: optional ``regularizer(model) -> scalar Tensor`` (``nnlab.nn.Regularizer``):
            checked in a second pass, data loss + regularization with strengths raised by
            ``reg_boost`` (default: enough that the penalty is at least 10x the data loss).
        entries_per_param: entries checked in each parameter tensor.
        noise_factor: differences below ``noise_factor * 2.2e-16 * max(1, |f|) / eps`` (the
            round-off of a centered difference) count as agreement.

    Returns:
        A ModelGradcheckReport: ``.rows`` (one per parameter and check), ``.ok``, ``.wrong``.
    """
    if eps <= 0:
        raise ValueError(f"gradcheck_model: eps must be positive, got {eps}")
    if num_points < 1 or entries_per_param < 1:
        raise ValueError(
            f"gradcheck_model: num_points and entries_per_param must be >= 1, got {num_points} and {entries_per_param}"
        )
    rng = np.random.default_rng(seed)
    Xs, ys = _sample_points(X, y, num_points, rng)
    m, loss = float64_copy(model), _loss_copy(loss_fn)
    params = [(n, p) for n, p in m.named_parameters() if p.requires_grad]
    if not params:
        raise ValueError("gradcheck_model: the model has no trainable parameters")
    depth, labels = model_depth(m), _owner_labels(m)
    recorder = _KinkRecorder(m, loss)
    rng_state = nn_random.get_state()

    def evaluate(reg, record=True):
        """(loss, kink patterns) of the float64 copy on the sampled points."""
        nn_random.set_state(rng_state)  # same dropout masks in every evaluation
        if record:
            recorder.start()
        L = loss(m(Tensor(Xs)), ys)
        if reg is not None:
            L = L + reg(m)
        return L, (recorder.stop() if record else [])

    notes = []
    checks = [("data", None)] + _regularization_check(m, regularizer, reg_boost, evaluate, notes)
    rows, noise = [], 0.0
    try:
        for check, reg in checks:
            grads, f0 = _analytic_gradients(params, evaluate, reg)
            noise = noise_factor * np.finfo(np.float64).eps * max(1.0, abs(f0)) / eps
            for name, p in params:
                ids = _pick_entries(grads[name], entries_per_param, rng)
                num, kink = _numeric_gradient(p.data, ids, evaluate, reg, eps, f0, noise)
                rows.append(
                    _grade_param(
                        name,
                        p.data,
                        check,
                        ids,
                        grads[name].reshape(-1)[ids],
                        num,
                        kink,
                        noise,
                        depth,
                        labels.get(name, ""),
                    )
                )
    finally:
        recorder.remove()
        nn_random.set_state(rng_state)
    if any(r.kinks for r in rows):
        notes.append(
            f"({sum(r.kinks for r in rows)} entries crossed a kink (a ReLU/max/hinge winner changed "
            f"between f(x+h) and f(x-h)); they are reported, not graded. Fewer data points or a "
            f"smaller eps cross fewer kinks.)"
        )
    return ModelGradcheckReport(
        rows=rows,
        depth=depth,
        eps=eps,
        num_points=len(Xs),
        thresholds=thresholds_for_depth(depth),
        noise=noise,
        notes=notes,
    )


def _sample_points(X, y, num_points, rng):
    """``num_points`` examples drawn without replacement (seeded), inputs as float64."""
    X = np.asarray(getattr(X, "data", X))
    y = np.asarray(getattr(y, "data", y))
    if len(X) != len(y):
        raise ValueError(f"gradcheck_model: X has {len(X)} examples but y has {len(y)}")
    pick = np.sort(rng.choice(len(X), size=min(num_points, len(X)), replace=False))
    return X[pick].astype(np.float64), (y[pick].astype(np.float64) if y.dtype.kind == "f" else y[pick])


def _loss_copy(loss_fn):
    """A loss module is copied without diagnostics hooks; a plain function is used as is."""
    if not hasattr(loss_fn, "named_modules"):
        return loss_fn
    loss = copy.deepcopy(loss_fn)
    remove_all_hooks(loss)
    return loss


def _regularization_check(m, regularizer, reg_boost, evaluate, notes) -> list:
    """The ("data+reg", raised regularizer) check, with the strength raised so that the penalty's
    gradient is not hidden under the data loss's (default: penalty >= 10x the data loss)."""
    if regularizer is None:
        return []
    with autograd.no_grad():
        data_val = float(evaluate(None, False)[0].data)
        reg_val = float(regularizer(m).data)
    factor = reg_boost
    if factor is None:
        factor = 1.0 if reg_val <= 0 else max(1.0, 10.0 * abs(data_val) / reg_val)
    boosted = _boosted(regularizer, factor)
    if boosted is None:
        notes.append("(the regularizer's strength could not be raised; checked as given)")
        return [("data+reg", regularizer)]
    notes.append(f"(data+reg: regularization strength raised {factor:.3g}x so its gradient is visible)")
    return [("data+reg", boosted)]


def _analytic_gradients(params, evaluate, reg):
    """One backward pass: ({name: float64 gradient}, the loss)."""
    for _, p in params:
        p.grad = None
    with autograd.enable_grad():
        L, _ = evaluate(reg)
    L.backward()
    grads = {n: (np.zeros_like(p.data) if p.grad is None else np.asarray(p.grad, np.float64).copy()) for n, p in params}
    return grads, float(L.data)


def _numeric_gradient(x, ids, evaluate, reg, eps, f0, noise):
    """Centered differences at the flat indices ``ids`` of ``x`` and whether each crossed a kink:
    a recorded winner pattern that changed between x + h and x - h, or (where no hook records
    one: max pooling, maxout...) one-sided slopes that disagree."""
    num = np.empty(len(ids))
    kink = np.zeros(len(ids), bool)
    with autograd.no_grad():
        for j, flat in enumerate(ids):
            (fp, pat_p), (fm, pat_m) = centered_difference(
                x, np.unravel_index(flat, x.shape), eps, lambda: evaluate(reg)
            )
            fp, fm = float(fp.data), float(fm.data)
            num[j] = (fp - fm) / (2 * eps)
            if not _same(pat_p, pat_m):
                kink[j] = True
            else:
                sp, sm = (fp - f0) / eps, (f0 - fm) / eps
                kink[j] = abs(sp - sm) > max(1e-2 * max(abs(sp), abs(sm)), 1e3 * noise)
    return num, kink


def _grade_param(name, x, check, ids, ana, num, kink, noise, depth, layer) -> ParamRow:
    """One row: the worst relative error over the entries that crossed no kink, and its grade."""
    rel = rel_error(ana, num)
    rel = np.where(np.isfinite(ana) & np.isfinite(num), rel, np.inf)
    absd = np.abs(ana - num)
    # a difference within the round-off of the centered difference is agreement
    effective = np.where(absd <= noise, np.minimum(rel, GOOD), rel)
    effective = np.where(kink, -1.0, effective)
    kinks = int(kink.sum())
    if kinks == len(ids):
        worst_j, err, gr = int(np.argmax(rel)), 0.0, grade(0.0, depth)
    else:
        worst_j = int(np.argmax(effective))
        gr = grade(float(effective[worst_j]), depth)
        err = float(np.max(np.where(kink, -1.0, rel)))
    return ParamRow(
        name=name,
        shape=tuple(x.shape),
        check=check,
        checked=len(ids),
        max_rel_error=err,
        grade=gr,
        max_abs_error=float(np.max(np.where(kink, 0.0, absd))),
        kinks=kinks,
        worst_index=tuple(int(v) for v in np.unravel_index(ids[worst_j], x.shape)),
        analytic=float(ana[worst_j]),
        numeric=float(num[worst_j]),
        layer=layer,
    )
