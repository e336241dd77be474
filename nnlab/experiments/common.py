"""What the experiments share: the digits as flat vectors, a plain training loop over nnlab's public
API, accuracy, and a figure on matplotlib's Agg canvas."""

from __future__ import annotations

import functools

import numpy as np

import nnlab
from nnlab import nn, optim
from nnlab.nn import functional as F

__all__ = ["digits", "digits01_pooled", "fit", "accuracy", "loss_of", "figure", "save", "mlp", "seeded"]


@functools.lru_cache(maxsize=2)
def _mnist(seed: int = 0):
    from nnlab.data import load_dataset

    return load_dataset("mnist5k", seed=seed)


def digits(n_train: int | None = None, n_dev: int | None = None, flat: bool = True, seed: int = 0):
    """The bundled MNIST digits (4,000 train / 500 dev / 500 test), pixels in [0, 1], as
    (Xtr, ytr, Xdev, ydev, Xte, yte); ``flat`` gives 784-vectors."""
    s = _mnist(0)
    rng = np.random.default_rng(seed)
    itr = rng.permutation(len(s.train))[: n_train or len(s.train)]
    idv = rng.permutation(len(s.dev))[: n_dev or len(s.dev)]
    shape = (-1, 784) if flat else (-1, 1, 28, 28)
    return (
        s.train.X[itr].reshape(shape),
        s.train.y[itr],
        s.dev.X[idv].reshape(shape),
        s.dev.y[idv],
        s.test.X.reshape(shape),
        s.test.y,
    )


def digits01_pooled():
    """The essay's data: the digits 0 and 1 only, average-pooled 3x3 to 9x9 (81 inputs, the 28x28
    image cropped to 27x27 first). Returns (Xtr, ytr, Xte, yte) with train = train+dev splits."""
    s = _mnist(0)
    out = []
    for X, y in ((np.concatenate([s.train.X, s.dev.X]), np.concatenate([s.train.y, s.dev.y])), (s.test.X, s.test.y)):
        keep = y <= 1
        img = X[keep, 0, :27, :27]
        pooled = img.reshape(-1, 9, 3, 9, 3).mean(axis=(2, 4)).reshape(-1, 81)
        out += [pooled.astype(np.float32), y[keep].astype(np.int64)]
    return tuple(out)


def seeded(seed: int) -> np.random.Generator:
    """Seed nnlab's generator (initialization, dropout masks) and return a NumPy one for the rest."""
    nnlab.manual_seed(int(seed))
    return np.random.default_rng(int(seed) + 10_000)


def mlp(sizes, act=nn.ReLU, bias: bool = True, batchnorm: bool = False, dropout: float = 0.0, init="he"):
    """A Sequential MLP: Linear (+ BatchNorm1d) + activation (+ Dropout) per hidden layer."""
    mods = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        mods.append(nn.Linear(a, b, bias=bias, init=init))
        if i < len(sizes) - 2:
            if batchnorm:
                mods.append(nn.BatchNorm1d(b))
            mods.append(act())
            if dropout:
                mods.append(nn.Dropout(dropout))
    return nn.Sequential(*mods)


def loss_of(model, X, y, loss=F.cross_entropy, batch: int = 2000) -> float:
    model.eval()
    with nnlab.no_grad():
        tot = 0.0
        for i in range(0, len(X), batch):
            tot += float(loss(model(nnlab.tensor(X[i : i + batch])), y[i : i + batch]).item()) * len(X[i : i + batch])
    model.train()
    return tot / len(X)


def accuracy(model, X, y, batch: int = 2000) -> float:
    model.eval()
    with nnlab.no_grad():
        pred = np.concatenate([model(nnlab.tensor(X[i : i + batch])).data.argmax(1) for i in range(0, len(X), batch)])
    model.train()
    return float((pred == y).mean())


def fit(
    model,
    X,
    y,
    opt,
    epochs: float = 1,
    batch_size: int = 64,
    rng=None,
    loss=F.cross_entropy,
    regularizer=None,
    after_step=None,
    on_step=None,
    replacement: bool = False,
):
    """Mini-batch training; returns the data loss of every step. ``after_step(model)`` runs after
    each update (max-norm projection), ``on_step(step, loss)`` may return True to stop early.
    ``epochs`` may be fractional; ``replacement`` draws each batch with replacement (the essay's
    sampling)."""
    rng = rng if rng is not None else np.random.default_rng(0)
    n = len(X)
    steps = max(1, int(round(epochs * n / batch_size)))
    losses = []
    order, pos = rng.permutation(n), 0
    model.train()
    for step in range(steps):
        if replacement:
            idx = rng.integers(0, n, batch_size)
        else:
            if pos + batch_size > n:
                order, pos = rng.permutation(n), 0
            idx = order[pos : pos + batch_size]
            pos += batch_size
        out = model(nnlab.tensor(X[idx]))
        try:
            data_loss = loss(out, y[idx])
        except ValueError as e:  # the losses refuse non-finite scores: the run diverged
            if "non-finite" not in str(e):
                raise
            losses.append(float("nan"))
            break
        total = data_loss + regularizer(model) if regularizer is not None else data_loss
        opt.zero_grad()
        total.backward()
        opt.step()
        if after_step is not None:
            after_step(model)
        v = float(data_loss.item())
        losses.append(v)
        if not np.isfinite(v):
            break
        if on_step is not None and on_step(step, v):
            break
    return losses


def figure(nrows=1, ncols=1, size=(6.4, 4.0)):
    from nnlab.report.plots import new_figure

    fig = new_figure(size)
    axes = fig.subplots(nrows, ncols, squeeze=False)
    return fig, axes


def save(fig, out_dir, name: str) -> str:
    path = f"{out_dir}/{name}.png"
    fig.tight_layout()
    fig.savefig(path, format="png", dpi=90)
    return path


def spread_bars(ax, labels, per_seed, ylabel: str, title: str = ""):
    """Median over seeds as bars with min-max whiskers."""
    arr = np.asarray(per_seed, dtype=float)  # seeds x labels
    med = np.nanmedian(arr, axis=0)
    lo, hi = np.nanmin(arr, axis=0), np.nanmax(arr, axis=0)
    x = np.arange(len(labels))
    ax.bar(x, med, color="#7aa6d6")
    ax.errorbar(x, med, yerr=[med - lo, hi - med], fmt="none", ecolor="k", capsize=3)
    ax.set_xticks(x)
    ax.set_xticklabels(labels, rotation=20, fontsize=8)
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title, fontsize=9)


def optimizer(name: str, params, lr: float):
    """The notes' update rules by name: sgd, momentum, nesterov, adagrad, rmsprop, adam."""
    if name == "sgd":
        return optim.SGD(params, lr=lr)
    if name == "momentum":
        return optim.SGD(params, lr=lr, momentum=0.9)
    if name == "nesterov":
        return optim.SGD(params, lr=lr, momentum=0.9, nesterov=True)
    if name == "adagrad":
        return optim.Adagrad(params, lr=lr)
    if name == "rmsprop":
        return optim.RMSprop(params, lr=lr)
    if name == "adam":
        return optim.Adam(params, lr=lr)
    raise ValueError(f"unknown optimizer {name!r}")
