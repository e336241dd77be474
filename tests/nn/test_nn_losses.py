"""Loss gates: float64 gradient checks, PyTorch parity, reductions and input errors."""

import numpy as np
import pytest

import nnlab
import nnlab.nn.functional as F
from nnlab import nn
from nnlab.engine.ops.loss import LabelTree

RTOL = 1e-7  # the notes' "good" relative error, for smooth losses


def t64(a, grad=True):
    return nnlab.tensor(np.asarray(a, dtype=np.float64), requires_grad=grad)


@pytest.fixture
def rng():
    return np.random.default_rng(0)


def away_from_kinks_svm(rng, n=6, c=5, delta=1.0):
    """Scores whose margins s_j - s_y + delta all stay >= 0.05 away from 0."""
    while True:
        s = rng.standard_normal((n, c)) * 2
        y = rng.integers(0, c, n)
        m = s - s[np.arange(n), y][:, None] + delta
        m[np.arange(n), y] = 1.0
        if np.abs(m).min() > 0.05:
            return s, y


# ---- gradient checks -----------------------------------------------------------------------
def test_cross_entropy_gradcheck_int_labels(rng):
    x = t64(rng.standard_normal((7, 5)))
    y = rng.integers(0, 5, 7)
    rep = nnlab.gradcheck(lambda a: F.cross_entropy(a, y), x, rtol=RTOL)
    assert rep.ok, rep


def test_cross_entropy_gradcheck_probabilities(rng):
    x = t64(rng.standard_normal((6, 4)))
    p = rng.random((6, 4))
    p /= p.sum(1, keepdims=True)
    rep = nnlab.gradcheck(lambda a: F.cross_entropy(a, p), x, rtol=RTOL)
    assert rep.ok, rep


@pytest.mark.parametrize("reduction", ["sum", "none"])
def test_cross_entropy_reductions_gradcheck(rng, reduction):
    x = t64(rng.standard_normal((5, 3)))
    y = rng.integers(0, 3, 5)
    rep = nnlab.gradcheck(lambda a: F.cross_entropy(a, y, reduction=reduction), x, rtol=RTOL)
    assert rep.ok, rep


def test_cross_entropy_grad_is_p_minus_y_over_n(rng):
    x = t64(rng.standard_normal((4, 3)))
    y = np.array([0, 2, 1, 2])
    F.cross_entropy(x, y).backward()
    p = np.exp(x.data) / np.exp(x.data).sum(1, keepdims=True)
    np.testing.assert_allclose(x.grad, (p - np.eye(3)[y]) / 4, rtol=1e-12)


def test_one_hot_equals_int_labels(rng):
    x = rng.standard_normal((5, 4))
    y = rng.integers(0, 4, 5)
    a = F.cross_entropy(t64(x, False), y).item()
    b = F.cross_entropy(t64(x, False), np.eye(4)[y]).item()
    assert a == pytest.approx(b, rel=1e-12)


@pytest.mark.parametrize("squared", [False, True])
def test_multiclass_svm_gradcheck(rng, squared):
    s, y = away_from_kinks_svm(rng)
    rep = nnlab.gradcheck(lambda a: F.multiclass_svm(a, y, squared=squared), t64(s), rtol=RTOL)
    assert rep.ok, rep


def test_binary_hinge_gradcheck(rng):
    f = rng.standard_normal((5, 4))
    f[np.abs(np.abs(f) - 1) < 0.05] += 0.2
    y = np.where(rng.random((5, 4)) < 0.5, -1, 1)
    rep = nnlab.gradcheck(lambda a: F.binary_hinge(a, y), t64(f), rtol=RTOL)
    assert rep.ok, rep


def test_bce_with_logits_gradcheck(rng):
    f = rng.standard_normal((5, 4)) * 3
    y = (rng.random((5, 4)) < 0.5).astype(np.float64)
    rep = nnlab.gradcheck(lambda a: F.binary_cross_entropy_with_logits(a, y), t64(f), rtol=RTOL)
    assert rep.ok, rep


@pytest.mark.parametrize("fn", ["mse_loss", "l2_loss", "l1_loss"])
def test_regression_gradcheck_both_inputs(rng, fn):
    f = rng.standard_normal((6, 3))
    t = f + rng.choice([-1, 1], size=f.shape) * (0.1 + rng.random(f.shape))  # |f - t| >= 0.1
    rep = nnlab.gradcheck(lambda a, b: getattr(F, fn)(a, b), t64(f), t64(t), rtol=RTOL)
    assert rep.ok, rep


