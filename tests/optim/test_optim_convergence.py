"""Convergence on an ill-conditioned quadratic bowl and on the Rosenbrock function.

Budgets and tolerances are what each method, with the stated hyperparameters, reaches with margin
(float64, gradient computed in closed form at the current point; the final point is checked).
"""

import numpy as np
import pytest

from nnlab.nn import Parameter
from nnlab.optim import LBFGS, SGD, Adagrad, Adam, RMSprop
from nnlab.optim.schedules import ExponentialLR

BOWL = np.diag([1.0, 100.0])  # condition number 100


def bowl(x):
    return 0.5 * x @ BOWL @ x, BOWL @ x


def rosenbrock(x):
    a, b = x
    f = (1 - a) ** 2 + 100 * (b - a * a) ** 2
    g = np.array([-2 * (1 - a) - 400 * a * (b - a * a), 200 * (b - a * a)])
    return f, g


def descend(make, fn, x0, steps, gamma=None):
    """``steps`` updates; with ``gamma`` the lr is multiplied by it after each step (ExponentialLR)."""
    p = Parameter(np.array(x0, dtype=np.float64))
    opt = make([p])
    sched = None if gamma is None else ExponentialLR(opt, gamma=gamma)
    for _ in range(steps):
        p.grad = fn(p.data)[1]
        opt.step()
        if sched is not None:
            sched.step()
    return p.data


# name: (factory, steps on the bowl to 1e-6 of 0)
BOWL_CASES = {
    "sgd": (lambda ps: SGD(ps, lr=0.019), 800),
    "momentum": (lambda ps: SGD(ps, lr=0.01, momentum=0.9), 400),
    "nesterov": (lambda ps: SGD(ps, lr=0.01, momentum=0.9, nesterov=True), 300),
    "adagrad": (lambda ps: Adagrad(ps, lr=0.5), 300),
    "adam": (lambda ps: Adam(ps, lr=0.05), 1500),
}


@pytest.mark.parametrize("name", list(BOWL_CASES))
def test_converges_on_ill_conditioned_bowl(name):
    make, steps = BOWL_CASES[name]
    x = descend(make, bowl, [1.0, 1.0], steps)
    assert np.abs(x).max() < 1e-6, f"{name}: {x} after {steps} steps"


# name: (factory, steps, tolerance) from (-1.5, 2) to the minimum (1, 1)
ROSEN_CASES = {
    "sgd": (lambda ps: SGD(ps, lr=1e-3), 25000, 1e-3),
    "momentum": (lambda ps: SGD(ps, lr=2e-4, momentum=0.9), 12000, 1e-3),
    "nesterov": (lambda ps: SGD(ps, lr=2e-4, momentum=0.9, nesterov=True), 12000, 1e-3),
    "adagrad": (lambda ps: Adagrad(ps, lr=0.5), 20000, 1e-3),
    "adam": (lambda ps: Adam(ps, lr=0.02), 4000, 1e-3),
}


@pytest.mark.parametrize("name", list(ROSEN_CASES))
def test_converges_on_rosenbrock(name):
    make, steps, tol = ROSEN_CASES[name]
    x0 = np.array([-1.5, 2.0])
    x = descend(make, rosenbrock, x0, steps)
    assert np.abs(x - 1.0).max() < tol, f"{name}: {x} after {steps} steps"
    assert rosenbrock(x)[0] < 1e-3 * rosenbrock(x0)[0]


def test_rmsprop_with_constant_lr_hovers_about_lr_from_the_minimum():
    # Its steps are close to lr * sign(dx) near the minimum, so a constant lr leaves an oscillation
    # of size ~lr/2: the reason to anneal the learning rate.
    for lr in (1e-2, 1e-3):
        x = descend(lambda ps: RMSprop(ps, lr=lr, decay_rate=0.9), bowl, [1.0, 1.0], 2000)
        assert lr / 10 < np.abs(x).max() < lr


def test_rmsprop_with_exponential_lr_decay_converges_on_bowl_and_rosenbrock():
    x = descend(lambda ps: RMSprop(ps, lr=1e-2, decay_rate=0.9), bowl, [1.0, 1.0], 2000, gamma=0.995)
    assert np.abs(x).max() < 1e-6, x
    x = descend(lambda ps: RMSprop(ps, lr=1e-3, decay_rate=0.9), rosenbrock, [-1.5, 2.0], 20000, gamma=0.9998)
    assert np.abs(x - 1.0).max() < 1e-4, x


def lbfgs_run(fn, x0, **kw):
    p = Parameter(np.array(x0, dtype=np.float64))
    opt = LBFGS([p], **kw)

    def closure():
        f, g = fn(p.data)
        p.grad = g
        return f

    for _ in range(3):
        opt.step(closure)
    return p.data, opt


@pytest.mark.parametrize("line_search", ["strong_wolfe", "backtracking"])
def test_lbfgs_reaches_rosenbrock_minimum_to_1e6(line_search):
    x, opt = lbfgs_run(
        rosenbrock,
        [-1.5, 2.0],
        line_search_fn=line_search,
        max_iter=100,
        max_eval=200,
        tolerance_grad=1e-12,
        tolerance_change=1e-15,
        history_size=10,
    )
    assert np.abs(x - 1.0).max() < 1e-6, x
    assert opt.state[0]["func_evals"] < 300  # a few dozen evaluations, not thousands


def test_lbfgs_without_line_search_still_converges_with_a_small_step():
    x, _ = lbfgs_run(
        rosenbrock, [-1.5, 2.0], lr=0.1, max_iter=200, max_eval=400, tolerance_grad=1e-12, tolerance_change=1e-15
    )
    assert np.abs(x - 1.0).max() < 1e-3, x


def test_lbfgs_solves_the_bowl_in_one_step_call_of_few_iterations():
    p = Parameter(np.array([1.0, 1.0]))
    opt = LBFGS([p], line_search_fn="strong_wolfe", max_iter=20, tolerance_grad=1e-10, tolerance_change=1e-14)

    def closure():
        f, g = bowl(p.data)
        p.grad = g
        return f

    first = opt.step(closure)
    assert first == pytest.approx(50.5)  # the loss at the starting point is returned
    assert np.abs(p.data).max() < 1e-8
    assert opt.state[0]["n_iter"] <= 15  # measured: 12 (inexact Wolfe steps, not n = 2)


def test_lbfgs_optimizes_a_tiny_model_with_autograd():
    import nnlab
    from nnlab import nn
    from nnlab.nn import functional as F

    nnlab.manual_seed(0)
    rng = np.random.default_rng(0)
    X = rng.normal(size=(64, 3))
    w_true = np.array([[1.0], [-2.0], [0.5]])
    y = X @ w_true + 0.3
    model = nn.Linear(3, 1).double()
    xt, yt = nnlab.tensor(X), nnlab.tensor(y)
    opt = LBFGS(model.parameters(), line_search_fn="strong_wolfe", tolerance_grad=1e-10, tolerance_change=1e-14)

    def closure():
        opt.zero_grad()
        loss = F.mse_loss(model(xt), yt)
        loss.backward()
        return loss

    first = float(opt.step(closure).item())
    assert first > 0.5
    final = float(closure().item())
    assert final < 1e-12
    np.testing.assert_allclose(model.weight.data.reshape(-1), w_true.reshape(-1), atol=1e-6)
