"""Tensor basics: dtype rules, properties, conversions, repr, and error messages that name the op."""

from __future__ import annotations

import numpy as np
import pytest

import nnlab
from nnlab.engine import ops


# ---- dtype rules ------------------------------------------------------------------------------
@pytest.mark.parametrize("data", [1.5, [1.0, 2.0], [[0.5], [1.5]], (1.0, 2.0)])
def test_python_floats_become_float32(data):
    assert nnlab.tensor(data).dtype == np.float32


def test_numpy_arrays_and_scalars_keep_their_dtype():
    assert nnlab.tensor(np.zeros(3)).dtype == np.float64
    assert nnlab.tensor(np.zeros(3, dtype=np.float32)).dtype == np.float32
    assert nnlab.tensor(np.float64(1.0)).dtype == np.float64
    assert nnlab.tensor(np.float32(1.0)).dtype == np.float32


def test_tensor_function_copies_and_the_class_wraps():
    """nnlab.tensor copies as torch.tensor does; Tensor(a) (what gates use) wraps a without a copy."""
    a = np.zeros(3)
    assert nnlab.tensor(a).data is not a and np.shares_memory(nnlab.Tensor(a).data, a)
    assert nnlab.from_numpy(a).data is a


def test_integers_and_booleans_keep_their_kind():
    assert nnlab.tensor([0, 2, 1]).dtype.kind == "i"
    assert nnlab.tensor(np.array([0, 2], dtype=np.int32)).dtype == np.int32
    assert nnlab.tensor([True, False]).dtype == np.bool_


def test_explicit_dtype_wins():
    assert nnlab.tensor([1.0, 2.0], dtype=np.float64).dtype == np.float64
    assert nnlab.tensor(np.zeros(2), dtype="float32").dtype == np.float32
    assert nnlab.tensor([1, 2], dtype=np.float32).dtype == np.float32


def test_float32_stays_float32_with_python_and_numpy_scalars():
    x = nnlab.tensor([1.0, 2.0], requires_grad=True)
    for y in (x * 0.5, 0.5 * x, x + 1, x / 3.0, x**2, 2.0**x, x - np.float64(1.0), -x):
        assert y.dtype == np.float32


def test_float64_end_to_end():
    x = nnlab.tensor(np.ones((2, 3)), requires_grad=True)
    w = nnlab.tensor(np.ones((3, 4)), requires_grad=True)
    y = ops.softmax(ops.tanh(x @ w) * 0.5 + 1.0).sum()
    y.backward()
    assert y.dtype == np.float64 and x.grad.dtype == np.float64 and w.grad.dtype == np.float64


def test_requires_grad_on_integers_is_a_type_error():
    with pytest.raises(TypeError, match="floating-point.*int"):
        nnlab.tensor([1, 2], requires_grad=True)
    with pytest.raises(TypeError, match="floating-point.*bool"):
        nnlab.tensor([True], requires_grad=True)
    with pytest.raises(TypeError, match="floating-point"):
        nnlab.tensor([1, 2]).requires_grad_()


def test_cast_changes_dtype_and_casts_the_gradient_back():
    x = nnlab.tensor(np.array([1.0, 2.0], dtype=np.float32), requires_grad=True)
    y = x.double()
    assert y.dtype == np.float64
    (y * y).sum().backward()
    assert x.grad.dtype == np.float32
    np.testing.assert_allclose(x.grad, [2.0, 4.0])
    assert x.astype(np.float64).float().dtype == np.float32


# ---- properties and conversions ---------------------------------------------------------------
def test_properties():
    x = nnlab.tensor(np.zeros((2, 3, 4)))
    assert x.shape == (2, 3, 4) and x.ndim == 3 and x.size == 24 and len(x) == 2
    assert x.T.shape == (4, 3, 2)
    assert x.is_leaf and x.grad_fn is None and x.grad is None and not x.requires_grad
    y = nnlab.tensor(np.ones(2), requires_grad=True) * 2.0
    assert not y.is_leaf and y.grad_fn.name == "Mul" and y.requires_grad


