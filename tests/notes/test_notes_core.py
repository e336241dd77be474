"""The core notes' worked figures, reproduced through nnlab's public API.

Sources: /work/shared/notes/000 (cs231n: gates, SVM/softmax, networks, init, BN, regularization,
losses), 003 (the 784-16-16-10 digit recognizer), 004 (inverted dropout with keep_prob).
"""

import math

import numpy as np
import pytest

import nnlab
import nnlab.nn.functional as F
from nnlab import nn


def t64(a, grad=False):
    return nnlab.tensor(np.asarray(a, dtype=np.float64), requires_grad=grad)


# ---- 000: SVM vs softmax --------------------------------------------------------------------
def test_svm_worked_example_loss_8():
    # s = [13, -7, 11], correct class 0, delta 10: max(0, -7-13+10) + max(0, 11-13+10) = 0 + 8
    s = t64([[13.0, -7.0, 11.0]], grad=True)
    loss = F.multiclass_svm(s, np.array([0]), delta=10.0)
    assert loss.item() == 8.0
    loss.backward()
    # only the margin of class 2 is positive: it pushes s_2 down and s_0 up
    np.testing.assert_array_equal(s.grad, [[-1.0, 0.0, 1.0]])
    assert nn.MultiClassSVMLoss(delta=10.0)(s, np.array([0])).item() == 8.0


def test_svm_is_local_softmax_is_not():
    # scores [10, -2, 3] with class 0 correct: the SVM (delta 1) is satisfied, loss 0, and it sees
    # no difference between [10, 9, 9] and [10, -100, -100]; softmax keeps preferring the latter.
    y = np.array([0])
    assert F.multiclass_svm(t64([[10.0, -2.0, 3.0]]), y).item() == 0.0
    a, b = t64([[10.0, 9.0, 9.0]]), t64([[10.0, -100.0, -100.0]])
    assert F.multiclass_svm(a, y).item() == F.multiclass_svm(b, y).item() == 0.0
    ce_a, ce_b = F.cross_entropy(a, y).item(), F.cross_entropy(b, y).item()
    assert ce_a == pytest.approx(math.log(1 + 2 * math.exp(-1)))
    assert 0 <= ce_b < 1e-40


def test_softmax_of_123_456_789_is_finite_and_correct():
    f = [123.0, 456.0, 789.0]
    with np.errstate(over="ignore", invalid="ignore"):
        naive = np.exp(np.array(f)) / np.exp(np.array(f)).sum()
    assert np.isnan(naive).any()  # the notes' warning: exp(789) overflows
    p = F.softmax(nnlab.tensor(f)).data  # float32, as a model would compute it
    assert p.dtype == np.float32 and np.isfinite(p).all()
    want = np.exp(np.array(f) - 789.0) / np.exp(np.array(f) - 789.0).sum()
    np.testing.assert_allclose(p, want, rtol=1e-6, atol=1e-30)
    assert p[2] == pytest.approx(1.0)
    # the loss stays finite too, and log-softmax keeps the tiny probabilities' logs exactly
    lp = F.log_softmax(t64(f)).data
    np.testing.assert_allclose(lp, [123 - 789, 456 - 789, 0.0], atol=1e-9)
    assert F.cross_entropy(t64([f]), np.array([0])).item() == pytest.approx(789 - 123)


def test_initial_softmax_loss_is_ln_c():
    # With small weights every class gets probability ~1/10, loss -ln(0.1) = 2.302 (CIFAR-10).
    nnlab.manual_seed(0)
    model = nn.Sequential(nn.Linear(3072, 50, init="small"), nn.ReLU(), nn.Linear(50, 10, init="small"))
    x = nnlab.tensor(np.random.default_rng(123).standard_normal((64, 3072)).astype(np.float32))
    loss = F.cross_entropy(model(x), np.random.default_rng(1).integers(0, 10, 64)).item()
    assert loss == pytest.approx(math.log(10), abs=0.01)
    assert math.log(10) == pytest.approx(2.302, abs=1e-3)


