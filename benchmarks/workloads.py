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
    params: list | None = None  # a hand-written reference's parameter arrays (for its tests)


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
    return nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 256), nn.ReLU(), nn.Linear(256, 10))


def w1_nnlab(batch):
    nnlab, nn, optim = _nnlab("nn.Sequential", "nn.Linear", "nn.ReLU", "nn.CrossEntropyLoss", "optim.SGD")
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
    return nn.Sequential(
        nn.Linear(784, 16), nn.Sigmoid(), nn.Linear(16, 16), nn.Sigmoid(), nn.Linear(16, 10), nn.Sigmoid()
    )


def _onehot(y, classes=10):
    return np.eye(classes, dtype=np.float32)[y]


def w2_nnlab(batch=10):
    nnlab, nn, optim = _nnlab("nn.Sequential", "nn.Linear", "nn.Sigmoid", "nn.MSELoss", "optim.SGD")
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


# ---- hand-written NumPy references for workloads 1 and 2 (no autograd) ------------------------
# The limit a NumPy library can reach: the same network, loss and update written out by hand as a
# fixed sequence of NumPy calls (forward, the backward formulas, the update), with PyTorch's
# initialisation ranges and update rules. No graph, no checks, no Python objects per op; it only
# does what the arithmetic needs, so nnlab's speed relative to it is the price of its abstraction.
def _init_linear(rng, n_in, n_out):
    bound = 1.0 / np.sqrt(n_in)  # PyTorch's nn.Linear default range
    w = rng.uniform(-bound, bound, (n_out, n_in)).astype(np.float32)
    b = rng.uniform(-bound, bound, n_out).astype(np.float32)
    return w, b


def w1_numpy(batch):
    """Workload 1 by hand: 784-256-256-10 ReLU MLP, softmax cross-entropy, SGD momentum 0.9."""
    rng = np.random.default_rng(0)
    params = [a for n_in, n_out in ((784, 256), (256, 256), (256, 10)) for a in _init_linear(rng, n_in, n_out)]
    vel = [np.zeros_like(p) for p in params]
    x, y = _data((784,), 10, batch)
    rows = np.arange(batch)
    lr, mu = np.float32(0.01), np.float32(0.9)
    inv_n = np.float32(1.0 / batch)

    def step():
        w1, b1, w2, b2, w3, b3 = params
        a1 = x @ w1.T
        a1 += b1
        np.maximum(a1, 0, out=a1)
        a2 = a1 @ w2.T
        a2 += b2
        np.maximum(a2, 0, out=a2)
        z = a2 @ w3.T
        z += b3
        z -= z.max(axis=1, keepdims=True)
        np.exp(z, out=z)
        s = z.sum(axis=1, keepdims=True)
        loss = float(np.log(s).mean() - np.log(z[rows, y]).mean())
        z /= s  # softmax
        z[rows, y] -= 1  # d loss / d logits, times batch
        z *= inv_n
        g3w, g3b = z.T @ a2, z.sum(axis=0)
        d2 = z @ w3
        d2 *= a2 > 0
        g2w, g2b = d2.T @ a1, d2.sum(axis=0)
        d1 = d2 @ w2
        d1 *= a1 > 0
        g1w, g1b = d1.T @ x, d1.sum(axis=0)
        for p, g, v in zip(params, (g1w, g1b, g2w, g2b, g3w, g3b), vel):
            v *= mu  # PyTorch's form: v = mu v + g; p -= lr v
            v += g
            p -= lr * v
        return loss

    step()
    step.velocity = vel
    return Case(step, batch, "float32", params)


def w2_numpy(batch=10):
    """Workload 2 by hand: 784-16-16-10 sigmoid network, MSE loss, plain SGD (lr 0.1)."""
    rng = np.random.default_rng(0)
    params = [a for n_in, n_out in ((784, 16), (16, 16), (16, 10)) for a in _init_linear(rng, n_in, n_out)]
    x, y = _data((784,), 10, batch)
    x = (x > 0).astype(np.float32)
    t = _onehot(y)
    lr = np.float32(0.1)
    scale = np.float32(2.0 / t.size)  # d mean((a - t)^2) / da

    def sigmoid(z):
        np.negative(z, out=z)
        np.exp(z, out=z)
        z += 1
        np.reciprocal(z, out=z)
        return z

    def step():
        w1, b1, w2, b2, w3, b3 = params
        a1 = sigmoid(x @ w1.T + b1)
        a2 = sigmoid(a1 @ w2.T + b2)
        a3 = sigmoid(a2 @ w3.T + b3)
        e = a3 - t
        loss = float(np.dot(e.ravel(), e.ravel())) / t.size
        d3 = e * scale
        d3 *= a3 * (1 - a3)
        d2 = d3 @ w3
        d2 *= a2 * (1 - a2)
        d1 = d2 @ w2
        d1 *= a1 * (1 - a1)
        grads = (d1.T @ x, d1.sum(axis=0), d2.T @ a1, d2.sum(axis=0), d3.T @ a2, d3.sum(axis=0))
        for p, g in zip(params, grads):
            g *= lr
            p -= g
        return loss

    step()
    return Case(step, batch, "float32", params)