def test_item_numpy_tolist_float():
    x = nnlab.tensor(np.array([[2.5]]))
    assert x.item() == 2.5 and isinstance(x.item(), float)
    assert float(x) == 2.5 and int(nnlab.tensor(np.array(3))) == 3
    assert isinstance(x.numpy(), np.ndarray) and x.numpy() is x.data
    assert nnlab.tensor(np.arange(3.0)).tolist() == [0.0, 1.0, 2.0]
    with pytest.raises(ValueError, match=r"item\(\).*\(3,\)"):
        nnlab.tensor(np.arange(3.0)).item()


def test_bool_of_a_multi_element_tensor_is_an_error():
    with pytest.raises(ValueError, match="ambiguous"):
        bool(nnlab.tensor(np.arange(3.0)))
    assert bool(nnlab.tensor(np.array([1.0])))


def test_detach_shares_data_and_drops_the_graph():
    x = nnlab.tensor(np.ones(3), requires_grad=True)
    y = x * 2.0
    d = y.detach()
    assert d.data is y.data and d.grad_fn is None and not d.requires_grad


def test_comparisons_give_boolean_tensors_without_grad():
    x = nnlab.tensor(np.array([1.0, -1.0]), requires_grad=True)
    m = x > 0
    assert m.dtype == np.bool_ and not m.requires_grad
    assert (x <= 0).tolist() == [False, True]


def test_ndarray_on_the_left_defers_to_tensor():
    x = nnlab.tensor(np.ones(3), requires_grad=True)
    y = np.full(3, 2.0) * x + np.ones(3)
    assert isinstance(y, nnlab.Tensor)
    y.sum().backward()
    np.testing.assert_allclose(x.grad, [2.0, 2.0, 2.0])


def test_method_mirrors():
    x = nnlab.tensor(np.arange(6.0).reshape(2, 3), requires_grad=True)
    assert x.sum(axis=0).shape == (3,) and x.mean().shape == ()
    assert x.max(axis=1, keepdims=True).shape == (2, 1) and x.min().item() == 0.0
    assert x.reshape(3, 2).shape == (3, 2) and x.reshape((6,)).shape == (6,) and x.view(-1).shape == (6,)
    assert x.flatten().shape == (6,) and x.transpose(1, 0).shape == (3, 2)
    assert (x.exp().log() - x).abs().max().item() < 1e-12
    assert x.argmax(axis=1).tolist() == [2, 2]


def test_repr():
    assert repr(nnlab.tensor([1.0, 2.0])) == "tensor([1., 2.])"
    r = repr(nnlab.tensor(np.array([1.0, 2.0]), requires_grad=True))
    assert r.startswith("tensor([1., 2.]") and "dtype=float64" in r and "requires_grad=True" in r
    y = nnlab.tensor([1.0], requires_grad=True) * 2.0
    assert "grad_fn=Mul" in repr(y)
    big = repr(nnlab.tensor(np.zeros(1000)))
    assert "..." in big and len(big) < 200


# ---- errors name the op and the shapes --------------------------------------------------------
A = nnlab.tensor(np.ones((2, 3)))
B = nnlab.tensor(np.ones(4))


@pytest.mark.parametrize(
    "name, call",
    [
        ("add", lambda: A + B),
        ("sub", lambda: A - B),
        ("mul", lambda: A * B),
        ("div", lambda: A / B),
        ("pow", lambda: A**B),
        ("maximum", lambda: ops.maximum(A, B)),
        ("minimum", lambda: ops.minimum(A, B)),
        ("where", lambda: ops.where(np.ones((2, 3), bool), A, B)),
    ],
)
def test_broadcast_mismatch_names_the_op_and_shapes(name, call):
    with pytest.raises(ValueError) as info:
        call()
    msg = str(info.value)
    assert msg.startswith(name) and "(2, 3)" in msg and "(4,)" in msg


