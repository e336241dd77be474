"""The hand-written NumPy references of workloads 1 and 2 compute what PyTorch computes: the same
loss at the same parameters and the same update from it (else the nnlab/reference column of
``make bench`` would compare against a different, maybe cheaper, computation)."""

import os
import sys

import numpy as np
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

from benchmarks import workloads as W  # noqa: E402

torch = pytest.importorskip("torch", reason="the references are checked against PyTorch")


def _torch_model(params, act):
    layers = []
    for k in range(0, len(params), 2):
        lin = torch.nn.Linear(params[k].shape[1], params[k].shape[0])
        with torch.no_grad():
            lin.weight.copy_(torch.from_numpy(params[k]))
            lin.bias.copy_(torch.from_numpy(params[k + 1]))
        layers += [lin, act()]
    return torch.nn.Sequential(*layers[:-1]) if act is torch.nn.ReLU else torch.nn.Sequential(*layers)


def test_workload1_reference_matches_torch():
    case = W.w1_numpy(32)  # one step already taken (the warm-up)
    x, y = W._data((784,), 10, 32)
    for _ in range(3):
        before = [p.copy() for p in case.params]
        vel = [v.copy() for v in case.step.velocity]
        model = _torch_model(before, torch.nn.ReLU)
        loss = torch.nn.CrossEntropyLoss()(model(torch.from_numpy(x)), torch.from_numpy(y))
        loss.backward()
        got = case.step()
        assert got == pytest.approx(loss.item(), rel=1e-5)
        grads = [t.grad.numpy() for m in model if isinstance(m, torch.nn.Linear) for t in (m.weight, m.bias)]
        for p0, v0, g, p1 in zip(before, vel, grads, case.params):
            np.testing.assert_allclose(p1, p0 - 0.01 * (0.9 * v0 + g), rtol=1e-5, atol=1e-6)


def test_workload2_reference_matches_torch():
    case = W.w2_numpy(10)
    x, y = W._data((784,), 10, 10)
    x = (x > 0).astype(np.float32)
    t = W._onehot(y)
    for _ in range(3):
        before = [p.copy() for p in case.params]
        model = _torch_model(before, torch.nn.Sigmoid)
        loss = torch.nn.MSELoss()(model(torch.from_numpy(x)), torch.from_numpy(t))
        loss.backward()
        got = case.step()
        assert got == pytest.approx(loss.item(), rel=1e-5)
        grads = [t_.grad.numpy() for m in model if isinstance(m, torch.nn.Linear) for t_ in (m.weight, m.bias)]
        for p0, g, p1 in zip(before, grads, case.params):
            np.testing.assert_allclose(p1, p0 - 0.1 * g, rtol=1e-5, atol=1e-7)
