"""Local stand-ins for what the programs download: ``torchvision.datasets.MNIST`` serves a
subset of nnlab's bundled MNIST digits, ``CIFAR10`` random 3x32x32 images, the MNIST pickle of
"What is torch.nn really?" is written from the bundled digits; ``requests`` and ``IPython`` are
never reached for data. Tensors come from the library the program runs on."""

from __future__ import annotations

import gzip
import pickle
import types
from pathlib import Path

import numpy as np

SIZES = {"mnist_train": 512, "mnist_test": 256, "cifar_train": 64, "cifar_test": 32}


def _digits():
    """The bundled digits in a fixed shuffled order (the file is grouped by class)."""
    from nnlab.data import load_mnist5k

    X, y = load_mnist5k()
    order = np.random.default_rng(0).permutation(len(y))
    return X[order], y[order]


def _lib(lib):
    if lib == "torch":
        import torch

        return torch, torch.utils.data.TensorDataset, torch.from_numpy
    import nnlab
    import nnlab.utils.data as data

    return nnlab, data.TensorDataset, nnlab.from_numpy


class _Transform:
    def __init__(self, *args, **kwargs):
        self.args = args


class Normalize(_Transform):
    def apply(self, X):
        mean, std = (np.asarray(a, np.float32).reshape(1, -1, 1, 1) for a in self.args[:2])
        return (X - mean) / std


class Compose(_Transform):
    def apply(self, X):
        for t in self.args[0]:
            X = t.apply(X) if hasattr(t, "apply") else X
        return X


class ToTensor(_Transform):
    pass


def _dataset(lib, X, y, transform):
    _, TensorDataset, from_numpy = _lib(lib)
    if transform is not None:
        X = transform.apply(X)
    return TensorDataset(from_numpy(np.ascontiguousarray(X, np.float32)), from_numpy(y.astype(np.int64)))


def _mnist(lib):
    def MNIST(root, train=True, download=False, transform=None):
        X, y = _digits()
        n_tr, n_te = SIZES["mnist_train"], SIZES["mnist_test"]
        sl = slice(0, n_tr) if train else slice(4000, 4000 + n_te)
        return _dataset(lib, X[sl], y[sl], transform)

    return MNIST


def _cifar(lib):
    def CIFAR10(root, train=True, download=False, transform=None):
        n = SIZES["cifar_train" if train else "cifar_test"]
        rng = np.random.default_rng(0 if train else 1)
        X = rng.random((n, 3, 32, 32), dtype=np.float32)
        y = rng.integers(0, 10, n)
        return _dataset(lib, X, y, transform)

    return CIFAR10


def _make_grid(images, nrow=8, padding=2):
    return images[0] if hasattr(images, "shape") else images


def module(name: str, lib: str):
    m = types.ModuleType(name)
    if name == "torchvision":
        m.datasets = module("torchvision.datasets", lib)
        m.transforms = module("torchvision.transforms", lib)
        m.utils = module("torchvision.utils", lib)
    elif name == "torchvision.datasets":
        m.MNIST, m.CIFAR10 = _mnist(lib), _cifar(lib)
    elif name == "torchvision.transforms":
        m.Compose, m.ToTensor, m.Normalize = Compose, ToTensor, Normalize
    elif name == "torchvision.utils":
        m.make_grid = _make_grid
    elif name in ("IPython", "IPython.core", "IPython.core.debugger"):
        m.set_trace = lambda *a, **k: None
        m.core = m
        m.debugger = m
    elif name == "d2l":
        m.torch = module("d2l.torch", lib)
    elif name == "d2l.torch":

        def load_data_fashion_mnist(batch_size, resize=None):
            _, TensorDataset, from_numpy = _lib(lib)
            X, y = _digits()
            DataLoader = (
                __import__("torch").utils.data.DataLoader
                if lib == "torch"
                else __import__("nnlab.utils.data", fromlist=["DataLoader"]).DataLoader
            )
            # an epoch of 12,000 examples (the 4,000 training digits three times): the book's
            # closing asserts (loss < 0.5, accuracy > 0.7 after 10 epochs) assume ~60,000
            train = TensorDataset(from_numpy(np.tile(X[:4000], (3, 1, 1, 1))), from_numpy(np.tile(y[:4000], 3)))
            test = TensorDataset(from_numpy(X[4000:4500]), from_numpy(y[4000:4500]))
            return DataLoader(train, batch_size, shuffle=True), DataLoader(test, batch_size, shuffle=False)

        m.load_data_fashion_mnist = load_data_fashion_mnist
    elif name == "requests":

        def get(url, *a, **k):
            raise AssertionError(f"the test must not download {url}")

        m.get = get
    return m


def write_mnist_pickle(root: Path, n_train=3000, n_valid=500) -> None:
    """``data/mnist/mnist.pkl.gz`` as the nn tutorial expects: ((x, y), (x, y), (x, y)), x (N, 784)."""
    X, y = _digits()
    X = X.reshape(len(X), 784)
    parts = (
        (X[:n_train], y[:n_train]),
        (X[n_train : n_train + n_valid], y[n_train : n_train + n_valid]),
        (X[:0], y[:0]),
    )
    path = root / "data" / "mnist"
    path.mkdir(parents=True, exist_ok=True)
    with gzip.open(path / "mnist.pkl.gz", "wb") as f:
        pickle.dump(parts, f)