@pytest.mark.parametrize(
    "name, call, fragment",
    [
        ("matmul", lambda: A @ A, "(2, 3)"),
        ("reshape", lambda: A.reshape(4, 4), "(4, 4)"),
        ("concatenate", lambda: ops.concatenate([A, B]), "(4,)"),
        ("concatenate", lambda: ops.concatenate([A, A], axis=4), "axis 4"),
        ("concatenate", lambda: ops.concatenate([A, nnlab.tensor(np.ones((3, 3)))], axis=1), "(3, 3)"),
        ("stack", lambda: ops.stack([A, nnlab.tensor(np.ones((3, 2)))]), "(3, 2)"),
        ("stack", lambda: ops.stack([A, A], axis=4), "axis 4"),
        ("transpose", lambda: ops.transpose(A, (0, 2)), "(0, 2)"),
        ("transpose", lambda: ops.transpose(A, (0, 0)), "(0, 0)"),
        ("flatten", lambda: ops.flatten(A, 5), "start_dim 5"),
        ("sum", lambda: ops.sum(A, axis=3), "axis 3"),
        ("mean", lambda: A.mean(axis=(0, 0)), "repeated"),
        ("max", lambda: A.max(axis=-3), "axis -3"),
        ("softmax", lambda: ops.softmax(A, axis=2), "axis 2"),
        ("log_softmax", lambda: ops.log_softmax(A, axis=-3), "axis -3"),
        ("logsumexp", lambda: ops.logsumexp(A, axis=5), "axis 5"),
        ("pad", lambda: ops.pad(A, [(1, 1)]), "(2, 3)"),
        ("clip", lambda: ops.clip(A, np.zeros(4)), "(4,)"),
        ("clip", lambda: ops.clip(A, np.zeros((5, 2, 3))), "(5, 2, 3)"),
        ("linear", lambda: ops.linear(nnlab.tensor(np.ones((2, 5))), nnlab.tensor(np.ones((4, 3)))), "(2, 5)"),
        ("linear", lambda: ops.linear(A, nnlab.tensor(np.ones((4, 3))), nnlab.tensor(np.ones(5))), "(5,)"),
        ("linear", lambda: ops.linear(A, nnlab.tensor(np.ones(3))), "(3,)"),
    ],
)
def test_shape_errors_name_the_op(name, call, fragment):
    with pytest.raises(ValueError) as info:
        call()
    msg = str(info.value)
    assert msg.startswith(name) and fragment in msg, msg


def test_indexing_error_names_the_shape():
    with pytest.raises(IndexError, match=r"shape \(2, 3\)"):
        A[5]


def test_where_needs_a_boolean_condition():
    with pytest.raises(TypeError, match="where: cond must be boolean"):
        ops.where(np.ones((2, 3)), A, A)


def test_linear_dtype_mismatch_is_a_type_error():
    with pytest.raises(TypeError, match="linear: input dtype float32 differs"):
        ops.linear(nnlab.tensor(np.ones((2, 3), np.float32)), nnlab.tensor(np.ones((4, 3))))


# ---- NaN handling -----------------------------------------------------------------------------
@pytest.mark.parametrize("reduce", [ops.max, ops.min])
def test_max_min_with_nan_route_the_gradient_to_the_nan(reduce):
    x = nnlab.tensor(np.array([[1.0, np.nan, 3.0], [4.0, 5.0, 6.0]]), requires_grad=True)
    with np.errstate(all="raise"):  # no invalid-value warnings from the mask either
        y = reduce(x, axis=1)
        assert np.isnan(y.data[0]) and not np.isnan(y.data[1])
        y.sum().backward()
    expected_row1 = [0, 0, 1] if reduce is ops.max else [1, 0, 0]
    np.testing.assert_array_equal(x.grad, [[0, 1, 0], expected_row1])


def test_nan_propagates_through_elementwise_ops_and_their_gradients():
    x = nnlab.tensor(np.array([np.nan, 1.0]), requires_grad=True)
    y = (ops.tanh(x) * 2.0).sum()
    assert np.isnan(y.item())
    y.backward()
    assert np.isnan(x.grad[0]) and np.isfinite(x.grad[1])


def test_softmax_is_stable_for_large_scores():
    """The notes' example: softmax of [123, 456, 789] without overflow."""
    x = nnlab.tensor(np.array([123.0, 456.0, 789.0]), requires_grad=True)
    with np.errstate(over="raise"):
        p = ops.softmax(x)
        lp = ops.log_softmax(x)
    assert np.isfinite(p.data).all() and p.data.sum() == pytest.approx(1.0)
    e = np.exp(x.data - 789.0)
    np.testing.assert_allclose(p.data, e / e.sum())
    np.testing.assert_allclose(lp.data, np.log(e / e.sum()), atol=1e-12, rtol=0)
    assert np.isfinite(lp.data).all() and lp.data[0] == pytest.approx(-666.0)


