"""The benchmark workloads, written twice: once against nnlab, once against PyTorch.

Both sides use the same PyTorch-style API (``nn.Sequential``, ``nn.Linear``, ``optim.SGD``...), the
same shapes, float32 and random data, so that a timing difference is a framework difference.

A builder returns a :class:`Case`: a ``step()`` callable (one training or inference step on a fixed
batch) and the number of samples it processes. Builders import their framework lazily, so a
memory-measuring child process loads only the framework it measures. A builder raises
:class:`Missing` when an nnlab layer it needs has not been written yet.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np


class Missing(Exception):
    """An nnlab name the workload needs does not exist (yet)."""


@dataclass
class Case:
    step: Callable[[], object]
    samples: int  # samples processed by one step
    dtype: str = "float32"  # dtype of the step's output (a silent float64 upcast shows here)


# ---- data ----------------------------------------------------------------------------------
def _data(shape, classes, batch, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((batch,) + shape).astype(np.float32)
    y = rng.integers(0, classes, batch).astype(np.int64)
    return x, y


# ---- nnlab side ----------------------------------------------------------------------------
def _nnlab(*names):
    """Import nnlab and check that every ``nn.X`` / ``optim.X`` named is there."""
    import importlib

    import nnlab
    mods = {"nn": importlib.import_module("nnlab.nn")}
    try:
        mods["optim"] = importlib.import_module("nnlab.optim")
    except ImportError:
        mods["optim"] = None
    missing = []
    for n in names:
        pkg, attr = n.split(".")
        if mods[pkg] is None or not hasattr(mods[pkg], attr):
            missing.append(attr)
    if missing:
        raise Missing(", ".join(missing))
    nnlab.manual_seed(0)
    return nnlab, mods["nn"], mods["optim"]


def _nnlab_train(model, loss_fn, opt, x, y, nnlab):
    xt, yt = nnlab.tensor(x), nnlab.tensor(y)

    def step():
        opt.zero_grad()
        loss = loss_fn(model(xt), yt)
        loss.backward()
        opt.step()
        return loss

    out = step()
    return Case(step, len(x), str(out.data.dtype))


def _nnlab_infer(model, x, nnlab):
    xt = nnlab.tensor(x)
    model.eval()

    def step():
        with nnlab.no_grad():
            return model(xt)

    return Case(step, len(x), str(step().data.dtype))


# ---- torch side ----------------------------------------------------------------------------
def _torch_train(model, loss_fn, opt, x, y):
    import torch
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)

    def step():
        opt.zero_grad()
        loss = loss_fn(model(xt), yt)
        loss.backward()
        opt.step()
        return loss

    out = step()
    return Case(step, len(x), str(out.dtype).replace("torch.", ""))


def _torch_infer(model, x):
    import torch
    xt = torch.from_numpy(x)
    model.eval()

    def step():
        with torch.no_grad():
            return model(xt)

    return Case(step, len(x), str(step().dtype).replace("torch.", ""))


# ---- workload 1: MLP 784-256-256-10, ReLU, softmax cross-entropy, SGD momentum 0.9 ---------
def _mlp(nn):
    return nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 256), nn.ReLU(),
                         nn.Linear(256, 10))


def w1_nnlab(batch):
    nnlab, nn, optim = _nnlab("nn.Sequential", "nn.Linear", "nn.ReLU", "nn.CrossEntropyLoss",
                              "optim.SGD")
    model = _mlp(nn)
    x, y = _data((784,), 10, batch)
    opt = optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    return _nnlab_train(model, nn.CrossEntropyLoss(), opt, x, y, nnlab)


def w1_torch(batch):
    import torch
    torch.manual_seed(0)
    model = _mlp(torch.nn)
    x, y = _data((784,), 10, batch)
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    return _torch_train(model, torch.nn.CrossEntropyLoss(), opt, x, y)


# ---- workload 2: the notes' digit recognizer 784-16-16-10, sigmoid, MSE, batch 10 ---------
def _digits(nn):
    return nn.Sequential(nn.Linear(784, 16), nn.Sigmoid(), nn.Linear(16, 16), nn.Sigmoid(),
                         nn.Linear(16, 10), nn.Sigmoid())


def _onehot(y, classes=10):
    return np.eye(classes, dtype=np.float32)[y]


def w2_nnlab(batch=10):
    nnlab, nn, optim = _nnlab("nn.Sequential", "nn.Linear", "nn.Sigmoid", "nn.MSELoss",
                              "optim.SGD")
    model = _digits(nn)
    x, y = _data((784,), 10, batch)
    x = (x > 0).astype(np.float32)  # pixel-like inputs in [0, 1]
    opt = optim.SGD(model.parameters(), lr=0.1)
    return _nnlab_train(model, nn.MSELoss(), opt, x, _onehot(y), nnlab)


def w2_torch(batch=10):
    import torch
    torch.manual_seed(0)
    model = _digits(torch.nn)
    x, y = _data((784,), 10, batch)
    x = (x > 0).astype(np.float32)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    return _torch_train(model, torch.nn.MSELoss(), opt, x, _onehot(y))


# ---- workload 3: small CNN on 1x28x28, batch 64 --------------------------------------------
def _cnn28(nn):
    return nn.Sequential(
        nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(3136, 128), nn.ReLU(), nn.Linear(128, 10))


_CNN_NAMES = ("nn.Sequential", "nn.Conv2d", "nn.ReLU", "nn.MaxPool2d", "nn.Flatten", "nn.Linear")


def w3_nnlab(train=True, batch=64):
    nnlab, nn, optim = _nnlab(*_CNN_NAMES, *(("nn.CrossEntropyLoss", "optim.SGD") if train else ()))
    model = _cnn28(nn)
    x, y = _data((1, 28, 28), 10, batch)
    if not train:
        return _nnlab_infer(model, x, nnlab)
    opt = optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    return _nnlab_train(model, nn.CrossEntropyLoss(), opt, x, y, nnlab)


def w3_torch(train=True, batch=64):
    import torch
    torch.manual_seed(0)
    model = _cnn28(torch.nn)
    x, y = _data((1, 28, 28), 10, batch)
    if not train:
        return _torch_infer(model, x)
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    return _torch_train(model, torch.nn.CrossEntropyLoss(), opt, x, y)


# ---- workload 4: CIFAR-shaped CNN on 3x32x32 with batch norm, batch 64 ---------------------
def _cnn32(nn):
    def block(cin, cout):
        return [nn.Conv2d(cin, cout, 3, padding=1), nn.BatchNorm2d(cout), nn.ReLU()]
    return nn.Sequential(
        *block(3, 32), *block(32, 32), nn.MaxPool2d(2),
        *block(32, 64), *block(64, 64), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(64 * 8 * 8, 10))


def w4_nnlab(batch=64):
    nnlab, nn, optim = _nnlab(*_CNN_NAMES, "nn.BatchNorm2d", "nn.CrossEntropyLoss", "optim.SGD")
    model = _cnn32(nn)
    x, y = _data((3, 32, 32), 10, batch)
    opt = optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    return _nnlab_train(model, nn.CrossEntropyLoss(), opt, x, y, nnlab)


def w4_torch(batch=64):
    import torch
    torch.manual_seed(0)
    model = _cnn32(torch.nn)
    x, y = _data((3, 32, 32), 10, batch)
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    return _torch_train(model, torch.nn.CrossEntropyLoss(), opt, x, y)


# ---- workload 6: GEMM and convolution throughput -------------------------------------------
GEMM_N = 1024
# Workload 3's two convolutions: (name, input shape NCHW, out channels); 3x3, stride 1, pad 1.
CONV_LAYERS = (("conv1 1->32 @28x28", (64, 1, 28, 28), 32),
               ("conv2 32->64 @14x14", (64, 32, 14, 14), 64))


def conv_flops(in_shape, cout, k=3):
    """Multiply-adds x 2 of a stride-1 'same' convolution: 2 N Cout H W Cin k^2."""
    n, cin, h, w = in_shape
    return 2.0 * n * cout * h * w * cin * k * k


def gemm_numpy(n=GEMM_N):
    rng = np.random.default_rng(0)
    a = rng.standard_normal((n, n)).astype(np.float32)
    b = rng.standard_normal((n, n)).astype(np.float32)
    out = np.empty((n, n), np.float32)
    return Case(lambda: np.matmul(a, b, out=out), 1), 2.0 * n ** 3


def gemm_torch(n=GEMM_N):
    import torch
    rng = np.random.default_rng(0)
    a = torch.from_numpy(rng.standard_normal((n, n)).astype(np.float32))
    b = torch.from_numpy(rng.standard_normal((n, n)).astype(np.float32))
    out = torch.empty((n, n))
    return Case(lambda: torch.mm(a, b, out=out), 1), 2.0 * n ** 3


def conv_nnlab(layer):
    name, shape, cout = CONV_LAYERS[layer]
    nnlab, nn, _ = _nnlab("nn.Conv2d")
    conv = nn.Conv2d(shape[1], cout, 3, padding=1)
    x = nnlab.tensor(np.random.default_rng(0).standard_normal(shape).astype(np.float32))

    def step():
        with nnlab.no_grad():
            return conv(x)

    return Case(step, 1, str(step().data.dtype)), conv_flops(shape, cout)


def conv_torch(layer):
    import torch
    name, shape, cout = CONV_LAYERS[layer]
    torch.manual_seed(0)
    conv = torch.nn.Conv2d(shape[1], cout, 3, padding=1)
    x = torch.from_numpy(np.random.default_rng(0).standard_normal(shape).astype(np.float32))

    def step():
        with torch.no_grad():
            return conv(x)

    return Case(step, 1, "float32"), conv_flops(shape, cout)