def test_hierarchical_softmax_gradcheck(rng):
    parents = [-1, 0, 0, 1, 1, 2, 2, 2, 3, 3]  # leaves 4..9 (6 classes), mixed depths and arities
    tree = LabelTree(parents)
    assert tree.num_classes == 6
    s = rng.standard_normal((8, 10))
    y = rng.integers(0, 6, 8)
    rep = nnlab.gradcheck(lambda a: F.hierarchical_softmax_loss(a, y, tree), t64(s), rtol=RTOL)
    assert rep.ok, rep


# ---- values ----------------------------------------------------------------------------------------
def test_hierarchical_softmax_probabilities_sum_to_one(rng):
    parents = [-1, 0, 0, 1, 1, 2, 2, 2, 3, 3]
    tree = LabelTree(parents)
    s = rng.standard_normal((3, 10))
    losses = np.stack(
        [F.hierarchical_softmax_loss(t64(s, False), np.full(3, k), tree, reduction="none").data for k in range(6)], 1
    )
    np.testing.assert_allclose(np.exp(-losses).sum(1), 1.0, rtol=1e-12)


def test_hierarchical_softmax_path_product():
    # root 0 -> {1, 2}; 1 -> {3, 4}. Class 1 is node 3: P = softmax(s1, s2)[0] * softmax(s3, s4)[0].
    s = np.array([[0.0, 0.3, -0.2, 1.0, 0.5]])
    sm = lambda a, b: np.exp(a) / (np.exp(a) + np.exp(b))
    want = -np.log(sm(0.3, -0.2) * sm(1.0, 0.5))
    got = F.hierarchical_softmax_loss(t64(s, False), np.array([1]), [-1, 0, 0, 1, 1]).item()
    assert got == pytest.approx(want, rel=1e-12)


def test_flat_tree_is_softmax(rng):
    s = rng.standard_normal((4, 5))
    y = rng.integers(0, 4, 4)
    hs = F.hierarchical_softmax_loss(t64(s, False), y, [-1, 0, 0, 0, 0]).item()
    ce = F.cross_entropy(t64(s[:, 1:], False), y).item()
    assert hs == pytest.approx(ce, rel=1e-12)


def test_label_tree_rejects_cycles_and_two_roots():
    with pytest.raises(ValueError, match="cycle"):
        LabelTree([-1, 2, 1])
    with pytest.raises(ValueError, match="one root"):
        LabelTree([-1, -1, 0])


def test_batchmean_vs_mean(rng):
    f, t = rng.standard_normal((4, 3)), rng.standard_normal((4, 3))
    m = F.mse_loss(t64(f, False), t).item()
    l2 = F.l2_loss(t64(f, False), t).item()
    assert m == pytest.approx(((f - t) ** 2).mean())
    assert l2 == pytest.approx(((f - t) ** 2).sum(1).mean())
    assert F.l1_loss(t64(f, False), t, reduction="batchmean").item() == pytest.approx(np.abs(f - t).sum(1).mean())


def test_binary_hinge_value():
    f = np.array([[2.0, 0.5, -0.3]])
    y = np.array([[1, 1, -1]])
    # max(0, 1-2) + max(0, 1-0.5) + max(0, 1-0.3)
    assert F.binary_hinge(t64(f, False), y).item() == pytest.approx(0.5 + 0.7)


def test_float32_preserved(rng):
    x = nnlab.tensor(rng.standard_normal((4, 3)).astype(np.float32), requires_grad=True)
    y = np.array([0, 1, 2, 1])
    for loss in (
        F.cross_entropy(x, y),
        F.multiclass_svm(x, y),
        F.mse_loss(x, np.zeros((4, 3))),
        F.binary_cross_entropy_with_logits(x, np.ones((4, 3))),
        F.hierarchical_softmax_loss(x, np.array([0, 1, 0, 1]), [-1, 0, 0]),
    ):
        assert loss.dtype == np.float32
        x.grad = None
        loss.backward()
        assert x.grad.dtype == np.float32


def test_stable_with_huge_logits():
    x = t64([[1000.0, -1000.0, 0.0]])
    loss = F.cross_entropy(x, np.array([1]))
    assert loss.item() == pytest.approx(2000.0)
    loss.backward()
    assert np.isfinite(x.grad).all()
    assert np.isfinite(F.binary_cross_entropy_with_logits(t64([[800.0, -800.0]]), np.array([[0, 1]])).item())


# ---- errors -------------------------------------------------------------------------------------------
def test_label_out_of_range_names_op_and_value():
    x = t64(np.zeros((3, 4)))
    with pytest.raises(ValueError, match=r"cross_entropy.*\[0, 4\).*got 4"):
        F.cross_entropy(x, np.array([0, 4, 1]))
    with pytest.raises(ValueError, match=r"multiclass_svm.*got -1"):
        F.multiclass_svm(x, np.array([0, -1, 1]))