# ---- mixed integer/float arithmetic -----------------------------------------------------------
def test_integer_tensor_with_a_float_computes_in_float32():
    i = nnlab.tensor([1, 2])
    assert (i * 0.5).dtype == np.float32 and (0.5 + i).dtype == np.float32
    assert (i / 2).dtype == np.float32 and (i / i).dtype == np.float32
    assert (i + nnlab.tensor([0.5, 0.5])).dtype == np.float32
    assert (nnlab.tensor(np.ones(2)) * i).dtype == np.float64  # the float operand's dtype wins
    assert (i + 1).dtype == i.dtype  # integer arithmetic stays integer
    np.testing.assert_allclose((i / 2).data, [0.5, 1.0])


def test_mask_times_float_keeps_the_gradient_dtype():
    x = nnlab.tensor([1.0, -2.0], requires_grad=True)
    m = x > 0
    y = (x * m).sum()
    y.backward()
    assert y.dtype == np.float32 and x.grad.dtype == np.float32
    np.testing.assert_array_equal(x.grad, [1.0, 0.0])


def test_pow_zero_exponent_has_zero_gradient_at_zero():
    x = nnlab.tensor(np.array([0.0, 2.0]), requires_grad=True)
    with np.errstate(all="raise"):
        (x**0).sum().backward()
    np.testing.assert_array_equal(x.grad, [0.0, 0.0])


# ---- empty reductions and clip bounds ------------------------------------------------------------
@pytest.mark.parametrize("reduce", [ops.max, ops.min])
def test_max_min_over_an_empty_axis_is_an_error_naming_the_op(reduce):
    name = reduce.__name__
    x = nnlab.tensor(np.zeros((0, 3), np.float32))
    with pytest.raises(ValueError, match=rf"{name}: cannot reduce over an empty axis \(input shape \(0, 3\)"):
        reduce(x, axis=0)
    with pytest.raises(ValueError, match=rf"{name}: cannot reduce over an empty axis"):
        reduce(x)
    assert reduce(x, axis=1).shape == (0,)  # reducing the non-empty axis is fine


def test_clip_with_tensor_bounds_gives_them_gradients_like_torch_clamp():
    rng = np.random.default_rng(0)
    x_np, lo_np, hi_np = rng.normal(size=(3, 4)), rng.normal(size=(4,)) - 0.5, rng.normal(size=(4,)) + 0.5
    x, lo, hi = (nnlab.tensor(a, requires_grad=True) for a in (x_np, lo_np, hi_np))
    u = rng.normal(size=(3, 4))
    y = ops.clip(x, lo, hi)
    np.testing.assert_array_equal(y.data, np.clip(x_np, lo_np, hi_np))
    (y * nnlab.tensor(u)).sum().backward()
    inside = (x_np >= lo_np) & (x_np <= hi_np)
    np.testing.assert_array_equal(x.grad, u * inside)
    np.testing.assert_allclose(lo.grad, (u * (x_np < lo_np)).sum(0))
    np.testing.assert_allclose(hi.grad, (u * (x_np > hi_np)).sum(0))
    # bounds that need no gradient are plain constants
    np.testing.assert_array_equal(ops.clip(nnlab.tensor(x_np), nnlab.tensor(lo_np), None).data, np.maximum(x_np, lo_np))
    torch = pytest.importorskip(
        "torch", reason="PyTorch is the reference for parity tests; skipped when it is not installed"
    )
    tx, tlo, thi = (torch.tensor(a, requires_grad=True) for a in (x_np, lo_np, hi_np))
    (torch.clamp(tx, tlo, thi) * torch.tensor(u)).sum().backward()
    for ours, theirs in ((x, tx), (lo, tlo), (hi, thi)):
        np.testing.assert_allclose(ours.grad, theirs.grad.numpy(), rtol=1e-12)


def test_len_of_a_0d_tensor_is_a_clear_type_error():
    assert len(nnlab.tensor([[1.0, 2.0]])) == 1
    with pytest.raises(TypeError, match=r"len\(\) of a 0-d tensor"):
        len(nnlab.tensor(3.0))
