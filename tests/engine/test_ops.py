"""Generic tests of every op in tests/engine/op_specs.py: forward vs NumPy, float64 gradient vs
centered differences, forward and gradient vs PyTorch, float32 in -> float32 out."""

from __future__ import annotations

import inspect

import numpy as np
import pytest

import nnlab
from nnlab.engine import ops

from op_specs import PENDING, SPECS, covered_ops

IDS = [s.name for s in SPECS]


def _tensors(
    arrays,
    dtype=None,
    requires_grad=(),
):
    """Tensors of the spec's arrays; float ones in ``dtype``; those at ``requires_grad`` tracked."""
    out = []
    for i, a in enumerate(arrays):
        if a.dtype.kind == "f":
            out.append(nnlab.tensor(a if dtype is None else a.astype(dtype), requires_grad=i in requires_grad))
        else:
            out.append(nnlab.tensor(a))
    return out


def test_specs_have_unique_names():
    assert len(IDS) == len(set(IDS))


def test_every_op_has_a_spec():
    """Adding an op to nnlab.engine.ops without an OpSpec (or a PENDING reason) fails here."""
    names = {n for n in ops.__all__ if callable(getattr(ops, n)) and not inspect.isclass(getattr(ops, n))}
    missing = names - covered_ops() - set(PENDING)
    assert not missing, f"ops without an OpSpec in tests/engine/op_specs.py: {sorted(missing)}"
    stale = set(PENDING) & covered_ops()
    assert not stale, f"PENDING lists ops that now have specs: {sorted(stale)}"
    unknown = covered_ops() - set(ops.__all__)
    assert not unknown, f"specs for ops not exported by nnlab.engine.ops: {sorted(unknown)}"


@pytest.mark.parametrize("spec", SPECS, ids=IDS)
def test_forward_matches_numpy(spec):
    arrays = spec.make_inputs()
    out = spec.fn(*_tensors(arrays))
    expected = spec.ref(*arrays)
    assert out.shape == np.shape(expected), f"{spec.name}: shape {out.shape} != {np.shape(expected)}"
    np.testing.assert_allclose(out.data, expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize(
    "spec", [s for s in SPECS if s.differentiable], ids=[s.name for s in SPECS if s.differentiable]
)
def test_gradient_matches_centered_differences(spec):
    arrays = spec.make_inputs()
    wrt = spec.differentiated(arrays)
    report = nnlab.gradcheck(spec.fn, *_tensors(arrays), eps=spec.eps, rtol=spec.rtol, atol=1e-9, wrt=wrt)
    assert report.ok, f"{spec.name}:\n{report}"
    assert [r.input for r in report.inputs] == wrt


@pytest.mark.parametrize("spec", SPECS, ids=IDS)
def test_float32_in_float32_out(spec):
    arrays = spec.make_inputs()
    wrt = spec.differentiated(arrays) if spec.differentiable else []
    xs = _tensors(arrays, dtype=np.float32, requires_grad=wrt)
    out = spec.fn(*xs)
    if spec.keeps_dtype:
        assert out.dtype == np.float32, f"{spec.name}: float32 inputs gave {out.dtype}"
    if spec.differentiable:
        out.backward(np.ones(out.shape, dtype=out.dtype))
        for i in wrt:
            x = xs[i]
            assert x.grad is not None and x.grad.dtype == np.float32 and x.grad.shape == x.shape, spec.name


@pytest.mark.parametrize(
    "spec", [s for s in SPECS if s.torch_fn is not None], ids=[s.name for s in SPECS if s.torch_fn is not None]
)
def test_matches_pytorch(spec):
    torch = pytest.importorskip("torch", reason="PyTorch not installed: parity tests skipped")
    arrays = spec.make_inputs()
    wrt = spec.differentiated(arrays) if spec.differentiable else []
    xs = _tensors(arrays, requires_grad=wrt)
    out = spec.fn(*xs)
    ts = [torch.from_numpy(a.copy()).requires_grad_(i in wrt) for i, a in enumerate(arrays)]
    tout = spec.torch_fn(torch, *ts)
    np.testing.assert_allclose(out.data, tout.detach().numpy(), rtol=1e-10, atol=1e-12)
    if not spec.differentiable:
        return
    upstream = np.random.default_rng(1).standard_normal(out.shape)
    out.backward(upstream)
    tout.backward(torch.from_numpy(upstream))
    for i in wrt:
        x, t = xs[i], ts[i]
        tg = t.grad.numpy() if t.grad is not None else np.zeros(x.shape)
        np.testing.assert_allclose(x.grad, tg, rtol=1e-10, atol=1e-12, err_msg=f"{spec.name}: gradient of input {i}")
