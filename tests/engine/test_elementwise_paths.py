"""Fast paths of the elementwise gates: in-place sigmoid at its extremes, scalar operands."""

import warnings

import numpy as np
import pytest

import nnlab
from nnlab.engine import ops


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sigmoid_extremes_finite_without_warnings(dtype):
    x = np.array([-1e4, -800, -100, -88.5, -30, -1, 0, 1, 30, 100, 1e4], dtype=dtype)
    t = nnlab.tensor(x.copy(), requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        s = ops.sigmoid(t)
        s.backward(np.ones_like(x))
    assert s.data.dtype == dtype and np.isfinite(s.data).all()
    assert (s.data >= 0).all() and (s.data <= 1).all() and (np.diff(s.data) >= 0).all()
    np.testing.assert_array_equal(t.data, x)  # the input is not overwritten
    moderate = np.abs(x) <= 30
    ref = 1 / (1 + np.exp(-x[moderate].astype(np.float64)))
    np.testing.assert_allclose(s.data[moderate], ref, rtol=1e-6 if dtype == np.float32 else 1e-14)
    # Far left the output stays below the smallest normal number of the type.
    assert s.data[0] <= np.finfo(dtype).tiny * 1.01
    np.testing.assert_allclose(t.grad, s.data * (1 - s.data), rtol=1e-6)


def test_sigmoid_and_tanh_of_a_0d_tensor():
    x = nnlab.tensor(np.float64(0.3), requires_grad=True)
    s = ops.sigmoid(x)
    s.backward()
    sv = 1 / (1 + np.exp(-0.3))
    assert s.data.shape == () and np.isclose(float(s.data), sv)
    assert np.isclose(float(x.grad), sv * (1 - sv))
    y = nnlab.tensor(np.float64(0.3), requires_grad=True)
    ops.tanh(y).backward()
    assert np.isclose(float(y.grad), 1 - np.tanh(0.3) ** 2)


@pytest.mark.parametrize(
    "op,fx,fc",
    [
        (lambda a, c: a + c, lambda x, c: x + c, lambda x, c: 1.0),
        (lambda a, c: c - a, lambda x, c: c - x, lambda x, c: -1.0),
        (lambda a, c: a * c, lambda x, c: x * c, lambda x, c: c),
        (lambda a, c: a / c, lambda x, c: x / c, lambda x, c: 1 / c),
    ],
)
def test_python_number_operands_keep_float32_and_gradients(op, fx, fc):
    x = np.random.default_rng(0).standard_normal((3, 4)).astype(np.float32)
    t = nnlab.tensor(x, requires_grad=True)
    out = op(t, 2.5)
    assert out.data.dtype == np.float32 and out.shape == (3, 4)
    np.testing.assert_allclose(out.data, fx(x, np.float32(2.5)), rtol=1e-6)
    out.backward(np.ones((3, 4), np.float32))
    np.testing.assert_allclose(t.grad, np.full((3, 4), fc(x, 2.5)), rtol=1e-6)


def test_non_broadcastable_shapes_still_name_the_op():
    a, b = nnlab.tensor(np.ones((2, 3))), nnlab.tensor(np.ones((4,)))
    for name, fn in [("add", ops.add), ("sub", ops.sub), ("mul", ops.mul), ("div", ops.div)]:
        with pytest.raises(ValueError, match=rf"{name}: shapes \(2, 3\) and \(4,\)"):
            fn(a, b)
