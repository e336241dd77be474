"""Gradient checking: compare the engine's analytic gradients with centered differences.

The notes' practice, made into one call:

- centered differences ``(f(x + h) - f(x - h)) / 2h`` (error O(h^2)), never the one-sided form;
- the relative error ``|a - n| / max(|a|, |n|)``, with the notes' reading of it:
  > 1e-2 the gradient is probably wrong, 1e-4..1e-2 suspicious, < 1e-4 fine for objectives with
  kinks, < 1e-7 good;
- float64 throughout (float32 round-off, about 1e-7 relative, swamps a difference taken with a
  step of 1e-6);
- stochastic ops (dropout) see the same random numbers in every evaluation: nnlab's generator is
  rewound before each call of ``f``;
- big tensors can be checked on a random sample of their entries;
- kinks (relu, max, hinge) crossed within +-h are flagged: the one-sided slopes
  (f(x + h) - f(x)) / h and (f(x) - f(x - h)) / h then disagree by far more than the O(h) curvature
  term of a smooth function, and the centered difference there is meaningless.

For an ``f`` with a non-scalar output, the check is on the vector-Jacobian product: a fixed random
upstream gradient ``u`` (seeded) is chosen and ``sum(u * f(x))`` is differentiated, which exercises
every output entry's gradient at the cost of one backward pass.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np

from nnlab.engine._args import check_callable, check_float, check_int, check_positive_float
from nnlab.engine import autograd
from nnlab.engine import random as nn_random
from nnlab.engine.tensor import Tensor

#: The notes' thresholds on the relative error.
WRONG = 1e-2
SUSPICIOUS = 1e-4
GOOD = 1e-7
#: One-sided slopes differing by more than this (relative to max(1, |slope|)) mean a kink was
#: crossed; a smooth f differs by about eps |f''|, i.e. ~1e-6 at the default step.
KINK_TOL = 1e-2


def thresholds_for_depth(depth: int = 1) -> tuple[float, float, float]:
    """(wrong, suspicious, good) thresholds for a net with ``depth`` parameterized layers.

    Up to 3 layers the notes' values; from there they loosen smoothly up to 10x at 10 layers (the
    notes: for a ten-layer net a relative error of 1e-2 can be fine, errors accumulate)."""
    k = 10.0 ** min(1.0, max(0.0, (depth - 3) / 7.0))
    return WRONG * k, SUSPICIOUS * k, GOOD * k


def grade(rel_error: float, depth: int = 1) -> str:
    """The notes' reading of a relative error, the one grader of every gradient check.

    "wrong" above 1e-2 (or not finite), "suspicious" above 1e-4, "acceptable" above 1e-7 (fine
    where the objective has kinks such as ReLU or hinge losses, high otherwise), "good" below;
    the thresholds loosen with ``depth`` (see ``thresholds_for_depth``).
    """
    wrong, suspicious, good = thresholds_for_depth(depth)
    if not np.isfinite(rel_error) or rel_error > wrong:
        return "wrong"
    if rel_error > suspicious:
        return "suspicious"
    if rel_error > good:
        return "acceptable"
    return "good"


verdict = grade  # the name GradcheckReport.verdict reads


@dataclass
class Entry:
    """One checked element: which input, which element, both gradients and their relative error."""

    input: int
    index: tuple
    analytic: float
    numeric: float
    rel_error: float
    kink: bool = False

    @property
    def abs_error(self) -> float:
        return abs(self.analytic - self.numeric)


@dataclass
class InputReport:
    """Errors over the checked entries of one input."""

    input: int
    shape: tuple
    checked: int
    total: int
    max_rel_error: float
    max_abs_error: float
    ok: bool
    kinks: int = 0

    @property
    def sampled(self) -> bool:
        return self.checked < self.total


@dataclass
class GradcheckReport:
    """What ``gradcheck`` found. ``bool(report)`` is ``report.ok``.

    Attributes:
        ok: every checked entry has rel error <= rtol or abs error <= atol.
        max_rel_error: the largest relative error over all checked entries.
        max_abs_error: the largest |analytic - numeric|.
        inputs: one InputReport per checked input.
        worst: the entries with the largest relative errors, worst first.
        rtol, atol, eps: the settings used.
    """

    ok: bool
    max_rel_error: float
    max_abs_error: float
    inputs: list
    worst: list
    rtol: float
    atol: float
    eps: float
    output_shape: tuple = ()
    notes: list = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.ok)

    @property
    def verdict(self) -> str:
        return verdict(self.max_rel_error)

    @property
    def errors(self) -> list:
        """Max relative error per checked input, in input order."""
        return [r.max_rel_error for r in self.inputs]

    @property
    def kinks(self) -> int:
        """How many checked entries had a kink within +-eps (their numeric gradient is unreliable)."""
        return sum(r.kinks for r in self.inputs)

    def __repr__(self) -> str:
        return (
            f"GradcheckReport(ok={self.ok}, max_rel_error={self.max_rel_error:.3e}, "
            f"verdict={self.verdict!r}, inputs={len(self.inputs)}, "
            f"checked={sum(r.checked for r in self.inputs)})"
        )

    def __str__(self) -> str:
        lines = [
            f"gradcheck: {'OK' if self.ok else 'FAILED'}  max rel error {self.max_rel_error:.3e} "
            f"({self.verdict})  eps={self.eps:g} rtol={self.rtol:g} atol={self.atol:g}"
        ]
        lines.append(f"{'input':>5}  {'shape':<16} {'checked':>9}  {'max rel':>10}  {'max abs':>10}  ok")
        for r in self.inputs:
            checked = f"{r.checked}/{r.total}" if r.sampled else str(r.checked)
            lines.append(
                f"{r.input:>5}  {str(r.shape):<16} {checked:>9}  {r.max_rel_error:>10.3e}  "
                f"{r.max_abs_error:>10.3e}  {'yes' if r.ok else 'NO'}"
            )
        if self.worst:
            lines.append("worst entries:")
            lines.append(f"{'input':>5}  {'index':<16} {'analytic':>14}  {'numeric':>14}  {'rel error':>10}")
            for e in self.worst:
                lines.append(
                    f"{e.input:>5}  {str(e.index):<16} {e.analytic:>14.7e}  {e.numeric:>14.7e}  "
                    f"{e.rel_error:>10.3e}" + ("  kink crossed" if e.kink else "")
                )
        if self.kinks:
            what = "entry" if self.kinks == 1 else "entries"
            lines.append(
                f"{self.kinks} {what} crossed a kink within +-eps: their numeric gradient is "
                f"unreliable; move the inputs away from kinks (or check fewer data points)"
            )
        lines.extend(self.notes)
        return "\n".join(lines)


def rel_error(a, n, floor: float = 1e-10) -> np.ndarray:
    """|a - n| / max(|a|, |n|), elementwise; 0 where both magnitudes are below ``floor``."""
    a = np.asarray(a, dtype=np.float64)
    n = np.asarray(n, dtype=np.float64)
    scale = np.maximum(np.abs(a), np.abs(n))
    tiny = scale < floor
    with np.errstate(divide="ignore", invalid="ignore"):
        err = np.abs(a - n) / np.where(tiny, 1.0, scale)
    return np.where(tiny, 0.0, err)


def _prepare(inputs, wrt):
    """Tensors for f, and which of them are checked. float64 tensors are used as given (so that an
    f closing over the same tensors, e.g. a model's parameters, sees the perturbations)."""
    tensors, checked = [], []
    for i, x in enumerate(inputs):
        t = x if isinstance(x, Tensor) else Tensor(np.array(x))
        if t._ctx is not None:
            t = t.detach()  # check d f / d (this value), not through whatever made it
        kind = t.data.dtype.kind
        want = (wrt is None and kind == "f") or (wrt is not None and i in wrt)
        if want and kind != "f":
            raise TypeError(
                f"gradcheck: input {i} has dtype {t.data.dtype}; only floating-point "
                f"inputs can be differentiated (integer inputs such as labels are passed "
                f"through unchecked)"
            )
        if want and t.data.dtype != np.float64:
            warnings.warn(
                f"gradcheck: input {i} has dtype {t.data.dtype}; checking a float64 copy "
                f"instead, since float32 round-off (~1e-7 relative) swamps centered "
                f"differences. Pass float64 tensors (x.double(), model.double()) to "
                f"check the tensors themselves.",
                UserWarning,
                stacklevel=3,
            )
            t = Tensor(t.data.astype(np.float64))
        tensors.append(t)
        if want:
            checked.append(i)
    return tensors, checked


def gradcheck(
    f,
    *inputs,
    eps: float = 1e-6,
    atol: float = 1e-8,
    rtol: float = 1e-6,
    seed: int = 0,
    samples: int | None = None,
    limit: int = 20_000,
    wrt=None,
    floor: float = 1e-10,
    worst: int = 5,
) -> GradcheckReport:
    """Check the analytic gradient of ``f`` at ``inputs`` against centered differences.

    Args:
        f: maps the input Tensors to a Tensor (any shape; see the module docstring for non-scalar
            outputs).
        inputs: Tensors or arrays. Every floating-point input is checked (or those listed in
            ``wrt``); integer ones (labels, indices) are passed through. float64 Tensors are
            perturbed in place and restored, so ``f`` may ignore its arguments and read the same
            tensors from a closure (``gradcheck(lambda *_: loss(), *model.parameters())``).
        eps: the step h of (f(x + h) - f(x - h)) / 2h. The notes suggest 1e-4..1e-6.
        atol, rtol: an entry passes when its relative error is <= rtol or its absolute error is
            <= atol (the floor for entries whose gradient is tiny, where the relative error is
            round-off).
        seed: seeds the upstream gradient of a non-scalar output and the sampling of entries.
        samples: check at most this many randomly chosen entries per input. None: check every
            entry of inputs with up to ``limit`` entries and a random ``limit`` of bigger ones
            (each entry costs two evaluations of ``f``).
        wrt: indices of the inputs to check (default: every floating-point input).
        floor: the relative error is 0 where both gradients are below this in magnitude.
        worst: how many of the worst entries the report lists.

    Returns:
        A GradcheckReport (``bool(report)`` is ``report.ok``; ``print(report)`` shows a table).
    """
    check_callable("gradcheck", "f", f)
    eps = check_positive_float("gradcheck", "eps", eps)
    atol, rtol = (check_float("gradcheck", n, v, min=0.0) for n, v in (("atol", atol), ("rtol", rtol)))
    if samples is not None:
        samples = check_int("gradcheck", "samples", samples, min=1)
    tensors, checked = _prepare(inputs, None if wrt is None else set(wrt))
    if not checked:
        raise ValueError("gradcheck: no floating-point input to check")
    rng = np.random.default_rng(seed)
    rng_state = nn_random.get_state()

    def call():
        nn_random.set_state(rng_state)  # same dropout mask etc. in every evaluation
        out = f(*tensors)
        if not isinstance(out, Tensor):
            raise TypeError(f"gradcheck: f must return a Tensor, got {type(out).__name__}")
        return out

    saved = [(tensors[i].requires_grad, tensors[i].grad) for i in checked]
    try:
        analytic, upstream, out_shape = _analytic_gradients(call, tensors, checked, rng)

        def objective() -> float:  # sum(u * f(x)): a scalar whose gradient is the checked VJP
            with autograd.no_grad():
                y = call()
            return float(np.sum(np.asarray(y.data, dtype=np.float64) * upstream))

        f0 = objective()
        input_reports, entries = [], []
        for i in checked:
            x = tensors[i].data
            k = samples if samples is not None else min(x.size, limit)
            flat_ids = np.arange(x.size) if k >= x.size else np.sort(rng.choice(x.size, size=k, replace=False))
            report, worst_entries = _compare_input(
                i, x, flat_ids, analytic[i], objective, f0, eps, rtol, atol, floor, worst
            )
            input_reports.append(report)
            entries.extend(worst_entries)
    finally:
        for i, (req, grad) in zip(checked, saved):
            tensors[i].requires_grad = req
            tensors[i].grad = grad
        nn_random.set_state(rng_state)
    return _report(input_reports, entries, worst, rtol, atol, eps, out_shape)


def _analytic_gradients(call, tensors, checked, rng):
    """One backward pass of ``sum(u * f(x))`` with a fixed upstream gradient u (1 for a scalar f);
    returns ({input: float64 gradient}, u, f's output shape)."""
    for i in checked:
        tensors[i].requires_grad = True
        tensors[i].grad = None
    with autograd.enable_grad():
        out = call()
    upstream = np.ones(out.shape) if out.data.size == 1 else rng.standard_normal(out.shape)
    if out.requires_grad:
        out.backward(upstream.astype(out.data.dtype))
    analytic = {
        i: (np.zeros(tensors[i].shape) if tensors[i].grad is None else np.asarray(tensors[i].grad, dtype=np.float64))
        for i in checked
    }
    return analytic, upstream, tuple(out.shape)


def centered_difference(x: np.ndarray, idx, eps: float, f):
    """(f() at x[idx] + eps, f() at x[idx] - eps), with x[idx] restored afterwards."""
    old = x[idx]
    try:
        x[idx] = old + eps
        fp = f()
        x[idx] = old - eps
        fm = f()
    finally:
        x[idx] = old
    return fp, fm


def _compare_input(i, x, flat_ids, analytic, objective, f0, eps, rtol, atol, floor, worst):
    """Numeric against analytic gradient on the chosen entries of input ``i``: its InputReport
    and its ``worst`` entries."""
    num = np.empty(len(flat_ids))
    slope_gap = np.empty(len(flat_ids))
    for j, flat in enumerate(flat_ids):
        fp, fm = centered_difference(x, np.unravel_index(flat, x.shape), eps, objective)
        num[j] = (fp - fm) / (2 * eps)
        slope_gap[j] = abs((fp - f0) - (f0 - fm)) / eps  # |forward - backward slope|
    ana = analytic.reshape(-1)[flat_ids] if x.size else np.empty(0)
    rel = rel_error(ana, num, floor)
    rel = np.where(np.isfinite(ana) & np.isfinite(num), rel, np.inf)
    absd = np.abs(ana - num)
    good = (rel <= rtol) | (absd <= atol)
    kink = slope_gap > KINK_TOL * np.maximum(1.0, np.abs(num))
    report = InputReport(
        input=i,
        shape=tuple(x.shape),
        checked=len(flat_ids),
        total=x.size,
        max_rel_error=float(rel.max()) if rel.size else 0.0,
        max_abs_error=float(np.nan_to_num(absd, nan=np.inf).max()) if absd.size else 0.0,
        ok=bool(good.all()),
        kinks=int(kink.sum()),
    )
    entries = [
        Entry(
            i,
            tuple(int(v) for v in np.unravel_index(flat_ids[j], x.shape)),
            float(ana[j]),
            float(num[j]),
            float(rel[j]),
            bool(kink[j]),
        )
        for j in np.argsort(-rel, kind="stable")[:worst]
    ]
    return report, entries


def _report(input_reports, entries, worst, rtol, atol, eps, out_shape) -> GradcheckReport:
    entries.sort(key=lambda e: -e.rel_error)
    notes = []
    if any(r.sampled for r in input_reports):
        notes.append("(some inputs were checked on a random sample of entries)")
    return GradcheckReport(
        ok=all(r.ok for r in input_reports),
        max_rel_error=max(r.max_rel_error for r in input_reports),
        max_abs_error=max(r.max_abs_error for r in input_reports),
        inputs=input_reports,
        worst=entries[:worst],
        rtol=rtol,
        atol=atol,
        eps=eps,
        output_shape=out_shape,
        notes=notes,
    )
