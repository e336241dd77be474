"""A seeded fuzz of the public API: thousands of calls with valid and nonsense arguments.

Each target names its argument slots with values that must work and values that must be
refused. A call with only valid values must not fail except in nnlab's own words (a geometry
that does not fit is a fair ValueError); a call with a nonsense value must fail with a TypeError
or ValueError raised by nnlab that names what is wrong. Nothing may escape as NumPy's or Python's
own error (``'str' object cannot be interpreted as an integer``), as another exception type, or
as NumPy's ComplexWarning; and nothing nonsense may be accepted silently.
"""

import random
import traceback
import warnings
from pathlib import Path

import numpy as np
import pytest

import nnlab
import nnlab.nn as nn
import nnlab.nn.functional as F
from nnlab.optim.schedules import ExponentialLR, MultiStepLR, StepLR

NNLAB = Path(nnlab.__file__).resolve().parent
CALLS = 3000

# Phrases of errors raised by Python or NumPy themselves, never by nnlab's checks.
FOREIGN = (
    "invalid literal",
    "object is not",
    "object cannot be interpreted",
    "unsupported operand",
    "not supported between",
    "must be real number",
    "ufunc",
    "could not convert",
    "truth value of an array",
    "object of type",
    "unhashable",
    "not iterable",
    "not subscriptable",
    "has no attribute",
    "out of bounds for",
    "inhomogeneous",
    "cannot reshape array",
    "'NoneType'",
    "data type '",
)

NAN, INF = float("nan"), float("inf")
JUNK = ["x", None, object(), [1, "a"], {"a": 1}, np.ones(2), 1 + 2j]


def _x(*shape, dtype=np.float32):
    return nnlab.tensor(np.random.default_rng(sum(shape)).normal(size=shape).astype(dtype))


def _params():
    return nn.Linear(3, 2).parameters()


class Slot:
    def __init__(self, valid, bad):
        self.valid, self.bad = list(valid), list(bad)


# target name -> (function(**slots), {slot: Slot})
AXIS = Slot([None, 0, 1, -1, (0, 1)], [1.5, "0", 2, -3, (0, 0), True] + JUNK[2:5])
KEEP = Slot([True, False], ["yes", 1.0, None, np.ones(2)])
POS_INT = Slot([1, 2, np.int64(3)], [0, -1, 1.5, "2", True, None, NAN])
PROB = Slot([0.0, 0.3, 0.5], [-0.1, 1.5, NAN, "0.5", None, True])
POS = Slot([1e-3, 0.1, 1], [0, -1, NAN, INF, "0.1", None, True])
EPS = Slot([0, 1e-8, 1e-3], [-1, NAN, INF, "1e-8", None, True])  # 0 is valid, as in torch
LR = Slot([0, 1e-3, 0.1], [-1, NAN, INF, "0.1", None, True, np.ones(1)])  # 0 is a valid lr, as in torch
NONNEG = Slot([0, 1e-4, 0.5], [-1, NAN, INF, "0", None, True])
BOOL = Slot([True, False], ["no", 1.5, None, np.ones(2), "False"])
FDTYPE = Slot([np.float32, np.float64, "float32"], [np.int32, bool, np.complex64, "int8", "nonsense", 3, object()])