def test_nan_inf_in_logits():
    with pytest.raises(ValueError, match="cross_entropy.*non-finite"):
        F.cross_entropy(t64([[0.0, np.nan]]), np.array([0]))
    with pytest.raises(ValueError, match="mse_loss.*non-finite"):
        F.mse_loss(t64([[np.inf]]), np.zeros((1, 1)))


def test_other_bad_inputs():
    x = t64(np.zeros((3, 4)))
    with pytest.raises(TypeError, match="integer class labels"):
        F.cross_entropy(x, np.array([0.0, 1.0, 2.0]))
    with pytest.raises(ValueError, match="expected 3 labels"):
        F.cross_entropy(x, np.array([0, 1]))
    with pytest.raises(ValueError, match=r"binary_hinge: labels must be \+1 or -1, got 0"):
        F.binary_hinge(x, np.zeros((3, 4), dtype=int))
    with pytest.raises(ValueError, match="mse_loss: target must have"):
        F.mse_loss(x, np.zeros((3, 1)))
    with pytest.raises(TypeError, match="floating-point"):
        F.cross_entropy(nnlab.tensor(np.zeros((2, 2), dtype=np.int64)), np.array([0, 1]))


def test_loss_modules_match_functional(rng):
    x = t64(rng.standard_normal((5, 3)), False)
    y = rng.integers(0, 3, 5)
    assert nn.CrossEntropyLoss()(x, y).item() == F.cross_entropy(x, y).item()
    assert nn.MultiClassSVMLoss(delta=2.0, squared=True)(x, y).item() == F.multiclass_svm(x, y, 2.0, True).item()
    t = rng.standard_normal((5, 3))
    assert nn.MSELoss()(x, t).item() == F.mse_loss(x, t).item()
    assert nn.L1Loss()(x, t).item() == F.l1_loss(x, t).item()
    b = (t > 0).astype(float)
    assert nn.BCEWithLogitsLoss()(x, b).item() == F.binary_cross_entropy_with_logits(x, b).item()
    assert nn.BinaryHingeLoss()(x, 2 * b - 1).item() == F.binary_hinge(x, 2 * b - 1).item()
    h = nn.HierarchicalSoftmaxLoss([-1, 0, 0])
    assert h(t64(rng.standard_normal((2, 3)), False), np.array([0, 1])).item() > 0
    assert repr(nn.MultiClassSVMLoss()) == "MultiClassSVMLoss(delta=1.0, squared=False, reduction='mean')"


