"""Wrong-typed or nonsense arguments fail at the call that received them, with a TypeError or
ValueError that names the function, the argument, what was expected and what came; never in
NumPy's or Python's words, never accepted silently."""

import numpy as np
import pytest

import nnlab
import nnlab.nn as nn
import nnlab.nn.functional as F
from nnlab.engine import _args
from nnlab.optim.schedules import MultiStepLR

T = nnlab.tensor(np.arange(12, dtype=np.float32).reshape(3, 4))


def _sgd(**kw):
    return nnlab.optim.SGD(nn.Linear(2, 2).parameters(), **kw)


def _trainer():
    m = nn.Linear(4, 2)
    return nnlab.Trainer(m, nn.CrossEntropyLoss(), nnlab.optim.SGD(m.parameters(), lr=0.1))


def _step_with_int_grad():
    lin = nn.Linear(2, 2)
    opt = nnlab.optim.Adam(lin.parameters(), lr=0.1)
    for p in lin.parameters():
        p.grad = np.ones(p.shape, dtype=np.int64)
    opt.step()


def _sgd_step_with_int_grad():
    lin = nn.Linear(2, 2)
    opt = nnlab.optim.SGD(lin.parameters(), lr=0.1, momentum=0.9)
    for p in lin.parameters():
        p.grad = np.ones(p.shape, dtype=np.int64)
    opt.step()


CASES = [
    # (call, exception, fragments the message must hold)
    (lambda: T.reshape("x"), TypeError, ["reshape", "shape", "'x'"]),
    (lambda: T.reshape(-2, 6), ValueError, ["reshape", "shape", "-2"]),
    (lambda: T.reshape(-1, -1), ValueError, ["reshape", "only one"]),
    (lambda: T.sum(axis=1.5), TypeError, ["sum", "axis", "1.5"]),
    (lambda: T.mean(axis="0"), TypeError, ["mean", "axis", "'0'"]),
    (lambda: T.max(axis=(0, 0)), ValueError, ["max", "repeated"]),
    (lambda: T.sum(axis=0, keepdims="yes"), TypeError, ["sum", "keepdims", "'yes'"]),
    (lambda: T.transpose("a", 1), TypeError, ["transpose", "axes", "'a'"]),
    (lambda: T.argmax(-3), ValueError, ["argmax", "axis", "-3"]),
    (lambda: T.argmax(1.0), TypeError, ["argmax", "axis", "1.0"]),
    (lambda: T.flatten("1"), TypeError, ["flatten", "start_dim"]),
    (lambda: T.astype(np.complex64), TypeError, ["astype", "dtype", "complex64"]),
    (lambda: _trainer().predict(None), TypeError, ["Trainer.predict", "None"]),
    (lambda: _trainer().predict("abc"), TypeError, ["Trainer.predict", "string"]),
    (lambda: nnlab.summary(lambda x: x, (1, 4)), TypeError, ["summary", "model", "Module", "function"]),
    (lambda: nn.Linear(2, 2, bias=np.ones(2)), TypeError, ["Linear", "bias", "True or False", "array"]),
    (lambda: nn.Conv2d(1, 2, 3, bias="no"), TypeError, ["Conv2d", "bias", "'no'"]),
    (lambda: nn.Linear(2, 2, dtype=np.int32), TypeError, ["Linear", "dtype", "int32"]),
    (lambda: nn.Linear(2, 2, dtype=bool), TypeError, ["Linear", "dtype", "bool"]),
    (lambda: nn.Linear(2, 2, dtype=np.complex128), TypeError, ["Linear", "dtype", "complex128"]),
    (lambda: nn.BatchNorm1d(3, dtype=np.int64), TypeError, ["BatchNorm1d", "dtype", "int64"]),
    (lambda: nn.BatchNorm2d(3, affine="x"), TypeError, ["BatchNorm2d", "affine"]),
    (lambda: nn.Linear(2, 2).to_dtype(np.complex64), TypeError, ["to_dtype", "dtype", "complex64"]),
    (lambda: nn.Linear(2, 2).to_dtype("int8"), TypeError, ["to_dtype", "dtype", "int8"]),
    (lambda: _sgd(lr=None), TypeError, ["SGD", "lr", "None"]),
    (lambda: _sgd(lr="0.1"), TypeError, ["SGD", "lr", "'0.1'"]),
    (lambda: _sgd(lr=float("nan")), ValueError, ["SGD", "lr", "nan"]),
    (lambda: nnlab.optim.Adam(nn.Linear(2, 2).parameters(), lr=None), TypeError, ["Adam", "lr", "None"]),
    (lambda: nnlab.optim.Adam(nn.Linear(2, 2).parameters(), weight_decay="1"), TypeError, ["Adam", "weight_decay"]),
    (_step_with_int_grad, TypeError, ["Adam.step", "grad", "floating-point", "int64"]),
    (_sgd_step_with_int_grad, TypeError, ["SGD.step", "grad", "int64"]),
    (lambda: MultiStepLR(milestones="x"), TypeError, ["MultiStepLR", "milestones", "'x'"]),
    (lambda: MultiStepLR(milestones=[-1]), ValueError, ["MultiStepLR", "milestones", "-1"]),
    (lambda: MultiStepLR(milestones=[1.5]), TypeError, ["MultiStepLR", "milestones", "1.5"]),
    (lambda: nnlab.optim.ReduceLROnPlateau(_sgd(lr=0.1), min_lr=-1), ValueError, ["ReduceLROnPlateau", "min_lr", "-1"]),
    (lambda: nnlab.optim.ReduceLROnPlateau(_sgd(lr=0.1), min_lr="0"), TypeError, ["ReduceLROnPlateau", "min_lr"]),
    (lambda: F.multiclass_svm(T, [0, 1, 2], delta="x"), TypeError, ["multiclass_svm", "delta", "'x'"]),
    (lambda: F.multiclass_svm(T, [0, 1, 2], delta=float("nan")), ValueError, ["multiclass_svm", "delta", "nan"]),
    (lambda: F.multiclass_svm(T, [0, 1, 2], delta=float("inf")), ValueError, ["multiclass_svm", "delta", "inf"]),
    (
        lambda: nnlab.gradcheck(None, nnlab.tensor(np.ones(2), requires_grad=True)),
        TypeError,
        ["gradcheck", "f", "callable", "None"],
    ),
    (
        lambda: nnlab.gradcheck(lambda w: w.sum(), nnlab.tensor(np.ones(2), requires_grad=True), eps="1e-6"),
        TypeError,
        ["gradcheck", "eps"],
    ),
    (lambda: nnlab.tensor("abc"), TypeError, ["tensor", "string"]),
    (lambda: nnlab.tensor(object()), TypeError, ["tensor", "object"]),
    (lambda: nnlab.tensor([[1, 2], [3]]), TypeError, ["tensor", "ragged"]),
    (lambda: nnlab.tensor([1 + 2j]), TypeError, ["tensor", "complex"]),
    (lambda: nnlab.tensor([1.0], dtype="float128x"), TypeError, ["tensor", "dtype"]),
    (lambda: nnlab.tensor(["1", "2"]), TypeError, ["tensor"]),
    (lambda: nnlab.tensor(None), TypeError, ["tensor", "None"]),
    (
        lambda: F.avg_pool2d(nnlab.tensor(np.ones((1, 1, 4, 4), np.int64)), 2),
        TypeError,
        ["avg_pool2d", "floating point", "int64"],
    ),
    (lambda: nn.AvgPool2d(2)(nnlab.tensor(np.ones((1, 1, 4, 4), bool))), TypeError, ["AvgPool2d", "bool"]),
    (
        lambda: nn.AdaptiveAvgPool2d(1)(nnlab.tensor(np.ones((1, 1, 4, 4), np.uint8))),
        TypeError,
        ["AdaptiveAvgPool2d", "uint8"],
    ),
]


