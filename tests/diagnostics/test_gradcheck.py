"""nnlab.gradcheck: catches wrong gradients, passes right ones, and reports readably."""

from __future__ import annotations

import numpy as np
import pytest

import nnlab
from nnlab.diagnostics import GradcheckReport, gradcheck
from nnlab.diagnostics.gradcheck import rel_error, verdict
from nnlab.engine import ops
from nnlab.engine.function import Function


def t64(a, requires_grad=False):
    return nnlab.tensor(np.asarray(a, dtype=np.float64), requires_grad=requires_grad)


class WrongSquare(Function):
    """y = x^2 with a deliberately wrong local gradient (x instead of 2x)."""

    def forward(self, x):
        self.x = x
        return x * x

    def backward(self, g):
        return (g * self.x,)


class SlightlyWrongExp(Function):
    """y = e^x with the gradient off by a relative 1e-3 (a "suspicious" bug)."""

    def forward(self, x):
        self.out = np.exp(x)
        return self.out

    def backward(self, g):
        return (g * self.out * (1 + 1e-3),)


def test_public_name():
    assert nnlab.gradcheck is gradcheck and "gradcheck" in nnlab.__all__


def test_correct_gradient_passes_with_tiny_error():
    rng = np.random.default_rng(0)
    x, w = t64(rng.standard_normal((4, 3))), t64(rng.standard_normal((3, 2)))
    report = gradcheck(lambda a, b: ops.tanh(a @ b).sum(), x, w)
    assert isinstance(report, GradcheckReport)
    assert report.ok and bool(report) and report.max_rel_error < 1e-7 and report.verdict == "good"
    assert [r.input for r in report.inputs] == [0, 1]
    assert [r.checked for r in report.inputs] == [12, 6]


def test_wrong_gradient_fails_and_is_located():
    x = t64([[0.5, -1.0], [2.0, 3.0]])
    report = gradcheck(lambda a: WrongSquare.apply(a).sum(), x)
    assert not report.ok and not bool(report)
    assert report.max_rel_error == pytest.approx(0.5)  # |x - 2x| / |2x|
    assert report.verdict == "wrong"
    worst = report.worst[0]
    assert worst.input == 0 and len(worst.index) == 2
    assert worst.analytic == pytest.approx(x.data[worst.index])
    assert worst.numeric == pytest.approx(2 * x.data[worst.index], rel=1e-6)


def test_slightly_wrong_gradient_is_suspicious():
    report = gradcheck(lambda a: SlightlyWrongExp.apply(a).sum(), t64([0.1, 0.2, -0.4]))
    assert not report.ok and report.verdict == "suspicious"
    assert report.max_rel_error == pytest.approx(1e-3, rel=1e-2)


def test_non_scalar_output_checks_the_vjp_with_a_random_upstream():
    x = t64(np.linspace(-1, 1, 6).reshape(2, 3))
    assert gradcheck(lambda a: ops.softmax(a), x).ok

    # A bug visible only off the diagonal of the Jacobian: softmax's VJP without the coupling term.
    class BadSoftmax(Function):
        def forward(self, a):
            e = np.exp(a - a.max(axis=-1, keepdims=True))
            self.p = e / e.sum(axis=-1, keepdims=True)
            return self.p

        def backward(self, g):
            return (g * self.p * (1 - self.p),)

    report = gradcheck(lambda a: BadSoftmax.apply(a), x)
    assert not report.ok
    # With an all-ones upstream the bug would hide (sum of softmax is constant); the random
    # upstream exposes it, and the seed makes the check reproducible.
    again = gradcheck(lambda a: BadSoftmax.apply(a), x)
    assert again.max_rel_error == report.max_rel_error


def test_inputs_are_restored_and_grads_untouched():
    x = t64([1.0, 2.0, 3.0], requires_grad=False)
    before = x.data.copy()
    x.grad = None
    gradcheck(lambda a: (a * a).sum(), x)
    np.testing.assert_array_equal(x.data, before)
    assert x.grad is None and not x.requires_grad
    y = t64([1.0], requires_grad=True)
    y.grad = np.array([7.0])
    gradcheck(lambda a: (a * 3.0).sum(), y)
    assert y.requires_grad and y.grad.tolist() == [7.0]


def test_closure_over_the_same_tensors_sees_the_perturbations():
    """Model parameters: f ignores its arguments and reads the tensors themselves."""
    rng = np.random.default_rng(3)
    w = t64(rng.standard_normal((3, 2)))
    b = t64(rng.standard_normal(2))
    x = t64(rng.standard_normal((5, 3)))

    def loss(*_):
        return ops.log_softmax(x @ w + b).mean()

    report = gradcheck(loss, w, b)
    assert report.ok and report.max_rel_error < 1e-7


def test_integer_inputs_pass_through_unchecked():
    rng = np.random.default_rng(4)
    logits = t64(rng.standard_normal((4, 3)))
    labels = nnlab.tensor(np.array([0, 2, 1, 2]))

    def nll(z, y):
        return -ops.log_softmax(z)[np.arange(4), y.data].mean()

    report = gradcheck(nll, logits, labels)
    assert report.ok and [r.input for r in report.inputs] == [0]


def test_arrays_are_accepted_and_not_modified():
    a = np.array([0.3, -0.7])
    report = gradcheck(lambda t: ops.sigmoid(t).sum(), a)
    assert report.ok
    np.testing.assert_array_equal(a, [0.3, -0.7])


