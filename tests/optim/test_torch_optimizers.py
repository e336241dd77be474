"""Adadelta, AdamW and optim.lr_scheduler against PyTorch on the same gradients."""

import numpy as np
import pytest

import nnlab
from nnlab.nn import Parameter

torch = pytest.importorskip("torch", reason="PyTorch is the reference for these optimizers")


def _run_both(name, kw, steps=6):
    rng = np.random.default_rng(0)
    w0 = rng.standard_normal((3, 4))
    p, tp = Parameter(w0.copy()), torch.tensor(w0.copy(), requires_grad=True)
    ours, theirs = getattr(nnlab.optim, name)([p], **kw), getattr(torch.optim, name)([tp], **kw)
    for _ in range(steps):
        g = rng.standard_normal(w0.shape)
        p.grad, tp.grad = g.copy(), torch.tensor(g)
        ours.step(), theirs.step()
    return p.data, tp.detach().numpy()


@pytest.mark.parametrize(
    "name, kw",
    [
        ("Adadelta", {}),
        ("Adadelta", dict(lr=0.5, rho=0.8, eps=1e-5, weight_decay=0.1)),
        ("AdamW", {}),
        ("AdamW", dict(lr=0.05, betas=(0.8, 0.9), weight_decay=0.3)),
    ],
)
def test_matches_torch(name, kw):
    ours, theirs = _run_both(name, kw)
    np.testing.assert_allclose(ours, theirs, rtol=1e-10, atol=1e-12)


def test_adamw_decay_is_decoupled():
    a, _ = _run_both("AdamW", dict(lr=0.1, weight_decay=0.5))
    b, _ = _run_both("Adam", dict(lr=0.1, weight_decay=0.5))
    assert not np.allclose(a, b)


@pytest.mark.parametrize(
    "name, kw, per",
    [
        ("StepLR", dict(step_size=2, gamma=0.5), 8),
        ("MultiStepLR", dict(milestones=[2, 5], gamma=0.3), 8),
        ("ExponentialLR", dict(gamma=0.9), 8),
        ("CosineAnnealingLR", dict(T_max=5, eta_min=0.01), 8),
        ("LambdaLR", dict(lr_lambda=lambda e: 1 / (e + 1)), 8),
        ("OneCycleLR", dict(max_lr=1.0, total_steps=20), 19),
        ("OneCycleLR", dict(max_lr=0.5, total_steps=15, anneal_strategy="linear", three_phase=True), 14),
    ],
)
def test_lr_schedulers_match_torch(name, kw, per):
    p, tp = Parameter(np.ones(2)), torch.ones(2, requires_grad=True)
    opt = nnlab.optim.SGD([p], lr=0.1, momentum=0.9)
    topt = torch.optim.SGD([tp], lr=0.1, momentum=0.9)
    s = getattr(nnlab.optim.lr_scheduler, name)(opt, **kw)
    ts = getattr(torch.optim.lr_scheduler, name)(topt, **kw)
    for _ in range(per):
        for key in ("lr", "momentum"):
            assert opt.param_groups[0][key] == pytest.approx(topt.param_groups[0][key], rel=1e-12, abs=1e-15), key
        assert s.get_last_lr() == pytest.approx(ts.get_last_lr())
        topt.step()
        s.step(), ts.step()


def test_lr_scheduler_refuses_what_it_cannot_do():
    opt = nnlab.optim.Adadelta([Parameter(np.ones(2))])
    with pytest.raises(ValueError, match="cycle_momentum=False"):
        nnlab.optim.lr_scheduler.OneCycleLR(opt, max_lr=1.0, total_steps=10)
    nnlab.optim.lr_scheduler.OneCycleLR(opt, max_lr=1.0, total_steps=10, cycle_momentum=False)
    with pytest.raises(TypeError, match="nnlab optimizer"):
        nnlab.optim.lr_scheduler.StepLR(0.1, step_size=2)
    with pytest.raises(ValueError, match="load_state_dict"):
        nnlab.optim.lr_scheduler.StepLR(opt, step_size=2, last_epoch=3)