TARGETS = {
    "reshape": (
        lambda shape: _x(3, 4).reshape(shape),
        {
            "shape": Slot(
                [(12,), (3, 4), (-1, 6), (2, 2, 3)], [("x",), (-2, 6), (1.5, 8), (-1, -1), "ab", None, (True, 12)]
            )
        },
    ),
    "sum": (lambda axis, keepdims: _x(3, 4).sum(axis=axis, keepdims=keepdims), {"axis": AXIS, "keepdims": KEEP}),
    "mean": (lambda axis, keepdims: _x(3, 4).mean(axis=axis, keepdims=keepdims), {"axis": AXIS, "keepdims": KEEP}),
    "max": (lambda axis, keepdims: _x(3, 4).max(axis=axis, keepdims=keepdims), {"axis": AXIS, "keepdims": KEEP}),
    "min": (lambda axis, keepdims: _x(3, 4).min(axis=axis, keepdims=keepdims), {"axis": AXIS, "keepdims": KEEP}),
    "transpose": (
        lambda a, b: _x(3, 4).transpose(a, b),
        {"a": Slot([0, 1, -1], ["a", 1.5, 2, None]), "b": Slot([0, 1, -2], ["b", 0.5, 5, None])},
    ),
    "argmax": (lambda axis: _x(3, 4).argmax(axis), {"axis": Slot([None, 0, 1, -1, -2], [-3, 2, 1.0, "1", True])}),
    "flatten": (
        lambda start_dim: _x(2, 3, 4).flatten(start_dim),
        {"start_dim": Slot([0, 1, -1], [3, -4, 1.5, "1", None])},
    ),
    "astype": (
        lambda dtype: _x(2, 2).astype(dtype),
        {"dtype": Slot([np.float64, np.int32, bool], [np.complex64, "nonsense", object()])},
    ),
    "tensor": (
        lambda data, dtype: nnlab.tensor(data, dtype=dtype),
        {
            "data": Slot(
                [[1.0, 2.0], 3, [[1, 2], [3, 4]], np.zeros(3)],
                ["abc", object(), [[1, 2], [3]], [1 + 1j], None, ["1"], {"a": 1}],
            ),
            "dtype": Slot([None, np.float64, "float32"], [np.complex64, "nonsense", 3]),
        },
    ),
    "softmax": (lambda axis: F.softmax(_x(3, 4), axis), {"axis": Slot([0, 1, -1], [2, -3, 1.5, "1"])}),
    "log_softmax": (lambda axis: F.log_softmax(_x(3, 4), axis), {"axis": Slot([0, 1, -1], [2, -3, 1.5, "1"])}),
    "multiclass_svm": (
        lambda delta, squared: F.multiclass_svm(_x(3, 4), [0, 1, 3], delta=delta, squared=squared),
        {"delta": NONNEG, "squared": BOOL},
    ),
    "avg_pool2d": (
        lambda x, k: F.avg_pool2d(x, k),
        {
            "x": Slot(
                [_x(1, 1, 4, 4), _x(1, 1, 4, 4, dtype=np.float64)],
                [nnlab.tensor(np.ones((1, 1, 4, 4), np.int64)), nnlab.tensor(np.ones((1, 1, 4, 4), bool))],
            ),
            "k": Slot([2, (2, 2), 4], [0, -1, 1.5, "2", None]),
        },
    ),
    "max_pool2d": (lambda k: F.max_pool2d(_x(1, 1, 4, 4), k), {"k": Slot([2, (2, 2)], [0, -2, 2.5, "2", None])}),
    "Linear": (
        lambda n_in, bias, dtype: nn.Linear(n_in, 2, bias=bias, dtype=dtype),
        {"n_in": POS_INT, "bias": BOOL, "dtype": FDTYPE},
    ),
    "Conv2d": (
        lambda c, k, bias: nn.Conv2d(c, 2, k, bias=bias),
        {"c": POS_INT, "k": Slot([1, 3, (1, 3)], [0, -1, 1.5, "3", None]), "bias": BOOL},
    ),
    "BatchNorm1d": (
        lambda eps, momentum, affine, dtype: nn.BatchNorm1d(3, eps=eps, momentum=momentum, affine=affine, dtype=dtype),
        {"eps": POS, "momentum": PROB, "affine": BOOL, "dtype": FDTYPE},
    ),
    "Dropout": (lambda p: nn.Dropout(p), {"p": Slot([0.0, 0.5], [1.5, -0.1, NAN, "0.5", None])}),
    "Flatten": (lambda start_dim: nn.Flatten(start_dim)(_x(2, 3, 4)), {"start_dim": Slot([0, 1, -1], [3, 1.5, "1"])}),
    "SGD": (
        lambda lr, momentum, weight_decay: nnlab.optim.SGD(
            _params(), lr=lr, momentum=momentum, weight_decay=weight_decay
        ),
        {"lr": LR, "momentum": PROB, "weight_decay": NONNEG},
    ),
    "Adam": (
        lambda lr, eps, weight_decay: nnlab.optim.Adam(_params(), lr=lr, eps=eps, weight_decay=weight_decay),
        {"lr": LR, "eps": EPS, "weight_decay": NONNEG},
    ),
    "RMSprop": (lambda lr, eps: nnlab.optim.RMSprop(_params(), lr=lr, eps=eps), {"lr": LR, "eps": EPS}),
    "Adagrad": (lambda lr, eps: nnlab.optim.Adagrad(_params(), lr=lr, eps=eps), {"lr": LR, "eps": EPS}),
    "step": (
        lambda grad: _step(grad),
        {
            "grad": Slot(
                [np.ones((2, 3), np.float32), np.ones((2, 3))],
                [np.ones((2, 3), np.int64), np.ones((3, 2), np.float32), "g", np.ones((2, 3), bool)],
            )
        },
    ),
    "StepLR": (
        lambda step_size, gamma: StepLR(step_size=step_size, gamma=gamma),
        {"step_size": POS_INT, "gamma": Slot([0.1, 0.5, 1], [0, -1, NAN, "0.1", None])},
    ),
    "MultiStepLR": (
        lambda milestones, gamma: MultiStepLR(milestones=milestones, gamma=gamma),
        {
            "milestones": Slot([[1, 3], (2,), []], ["x", [-1], [1.5], None, 5, ["1"]]),
            "gamma": Slot([0.1, 0.5], [0, -1, NAN, "0.1", None]),
        },
    ),
    "ExponentialLR": (lambda gamma: ExponentialLR(gamma=gamma), {"gamma": Slot([0.9, 1], [0, -1, NAN, "x", None])}),
    "ReduceLROnPlateau": (
        lambda factor, patience, min_lr: nnlab.optim.ReduceLROnPlateau(
            nnlab.optim.SGD(_params(), lr=0.1), factor=factor, patience=patience, min_lr=min_lr
        ),
        {
            "factor": Slot([0.1, 0.5], [0, 1, 1.5, -0.5, NAN, "0.1", None]),
            "patience": Slot([0, 3], [-1, 1.5, "3", None]),
            "min_lr": Slot([0.0, 1e-5], [-1, NAN, "0", None]),
        },
    ),
    "gradcheck": (
        lambda f, eps: nnlab.gradcheck(f, nnlab.tensor(np.ones(3), requires_grad=True), eps=eps),
        {"f": Slot([lambda w: (w * w).sum()], [None, "f", 3]), "eps": Slot([1e-6, 1e-4], [0, -1, "1e-6", NAN])},
    ),
    "summary": (
        lambda model, shape: nnlab.summary(model, shape, print_fn=None),
        {
            "model": Slot([nn.Sequential(nn.Linear(4, 2), nn.ReLU())], [lambda x: x, "mlp", None, np.ones(2)]),
            "shape": Slot([(4,), [4]], [(0,), (-1,), "4", None, (4.5,)]),
        },
    ),
}


