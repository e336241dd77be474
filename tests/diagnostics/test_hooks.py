"""Forward hooks on module instances and gradient taps."""

import copy

import numpy as np

import nnlab
from nnlab import nn
from nnlab.diagnostics.hooks import register_forward_hook, remove_all_hooks, tap


def test_hook_sees_inputs_and_output_and_can_be_removed():
    nnlab.manual_seed(0)
    a, b = nn.ReLU(), nn.ReLU()
    seen = []
    h = register_forward_hook(a, lambda m, inp, out: seen.append((m, inp[0].data.copy(), out.data.copy())))
    x = nnlab.tensor(np.array([-1.0, 2.0]))
    a(x)
    b(x)  # other instances of the class are untouched
    assert len(seen) == 1 and seen[0][0] is a
    np.testing.assert_array_equal(seen[0][2], [0.0, 2.0])
    h.remove()
    a(x)
    assert len(seen) == 1 and "forward" not in a.__dict__


def test_hook_can_replace_the_output_and_hooks_chain():
    lin = nn.Linear(3, 2)
    register_forward_hook(lin, lambda m, i, o: o * 2.0)
    register_forward_hook(lin, lambda m, i, o: o + 1.0)
    x = nnlab.tensor(np.ones((1, 3), np.float32))
    expected = (x.data @ lin.weight.data.T + lin.bias.data) * 2 + 1
    np.testing.assert_allclose(lin(x).data, expected, rtol=1e-6)


def test_deepcopy_of_a_hooked_module_runs_the_copy():
    lin = nn.Linear(3, 2)
    calls = []
    register_forward_hook(lin, lambda m, i, o: calls.append(m))
    twin = copy.deepcopy(lin)
    twin.weight.data[:] = 0
    twin.bias.data[:] = 0
    out = twin(nnlab.tensor(np.ones((1, 3), np.float32)))
    np.testing.assert_array_equal(out.data, 0)  # the copy's weights, not the original's
    remove_all_hooks(twin)
    assert "forward" not in twin.__dict__ and "forward" in lin.__dict__


def test_tap_hands_over_the_gradient_unchanged():
    x = nnlab.tensor(np.array([1.0, 2.0, 3.0]), requires_grad=True)
    got = []
    y = tap(x * 2.0, got.append)
    (y * nnlab.tensor(np.array([1.0, 10.0, 100.0]))).sum().backward()
    np.testing.assert_array_equal(got[0], [1.0, 10.0, 100.0])
    np.testing.assert_array_equal(x.grad, [2.0, 20.0, 200.0])
    const = nnlab.tensor(np.ones(2))
    assert tap(const, got.append) is const  # nothing to tap without a graph
