"""One table describing every engine op for the generic op tests (tests/engine/test_ops.py).

Each ``OpSpec`` says how to call the op on Tensors, how to make float64 sample inputs (including
broadcasting cases), what NumPy computes for the forward, and optionally what PyTorch calls the
same thing. ``test_ops.py`` turns every entry into: a forward check against NumPy, a float64
gradient check against centered differences, a forward/gradient comparison with PyTorch when it is
installed, and a float32-in/float32-out check.

To cover a new op, append ``OpSpec(...)`` entries to ``SPECS`` (several per op are welcome: one per
shape/option case). ``test_every_op_has_a_spec`` fails when ``nnlab.engine.ops.__all__`` names an
op that no entry covers, unless the name is listed in ``PENDING`` with the reason.

Input makers (``N``, ``P``, ``A``, ``D``, ``I``, ``B``) each return ``rng -> ndarray``; an entry's
``inputs`` is a tuple of makers, or one callable ``rng -> list of arrays`` when inputs must be made
together (e.g. ``maximum`` keeps its two inputs apart so that no tie sits within eps of a kink).
Integer and boolean inputs (labels, masks) are passed to ``fn`` as Tensors and never differentiated.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from nnlab.engine import ops

# Ops in nnlab.engine.ops.__all__ that may lack an entry for now, each with the reason. Keep empty
# whenever possible: an op without a spec is an op without a gradient test.
PENDING: dict[str, str] = {}


@dataclass
class OpSpec:
    """One test case of one op.

    Attributes:
        name: unique case id (``op`` or ``op/case``), used as the pytest id.
        op: the name in ``nnlab.engine.ops.__all__`` this case covers.
        fn: Tensors -> Tensor, calling the op.
        inputs: tuple of makers ``rng -> ndarray`` (float64 for differentiable inputs), or one
            callable ``rng -> list[ndarray]``.
        ref: NumPy forward on the raw arrays.
        torch_fn: ``(torch, *torch_tensors) -> torch.Tensor``, the PyTorch equivalent (None: none).
        kink: where the op is not differentiable and how the inputs avoid it (None: smooth).
        positive: inputs are drawn positive (domain of log, sqrt, fractional powers).
        rtol: relative-error bound of the float64 gradient check (the notes' 1e-7 for smooth ops).
        eps: the centered-difference step.
        keeps_dtype: float32 in gives float32 out (False only for dtype-changing ops like cast).
        differentiable: False for ops with no gradient to check.
        constants: positions of float inputs that are data, not differentiated (e.g. targets).
    """

    name: str
    op: str
    fn: Callable
    inputs: object
    ref: Callable
    torch_fn: Callable | None = None
    kink: str | None = None
    positive: bool = False
    rtol: float = 1e-7
    eps: float = 1e-5
    keeps_dtype: bool = True
    differentiable: bool = True
    constants: tuple = ()
    tags: tuple = field(default_factory=tuple)

    def differentiated(self, arrays) -> list:
        """Positions of the inputs whose gradients are checked."""
        return [i for i, a in enumerate(arrays) if a.dtype.kind == "f" and i not in self.constants]

    def make_inputs(self, seed: int = 0) -> list:
        rng = np.random.default_rng(seed)
        if callable(self.inputs):
            return [np.asarray(a) for a in self.inputs(rng)]
        return [np.asarray(make(rng)) for make in self.inputs]

    def __repr__(self) -> str:
        return f"OpSpec({self.name})"


# ---- input makers --------------------------------------------------------------------------
def N(*shape):
    """Standard normal float64."""
    return lambda rng: rng.standard_normal(shape)


def P(*shape, low=0.5, high=2.0):
    """Positive float64 in [low, high)."""
    return lambda rng: rng.uniform(low, high, shape)


def A(*shape, gap=0.1):
    """Normal-ish float64 kept at least ``gap`` away from 0 (the kink of relu/abs/leaky_relu)."""

    def make(rng):
        x = rng.standard_normal(shape)
        return np.sign(x + (x == 0)) * (np.abs(x) + gap)

    return make


def D(*shape, step=0.1):
    """Distinct float64 values, pairwise at least ``step`` apart (no ties for max/min)."""

    def make(rng):
        n = int(np.prod(shape)) if shape else 1
        v = (rng.permutation(n) - n / 2) * step + rng.uniform(0, step / 10, n)
        return v.reshape(shape)

    return make


def I(*shape, high=3):  # noqa: E743 - one capital letter per input kind, as N, P, A, D, B
    """int64 in [0, high)."""
    return lambda rng: rng.integers(0, high, shape)


def B(*shape):
    """Random booleans."""
    return lambda rng: rng.random(shape) < 0.5


def apart(shape_x, shape_y, step=0.1):
    """Two float64 arrays whose values are all distinct and at least ``step`` apart, so no
    broadcast pair (x, y) is within eps of a tie."""

    def make(rng):
        nx, ny = int(np.prod(shape_x)), int(np.prod(shape_y))
        v = D(nx + ny, step=step)(rng)
        return [v[:nx].reshape(shape_x), v[nx:].reshape(shape_y)]

    return make


# ---- helpers for references ------------------------------------------------------------------
def _softmax(x, axis=-1):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def _logsumexp(x, axis=-1, keepdims=False):
    m = x.max(axis=axis, keepdims=True)
    out = m + np.log(np.exp(x - m).sum(axis=axis, keepdims=True))
    return out if keepdims else np.squeeze(out, axis=axis)


def _sigmoid(x):
    return 1 / (1 + np.exp(-x))


def _torch_pad(torch, t, pw, value=0.0):
    flat = [v for pair in reversed(pw) for v in pair]
    return torch.nn.functional.pad(t, flat, value=value)


# ---- the table -------------------------------------------------------------------------------
SPECS: list[OpSpec] = []


def spec(*args, **kwargs) -> OpSpec:
    s = OpSpec(*args, **kwargs)
    SPECS.append(s)
    return s


# Binary arithmetic, including broadcasting in both directions.
_BINARY_SHAPES = [
    ("same", (3, 4), (3, 4)),
    ("row", (3, 4), (4,)),
    ("col", (3, 1), (1, 4)),
    ("scalar", (2, 3), ()),
    ("lead", (5,), (2, 3, 5)),
    ("both-stretched", (4, 1, 3), (5, 1)),
    ("size-one", (1, 1), (1,)),
    ("0d-0d", (), ()),
    ("0d-left", (), (2, 3)),
]
for case, sx, sy in _BINARY_SHAPES:
    spec(
        f"add/{case}", "add", lambda x, y: ops.add(x, y), (N(*sx), N(*sy)), np.add, lambda torch, x, y: torch.add(x, y)
    )
    spec(
        f"sub/{case}",
        "sub",
        lambda x, y: ops.sub(x, y),
        (N(*sx), N(*sy)),
        np.subtract,
        lambda torch, x, y: torch.sub(x, y),
    )
    spec(
        f"mul/{case}",
        "mul",
        lambda x, y: ops.mul(x, y),
        (N(*sx), N(*sy)),
        np.multiply,
        lambda torch, x, y: torch.mul(x, y),
    )
    spec(
        f"div/{case}",
        "div",
        lambda x, y: ops.div(x, y),
        (N(*sx), A(*sy, gap=0.5)),
        np.divide,
        lambda torch, x, y: torch.div(x, y),
        kink="pole at y = 0: |y| >= 0.5",
    )
    spec(
        f"maximum/{case}",
        "maximum",
        lambda x, y: ops.maximum(x, y),
        apart(sx, sy),
        np.maximum,
        lambda torch, x, y: torch.maximum(x, y),
        kink="ties x == y: inputs kept 0.1 apart",
    )
    spec(
        f"minimum/{case}",
        "minimum",
        lambda x, y: ops.minimum(x, y),
        apart(sx, sy),
        np.minimum,
        lambda torch, x, y: torch.minimum(x, y),
        kink="ties x == y: inputs kept 0.1 apart",
    )

spec("add/operator-number", "add", lambda x: x + 2.5, (N(3, 4),), lambda x: x + 2.5, lambda torch, x: x + 2.5)
spec("sub/operator-rsub", "sub", lambda x: 1.5 - x, (N(3, 4),), lambda x: 1.5 - x, lambda torch, x: 1.5 - x)
spec("mul/operator-rmul", "mul", lambda x: 3.0 * x, (N(3, 4),), lambda x: 3.0 * x, lambda torch, x: 3.0 * x)
spec(
    "div/operator-rdiv",
    "div",
    lambda x: 2.0 / x,
    (A(3, 4, gap=0.5),),
    lambda x: 2.0 / x,
    lambda torch, x: 2.0 / x,
    kink="pole at 0: |x| >= 0.5",
)
spec("neg", "neg", lambda x: ops.neg(x), (N(3, 4),), np.negative, lambda torch, x: -x)
spec("neg/operator", "neg", lambda x: -x, (N(2, 3, 2),), np.negative, lambda torch, x: -x)

# Powers: integer, fractional (positive base), tensor exponent, scalar base.
spec("pow/square", "pow", lambda x: ops.pow(x, 2.0), (N(3, 4),), lambda x: x**2.0, lambda torch, x: x**2.0)
spec("pow/cube-operator", "pow", lambda x: x**3, (N(3, 4),), lambda x: x**3, lambda torch, x: x**3)
spec(
    "pow/fractional",
    "pow",
    lambda x: ops.pow(x, 0.5),
    (P(3, 4),),
    lambda x: x**0.5,
    lambda torch, x: x**0.5,
    positive=True,
)
spec("pow/negative", "pow", lambda x: x**-1.5, (P(3, 4),), lambda x: x**-1.5, lambda torch, x: x**-1.5, positive=True)
spec(
    "pow/tensor-exponent",
    "pow",
    lambda x, p: ops.pow(x, p),
    (P(3, 4), N(3, 4)),
    np.power,
    lambda torch, x, p: torch.pow(x, p),
    positive=True,
)
spec(
    "pow/tensor-exponent-broadcast",
    "pow",
    lambda x, p: ops.pow(x, p),
    (P(3, 4), N(4)),
    np.power,
    lambda torch, x, p: torch.pow(x, p),
    positive=True,
)
spec("pow/scalar-base", "pow", lambda p: 2.0**p, (N(3, 4),), lambda p: 2.0**p, lambda torch, p: 2.0**p)

# Unary elementwise.
spec("exp", "exp", lambda x: ops.exp(x), (N(3, 4),), np.exp, lambda torch, x: torch.exp(x))
spec("log", "log", lambda x: ops.log(x), (P(3, 4),), np.log, lambda torch, x: torch.log(x), positive=True)
spec("sqrt", "sqrt", lambda x: ops.sqrt(x), (P(3, 4),), np.sqrt, lambda torch, x: torch.sqrt(x), positive=True)
spec("abs", "abs", lambda x: ops.abs(x), (A(3, 4),), np.abs, lambda torch, x: torch.abs(x), kink="x = 0: |x| >= 0.1")
spec("sigmoid", "sigmoid", lambda x: ops.sigmoid(x), (N(3, 4),), _sigmoid, lambda torch, x: torch.sigmoid(x))
spec(
    "sigmoid/large",
    "sigmoid",
    lambda x: ops.sigmoid(x * 10.0),
    (N(4, 5),),
    lambda x: _sigmoid(x * 10.0),
    lambda torch, x: torch.sigmoid(x * 10.0),
)
spec("tanh", "tanh", lambda x: ops.tanh(x), (N(3, 4),), np.tanh, lambda torch, x: torch.tanh(x))
spec(
    "relu",
    "relu",
    lambda x: ops.relu(x),
    (A(3, 4),),
    lambda x: np.maximum(x, 0),
    lambda torch, x: torch.relu(x),
    kink="x = 0: |x| >= 0.1",
)
spec(
    "leaky_relu",
    "leaky_relu",
    lambda x: ops.leaky_relu(x),
    (A(3, 4),),
    lambda x: np.where(x > 0, x, 0.01 * x),
    lambda torch, x: torch.nn.functional.leaky_relu(x, 0.01),
    kink="x = 0: |x| >= 0.1",
)
spec(
    "leaky_relu/slope",
    "leaky_relu",
    lambda x: ops.leaky_relu(x, negative_slope=0.2),
    (A(2, 5),),
    lambda x: np.where(x > 0, x, 0.2 * x),
    lambda torch, x: torch.nn.functional.leaky_relu(x, 0.2),
    kink="x = 0: |x| >= 0.1",
)
spec(
    "clip",
    "clip",
    lambda x: ops.clip(x, -0.5, 0.7),
    (D(4, 5, step=0.13),),
    lambda x: np.clip(x, -0.5, 0.7),
    lambda torch, x: torch.clamp(x, -0.5, 0.7),
    kink="x at the bounds: values are a grid offset from -0.5 and 0.7",
)
spec(
    "clip/low-only",
    "clip",
    lambda x: ops.clip(x, low=0.05),
    (D(3, 4, step=0.13),),
    lambda x: np.clip(x, 0.05, None),
    lambda torch, x: torch.clamp(x, min=0.05),
    kink="x at the bound",
)
spec(
    "where",
    "where",
    lambda x, y, c: ops.where(c, x, y),
    (N(3, 4), N(3, 4), B(3, 4)),
    lambda x, y, c: np.where(c, x, y),
    lambda torch, x, y, c: torch.where(c, x, y),
)
spec(
    "where/broadcast",
    "where",
    lambda x, y, c: ops.where(c, x, y),
    (N(3, 4), N(4), B(3, 4)),
    lambda x, y, c: np.where(c, x, y),
    lambda torch, x, y, c: torch.where(c, x, y),
)
spec(
    "cast/float64",
    "cast",
    lambda x: ops.cast(x, np.float64),
    (N(3, 4),),
    lambda x: x.astype(np.float64),
    lambda torch, x: x.to(torch.float64),
    keeps_dtype=False,
)

# Reductions.
for op_name, np_fn, torch_name in [("sum", np.sum, "sum"), ("mean", np.mean, "mean")]:
    for case, shape, axis, keep in [
        ("all", (3, 4), None, False),
        ("axis0", (3, 4), 0, False),
        ("axis-1-keepdims", (3, 4), -1, True),
        ("axes-tuple", (2, 3, 4), (0, 2), False),
        ("axes-tuple-keepdims", (2, 3, 4), (1, 2), True),
        ("0d", (), None, False),
        ("axis-2-keepdims", (2, 3, 4), -2, True),
        ("negative-axes-tuple", (2, 3, 4), (-1, 0), False),
    ]:
        spec(
            f"{op_name}/{case}",
            op_name,
            (lambda f, a, k: lambda x: getattr(ops, f)(x, axis=a, keepdims=k))(op_name, axis, keep),
            (N(*shape),),
            (lambda f, a, k: lambda x: f(x, axis=a, keepdims=k))(np_fn, axis, keep),
            (
                lambda n, a, k: (
                    lambda torch, x: getattr(torch, n)(x) if a is None else getattr(torch, n)(x, dim=a, keepdim=k)
                )
            )(torch_name, axis, keep),
        )
spec("sum/method", "sum", lambda x: x.sum(axis=1), (N(3, 4),), lambda x: x.sum(axis=1), lambda torch, x: x.sum(dim=1))

for op_name, np_fn, torch_name in [("max", np.max, "amax"), ("min", np.min, "amin")]:
    for case, shape, axis, keep in [
        ("all", (3, 4), None, False),
        ("axis0", (3, 4), 0, False),
        ("axis1-keepdims", (3, 4), 1, True),
        ("axes-tuple", (2, 3, 4), (0, 2), False),
        ("0d", (), None, False),
        ("negative-axes-tuple-keepdims", (2, 3, 4), (-1, -3), True),
    ]:
        spec(
            f"{op_name}/{case}",
            op_name,
            (lambda f, a, k: lambda x: getattr(ops, f)(x, axis=a, keepdims=k))(op_name, axis, keep),
            (D(*shape),),
            (lambda f, a, k: lambda x: f(x, axis=a, keepdims=k))(np_fn, axis, keep),
            (
                lambda n, a, k: (
                    lambda torch, x: getattr(torch, n)(x) if a is None else getattr(torch, n)(x, dim=a, keepdim=k)
                )
            )(torch_name, axis, keep),
            kink="ties: values are distinct, 0.1 apart",
        )

spec(
    "logsumexp",
    "logsumexp",
    lambda x: ops.logsumexp(x),
    (N(3, 5),),
    _logsumexp,
    lambda torch, x: torch.logsumexp(x, dim=-1),
)
spec(
    "logsumexp/axis0-keepdims",
    "logsumexp",
    lambda x: ops.logsumexp(x, axis=0, keepdims=True),
    (N(3, 5),),
    lambda x: _logsumexp(x, axis=0, keepdims=True),
    lambda torch, x: torch.logsumexp(x, dim=0, keepdim=True),
)
spec(
    "logsumexp/large",
    "logsumexp",
    lambda x: ops.logsumexp(x * 300.0),
    (N(2, 4),),
    lambda x: _logsumexp(x * 300.0),
    lambda torch, x: torch.logsumexp(x * 300.0, dim=-1),
)
spec(
    "logsumexp/all-axes",
    "logsumexp",
    lambda x: ops.logsumexp(x, axis=None),
    (N(3, 4),),
    lambda x: _logsumexp(x.reshape(-1)),
    lambda torch, x: torch.logsumexp(x, dim=(0, 1)),
)
spec(
    "logsumexp/axes-tuple-keepdims",
    "logsumexp",
    lambda x: ops.logsumexp(x, axis=(0, 2), keepdims=True),
    (N(2, 3, 4),),
    lambda x: _logsumexp(x, axis=(0, 2), keepdims=True),
    lambda torch, x: torch.logsumexp(x, dim=(0, 2), keepdim=True),
)
spec(
    "softmax/all-axes",
    "softmax",
    lambda x: ops.softmax(x, axis=None),
    (N(3, 4),),
    lambda x: _softmax(x.reshape(-1)).reshape(x.shape),
    lambda torch, x: torch.softmax(x.reshape(-1), dim=0).reshape(x.shape),
)
spec(
    "log_softmax/axes-tuple",
    "log_softmax",
    lambda x: ops.log_softmax(x, axis=(1, 2)),
    (N(2, 3, 4),),
    lambda x: np.log(_softmax(x.reshape(2, -1)).reshape(x.shape)),
    lambda torch, x: torch.log_softmax(x.reshape(2, -1), dim=1).reshape(x.shape),
)
spec("softmax", "softmax", lambda x: ops.softmax(x), (N(3, 5),), _softmax, lambda torch, x: torch.softmax(x, dim=-1))
spec(
    "softmax/axis0",
    "softmax",
    lambda x: ops.softmax(x, axis=0),
    (N(4, 3),),
    lambda x: _softmax(x, axis=0),
    lambda torch, x: torch.softmax(x, dim=0),
)
spec(
    "softmax/3d",
    "softmax",
    lambda x: ops.softmax(x, axis=1),
    (N(2, 4, 3),),
    lambda x: _softmax(x, axis=1),
    lambda torch, x: torch.softmax(x, dim=1),
)
spec(
    "log_softmax",
    "log_softmax",
    lambda x: ops.log_softmax(x),
    (N(3, 5),),
    lambda x: np.log(_softmax(x)),
    lambda torch, x: torch.log_softmax(x, dim=-1),
)
spec(
    "log_softmax/axis0",
    "log_softmax",
    lambda x: ops.log_softmax(x, axis=0),
    (N(4, 3),),
    lambda x: np.log(_softmax(x, axis=0)),
    lambda torch, x: torch.log_softmax(x, dim=0),
)

# Shape ops.
spec(
    "reshape",
    "reshape",
    lambda x: ops.reshape(x, (4, 3)),
    (N(3, 4),),
    lambda x: x.reshape(4, 3),
    lambda torch, x: x.reshape(4, 3),
)
spec(
    "reshape/infer",
    "reshape",
    lambda x: x.reshape(2, -1),
    (N(2, 3, 2),),
    lambda x: x.reshape(2, -1),
    lambda torch, x: x.reshape(2, -1),
)
spec(
    "flatten",
    "flatten",
    lambda x: ops.flatten(x),
    (N(2, 3, 4),),
    lambda x: x.reshape(-1),
    lambda torch, x: torch.flatten(x),
)
spec(
    "flatten/start1",
    "flatten",
    lambda x: ops.flatten(x, 1),
    (N(2, 3, 4),),
    lambda x: x.reshape(2, -1),
    lambda torch, x: torch.flatten(x, 1),
)
spec("transpose", "transpose", lambda x: ops.transpose(x), (N(3, 4),), np.transpose, lambda torch, x: x.T)
spec(
    "transpose/axes",
    "transpose",
    lambda x: ops.transpose(x, (1, 2, 0)),
    (N(2, 3, 4),),
    lambda x: np.transpose(x, (1, 2, 0)),
    lambda torch, x: x.permute(1, 2, 0),
)
spec(
    "transpose/negative-axes",
    "transpose",
    lambda x: ops.transpose(x, (-1, 0, 1)),
    (N(2, 3, 4),),
    lambda x: np.transpose(x, (-1, 0, 1)),
    lambda torch, x: x.permute(-1, 0, 1),
)
spec(
    "transpose/method-varargs",
    "transpose",
    lambda x: x.transpose(2, -3, 1),
    (N(2, 3, 4),),
    lambda x: np.transpose(x, (2, 0, 1)),
    lambda torch, x: x.permute(2, 0, 1),
)
spec("transpose/T", "transpose", lambda x: x.T, (N(2, 5),), lambda x: x.T, lambda torch, x: x.T)

_FANCY = np.array([2, 0, 2, 1, 2])
_ROWS, _COLS = np.array([0, 2, 2]), np.array([1, 3, 1])
_MASK = np.array([True, False, True, True])
for case, index in [
    ("int", 1),
    ("slice", slice(1, 3)),
    ("step", (slice(None), slice(None, None, 2))),
    ("negative-step", slice(None, None, -1)),
    ("ellipsis-newaxis", (Ellipsis, None, 1)),
    ("mixed", (1, slice(0, 3))),
    ("fancy-repeats", _FANCY),
    ("fancy-pairs-repeats", (_ROWS, _COLS)),
    ("fancy-and-slice", (slice(0, 2), _FANCY[:3])),
    ("bool-mask", (slice(None), _MASK)),
]:
    spec(
        f"getitem/{case}",
        "getitem",
        (lambda i: lambda x: x[i])(index),
        (N(3, 4),),
        (lambda i: lambda x: x[i])(index),
        (
            lambda i: (
                lambda torch, x: x[
                    tuple(
                        torch.as_tensor(v) if isinstance(v, np.ndarray) else v
                        for v in (i if isinstance(i, tuple) else (i,))
                    )
                ]
            )
        )(index),
    )
# PyTorch has no negative-step slices; flip is the same selection.
next(s for s in SPECS if s.name == "getitem/negative-step").torch_fn = lambda torch, x: torch.flip(x, [0])
spec(
    "getitem/function",
    "getitem",
    lambda x: ops.getitem(x, (slice(None), 2)),
    (N(3, 4),),
    lambda x: x[:, 2],
    lambda torch, x: x[:, 2],
)

spec(
    "concatenate",
    "concatenate",
    lambda a, b, c: ops.concatenate([a, b, c]),
    (N(2, 3), N(1, 3), N(4, 3)),
    lambda a, b, c: np.concatenate([a, b, c]),
    lambda torch, a, b, c: torch.cat([a, b, c]),
)
spec(
    "concatenate/axis1",
    "concatenate",
    lambda a, b: ops.concatenate([a, b], axis=1),
    (N(2, 3), N(2, 2)),
    lambda a, b: np.concatenate([a, b], axis=1),
    lambda torch, a, b: torch.cat([a, b], dim=1),
)
spec(
    "concatenate/axis-1",
    "concatenate",
    lambda a, b: ops.concatenate([a, b], axis=-1),
    (N(2, 2, 3), N(2, 2, 1)),
    lambda a, b: np.concatenate([a, b], axis=-1),
    lambda torch, a, b: torch.cat([a, b], dim=-1),
)
spec(
    "stack",
    "stack",
    lambda a, b, c: ops.stack([a, b, c]),
    (N(2, 3), N(2, 3), N(2, 3)),
    lambda a, b, c: np.stack([a, b, c]),
    lambda torch, a, b, c: torch.stack([a, b, c]),
)
spec(
    "stack/axis1",
    "stack",
    lambda a, b: ops.stack([a, b], axis=1),
    (N(2, 3), N(2, 3)),
    lambda a, b: np.stack([a, b], axis=1),
    lambda torch, a, b: torch.stack([a, b], dim=1),
)
spec(
    "stack/axis-1",
    "stack",
    lambda a, b: ops.stack([a, b], axis=-1),
    (N(2, 3), N(2, 3)),
    lambda a, b: np.stack([a, b], axis=-1),
    lambda torch, a, b: torch.stack([a, b], dim=-1),
)
spec(
    "pad",
    "pad",
    lambda x: ops.pad(x, [(1, 2), (0, 1)]),
    (N(3, 4),),
    lambda x: np.pad(x, [(1, 2), (0, 1)]),
    lambda torch, x: _torch_pad(torch, x, [(1, 2), (0, 1)]),
)
spec(
    "pad/nchw-value",
    "pad",
    lambda x: ops.pad(x, [(0, 0), (0, 0), (1, 1), (2, 0)], value=-1.0),
    (N(2, 1, 3, 3),),
    lambda x: np.pad(x, [(0, 0), (0, 0), (1, 1), (2, 0)], constant_values=-1.0),
    lambda torch, x: _torch_pad(torch, x, [(0, 0), (0, 0), (1, 1), (2, 0)], -1.0),
)

# 0-d and non-contiguous inputs (a transposed or strided view reaches the gate's forward).
spec("exp/0d", "exp", lambda x: ops.exp(x), (N(),), np.exp, lambda torch, x: torch.exp(x))
spec("sigmoid/0d", "sigmoid", lambda x: ops.sigmoid(x), (N(),), _sigmoid, lambda torch, x: torch.sigmoid(x))
spec(
    "sigmoid/transposed",
    "sigmoid",
    lambda x: ops.sigmoid(x.T),
    (N(3, 4),),
    lambda x: _sigmoid(x.T),
    lambda torch, x: torch.sigmoid(x.T),
)
spec(
    "tanh/strided",
    "tanh",
    lambda x: ops.tanh(x[:, ::2]),
    (N(3, 6),),
    lambda x: np.tanh(x[:, ::2]),
    lambda torch, x: torch.tanh(x[:, ::2]),
)
spec(
    "relu/transposed",
    "relu",
    lambda x: ops.relu(x.T),
    (A(3, 4),),
    lambda x: np.maximum(x.T, 0),
    lambda torch, x: torch.relu(x.T),
    kink="x = 0: inputs kept 0.1 away",
)
spec(
    "softmax/transposed-axis0",
    "softmax",
    lambda x: ops.softmax(x.T, axis=0),
    (N(3, 4),),
    lambda x: _softmax(x.T, axis=0),
    lambda torch, x: torch.softmax(x.T, dim=0),
)
spec(
    "linear/strided-input",
    "linear",
    lambda x, w, b: ops.linear(x[:, ::2], w, b),
    (N(5, 8), N(3, 4), N(3)),
    lambda x, w, b: x[:, ::2] @ w.T + b,
    lambda torch, x, w, b: torch.nn.functional.linear(x[:, ::2], w, b),
)
spec(
    "linear/1d-input",
    "linear",
    lambda x, w, b: ops.linear(x, w, b),
    (N(4), N(3, 4), N(3)),
    lambda x, w, b: w @ x + b,
    lambda torch, x, w, b: torch.nn.functional.linear(x, w, b),
)
spec(
    "linear/transposed-weight",
    "linear",
    lambda x, w: ops.linear(x, w.T),
    (N(5, 4), N(4, 3)),
    lambda x, w: x @ w,
    lambda torch, x, w: torch.nn.functional.linear(x, w.T),
)

# Linear algebra.
for case, sx, sw in [
    ("vec-vec", (4,), (4,)),
    ("vec-mat", (4,), (4, 3)),
    ("mat-vec", (3, 4), (4,)),
    ("mat-mat", (3, 4), (4, 5)),
    ("batched", (2, 3, 4), (2, 4, 5)),
    ("batched-broadcast", (2, 1, 3, 4), (5, 4, 2)),
    ("batch-mat", (2, 3, 4), (4, 5)),
    ("batch-vec", (2, 3, 4), (4,)),
    ("vec-batch", (4,), (2, 4, 3)),
]:
    spec(
        f"matmul/{case}",
        "matmul",
        lambda x, w: ops.matmul(x, w),
        (N(*sx), N(*sw)),
        np.matmul,
        lambda torch, x, w: torch.matmul(x, w),
    )
spec("matmul/operator", "matmul", lambda x, w: x @ w, (N(3, 4), N(4, 2)), np.matmul, lambda torch, x, w: x @ w)
spec(
    "linear",
    "linear",
    lambda x, w, b: ops.linear(x, w, b),
    (N(5, 4), N(3, 4), N(3)),
    lambda x, w, b: x @ w.T + b,
    lambda torch, x, w, b: torch.nn.functional.linear(x, w, b),
)
spec(
    "linear/no-bias",
    "linear",
    lambda x, w: ops.linear(x, w),
    (N(5, 4), N(3, 4)),
    lambda x, w: x @ w.T,
    lambda torch, x, w: torch.nn.functional.linear(x, w),
)
spec(
    "linear/3d",
    "linear",
    lambda x, w, b: ops.linear(x, w, b),
    (N(2, 5, 4), N(3, 4), N(3)),
    lambda x, w, b: x @ w.T + b,
    lambda torch, x, w, b: torch.nn.functional.linear(x, w, b),
)


# Losses (nnlab/engine/ops/loss.py). Hinge-type losses keep every margin 0.1+ away from its kink.
def _labels_and_scores(n, c, delta=1.0):
    """Scores whose SVM margins s_j - s_y + delta stay >= 0.1 away from 0, and their labels."""

    def make(rng):
        y = rng.integers(0, c, n)
        s = D(n, c, step=0.23)(rng)
        for _ in range(100):
            m = s - s[np.arange(n), y][:, None] + delta
            m[np.arange(n), y] = 1.0
            if np.abs(m).min() >= 0.1:
                break
            s = D(n, c, step=0.23)(rng)
        return [s, y]

    return make


def _svm_ref(s, y, delta=1.0, squared=False):
    n = s.shape[0]
    m = np.maximum(0, s - s[np.arange(n), y][:, None] + delta)
    m[np.arange(n), y] = 0
    return ((m**2) if squared else m).sum() / n


def _torch_svm(torch, s, y, delta=1.0, squared=False):
    n = s.shape[0]
    correct = s.gather(1, y[:, None])
    m = torch.clamp(s - correct + delta, min=0)
    m = m * (1 - torch.nn.functional.one_hot(y, s.shape[1]).to(s.dtype))
    return ((m**2) if squared else m).sum() / n


def _ce_ref(x, y):
    lp = np.log(_softmax(x))
    return -lp[np.arange(len(y)), y].mean()


def _hsm_ref(s, y, parents=(-1, 0, 0, 1, 1, 1, 2, 2)):
    parents = np.asarray(parents)
    children = {v: np.flatnonzero(parents == v) for v in range(len(parents))}
    leaves = [v for v in range(len(parents)) if len(children[v]) == 0]
    total = 0.0
    for i, k in enumerate(y):
        v = leaves[k]
        while parents[v] != -1:
            sib = children[parents[v]]
            total -= s[i, v] - np.log(np.exp(s[i, sib]).sum())
            v = parents[v]
    return total / len(y)


def _pm1(*shape):
    return lambda rng: np.where(rng.random(shape) < 0.5, -1, 1)


def _hinge_inputs(n, d):
    def make(rng):
        y = _pm1(n, d)(rng)
        f = A(n, d, gap=0.1)(rng) * 0.5 + 0  # margins 1 - y f kept away from 0 below
        f = np.where(np.abs(1 - y * f) < 0.1, f + 0.3 * y, f)
        return [f, y]

    return make


spec(
    "softmax_cross_entropy",
    "softmax_cross_entropy",
    lambda x, y: ops.softmax_cross_entropy(x, y),
    (N(5, 4), I(5, high=4)),
    _ce_ref,
    lambda torch, x, y: torch.nn.functional.cross_entropy(x, y),
)
spec(
    "softmax_cross_entropy/probabilities",
    "softmax_cross_entropy",
    lambda x, t: ops.softmax_cross_entropy(x, t),
    (N(4, 3), lambda rng: _softmax(rng.standard_normal((4, 3)))),
    lambda x, t: -(t * np.log(_softmax(x))).sum(axis=1).mean(),
    lambda torch, x, t: torch.nn.functional.cross_entropy(x, t),
    constants=(1,),
)
spec(
    "multiclass_svm",
    "multiclass_svm",
    lambda s, y: ops.multiclass_svm(s, y),
    _labels_and_scores(6, 4),
    _svm_ref,
    _torch_svm,
    kink="margins kept 0.1 from 0",
)
spec(
    "multiclass_svm/squared-delta",
    "multiclass_svm",
    lambda s, y: ops.multiclass_svm(s, y, delta=0.5, squared=True),
    _labels_and_scores(6, 4, delta=0.5),
    lambda s, y: _svm_ref(s, y, 0.5, True),
    lambda torch, s, y: _torch_svm(torch, s, y, 0.5, True),
    kink="margins kept 0.1 from 0",
)
spec(
    "binary_hinge",
    "binary_hinge",
    lambda f, y: ops.binary_hinge(f, y),
    _hinge_inputs(5, 3),
    lambda f, y: np.maximum(0, 1 - y * f).sum() / f.shape[0],
    lambda torch, f, y: torch.clamp(1 - y * f, min=0).sum() / f.shape[0],
    kink="margins 1 - y f kept 0.1 from 0",
)
spec(
    "binary_cross_entropy_with_logits",
    "binary_cross_entropy_with_logits",
    lambda f, y: ops.binary_cross_entropy_with_logits(f, y),
    (N(5, 3), I(5, 3, high=2)),
    lambda f, y: (np.maximum(f, 0) - f * y + np.log1p(np.exp(-np.abs(f)))).mean(),
    lambda torch, f, y: torch.nn.functional.binary_cross_entropy_with_logits(f, y.to(f.dtype)),
)
spec(
    "mse",
    "mse",
    lambda f, t: ops.mse(f, t),
    (N(5, 3), N(5, 3)),
    lambda f, t: ((f - t) ** 2).mean(),
    lambda torch, f, t: torch.nn.functional.mse_loss(f, t),
)
spec(
    "l2",
    "l2",
    lambda f, t: ops.l2(f, t),
    (N(5, 3), N(5, 3)),
    lambda f, t: ((f - t) ** 2).sum() / f.shape[0],
    lambda torch, f, t: ((f - t) ** 2).sum() / f.shape[0],
)
spec(
    "l1",
    "l1",
    lambda f, t: ops.l1(f, t),
    apart((5, 3), (5, 3)),
    lambda f, t: np.abs(f - t).mean(),
    lambda torch, f, t: torch.nn.functional.l1_loss(f, t),
    kink="f == t: values kept 0.1 apart",
)
spec(
    "hierarchical_softmax",
    "hierarchical_softmax",
    lambda s, y: ops.hierarchical_softmax(s, y, [-1, 0, 0, 1, 1, 1, 2, 2]),
    (N(6, 8), I(6, high=5)),
    _hsm_ref,
)

# Normalization and dropout (nnlab/engine/ops/norm.py).
spec(
    "batch_norm/train",
    "batch_norm",
    lambda x, w, b: ops.batch_norm(x, weight=w, bias=b, training=True),
    (N(6, 3), P(3), N(3)),
    lambda x, w, b: (x - x.mean(0)) / np.sqrt(x.var(0) + 1e-5) * w + b,
    lambda torch, x, w, b: torch.nn.functional.batch_norm(x, None, None, w, b, training=True),
)
spec(
    "batch_norm/train-nchw",
    "batch_norm",
    lambda x, w, b: ops.batch_norm(x, weight=w, bias=b, training=True),
    (N(3, 2, 2, 3), P(2), N(2)),
    lambda x, w, b: (
        (x - x.mean((0, 2, 3), keepdims=True)) / np.sqrt(x.var((0, 2, 3), keepdims=True) + 1e-5) * w[:, None, None]
        + b[:, None, None]
    ),
    lambda torch, x, w, b: torch.nn.functional.batch_norm(x, None, None, w, b, training=True),
)
_RM, _RV = np.array([0.1, -0.2, 0.3]), np.array([0.5, 1.5, 2.0])
spec(
    "batch_norm/eval",
    "batch_norm",
    lambda x, w, b: ops.batch_norm(x, _RM.astype(x.dtype), _RV.astype(x.dtype), w, b, training=False),
    (N(4, 3), P(3), N(3)),
    lambda x, w, b: (x - _RM) / np.sqrt(_RV + 1e-5) * w + b,
    lambda torch, x, w, b: torch.nn.functional.batch_norm(
        x, torch.from_numpy(_RM), torch.from_numpy(_RV), w, b, training=False
    ),
)
spec(
    "dropout",
    "dropout",
    lambda x: ops.dropout(x, p=0.3, rng=np.random.default_rng(7)),
    (N(4, 5),),
    lambda x: x * (np.random.default_rng(7).random(x.shape, dtype=np.float32) >= 0.3) / 0.7,
)
spec("dropout/eval", "dropout", lambda x: ops.dropout(x, p=0.3, training=False) * 1.0, (N(4, 5),), lambda x: x)


# Convolution, pooling, LRN (nnlab/engine/ops/conv.py, pool.py, lrn.py). References loop over
# output positions: slow but obviously right on these tiny shapes.
def _conv_ref(x, w, b=None, stride=1, padding=0, dilation=1, groups=1):
    n, c, h, wd = x.shape
    o, cg, kh, kw = w.shape
    s, p, d = stride, padding, dilation
    xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
    oh = (h + 2 * p - d * (kh - 1) - 1) // s + 1
    ow = (wd + 2 * p - d * (kw - 1) - 1) // s + 1
    out = np.zeros((n, o, oh, ow))
    per_group = o // groups
    for oc in range(o):
        g = oc // per_group
        for i in range(oh):
            for j in range(ow):
                patch = xp[
                    :, g * cg : (g + 1) * cg, i * s : i * s + d * (kh - 1) + 1 : d, j * s : j * s + d * (kw - 1) + 1 : d
                ]
                out[:, oc, i, j] = (patch * w[oc]).sum(axis=(1, 2, 3))
    return out if b is None else out + b[None, :, None, None]


def _local_ref(x, w, b=None, stride=1, padding=0):
    oh, ow, o, c, kh, kw = w.shape
    s, p = stride, padding
    xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
    out = np.zeros((x.shape[0], o, oh, ow))
    for i in range(oh):
        for j in range(ow):
            patch = xp[:, :, i * s : i * s + kh, j * s : j * s + kw]
            out[:, :, i, j] = np.einsum("nckl,ockl->no", patch, w[i, j])
    return out if b is None else out + b[None]


def _pool_ref(x, k, s, p=0, kind="max", norm=2.0):
    fill = -np.inf if kind == "max" else 0.0
    xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)), constant_values=fill)
    oh = (x.shape[2] + 2 * p - k) // s + 1
    ow = (x.shape[3] + 2 * p - k) // s + 1
    out = np.zeros(x.shape[:2] + (oh, ow))
    for i in range(oh):
        for j in range(ow):
            win = xp[:, :, i * s : i * s + k, j * s : j * s + k]
            if kind == "max":
                out[:, :, i, j] = win.max(axis=(2, 3))
            elif kind == "avg":
                out[:, :, i, j] = win.mean(axis=(2, 3))
            else:
                out[:, :, i, j] = (win**norm).sum(axis=(2, 3)) ** (1 / norm)
    return out


def _lrn_ref(x, size, alpha=1e-4, beta=0.75, k=1.0):
    c = x.shape[1]
    sq = x**2
    d = np.zeros_like(x)
    for ch in range(c):
        lo, hi = max(0, ch - size // 2), min(c, ch + (size - 1) // 2 + 1)
        d[:, ch] = sq[:, lo:hi].sum(axis=1)
    return x / (k + alpha / size * d) ** beta


spec(
    "conv2d",
    "conv2d",
    lambda x, w, b: ops.conv2d(x, w, b),
    (N(2, 3, 5, 5), N(4, 3, 3, 3), N(4)),
    _conv_ref,
    lambda torch, x, w, b: torch.nn.functional.conv2d(x, w, b),
)
spec(
    "conv2d/stride-pad",
    "conv2d",
    lambda x, w: ops.conv2d(x, w, stride=2, padding=1),
    (N(2, 2, 5, 5), N(3, 2, 3, 3)),
    lambda x, w: _conv_ref(x, w, stride=2, padding=1),
    lambda torch, x, w: torch.nn.functional.conv2d(x, w, stride=2, padding=1),
)
spec(
    "conv2d/dilation-groups",
    "conv2d",
    lambda x, w, b: ops.conv2d(x, w, b, padding=2, dilation=2, groups=2),
    (N(1, 4, 6, 6), N(4, 2, 3, 3), N(4)),
    lambda x, w, b: _conv_ref(x, w, b, padding=2, dilation=2, groups=2),
    lambda torch, x, w, b: torch.nn.functional.conv2d(x, w, b, padding=2, dilation=2, groups=2),
)
spec(
    "conv2d/1x1",
    "conv2d",
    lambda x, w: ops.conv2d(x, w),
    (N(2, 3, 4, 4), N(5, 3, 1, 1)),
    _conv_ref,
    lambda torch, x, w: torch.nn.functional.conv2d(x, w),
)
spec(
    "locally_connected2d",
    "locally_connected2d",
    lambda x, w, b: ops.locally_connected2d(x, w, b, stride=1, padding=1),
    (N(2, 2, 4, 4), N(4, 4, 3, 2, 3, 3), N(3, 4, 4)),
    lambda x, w, b: _local_ref(x, w, b, stride=1, padding=1),
)
spec(
    "max_pool2d",
    "max_pool2d",
    lambda x: ops.max_pool2d(x, 2),
    (D(2, 3, 4, 4, step=0.05),),
    lambda x: _pool_ref(x, 2, 2),
    lambda torch, x: torch.nn.functional.max_pool2d(x, 2),
    kink="ties in a window: values distinct",
)
spec(
    "max_pool2d/overlap-pad",
    "max_pool2d",
    lambda x: ops.max_pool2d(x, 3, stride=2, padding=1),
    (D(2, 2, 5, 5, step=0.05),),
    lambda x: _pool_ref(x, 3, 2, 1),
    lambda torch, x: torch.nn.functional.max_pool2d(x, 3, stride=2, padding=1),
    kink="ties in a window: values distinct",
)
spec(
    "avg_pool2d",
    "avg_pool2d",
    lambda x: ops.avg_pool2d(x, 2),
    (N(2, 3, 4, 4),),
    lambda x: _pool_ref(x, 2, 2, kind="avg"),
    lambda torch, x: torch.nn.functional.avg_pool2d(x, 2),
)
spec(
    "avg_pool2d/overlap-pad",
    "avg_pool2d",
    lambda x: ops.avg_pool2d(x, 3, stride=2, padding=1),
    (N(2, 2, 5, 5),),
    lambda x: _pool_ref(x, 3, 2, 1, kind="avg"),
    lambda torch, x: torch.nn.functional.avg_pool2d(x, 3, stride=2, padding=1),
)
spec(
    "lp_pool2d",
    "lp_pool2d",
    lambda x: ops.lp_pool2d(x, 2, 2),
    (P(2, 2, 4, 4),),
    lambda x: _pool_ref(x, 2, 2, kind="lp", norm=2.0),
    lambda torch, x: torch.nn.functional.lp_pool2d(x, 2, 2),
    positive=True,
)
spec(
    "lp_pool2d/p3-stride1",
    "lp_pool2d",
    lambda x: ops.lp_pool2d(x, 3, 2, stride=1),
    (P(1, 2, 4, 4),),
    lambda x: _pool_ref(x, 2, 1, kind="lp", norm=3.0),
    lambda torch, x: torch.nn.functional.lp_pool2d(x, 3, 2, stride=1),
    positive=True,
)
spec(
    "global_avg_pool2d",
    "global_avg_pool2d",
    lambda x: ops.global_avg_pool2d(x),
    (N(2, 3, 4, 5),),
    lambda x: x.mean(axis=(2, 3), keepdims=True),
    lambda torch, x: torch.nn.functional.adaptive_avg_pool2d(x, 1),
)
spec(
    "local_response_norm",
    "local_response_norm",
    lambda x: ops.local_response_norm(x, 3, alpha=0.5, beta=0.75, k=2.0),
    (N(2, 5, 3, 3),),
    lambda x: _lrn_ref(x, 3, 0.5, 0.75, 2.0),
    lambda torch, x: torch.nn.functional.local_response_norm(x, 3, alpha=0.5, beta=0.75, k=2.0),
)
spec(
    "local_response_norm/even-size",
    "local_response_norm",
    lambda x: ops.local_response_norm(x, 4, alpha=0.3),
    (N(2, 6, 2, 2),),
    lambda x: _lrn_ref(x, 4, 0.3),
    lambda torch, x: torch.nn.functional.local_response_norm(x, 4, alpha=0.3),
)


def by_name() -> dict:
    return {s.name: s for s in SPECS}


def covered_ops() -> set:
    return {s.op for s in SPECS}


# Kolmogorov-Arnold layer (nnlab/engine/ops/spline.py). The reference evaluates every basis with the
# textbook Cox-de Boor recursion one scalar at a time; inputs sit at least 0.2 of an interval from
# every knot (the bases are only C^{k-1} there; k = 1 has kinks). The PyTorch side re-implements
# the same formula with torch ops, so its autograd gives independent gradients (dx through B').
def _cox_de_boor(x, t, m, p):
    if p == 0:
        return 1.0 if t[m] <= x < t[m + 1] else 0.0
    left = 0.0 if t[m + p] == t[m] else (x - t[m]) / (t[m + p] - t[m]) * _cox_de_boor(x, t, m, p - 1)
    right = (
        0.0
        if t[m + p + 1] == t[m + 1]
        else (t[m + p + 1] - x) / (t[m + p + 1] - t[m + 1]) * _cox_de_boor(x, t, m + 1, p - 1)
    )
    return left + right


_KAN_BASE = {"silu": lambda x: x / (1 + np.exp(-x)), "identity": lambda x: x, "zero": lambda x: 0 * x}


def _kan_ref(x, grid, coef, wb, ws, mask=None, k=3, base="silu", edges=False):
    n, nin = x.shape
    nout, _, nb = coef.shape
    mask = np.ones((nout, nin)) if mask is None else mask
    B = np.array([[[_cox_de_boor(x[s, i], grid[i], m, k) for m in range(nb)] for i in range(nin)] for s in range(n)])
    phi = (np.einsum("nim,jim->nji", B, coef) * ws + _KAN_BASE[base](x)[:, None, :] * wb) * mask
    return phi if edges else phi.sum(axis=2)


def _torch_kan(torch, x, grid, coef, wb, ws, mask=None, k=3, base="silu", edges=False):
    xe, t = x[:, :, None], grid[None]
    B = ((xe >= t[:, :, :-1]) & (xe < t[:, :, 1:])).to(x.dtype)
    for p in range(1, k + 1):
        left = (xe - t[:, :, : -(p + 1)]) / (t[:, :, p:-1] - t[:, :, : -(p + 1)]) * B[:, :, :-1]
        right = (t[:, :, p + 1 :] - xe) / (t[:, :, p + 1 :] - t[:, :, 1:-p]) * B[:, :, 1:]
        B = left + right
    bx = {"silu": torch.nn.functional.silu, "identity": lambda v: v, "zero": lambda v: 0 * v}[base](x)
    phi = torch.einsum("nim,jim->nji", B, coef) * ws + bx[:, None, :] * wb
    if mask is not None:
        phi = phi * mask
    return phi if edges else phi.sum(dim=2)


def _kan_inputs(n, nin, nout, G, k, lo=-1.0, hi=1.0, uniform=True, masked=False, outside=False):
    """x away from the knots, the extended grid, coef, base weight, scaler (and a 0/1 mask)."""

    def make(rng):
        if uniform:
            pts = np.linspace(lo, hi, G + 1)
        else:
            pts = np.sort(np.concatenate([[lo, hi], rng.uniform(lo, hi, G - 1)]))
            pts = lo + (hi - lo) * (np.arange(G + 1) + 0.4 * (pts - lo) / (hi - lo)) / (G + 0.4)
        h = (hi - lo) / G
        ext = np.concatenate([lo - h * np.arange(k, 0, -1), pts, hi + h * np.arange(1, k + 1)])
        grid = np.tile(ext, (nin, 1))
        first, last = (0, len(ext) - 1) if outside else (k, k + G)
        cell = rng.integers(first, last, (n, nin))
        frac = rng.uniform(0.2, 0.8, (n, nin))
        x = ext[cell] + frac * (ext[cell + 1] - ext[cell])
        if outside:
            x[0, 0] = ext[-1] + 0.3  # beyond every knot: the spline branch is 0 there
        arrays = [
            x,
            grid,
            rng.standard_normal((nout, nin, G + k)),
            rng.standard_normal((nout, nin)),
            rng.standard_normal((nout, nin)),
        ]
        if masked:
            arrays.append((rng.random((nout, nin)) < 0.6).astype(np.float64))
        return arrays

    return make


spec(
    "kan_linear",
    "kan_linear",
    lambda x, t, c, wb, ws: ops.kan_linear(x, t, c, wb, ws, k=3),
    _kan_inputs(5, 3, 4, 5, 3),
    lambda *a: _kan_ref(*a, k=3),
    lambda torch, *a: _torch_kan(torch, *a, k=3),
    kink="knots (C^2 for k=3): x 0.2 cell from knots",
    constants=(1,),
)
spec(
    "kan_linear/nonuniform-k2-mask-identity",
    "kan_linear",
    lambda x, t, c, wb, ws, m: ops.kan_linear(x, t, c, wb, ws, m, k=2, base="identity"),
    _kan_inputs(6, 2, 3, 4, 2, lo=-2.0, hi=0.5, uniform=False, masked=True),
    lambda *a: _kan_ref(*a, k=2, base="identity"),
    lambda torch, *a: _torch_kan(torch, *a, k=2, base="identity"),
    kink="knots: x 0.2 cell from knots",
    constants=(1, 5),
)
spec(
    "kan_linear/k1-zero-base-outside",
    "kan_linear",
    lambda x, t, c, wb, ws: ops.kan_linear(x, t, c, wb, ws, k=1, base="zero"),
    _kan_inputs(6, 2, 2, 3, 1, outside=True),
    lambda *a: _kan_ref(*a, k=1, base="zero"),
    lambda torch, *a: _torch_kan(torch, *a, k=1, base="zero"),
    kink="k=1 splines kink at every knot: x 0.2 cell away; x also in the extension and beyond it",
    constants=(1,),
)
spec(
    "kan_linear/edges",
    "kan_linear",
    lambda x, t, c, wb, ws, m: ops.kan_linear(x, t, c, wb, ws, m, k=3, edges=True),
    _kan_inputs(4, 3, 2, 4, 3, masked=True),
    lambda *a: _kan_ref(*a, k=3, edges=True),
    lambda torch, *a: _torch_kan(torch, *a, k=3, edges=True),
    kink="knots: x 0.2 cell from knots",
    constants=(1, 5),
)