# ---- 000: backprop through the sigmoid neuron ------------------------------------------------------
def test_sigmoid_gate_example():
    # f(w, x) = 1 / (1 + exp(-(w0 x0 + w1 x1 + w2))), w = [2, -3, -3], x = [-1, -2]
    w = t64([2.0, -3.0, -3.0], grad=True)
    x = t64([-1.0, -2.0], grad=True)
    f = F.sigmoid(w[0] * x[0] + w[1] * x[1] + w[2])
    assert f.item() == pytest.approx(1 / (1 + math.exp(-1.0)))
    f.backward()
    np.testing.assert_allclose(x.grad, [0.3932238664829637, -0.5898357997244456], rtol=1e-12)
    np.testing.assert_allclose(w.grad, [-0.19661193324148185, -0.3932238664829637, 0.19661193324148185], rtol=1e-12)
    np.testing.assert_allclose(np.round(x.grad, 4), [0.3932, -0.5898])
    np.testing.assert_allclose(np.round(w.grad, 4), [-0.1966, -0.3932, 0.1966])


def test_sigmoid_gate_local_gradient_is_1_minus_s_times_s():
    z = t64([1.0], grad=True)
    s = F.sigmoid(z)
    s.backward()
    assert z.grad[0] == pytest.approx((1 - s.item()) * s.item()) == pytest.approx(0.19661193324148185)


# ---- 000 / 003: network sizes ---------------------------------------------------------------------
def test_parameter_counts_of_the_notes_networks():
    two_layer = nn.Sequential(nn.Linear(3, 4), nn.Sigmoid(), nn.Linear(4, 2))
    three_layer = nn.Sequential(nn.Linear(3, 4), nn.Sigmoid(), nn.Linear(4, 4), nn.Sigmoid(), nn.Linear(4, 1))
    assert two_layer.num_parameters() == 26  # 4*3 + 2*4 weights + 6 biases
    assert three_layer.num_parameters() == 41  # 32 weights + 9 biases
    digits = nn.Sequential(
        nn.Linear(784, 16, init="xavier"),
        nn.Sigmoid(),
        nn.Linear(16, 16, init="xavier"),
        nn.Sigmoid(),
        nn.Linear(16, 10, init="xavier"),
        nn.Sigmoid(),
    )
    assert digits.num_parameters() == 13002  # the 003 digit recognizer


@pytest.mark.parametrize(
    "sizes,neurons,weights,biases,total",
    [
        ((3, 4, 2), 6, 20, 6, 26),  # [3*4] + [4*2] = 20 weights, 4 + 2 biases
        ((3, 4, 4, 1), 9, 32, 9, 41),  # [3*4] + [4*4] + [4*1] = 32 weights, 9 biases
    ],
)
def test_parameter_count_breakdown(sizes, neurons, weights, biases, total):
    layers = []
    for n_in, n_out in zip(sizes[:-1], sizes[1:]):
        layers += [nn.Linear(n_in, n_out), nn.Sigmoid()]
    net = nn.Sequential(*layers[:-1])
    named = dict(net.named_parameters())
    assert sum(p.size for n, p in named.items() if n.endswith("weight")) == weights
    assert sum(p.size for n, p in named.items() if n.endswith("bias")) == biases
    assert sum(m.out_features for m in net if isinstance(m, nn.Linear)) == neurons
    assert net.num_parameters() == total


def test_digit_recognizer_mse_step_reduces_loss():
    # 784-16-16-10 sigmoid net with MSE against one-hot targets (003), one SGD step helps.
    nnlab.manual_seed(0)
    net = nn.Sequential(
        nn.Linear(784, 16, init="xavier"),
        nn.Sigmoid(),
        nn.Linear(16, 16, init="xavier"),
        nn.Sigmoid(),
        nn.Linear(16, 10, init="xavier"),
        nn.Sigmoid(),
    )
    rng = np.random.default_rng(0)
    x = nnlab.tensor(rng.random((32, 784)).astype(np.float32))
    y = np.eye(10, dtype=np.float32)[rng.integers(0, 10, 32)]
    losses = []
    for _ in range(2):
        loss = nn.MSELoss()(net(x), y)
        losses.append(loss.item())
        net.zero_grad()
        loss.backward()
        for p in net.parameters():
            p.data -= 1.0 * p.grad
    assert losses[1] < losses[0]


