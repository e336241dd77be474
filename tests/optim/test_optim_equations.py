"""The first steps of each optimizer against the notes' update equations, written out in NumPy.

The gradient comes from a quadratic f(x) = 1/2 x^T A x (dx = A x) evaluated at the current point, so
the trajectories depend on every earlier step (which separates Nesterov from plain momentum).
"""

import numpy as np
import pytest

from nnlab.nn import Parameter
from nnlab.optim import (
    SGD,
    Adagrad,
    Adam,
    RMSprop,
    adagrad_update,
    adam_update,
    rmsprop_update,
    sgd_momentum_update,
    sgd_nesterov_update,
    sgd_update,
)

A = np.array([[3.0, 0.5, 0.0], [0.5, 1.0, -0.2], [0.0, -0.2, 0.3]])
X0 = np.array([1.0, -2.0, 0.5])


def grad(x):
    return A @ x


def run_optimizer(opt_cls, steps, **kw):
    p = Parameter(X0.copy())
    opt = opt_cls([p], **kw)
    xs = []
    for _ in range(steps):
        p.grad = grad(p.data)
        opt.step()
        xs.append(p.data.copy())
    return xs


def check(xs, refs):
    assert len(xs) == len(refs)
    for k, (x, r) in enumerate(zip(xs, refs)):
        np.testing.assert_allclose(x, r, rtol=1e-13, atol=1e-15, err_msg=f"step {k + 1}")


def test_vanilla_sgd_matches_x_minus_lr_dx():
    lr = 0.1
    x, refs = X0.copy(), []
    for _ in range(3):
        dx = grad(x)
        x = x + -lr * dx  # x += - learning_rate * dx
        refs.append(x)
    check(run_optimizer(SGD, 3, lr=lr), refs)


def test_momentum_matches_notes():
    lr, mu = 0.1, 0.9
    x, v, refs = X0.copy(), np.zeros(3), []
    for _ in range(3):
        dx = grad(x)
        v = mu * v - lr * dx  # integrate velocity
        x = x + v  # integrate position
        refs.append(x)
    check(run_optimizer(SGD, 3, lr=lr, momentum=mu), refs)


def test_nesterov_matches_notes_form_with_v_prev():
    lr, mu = 0.1, 0.9
    x, v, refs = X0.copy(), np.zeros(3), []
    for _ in range(3):
        dx = grad(x)
        v_prev = v
        v = mu * v - lr * dx
        x = x + (-mu * v_prev + (1 + mu) * v)
        refs.append(x)
    check(run_optimizer(SGD, 3, lr=lr, momentum=mu, nesterov=True), refs)


def test_nesterov_is_not_plain_momentum():
    a = run_optimizer(SGD, 3, lr=0.1, momentum=0.9, nesterov=True)[-1]
    b = run_optimizer(SGD, 3, lr=0.1, momentum=0.9)[-1]
    assert np.abs(a - b).max() > 1e-3


def test_dampened_momentum_is_the_exponentially_weighted_average_form():
    # v_dW = b v_dW + (1 - b) dW;  W = W - a v_dW
    a, b = 0.1, 0.9
    x, v, refs = X0.copy(), np.zeros(3), []
    for _ in range(3):
        v = b * v + (1 - b) * grad(x)
        x = x - a * v
        refs.append(x)
    check(run_optimizer(SGD, 3, lr=a, momentum=b, dampening=b), refs)


def test_adagrad_matches_notes():
    lr, eps = 0.5, 1e-8
    x, cache, refs = X0.copy(), np.zeros(3), []
    for _ in range(3):
        dx = grad(x)
        cache += dx**2
        x = x + -lr * dx / (np.sqrt(cache) + eps)
        refs.append(x)
    check(run_optimizer(Adagrad, 3, lr=lr, eps=eps), refs)


def test_rmsprop_matches_notes():
    lr, decay_rate, eps = 0.01, 0.9, 1e-8
    x, cache, refs = X0.copy(), np.zeros(3), []
    for _ in range(3):
        dx = grad(x)
        cache = decay_rate * cache + (1 - decay_rate) * dx**2
        x = x + -lr * dx / (np.sqrt(cache) + eps)
        refs.append(x)
    check(run_optimizer(RMSprop, 3, lr=lr, decay_rate=decay_rate, eps=eps), refs)


def test_adam_matches_notes_with_bias_correction():
    lr, beta1, beta2, eps = 0.01, 0.9, 0.999, 1e-8
    x, m, v, refs = X0.copy(), np.zeros(3), np.zeros(3), []
    for t in range(1, 4):
        dx = grad(x)
        m = beta1 * m + (1 - beta1) * dx
        v = beta2 * v + (1 - beta2) * (dx**2)
        mt = m / (1 - beta1**t)
        vt = v / (1 - beta2**t)
        x = x + -lr * mt / (np.sqrt(vt) + eps)
        refs.append(x)
    check(run_optimizer(Adam, 3, lr=lr), refs)  # defaults: betas (0.9, 0.999), eps 1e-8