def _step(grad):
    lin = nn.Linear(3, 2)
    opt = nnlab.optim.SGD(lin.parameters(), lr=0.1, momentum=0.9)
    lin.weight.grad = grad
    opt.step()


def _is_bad(value, slot) -> bool:
    return any(value is b for b in slot.bad)


def _check_error(e: BaseException, name: str, args: dict, bad: bool) -> None:
    where = f"{name}({', '.join(f'{k}={v!r:.40}' for k, v in args.items())})"
    assert isinstance(e, (TypeError, ValueError)), f"{where}: {type(e).__name__}: {e}"
    msg = str(e)
    frames = traceback.extract_tb(e.__traceback__)
    last = Path(frames[-1].filename).resolve()
    assert NNLAB in last.parents, f"{where}: raised outside nnlab ({last}): {type(e).__name__}: {msg}"
    assert not any(p in msg for p in FOREIGN), f"{where}: Python's or NumPy's words: {msg}"
    assert ":" in msg[:80], f"{where}: the message does not name the function: {msg}"
    if not bad:  # a valid combination may fail only in nnlab's words about what does not fit
        assert isinstance(e, ValueError), f"{where}: valid arguments refused: {type(e).__name__}: {msg}"


def test_fuzz_public_api_refuses_nonsense_in_its_own_words():
    rng = random.Random(1234)
    names = sorted(TARGETS)
    outcomes = {"refused": 0, "accepted": 0, "valid_refused": 0}
    for _ in range(CALLS):
        name = rng.choice(names)
        fn, slots = TARGETS[name]
        args, bad = {}, False
        for slot_name, slot in slots.items():
            if rng.random() < 0.75 or not slot.bad:
                args[slot_name] = rng.choice(slot.valid)
            else:
                args[slot_name] = rng.choice(slot.bad)
                bad = True
        with warnings.catch_warnings():
            warnings.simplefilter("error", np.exceptions.ComplexWarning)
            warnings.simplefilter("ignore", RuntimeWarning)
            try:
                fn(**args)
            except Exception as e:  # noqa: BLE001 - judged below
                _check_error(e, name, args, bad)
                outcomes["refused" if bad else "valid_refused"] += 1
                continue
        where = f"{name}({', '.join(f'{k}={v!r:.40}' for k, v in args.items())})"
        assert not bad, f"{where}: a nonsense argument was accepted silently"
        outcomes["accepted"] += 1
    assert outcomes["refused"] > CALLS // 4 and outcomes["accepted"] > CALLS // 4, outcomes


@pytest.mark.parametrize("name", sorted(TARGETS))
def test_every_slot_refuses_each_of_its_nonsense_values(name):
    """Exhaustively, one nonsense value at a time with the others valid."""
    fn, slots = TARGETS[name]
    for slot_name, slot in slots.items():
        for value in slot.bad:
            args = {k: s.valid[0] for k, s in slots.items()}
            args[slot_name] = value
            with warnings.catch_warnings():
                warnings.simplefilter("error", np.exceptions.ComplexWarning)
                try:
                    fn(**args)
                except Exception as e:  # noqa: BLE001 - judged below
                    _check_error(e, name, args, True)
                    continue
            pytest.fail(f"{name}({slot_name}={value!r:.40}) was accepted silently")