# ---- 004: exponentially weighted averages, bias correction, Adam -------------------------------------
def _ewa_through_sgd(thetas, beta):
    """V_t = beta V_{t-1} + (1 - beta) theta_t, read off SGD's dampened momentum (v = -lr V, lr = 1)."""
    p = nnlab.nn.Parameter(np.zeros(1))
    opt = nnlab.optim.SGD([p], lr=1.0, momentum=beta, dampening=beta)
    vs = []
    for theta in thetas:
        before = p.data.copy()
        p.grad = np.array([theta])
        opt.step()
        vs.append(float(before[0] - p.data[0]))  # x += v with v = -V_t
    return vs


def test_exponentially_weighted_average_averages_about_1_over_1_minus_beta_points():
    beta = 0.9
    # an impulse at t = 1 followed by zeros: its weight t steps later is (1 - beta) beta^t
    vs = _ewa_through_sgd([1.0] + [0.0] * 10, beta)
    np.testing.assert_allclose(vs, [(1 - beta) * beta**t for t in range(11)], rtol=1e-12)
    # after 1/(1 - beta) = 10 steps the weight has fallen below 1/e of where it started
    assert vs[10] / vs[0] == pytest.approx(0.9**10) == pytest.approx(0.3487, abs=1e-4)
    assert vs[10] / vs[0] < 1 / math.e < vs[9] / vs[0]


def test_bias_correction_removes_the_start_at_zero():
    beta = 0.9
    vs = _ewa_through_sgd([5.0] * 30, beta)  # a constant series
    assert vs[0] == pytest.approx(0.5)  # V_1 = (1 - beta) theta_1: far too small
    corrected = [v / (1 - beta**t) for t, v in enumerate(vs, start=1)]
    np.testing.assert_allclose(corrected, 5.0, rtol=1e-12)
    assert vs[-1] == pytest.approx(5.0, rel=0.05)  # for large t the correction hardly matters


def test_adam_keeps_bias_corrected_moments_with_the_notes_defaults():
    p = nnlab.nn.Parameter(np.array([1.0, -2.0, 3.0]))
    opt = nnlab.optim.Adam([p], lr=0.01)
    b1, b2 = opt.param_groups[0]["betas"]
    assert (b1, b2, opt.param_groups[0]["eps"]) == (0.9, 0.999, 1e-8)
    g = np.array([0.5, -4.0, 2.0])
    p.grad = g.copy()
    opt.step()
    st = opt.state[0]
    np.testing.assert_allclose(st["exp_avg"], (1 - b1) * g, rtol=1e-12)  # v_dW, biased low
    np.testing.assert_allclose(st["exp_avg_sq"], (1 - b2) * g**2, rtol=1e-12)  # S_dW
    np.testing.assert_allclose(st["exp_avg"] / (1 - b1**1), g, rtol=1e-12)  # corrected: dW
    np.testing.assert_allclose(st["exp_avg_sq"] / (1 - b2**1), g**2, rtol=1e-12)
    np.testing.assert_allclose(p.data, [1.0, -2.0, 3.0] - 0.01 * g / (np.abs(g) + 1e-8), rtol=1e-12)


# ---- 000: regularization ----------------------------------------------------------------------------
def test_l2_prefers_diffuse_weights():
    # x = [1,1,1,1]; w1 = [1,0,0,0] and w2 = [.25]*4 score the same, but R(w1) = 1 > R(w2) = 0.25.
    x = np.ones(4)
    w1, w2 = np.array([[1.0, 0, 0, 0]]), np.full((1, 4), 0.25)
    assert (w1 @ x).item() == (w2 @ x).item() == 1.0
    lin1, lin2 = nn.Linear(4, 1).double(), nn.Linear(4, 1).double()
    lin1.weight.data[:] = w1
    lin2.weight.data[:] = w2
    reg = nn.Regularizer(l2=2.0)  # (lambda/2) sum w^2 with lambda = 2 is sum w^2
    assert reg(lin1).item() == pytest.approx(1.0)
    assert reg(lin2).item() == pytest.approx(0.25)


def test_l2_gradient_is_lambda_w():
    lin = nn.Linear(5, 3).double()
    nn.Regularizer(l2=0.01)(lin).backward()
    np.testing.assert_allclose(lin.weight.grad, 0.01 * lin.weight.data, rtol=1e-12)
    assert lin.bias.grad is None  # biases are not regularized by default