def test_adam_first_step_is_lr_times_sign():
    # With bias correction, mt = dx and vt = dx^2 at t = 1: the first step is -lr * sign(dx).
    x1 = run_optimizer(Adam, 1, lr=0.01)[0]
    np.testing.assert_allclose(x1 - X0, -0.01 * np.sign(grad(X0)), rtol=1e-6)


def test_weight_decay_adds_wd_times_x_to_the_gradient():
    lr, wd = 0.1, 0.01
    x, refs = X0.copy(), []
    for _ in range(2):
        x = x - lr * (grad(x) + wd * x)
        refs.append(x)
    check(run_optimizer(SGD, 2, lr=lr, weight_decay=wd), refs)


# ---- the pure update functions on their own --------------------------------------------------
def close(a, b):
    np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)  # float32 arithmetic


def test_pure_functions_work_in_place_on_given_arrays():
    rng = np.random.default_rng(0)
    w0, dw = rng.normal(size=(4, 5)).astype(np.float32), rng.normal(size=(4, 5)).astype(np.float32)
    tmp = np.empty_like(w0)

    w = w0.copy()
    sgd_update(w, dw, 0.1, tmp)
    close(w, w0 - 0.1 * dw)

    w, v = w0.copy(), np.full_like(w0, 0.3)
    sgd_momentum_update(w, dw, v, 0.1, 0.9, tmp)
    v_ref = 0.9 * 0.3 - 0.1 * dw
    close(v, v_ref)
    close(w, w0 + v_ref)

    w, v = w0.copy(), np.full_like(w0, 0.3)
    sgd_nesterov_update(w, dw, v, 0.1, 0.9, tmp)
    close(w, w0 - 0.9 * 0.3 + 1.9 * v_ref)

    w, cache = w0.copy(), np.full_like(w0, 2.0)
    adagrad_update(w, dw, cache, 0.1, 1e-8, tmp)
    close(cache, 2.0 + dw**2)
    close(w, w0 - 0.1 * dw / (np.sqrt(cache) + 1e-8))

    w, cache = w0.copy(), np.full_like(w0, 2.0)
    rmsprop_update(w, dw, cache, 0.1, 0.99, 1e-8, tmp)
    close(cache, 0.99 * 2.0 + 0.01 * dw**2)
    close(w, w0 - 0.1 * dw / (np.sqrt(cache) + 1e-8))

    w, m, v = w0.copy(), np.full_like(w0, 0.1), np.full_like(w0, 0.2)
    adam_update(w, dw, m, v, 5, 0.01, 0.9, 0.999, 1e-8, tmp)
    m_ref, v_ref2 = 0.9 * 0.1 + 0.1 * dw, 0.999 * 0.2 + 0.001 * dw**2
    close(m, m_ref)
    close(v, v_ref2)
    expect = w0 - 0.01 * (m_ref / (1 - 0.9**5)) / (np.sqrt(v_ref2 / (1 - 0.999**5)) + 1e-8)
    close(w, expect)


@pytest.mark.parametrize("eps", [1e-8, 1e-1])
def test_adam_eps_is_outside_the_square_root_of_the_corrected_average(eps):
    # A large eps makes the placement visible: eps is added to sqrt(vt), not to vt or to sqrt(v).
    dx = grad(X0)
    m, v = 0.1 * dx, 0.001 * dx**2
    expect = X0 - 0.01 * (m / 0.1) / (np.sqrt(v / 0.001) + eps)
    np.testing.assert_allclose(run_optimizer(Adam, 1, lr=0.01, eps=eps)[0], expect, rtol=1e-13)


@pytest.mark.parametrize("lr,damp", [(0.01, 0.0), (0.5, 0.3), (0.0, 0.0), (1e-35, 0.0), (0.1, 1.0)])
def test_momentum_update_equals_textbook_order_for_any_step(lr, damp):
    rng = np.random.default_rng(1)
    w0, dw = rng.normal(size=(64, 33)), rng.normal(size=(64, 33))
    v0 = rng.normal(size=(64, 33)) * 0.05
    w, v, tmp = w0.copy(), v0.copy(), np.empty_like(w0)
    sgd_momentum_update(w, dw, v, lr, 0.9, tmp, damp)
    v_ref = 0.9 * v0 - lr * (1 - damp) * dw
    np.testing.assert_allclose(v, v_ref, rtol=1e-12, atol=1e-300)
    np.testing.assert_allclose(w, w0 + v_ref, rtol=1e-12, atol=1e-300)
    assert np.isfinite(v).all()
