import numpy as np
import pytest

import nnlab


def _module_gradcheck(m, x, rng, tol=1e-6):
    """Input and every parameter's gradient of sum(m(x) * G) (G random) in float64 against centered
    differences (h = 1e-5), through ``nnlab.gradcheck``. An entry passes with relative error < tol,
    or, where both gradients are below 1e-3, absolute error < tol * 1e-3."""
    m.double()
    x = np.asarray(x, dtype=np.float64)
    names = ["input"] + [n for n, _ in m.named_parameters()]
    params = [p for _, p in m.named_parameters()]
    m(nnlab.tensor(x, requires_grad=True)).sum().backward()
    for name, p in zip(names[1:], params):
        assert p.grad is not None and p.grad.dtype == np.float64, name
        p.grad = None
    report = nnlab.gradcheck(
        lambda xt, *ps: m(xt), x, *params, eps=1e-5, rtol=tol, atol=tol * 1e-3, seed=int(rng.integers(2**31))
    )
    bad = [names[r.input] for r in report.inputs if not r.ok]
    assert not bad, f"{', '.join(bad)}: gradient check failed\n{report}"


@pytest.fixture
def module_gradcheck():
    """``module_gradcheck(m, x, rng, tol=1e-6)``: float64 gradient check of a layer or block."""
    return _module_gradcheck


@pytest.fixture
def strict_geometry():
    """The notes' rule for the test: conv/pool sizes that do not fit raise (nnlab.set_strict_geometry)."""
    nnlab.set_strict_geometry(True)
    yield
    nnlab.set_strict_geometry(False)