@pytest.mark.parametrize(
    "make,match",
    [
        (
            lambda: nn.CrossEntropyLoss(reduction="batchmean"),
            r"CrossEntropyLoss: reduction must be one of \('mean', 'sum', 'none'\), got 'batchmean'",
        ),
        (lambda: nn.MSELoss(reduction="avg"), r"MSELoss: reduction must be one of .*'batchmean'\), got 'avg'"),
        (lambda: nn.HierarchicalSoftmaxLoss([-1, 0, 0], reduction="mean "), r"HierarchicalSoftmaxLoss: reduction"),
        (lambda: nn.MultiClassSVMLoss(delta=-1.0), r"MultiClassSVMLoss: delta must be a finite number >= 0, got -1.0"),
        (lambda: nn.MultiClassSVMLoss(delta="1"), r"MultiClassSVMLoss: delta must be a finite number >= 0, got '1'"),
    ],
)
def test_loss_modules_check_their_settings_when_built(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_loss_modules_accept_every_reduction_their_function_does(rng):
    x = t64(rng.standard_normal((4, 3)), False)
    t = rng.standard_normal((4, 3))
    for reduction in ("mean", "sum", "none", "batchmean"):
        assert np.allclose(nn.MSELoss(reduction=reduction)(x, t).data, F.mse_loss(x, t, reduction=reduction).data)
        assert np.allclose(nn.L1Loss(reduction=reduction)(x, t).data, F.l1_loss(x, t, reduction=reduction).data)


# ---- PyTorch parity -----------------------------------------------------------------------------------
torch_reason = "PyTorch is the reference for parity tests; skipped when it is not installed"


def _torch_pair(x_np, fn_nnlab, fn_torch):
    torch = pytest.importorskip("torch", reason=torch_reason)
    a = t64(x_np)
    la = fn_nnlab(a)
    la.backward()
    b = torch.tensor(x_np, dtype=torch.float64, requires_grad=True)
    lb = fn_torch(b, torch)
    lb.backward()
    np.testing.assert_allclose(la.item(), lb.item(), rtol=1e-10)
    np.testing.assert_allclose(a.grad, b.grad.numpy(), rtol=1e-9, atol=1e-12)


def test_torch_cross_entropy(rng):
    x, y = rng.standard_normal((6, 4)), rng.integers(0, 4, 6)
    _torch_pair(x, lambda a: F.cross_entropy(a, y), lambda b, t: t.nn.functional.cross_entropy(b, t.tensor(y)))


def test_torch_cross_entropy_probabilities(rng):
    x, p = rng.standard_normal((6, 4)), rng.dirichlet(np.ones(4), 6)
    _torch_pair(x, lambda a: F.cross_entropy(a, p), lambda b, t: t.nn.functional.cross_entropy(b, t.tensor(p)))


def test_torch_multi_margin(rng):
    # torch's multi_margin_loss divides each example's sum by C; nnlab follows the notes (no 1/C).
    s, y = away_from_kinks_svm(rng, c=4)
    _torch_pair(
        s,
        lambda a: F.multiclass_svm(a, y) / 4,
        lambda b, t: t.nn.functional.multi_margin_loss(b, t.tensor(y), margin=1.0),
    )
    _torch_pair(
        s,
        lambda a: F.multiclass_svm(a, y, squared=True) / 4,
        lambda b, t: t.nn.functional.multi_margin_loss(b, t.tensor(y), p=2, margin=1.0),
    )


def test_torch_bce_mse_l1(rng):
    x = rng.standard_normal((5, 3)) * 2
    y = (rng.random((5, 3)) < 0.5).astype(np.float64)
    tgt = rng.standard_normal((5, 3))
    _torch_pair(
        x,
        lambda a: F.binary_cross_entropy_with_logits(a, y),
        lambda b, t: t.nn.functional.binary_cross_entropy_with_logits(b, t.tensor(y)),
    )
    _torch_pair(x, lambda a: F.mse_loss(a, tgt), lambda b, t: t.nn.functional.mse_loss(b, t.tensor(tgt)))
    _torch_pair(x, lambda a: F.l1_loss(a, tgt), lambda b, t: t.nn.functional.l1_loss(b, t.tensor(tgt)))


def test_torch_hinge_embedding_like(rng):
    # Binary hinge equals torch's soft-margin-free form: relu(1 - y f) summed per example, batch mean.
    f = rng.standard_normal((4, 3))
    y = np.where(rng.random((4, 3)) < 0.5, -1.0, 1.0)
    _torch_pair(f, lambda a: F.binary_hinge(a, y), lambda b, t: t.relu(1 - t.tensor(y) * b).sum(1).mean())


@pytest.mark.parametrize("fn", [F.mse_loss, F.l1_loss, F.l2_loss])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none", "batchmean"])
def test_regression_losses_name_non_finite_inputs_for_every_reduction(fn, reduction):
    kw = {} if fn is F.l2_loss else {"reduction": reduction}
    name = fn.__name__
    good = np.ones((2, 3))
    for bad in (np.nan, np.inf, -np.inf):
        pred = good.copy()
        pred[1, 2] = bad
        with pytest.raises(ValueError, match=f"{name}.*scores contain non-finite"):
            fn(t64(pred), good, **kw)
        target = good.copy()
        target[0, 1] = bad
        with pytest.raises(ValueError, match=f"{name}.*target contains non-finite"):
            fn(t64(good), target, **kw)


def test_mse_overflow_of_finite_inputs_is_not_an_input_error():
    # Finite float32 inputs whose squared difference overflows give an infinite loss, not an error.
    pred = nnlab.tensor(np.full((2, 2), 3e38, dtype=np.float32), requires_grad=True)
    with np.errstate(over="ignore"):
        loss = F.mse_loss(pred, np.zeros((2, 2), dtype=np.float32))
    assert np.isinf(loss.item())


@pytest.mark.parametrize("reduction", ["mean", "sum", "batchmean"])
def test_mse_reduced_value_and_gradient_in_float32(reduction):
    r = np.random.default_rng(3)
    f, t = r.standard_normal((10, 10)).astype(np.float32), r.standard_normal((10, 10)).astype(np.float32)
    x = nnlab.tensor(f, requires_grad=True)
    loss = F.mse_loss(x, t, reduction=reduction)
    loss.backward()
    d = f.astype(np.float64) - t
    denom = {"mean": d.size, "sum": 1, "batchmean": d.shape[0]}[reduction]
    assert loss.data.dtype == np.float32 and x.grad.dtype == np.float32
    np.testing.assert_allclose(loss.item(), (d * d).sum() / denom, rtol=1e-6)
    np.testing.assert_allclose(x.grad, 2 * d / denom, rtol=1e-6)