def test_max_norm_bounds_every_unit():
    lin = nn.Linear(10, 20)
    lin.weight.data *= 100
    nn.MaxNorm(c=3.0).apply(lin)
    assert np.linalg.norm(lin.weight.data, axis=1).max() <= 3.0 * (1 + 1e-6)


# ---- 000 / 004: inverted dropout -----------------------------------------------------------------------
def test_inverted_dropout_keeps_expectation_and_is_identity_at_test_time():
    keep_prob = 0.8  # the notes' keep_prob; nnlab's p is the drop probability 1 - keep_prob
    nnlab.manual_seed(0)
    layer = nn.Dropout(p=1 - keep_prob)
    a = nnlab.tensor(np.full((500, 400), 2.0, dtype=np.float32))
    out = layer(a).data
    assert (out != 0).mean() == pytest.approx(keep_prob, abs=0.01)
    assert out.mean() == pytest.approx(2.0, rel=0.01)  # a /= keep_prob keeps E[a]
    layer.eval()
    np.testing.assert_array_equal(layer(a).data, a.data)  # no scaling at prediction time


# ---- 000 / 004: batch normalization at train and test time --------------------------------------------
def test_batchnorm_uses_running_stats_at_test_time():
    rng = np.random.default_rng(0)
    bn = nn.BatchNorm1d(4, momentum=0.1)
    for _ in range(200):
        bn(nnlab.tensor((rng.standard_normal((32, 4)) * 3 + 5).astype(np.float32)))
    np.testing.assert_allclose(bn.running_mean, 5.0, atol=0.3)
    np.testing.assert_allclose(bn.running_var, 9.0, rtol=0.15)
    bn.eval()
    single = nnlab.tensor(np.full((1, 4), 5.0, dtype=np.float32))  # one example: no batch stats
    np.testing.assert_allclose(bn(single).data[0], (5.0 - bn.running_mean) / np.sqrt(bn.running_var + 1e-5), rtol=1e-5)


# ---- 000: losses for attributes, regression, many classes ---------------------------------------------
def test_attribute_logistic_gradient_is_sigma_minus_y():
    f = t64([[0.3, -1.2, 2.0]], grad=True)
    y = np.array([[1.0, 0.0, 1.0]])
    F.binary_cross_entropy_with_logits(f, y, reduction="batchmean").backward()
    sig = 1 / (1 + np.exp(-f.data))
    np.testing.assert_allclose(f.grad, sig - y, rtol=1e-12)  # the notes' y - sigma, for -log L


def test_regression_gradients_l2_delta_and_l1_sign():
    f = t64([[1.0, -2.0, 0.5]], grad=True)
    y = np.array([[0.0, 1.0, 0.0]])
    F.l2_loss(f, y).backward()
    np.testing.assert_allclose(f.grad, 2 * (f.data - y))  # d/df ||f - y||^2 = 2 delta
    f.grad = None
    F.l1_loss(f, y, reduction="batchmean").backward()
    np.testing.assert_allclose(f.grad, np.sign(f.data - y))


def test_hierarchical_softmax_binary_tree_of_four_classes():
    # Balanced binary tree: each internal node is a two-way softmax (a logistic decision).
    parents = [-1, 0, 0, 1, 1, 2, 2]
    s = t64(np.random.default_rng(0).standard_normal((2, 7)))
    total = sum(
        np.exp(-F.hierarchical_softmax_loss(s, np.array([k, k]), parents, reduction="none").data) for k in range(4)
    )
    np.testing.assert_allclose(total, 1.0, rtol=1e-12)


# ---- bad input ----------------------------------------------------------------------------------------------
def test_clear_errors_on_bad_input():
    with pytest.raises(ValueError, match=r"Linear\(784->10\).*784.*\(64, 64\)"):
        nn.Linear(784, 10)(nnlab.tensor(np.zeros((64, 64), dtype=np.float32)))
    with pytest.raises(ValueError, match=r"cross_entropy: labels must lie in \[0, 10\); got 10"):
        F.cross_entropy(nnlab.tensor(np.zeros((2, 10), dtype=np.float32)), np.array([3, 10]))
    with pytest.raises(ValueError, match="non-finite"):
        F.cross_entropy(nnlab.tensor(np.array([[np.nan, 0.0]], dtype=np.float32)), np.array([0]))
    with pytest.raises(TypeError, match="floating-point"):
        nn.ReLU()(nnlab.tensor(np.arange(4)))