@pytest.mark.parametrize("call, exc, fragments", CASES, ids=[f"case{i}" for i in range(len(CASES))])
def test_bad_argument_is_refused_in_words_that_name_it(call, exc, fragments):
    with pytest.raises(exc) as info:
        call()
    msg = str(info.value)
    for f in fragments:
        assert f in msg, msg
    # The error comes from nnlab's checks, not from deep inside NumPy or Python.
    assert "nnlab" in info.traceback[-1].path.parts


def test_save_to_a_folder_names_the_folder_and_suggests_a_file(tmp_path):
    with pytest.raises(IsADirectoryError, match=r"nnlab.save: .* is a folder; give a file name such as .*model.npz"):
        nnlab.save(nn.Linear(2, 2), tmp_path)


def test_valid_arguments_still_work():
    assert T.reshape(-1, 6).shape == (2, 6) and T.reshape((4, 3)).shape == (4, 3)
    assert T.sum(axis=(0, -1)).item() == 66.0 and T.sum(axis=np.int64(1)).shape == (3,)
    assert T.transpose(1, 0).shape == (4, 3) and T.argmax(-1).tolist() == [3, 3, 3]
    assert nnlab.tensor([[1, 2], [3, 4]]).dtype == np.int64 and nnlab.tensor(2.5).dtype == np.float32
    assert nnlab.tensor(np.float64(2.5)).dtype == np.float64 and nnlab.tensor([True]).dtype == bool
    assert MultiStepLR(milestones=np.array([3, 1])).milestones == [1, 3]
    assert nn.Linear(2, 2, bias=np.bool_(False)).bias is None
    assert nn.Linear(2, 2, dtype="float64").weight.dtype == np.float64
    assert F.avg_pool2d(nnlab.tensor(np.ones((1, 1, 4, 4), np.float64)), 2).dtype == np.float64


def test_helpers_normalize_what_they_accept():
    assert _args.check_axis("f", -1, 3) == 2 and _args.check_axes("f", None, 2) == (0, 1)
    assert _args.check_shape("f", 5) == (5,) and _args.check_shape("f", [2, -1]) == (2, -1)
    assert _args.check_float("f", "x", np.float32(0.5), min=0) == 0.5
    assert _args.check_dtype("f", "float32") == np.float32
    with pytest.raises(TypeError, match="f: x must be a number, got True"):
        _args.check_float("f", "x", True)
    with pytest.raises(ValueError, match=r"f: x must be a finite number > 0, got 0.0"):
        _args.check_positive_float("f", "x", 0.0)
    with pytest.raises(TypeError, match="f: n must be an integer, got 2.0"):
        _args.check_int("f", "n", 2.0)
