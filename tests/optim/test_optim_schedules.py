"""Schedules: values at a few steps (formulas written out), binding to optimizers, ReduceLROnPlateau."""

import copy
import math

import numpy as np
import pytest

from nnlab.nn import Parameter
from nnlab.optim import SGD, Adam, schedules as S
from nnlab.optim.schedules import ReduceLROnPlateau, Scheduler

TS = [0, 1, 2, 5, 9, 10, 37]

CASES = {
    "step_halve_every_5": (S.StepLR(0.1, step_size=5, gamma=0.5), lambda t: 0.1 * 0.5 ** (t // 5)),
    "step_tenth_every_20": (S.StepDecay(1.0, step_size=20, gamma=0.1), lambda t: 1.0 * 0.1 ** (t // 20)),
    "multistep": (S.MultiStepLR(0.1, milestones=[2, 9], gamma=0.1), lambda t: 0.1 * 0.1 ** ((t >= 2) + (t >= 9))),
    "exponential_e": (S.ExponentialDecay(0.1, k=0.05), lambda t: 0.1 * math.exp(-0.05 * t)),
    "one_over_t": (S.InverseTimeDecay(0.1, k=0.5), lambda t: 0.1 / (1 + 0.5 * t)),
    "decay_rate": (S.InverseTimeDecay(0.2, decay_rate=1.0), lambda t: 1 / (1 + 1.0 * t) * 0.2),
    "r_pow_epoch": (S.ExponentialLR(0.2, gamma=0.95), lambda t: 0.95**t * 0.2),
    "k_over_sqrt": (S.InverseSqrtDecay(0.2, k=0.5), lambda t: 0.5 / math.sqrt(max(t, 1)) * 0.2),
    "lambda": (S.LambdaLR(0.1, lr_lambda=lambda t: 1 / (t + 1)), lambda t: 0.1 / (t + 1)),
    "cosine": (
        S.CosineAnnealingLR(0.1, T_max=10, eta_min=0.001),
        lambda t: 0.001 + (0.1 - 0.001) * (1 + math.cos(math.pi * t / 10)) / 2,
    ),
    "warmup": (
        S.LinearWarmup(0.1, warmup_steps=5, start_factor=0.2),
        lambda t: 0.1 * (0.2 + 0.8 * t / 5) if t < 5 else 0.1,
    ),
    "warmup_then_cosine": (
        S.LinearWarmup(0.1, warmup_steps=5, after=S.CosineAnnealingLR(T_max=10)),
        lambda t: 0.1 * t / 5 if t < 5 else 0.1 * (1 + math.cos(math.pi * (t - 5) / 10)) / 2,
    ),
    "momentum": (S.MomentumSchedule(start=0.5, end=0.99, epochs=10), lambda t: 0.5 + (0.99 - 0.5) * min(t / 10, 1)),
    "constant": (S.Constant(0.3), lambda t: 0.3),
}


@pytest.mark.parametrize("name", list(CASES))
def test_schedule_values(name):
    sched, ref = CASES[name]
    for t in TS:
        assert sched(t) == pytest.approx(ref(t), rel=1e-12, abs=1e-15), f"{name} at t={t}"


def test_named_points():
    assert S.StepLR(0.1, step_size=5, gamma=0.5)(4) == 0.1
    assert S.StepLR(0.1, step_size=5, gamma=0.5)(5) == 0.05
    assert S.CosineAnnealingLR(0.1, T_max=10)(10) == pytest.approx(0.0, abs=1e-15)
    assert S.MomentumSchedule(start=0.5, end=0.99, epochs=10)(100) == 0.99
    assert S.InverseTimeDecay(0.1, k=1.0)(1) == pytest.approx(0.05)


def test_scheduler_writes_each_groups_own_base():
    a, b = Parameter(np.ones(2)), Parameter(np.ones(2))
    opt = SGD([{"params": [a]}, {"params": [b], "lr": 0.01}], lr=0.1)
    sched = S.StepLR(opt, step_size=2, gamma=0.5)  # PyTorch style: bound to the optimizer
    lrs = []
    for _ in range(5):
        lrs.append([g["lr"] for g in opt.param_groups])
        sched.step()
    np.testing.assert_allclose(lrs, [[0.1, 0.01], [0.1, 0.01], [0.05, 0.005], [0.05, 0.005], [0.025, 0.0025]])
    assert sched.last_epoch == 5
    assert sched.get_last_lr() == pytest.approx([0.1 / 4, 0.01 / 4])  # t=5: gamma^(5 // 2)


def test_the_optimizer_owns_the_learning_rate_and_state_dict_resumes():
    p = Parameter(np.ones(2))
    opt = SGD([p], lr=123.0)
    with pytest.raises(ValueError, match="the optimizer owns the learning rate"):
        Scheduler(opt, S.ExponentialLR(0.2, gamma=0.5))  # a second, different rate is refused
    assert opt.param_groups[0]["lr"] == 123.0
    opt = SGD([p], lr=0.2)
    sch = Scheduler(opt, S.ExponentialLR(0.2, gamma=0.5))  # the same rate given twice is fine
    sch.step(), sch.step()
    state = sch.state_dict()
    sch.step()
    opt2 = SGD([Parameter(np.ones(2))], lr=0.2)
    sch2 = S.ExponentialLR(opt2, gamma=0.5)
    sch2.load_state_dict(state)
    assert opt2.param_groups[0]["lr"] == pytest.approx(0.05)
    sch2.step()
    assert opt2.param_groups[0]["lr"] == opt.param_groups[0]["lr"] == pytest.approx(0.025)


def test_momentum_schedule_drives_sgd_momentum_and_adam_beta1():
    p = Parameter(np.ones(2))
    opt = SGD([p], lr=0.1, momentum=0.9)
    sch = Scheduler(opt, S.MomentumSchedule(start=0.5, end=0.99, epochs=4), key="momentum")
    seen = []
    for _ in range(6):
        seen.append(opt.param_groups[0]["momentum"])
        sch.step()
    np.testing.assert_allclose(seen, [0.5, 0.6225, 0.745, 0.8675, 0.99, 0.99])
    adam = Adam([Parameter(np.ones(2))])
    Scheduler(adam, S.MomentumSchedule(start=0.5, end=0.99, epochs=4), key="momentum")
    assert adam.param_groups[0]["betas"] == (0.5, 0.999)


def test_schedule_bad_input():
    with pytest.raises(ValueError, match="StepLR: step_size"):
        S.StepLR(0.1, step_size=0)
    with pytest.raises(ValueError, match="exactly one of k and decay_rate"):
        S.InverseTimeDecay(0.1)
    with pytest.raises(ValueError, match="no initial value"):
        S.ExponentialLR(gamma=0.9)(3)
    with pytest.raises(TypeError, match="step\\(\\) needs"):
        S.ExponentialLR(0.1, gamma=0.9).step()
    with pytest.raises(ValueError, match="key must be"):
        Scheduler(SGD([Parameter(np.ones(1))], lr=0.1), S.Constant(), key="beta")
    with pytest.raises(ValueError, match="no 'momentum'"):
        from nnlab.optim import Adagrad

        Scheduler(Adagrad([Parameter(np.ones(1))]), S.MomentumSchedule(), key="momentum")


# ---- ReduceLROnPlateau ---------------------------------------------------------------------------
def plateau_opt(lr=1.0):
    return SGD([{"params": [Parameter(np.ones(1))]}, {"params": [Parameter(np.ones(1))], "lr": 0.1}], lr=lr)


def test_reduce_on_plateau_reduces_after_patience():
    opt = plateau_opt()
    sched = ReduceLROnPlateau(opt, mode="min", factor=0.5, patience=2)
    lrs = []
    for loss in [1.0, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.5]:
        sched.step(loss)
        lrs.append(opt.param_groups[0]["lr"])
    # best 0.9 after epoch 2; epochs 3 and 4 are bad but within patience; the 3rd bad epoch cuts,
    # and the count restarts; an improvement (0.5) does not cut.
    assert lrs == [1.0, 1.0, 1.0, 1.0, 0.5, 0.5, 0.5, 0.25, 0.25]
    assert opt.param_groups[1]["lr"] == pytest.approx(0.025)


def test_reduce_on_plateau_max_mode_threshold_cooldown_min_lr():
    opt = plateau_opt()
    sched = ReduceLROnPlateau(opt, mode="max", factor=0.1, patience=0, threshold=0.01, cooldown=1, min_lr=[0.005, 0.0])
    lrs = []
    for acc in [0.5, 0.504, 0.6, 0.6, 0.6, 0.6, 0.6]:
        sched.step(acc)
        lrs.append([g["lr"] for g in opt.param_groups])
    # 0.504 is not 1% better than 0.5 -> cut; cooldown hides the next bad epoch; then cut again,
    # the first group clamped at its min_lr.
    np.testing.assert_allclose(
        lrs, [[1.0, 0.1], [0.1, 0.01], [0.1, 0.01], [0.01, 0.001], [0.01, 0.001], [0.005, 0.0001], [0.005, 0.0001]]
    )
    state = sched.state_dict()
    other = ReduceLROnPlateau(plateau_opt(), mode="max")
    other.load_state_dict(state)
    assert other.best == 0.6 and other.cooldown_counter == sched.cooldown_counter


def test_reduce_on_plateau_abs_threshold_and_bad_input():
    opt = plateau_opt()
    sched = ReduceLROnPlateau(opt, factor=0.5, patience=0, threshold=0.1, threshold_mode="abs")
    sched.step(1.0)
    sched.step(0.95)  # improvement of 0.05 < 0.1: a bad epoch
    assert opt.param_groups[0]["lr"] == 0.5
    with pytest.raises(ValueError, match="mode"):
        ReduceLROnPlateau(opt, mode="up")
    with pytest.raises(ValueError, match="factor"):
        ReduceLROnPlateau(opt, factor=1.5)
    with pytest.raises(ValueError, match="finite"):
        sched.step(float("nan"))


# ---- state_dict round trips mid-training and bad loads ----------------------------------------------
def _sgd(lr=0.1):
    return SGD(
        [{"params": [Parameter(np.ones(1))]}, {"params": [Parameter(np.ones(1))], "lr": 0.01}], lr=lr, momentum=0.5
    )


@pytest.mark.parametrize("name", [n for n in CASES if n != "momentum"] + ["momentum"])
def test_every_schedule_resumes_from_its_state_dict_mid_training(name):
    sched, _ = CASES[name]
    key = "momentum" if name == "momentum" else "lr"
    if key == "lr":  # the optimizer owns the rate: the schedule is bound without one
        sched = copy.copy(sched)
        sched.base = None
    opt_a = _sgd()
    run_a = Scheduler(opt_a, sched, key=key)
    for _ in range(4):
        run_a.step()
    saved = run_a.state_dict()
    opt_b = _sgd(lr=0.7)  # another starting lr: the saved bases must win
    run_b = Scheduler(opt_b, sched, key=key)
    run_b.load_state_dict(saved)
    for _ in range(7):
        assert [g[key] for g in opt_b.param_groups] == [g[key] for g in opt_a.param_groups]
        run_a.step(), run_b.step()


def test_scheduler_load_state_dict_rejects_bad_states_and_changes_nothing():
    opt = _sgd()
    sch = S.StepLR(opt, step_size=2, gamma=0.5)
    sch.step(), sch.step(), sch.step()
    good = sch.state_dict()
    other = Scheduler(_sgd(), S.MomentumSchedule(), key="momentum")
    bad_states = [
        ([1, 2], "expected a dict with 't' and 'base_values'"),
        ({"t": 3}, "expected a dict with 't' and 'base_values'"),
        (dict(good, t=-1), "t must be an integer >= 0, got -1"),
        (dict(good, t=2.5), "t must be an integer >= 0, got 2.5"),
        (dict(good, base_values=[0.1]), "1 saved groups, 2 here"),
        (dict(good, base_values=[0.1, float("nan")]), "a saved base value must be a number >= 0"),
    ]
    for bad, match in bad_states:
        with pytest.raises(ValueError, match=match):
            sch.load_state_dict(bad)
        assert sch.state_dict() == good and opt.param_groups[0]["lr"] == 0.05
    with pytest.raises(ValueError, match="the state drives 'lr', this scheduler drives 'momentum'"):
        other.load_state_dict(good)


def test_reduce_on_plateau_resumes_mid_training_and_rejects_bad_states():
    opt_a = plateau_opt()
    a = ReduceLROnPlateau(opt_a, factor=0.5, patience=1, cooldown=1, min_lr=[0.1, 0.0])
    losses = [1.0, 0.9, 0.95, 0.96, 0.97, 0.98, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 1.1, 1.2, 1.3, 1.4]
    for v in losses[:4]:
        a.step(v)
    saved = a.state_dict()
    a.best = -1.0  # the saved dict is a copy
    a.load_state_dict(saved)
    opt_b = plateau_opt()
    opt_b.load_state_dict(opt_a.state_dict())
    b = ReduceLROnPlateau(opt_b)  # default settings: all of them come from the state
    b.load_state_dict(saved)
    assert b.patience == 1 and b.cooldown == 1 and b.min_lrs == [0.1, 0.0]
    for v in losses[4:]:
        a.step(v), b.step(v)
        assert [g["lr"] for g in opt_a.param_groups] == [g["lr"] for g in opt_b.param_groups]
    assert opt_a.param_groups[0]["lr"] == 0.1  # clamped at min_lr on the way
    bad_states = [
        ({"foo": 1}, "missing keys .*unexpected keys \\['foo'\\]"),
        (dict(saved, factor=2.0), "factor must be in \\(0, 1\\)"),
        (dict(saved, min_lrs=[0.0]), "1 min_lr values for 2 parameter groups"),
        (dict(saved, num_bad_epochs=-2), "num_bad_epochs must be an integer >= 0"),
        (dict(saved, best="low"), "best must be a number"),
        ("state", "expected a dict"),
    ]
    before = b.state_dict()
    for bad, match in bad_states:
        with pytest.raises(ValueError, match=match):
            b.load_state_dict(bad)
        assert b.state_dict() == before


def test_integer_settings_accept_numpy_integers():
    assert S.StepLR(1.0, step_size=np.int64(2), gamma=0.5)(3) == 0.5
    assert S.MomentumSchedule(start=0.5, end=0.9, epochs=np.int32(4))(2) == pytest.approx(0.7)
    assert S.LinearWarmup(1.0, warmup_steps=np.int64(4))(2) == 0.5
