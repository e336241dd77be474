"""The in-place, fused optimizers against the notes' equations (nnlab.optim.reference) as oracle:
several parameters of different shapes, float64, several steps on a gradient that depends on the
current point, with weight decay and with the learning rate changed mid-training."""

import numpy as np
import pytest

from nnlab.nn import Parameter
from nnlab.optim import SGD, Adagrad, Adam, RMSprop
from nnlab.optim import reference as R

SHAPES = [(7,), (4, 5), (2, 3, 3)]

# (name, optimizer, its kwargs, reference rule, the reference's config)
RULES = [
    ("sgd", SGD, dict(lr=0.05), R.sgd, dict(learning_rate=0.05)),
    ("momentum", SGD, dict(lr=0.05, momentum=0.9), R.sgd_momentum, dict(learning_rate=0.05, momentum=0.9)),
    (
        "nesterov",
        SGD,
        dict(lr=0.05, momentum=0.8, nesterov=True),
        R.nesterov_momentum,
        dict(learning_rate=0.05, momentum=0.8),
    ),
    ("adagrad", Adagrad, dict(lr=0.1, eps=1e-8), R.adagrad, dict(learning_rate=0.1, eps=1e-8)),
    (
        "rmsprop",
        RMSprop,
        dict(lr=0.01, decay_rate=0.9, eps=1e-8),
        R.rmsprop,
        dict(learning_rate=0.01, decay_rate=0.9, eps=1e-8),
    ),
    (
        "adam",
        Adam,
        dict(lr=0.01, betas=(0.9, 0.99), eps=1e-8),
        R.adam,
        dict(learning_rate=0.01, beta1=0.9, beta2=0.99, eps=1e-8),
    ),
]


def _problem(seed=0):
    """Start points and a gradient field dx = a * x**3 + b * x + c per element (not linear, so
    every step's gradient depends on where the earlier steps went)."""
    rng = np.random.default_rng(seed)
    x0 = [rng.standard_normal(s) for s in SHAPES]
    coef = [(rng.uniform(0.05, 0.2, s), rng.uniform(0.5, 2.0, s), rng.standard_normal(s)) for s in SHAPES]
    return x0, (lambda i, x: coef[i][0] * x**3 + coef[i][1] * x + coef[i][2])


def _fast(opt_cls, kwargs, steps, weight_decay=0.0, lr_after=None):
    x0, grad = _problem()
    params = [Parameter(x.copy()) for x in x0]
    opt = opt_cls(params, weight_decay=weight_decay, **kwargs)
    for k in range(steps):
        if lr_after and k == lr_after[0]:
            opt.param_groups[0]["lr"] = lr_after[1]
        for i, p in enumerate(params):
            p.grad = grad(i, p.data)
        opt.step()
    return [p.data for p in params]


def _reference(rule, config, steps, weight_decay=0.0, lr_after=None):
    x0, grad = _problem()
    xs, configs = [x.copy() for x in x0], [dict(config) for _ in x0]
    for k in range(steps):
        for i in range(len(xs)):
            if lr_after and k == lr_after[0]:
                configs[i]["learning_rate"] = lr_after[1]
            dx = grad(i, xs[i]) + weight_decay * xs[i]  # L2: the gradient of 1/2 wd |x|^2 added
            xs[i], configs[i] = rule(xs[i], dx, configs[i])
    return xs


def _close(fast, ref):
    for f, r in zip(fast, ref, strict=True):
        assert f.dtype == np.float64
        np.testing.assert_allclose(f, r, rtol=1e-11, atol=1e-13)


@pytest.mark.parametrize("name,opt_cls,kwargs,rule,config", RULES, ids=[r[0] for r in RULES])
def test_fast_update_follows_the_notes_equations(name, opt_cls, kwargs, rule, config):
    _close(_fast(opt_cls, kwargs, 8), _reference(rule, config, 8))


@pytest.mark.parametrize("name,opt_cls,kwargs,rule,config", RULES, ids=[r[0] for r in RULES])
def test_with_weight_decay_and_a_learning_rate_change(name, opt_cls, kwargs, rule, config):
    new_lr = kwargs["lr"] / 3
    fast = _fast(opt_cls, kwargs, 8, weight_decay=1e-2, lr_after=(4, new_lr))
    _close(fast, _reference(rule, config, 8, weight_decay=1e-2, lr_after=(4, new_lr)))


def test_the_oracle_can_tell_the_rules_apart():
    # momentum and Nesterov (and Adam's bias correction) change the trajectory measurably
    ref = {name: _reference(rule, config, 8) for name, _, _, rule, config in RULES}
    assert np.abs(ref["momentum"][1] - ref["nesterov"][1]).max() > 1e-3
    assert np.abs(ref["sgd"][1] - ref["momentum"][1]).max() > 1e-3
    x, cfg = R.adam(np.ones(3), np.full(3, 2.0), dict(learning_rate=0.1, beta1=0.9, beta2=0.999, eps=0.0))
    np.testing.assert_allclose(x, 1 - 0.1)  # bias-corrected first step has size lr exactly
    assert cfg["t"] == 1