# ---- workload 3: small CNN on 1x28x28, batch 64 --------------------------------------------
def _cnn28(nn):
    return nn.Sequential(
        nn.Conv2d(1, 32, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(3136, 128),
        nn.ReLU(),
        nn.Linear(128, 10),
    )


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
        *block(3, 32),
        *block(32, 32),
        nn.MaxPool2d(2),
        *block(32, 64),
        *block(64, 64),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(64 * 8 * 8, 10),
    )


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
CONV_LAYERS = (("conv1 1->32 @28x28", (64, 1, 28, 28), 32), ("conv2 32->64 @14x14", (64, 32, 14, 14), 64))


def conv_flops(in_shape, cout, k=3):
    """Multiply-adds x 2 of a stride-1 'same' convolution: 2 N Cout H W Cin k^2."""
    n, cin, h, w = in_shape
    return 2.0 * n * cout * h * w * cin * k * k


def gemm_numpy(n=GEMM_N):
    rng = np.random.default_rng(0)
    a = rng.standard_normal((n, n)).astype(np.float32)
    b = rng.standard_normal((n, n)).astype(np.float32)
    out = np.empty((n, n), np.float32)
    return Case(lambda: np.matmul(a, b, out=out), 1), 2.0 * n**3


def gemm_torch(n=GEMM_N):
    import torch

    rng = np.random.default_rng(0)
    a = torch.from_numpy(rng.standard_normal((n, n)).astype(np.float32))
    b = torch.from_numpy(rng.standard_normal((n, n)).astype(np.float32))
    out = torch.empty((n, n))
    return Case(lambda: torch.mm(a, b, out=out), 1), 2.0 * n**3


def conv_nnlab(layer):
    name, shape, cout = CONV_LAYERS[layer]
    nnlab, nn, _ = _nnlab("nn.Conv2d")
    conv = nn.Conv2d(shape[1], cout, 3, padding=1)
    x = nnlab.tensor(np.random.default_rng(0).standard_normal(shape).astype(np.float32))

    def step():
        with nnlab.no_grad():
            return conv(x)

    return Case(step, 1, str(step().data.dtype)), conv_flops(shape, cout)


def conv_gemm_numpy(layer):
    """The GEMM a convolution layer amounts to, (O, C*k*k) @ (C*k*k, N*H*W), on ready operands:
    NumPy's float32 GEMM rate at this layer's shape (same flops as the convolution)."""
    name, shape, cout = CONV_LAYERS[layer]
    n, cin, h, w = shape
    rng = np.random.default_rng(0)
    a = rng.standard_normal((cout, cin * 9)).astype(np.float32)
    b = rng.standard_normal((cin * 9, n * h * w)).astype(np.float32)
    out = np.empty((cout, n * h * w), np.float32)
    return Case(lambda: np.matmul(a, b, out=out), 1), conv_flops(shape, cout)


def conv_gemm_torch(layer):
    import torch

    name, shape, cout = CONV_LAYERS[layer]
    n, cin, h, w = shape
    rng = np.random.default_rng(0)
    a = torch.from_numpy(rng.standard_normal((cout, cin * 9)).astype(np.float32))
    b = torch.from_numpy(rng.standard_normal((cin * 9, n * h * w)).astype(np.float32))
    out = torch.empty((cout, n * h * w))
    return Case(lambda: torch.mm(a, b, out=out), 1), conv_flops(shape, cout)


def conv_backward_nnlab(layer):
    """The conv gate's backward alone (input, weight and bias gradients) on a recorded forward:
    2x the forward's flops (dX and dW are one product each)."""
    name, shape, cout = CONV_LAYERS[layer]
    nnlab, nn, _ = _nnlab("nn.Conv2d")
    conv = nn.Conv2d(shape[1], cout, 3, padding=1)
    rng = np.random.default_rng(0)
    x = nnlab.tensor(rng.standard_normal(shape).astype(np.float32), requires_grad=True)
    y = conv(x)
    g = rng.standard_normal(y.shape).astype(np.float32)
    # a downstream gradient arrives in the layout the forward produced (channel-major): the
    # layer after a convolution (ReLU, pooling, batch norm) keeps its input's strides
    g = np.ascontiguousarray(g.transpose(1, 0, 2, 3)).transpose(1, 0, 2, 3) if not y.data.flags.c_contiguous else g
    fn = y.grad_fn

    def step():
        return fn.backward(g)

    return Case(step, 1, str(step()[0].dtype)), 2 * conv_flops(shape, cout)


def conv_backward_torch(layer):
    import torch

    name, shape, cout = CONV_LAYERS[layer]
    torch.manual_seed(0)
    conv = torch.nn.Conv2d(shape[1], cout, 3, padding=1)
    rng = np.random.default_rng(0)
    x = torch.from_numpy(rng.standard_normal(shape).astype(np.float32)).requires_grad_(True)
    y = conv(x)
    g = torch.from_numpy(rng.standard_normal(tuple(y.shape)).astype(np.float32))

    def step():
        return torch.autograd.grad(y, (x, conv.weight, conv.bias), g, retain_graph=True)

    return Case(step, 1, "float32"), 2 * conv_flops(shape, cout)


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
