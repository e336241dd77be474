"""In-place updates (``-=``, ``add_``, ``x[m] = v``...) and elementwise comparisons on Tensor."""

import numpy as np
import pytest

import nnlab
from nnlab import nn


def test_manual_update_under_no_grad_changes_the_parameter():
    w = nnlab.tensor([1.0, 2.0], requires_grad=True)
    (w * w).sum().backward()
    arr = w.data
    with nnlab.no_grad():
        w -= 0.1 * w.grad
    assert w.data is arr and np.allclose(w.data, [0.8, 1.6])
    with nnlab.no_grad():
        w += 1
        w *= 2
        w /= 4
        w.add_(1).sub_(0.5).mul_(2).div_(2).clamp_(max=1.5)
    assert np.allclose(w.data, [1.4, 1.5])


def test_inplace_on_a_leaf_that_requires_grad_is_refused_outside_no_grad():
    w = nnlab.tensor([1.0, 2.0], requires_grad=True)
    for op in (lambda: w.__isub__(1.0), lambda: w.add_(1.0), lambda: w.zero_(), lambda: w.copy_([3.0, 4.0])):
        with pytest.raises(
            RuntimeError, match="a leaf Variable that requires grad is being used in an in-place operation"
        ):
            op()
    assert np.allclose(w.data, [1.0, 2.0])


def test_inplace_change_of_a_saved_input_fails_backward():
    w = nnlab.tensor([1.0, 2.0], requires_grad=True)
    x = nnlab.tensor([3.0, 4.0])
    y = (w * x).sum()
    x.mul_(10)  # the Mul gate kept x's array for w's gradient
    with pytest.raises(RuntimeError, match="changed by an in-place operation after the forward pass"):
        y.backward()
    y2 = (w * x).sum()  # a fresh graph after the change is fine
    y2.backward()
    assert np.allclose(w.grad, [30.0, 40.0])


def test_inplace_on_a_graph_tensor_is_recorded():
    w = nnlab.tensor([1.0, 2.0], requires_grad=True)
    h = w * 3
    h += w  # h = 3w + w
    h *= 2  # h = 8w
    h.sum().backward()
    assert np.allclose(h.data, [8.0, 16.0]) and np.allclose(w.grad, [8.0, 8.0])


def test_a_consumer_of_the_old_value_is_refused():
    w = nnlab.tensor([1.0, 2.0], requires_grad=True)
    h = w * 3
    z = h * h  # used h's old value
    h += 1
    with pytest.raises(RuntimeError, match="in-place"):
        z.sum().backward()


def test_setitem_and_fill():
    x = nnlab.zeros(2, 3)
    x[0] = 1.0
    x[x > 0.5] = 2.0
    assert x.tolist() == [[2.0, 2.0, 2.0], [0.0, 0.0, 0.0]]
    with pytest.raises(RuntimeError, match="cannot update a tensor of shape \\(2, 3\\)"):
        x += np.ones((4, 3))
    i = nnlab.tensor([1, 2])
    with pytest.raises(RuntimeError, match="dtype int"):
        i += 0.5


def test_optimizer_steps_still_update_in_place():
    model = nn.Linear(3, 2)
    before = model.weight.data.copy()
    opt = nnlab.optim.SGD(model.parameters(), lr=0.1)
    model(nnlab.ones(4, 3)).sum().backward()
    opt.step()
    assert not np.allclose(before, model.weight.data)


def test_comparisons_are_elementwise_and_tensors_hash_by_identity():
    a, b = nnlab.tensor([1, 2, 3]), nnlab.tensor([1, 5, 3])
    assert (a == b).tolist() == [True, False, True] and (a != b).tolist() == [False, True, False]
    assert (a < b).dtype == np.bool_ and (a <= 2).tolist() == [True, True, False]
    assert a.eq(b).sum().item() == 2 and a.equal(nnlab.tensor([1, 2, 3])) and not a.equal(b)
    assert len({a, b, a}) == 2 and {a: 1}[a] == 1
    with pytest.raises(ValueError, match="ambiguous"):
        bool(a == b)
    assert (~(a == b)).tolist() == [False, True, False]
    assert f"{(a == b).float().mean():.2f}" == "0.67"