def test_float32_input_warns_and_checks_a_float64_copy():
    x = nnlab.tensor([0.5, -0.25])
    with pytest.warns(UserWarning, match="float32.*float64"):
        report = gradcheck(lambda a: (a * a * a).sum(), x)
    assert report.ok
    assert x.dtype == np.float32


def test_wrt_selects_inputs():
    x, y = t64([1.0, 2.0]), t64([3.0, 4.0])
    report = gradcheck(lambda a, b: (a * b).sum(), x, y, wrt=[1])
    assert [r.input for r in report.inputs] == [1]


def test_sampling_checks_at_most_k_entries_per_input():
    calls = {"n": 0}
    x = t64(np.random.default_rng(5).standard_normal(500))

    def f(a):
        calls["n"] += 1
        return (a * a).sum()

    report = gradcheck(f, x, samples=10)
    assert report.inputs[0].checked == 10 and report.inputs[0].total == 500 and report.inputs[0].sampled
    assert calls["n"] == 2 + 2 * 10  # analytic pass, f(x), then two per entry
    assert report.ok and "sample" in str(report)
    # The default checks everything up to ``limit`` entries and samples beyond it.
    assert gradcheck(f, x, limit=50).inputs[0].checked == 50
    assert gradcheck(f, t64(np.ones(30))).inputs[0].checked == 30


def test_sampling_still_catches_a_bug():
    x = t64(np.random.default_rng(6).uniform(0.5, 1.5, 400))
    assert not gradcheck(lambda a: WrongSquare.apply(a).sum(), x, samples=5)


def test_kinked_function_across_the_kink_is_not_ok():
    """Crossing a kink (|x| at x = 0 within eps) gives a wrong numeric gradient, as the notes warn."""
    x = t64([1e-8, 0.5])
    report = gradcheck(lambda a: ops.abs(a).sum(), x, eps=1e-6)
    assert not report.ok and report.worst[0].index == (0,)
    assert report.kinks == 1 and report.worst[0].kink and "kink" in str(report)
    smooth_side = gradcheck(lambda a: ops.abs(a).sum(), t64([0.3, -0.5]))
    assert smooth_side.ok and smooth_side.kinks == 0


def test_no_kink_flagged_on_smooth_curved_functions():
    x = t64(np.linspace(-2, 2, 9))
    assert gradcheck(lambda a: (ops.exp(a * 3.0) + ops.tanh(a) * 5.0).sum(), x).kinks == 0


def test_stochastic_function_is_checked_with_the_same_random_draws():
    """Dropout sees the same mask in every evaluation (nnlab's generator is rewound)."""
    x = t64(np.random.default_rng(7).standard_normal((4, 5)))
    nnlab.manual_seed(11)
    report = gradcheck(lambda a: (ops.dropout(a, p=0.5) * a).sum(), x)
    assert report.ok and report.max_rel_error < 1e-7


def test_relative_error_definition_and_floor():
    np.testing.assert_allclose(rel_error([1.0, 0.0, -2.0], [1.1, 0.0, -2.0]), [0.1 / 1.1, 0.0, 0.0])
    assert rel_error(1e-12, -1e-12, floor=1e-10) == 0.0
    assert rel_error(1e-12, -1e-12, floor=0.0) == pytest.approx(2.0)


def test_verdict_thresholds_from_the_notes():
    assert verdict(0.5) == "wrong" and verdict(1e-3) == "suspicious"
    assert verdict(1e-5) == "acceptable" and verdict(1e-9) == "good"
    assert verdict(float("nan")) == "wrong"


def test_atol_floor_accepts_tiny_round_off():
    """An entry whose true gradient is 0 gets a numeric value of round-off size: the atol floor."""
    x = t64([1e-3, 2.0])
    f = lambda a: (a * a * 1e-9).sum()  # noqa: E731
    assert gradcheck(f, x, atol=1e-8).ok


def test_non_finite_gradient_is_reported_wrong():
    with np.errstate(divide="ignore", invalid="ignore"):
        report = gradcheck(lambda a: ops.sqrt(a).sum(), t64([0.0, 1.0]))
    assert not report.ok and report.verdict == "wrong"


def test_report_repr_and_table():
    report = gradcheck(lambda a: WrongSquare.apply(a).sum(), t64([1.0, 2.0]))
    r = repr(report)
    assert r.startswith("GradcheckReport(ok=False") and "max_rel_error=5.000e-01" in r
    s = str(report)
    assert "FAILED" in s and "worst entries" in s and "analytic" in s and "numeric" in s
    assert "(2,)" in s
    assert "OK" in str(gradcheck(lambda a: (a * a).sum(), t64([1.0])))


def test_bad_arguments():
    with pytest.raises(ValueError, match="eps"):
        gradcheck(lambda a: a.sum(), t64([1.0]), eps=0)
    with pytest.raises(ValueError, match="no floating-point input"):
        gradcheck(lambda a: a.sum(), nnlab.tensor([1, 2]))
    with pytest.raises(TypeError, match="must return a Tensor"):
        gradcheck(lambda a: 1.0, t64([1.0]))
    with pytest.raises(TypeError, match="input 0 has dtype int"):
        gradcheck(lambda a: a.sum(), nnlab.tensor([1, 2]), wrt=[0])
