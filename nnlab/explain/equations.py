"""The four equations of backpropagation (the essays' BP1-BP4), by hand, next to autograd.

For a sigmoid MLP with the quadratic cost C = 1/2 sum ||a^L - y||^2 over a batch (rows are
examples, z^l = a^(l-1) W_l^T + b_l, a^l = sigma(z^l)):

- BP1, output error:      delta^L = (a^L - y) * sigma'(z^L)
- BP2, error backward:    delta^l = (delta^(l+1) W_(l+1)) * sigma'(z^l)
- BP3, bias gradient:     dC/db_l = sum over the batch of delta^l
- BP4, weight gradient:   dC/dW_l = (delta^l)^T a^(l-1)
"""

from __future__ import annotations

import numpy as np

__all__ = ["four_equations", "autograd_gradients", "compare"]


def _sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def four_equations(weights, biases, X, Y) -> dict:
    """Gradients of every W_l and b_l and the errors delta^l, from the four equations alone
    (NumPy, no autograd). Returns {"dW": [...], "db": [...], "delta": [...]}, layer order."""
    a, zs, acts = np.asarray(X, dtype=np.float64), [], []
    acts.append(a)
    for W, b in zip(weights, biases):
        z = a @ W.T + b
        a = _sigmoid(z)
        zs.append(z)
        acts.append(a)
    sp = [_sigmoid(z) * (1 - _sigmoid(z)) for z in zs]
    L = len(weights)
    delta = [None] * L
    delta[-1] = (acts[-1] - Y) * sp[-1]  # BP1
    for l in range(L - 2, -1, -1):
        delta[l] = (delta[l + 1] @ weights[l + 1]) * sp[l]  # BP2
    db = [d.sum(axis=0) for d in delta]  # BP3
    dW = [d.T @ acts[l] for l, d in enumerate(delta)]  # BP4
    return {"dW": dW, "db": db, "delta": delta}


def autograd_gradients(weights, biases, X, Y) -> dict:
    """The same gradients from nnlab's autograd (float64 Linear + Sigmoid layers)."""
    import nnlab
    from nnlab import nn

    layers = []
    for W, b in zip(weights, biases):
        lin = nn.Linear(W.shape[1], W.shape[0], dtype=np.float64)
        lin.weight.data = np.array(W, dtype=np.float64)
        lin.bias.data = np.array(b, dtype=np.float64)
        layers += [lin, nn.Sigmoid()]
    model = nn.Sequential(*layers)
    out = model(nnlab.tensor(np.asarray(X, dtype=np.float64)))
    diff = out - nnlab.tensor(np.asarray(Y, dtype=np.float64))
    (0.5 * (diff * diff).sum()).backward()
    lins = [m for m in layers if isinstance(m, nn.Linear)]
    return {"dW": [m.weight.grad for m in lins], "db": [m.bias.grad for m in lins]}


def compare(sizes=(4, 5, 3), batch: int = 6, seed: int = 0) -> dict:
    """Random weights and data for an MLP of ``sizes``: the largest relative difference between
    the four equations and autograd, per equation's gradient (weights, biases)."""
    rng = np.random.default_rng(seed)
    Ws = [rng.standard_normal((b, a)) for a, b in zip(sizes[:-1], sizes[1:])]
    bs = [rng.standard_normal(b) for b in sizes[1:]]
    X = rng.standard_normal((batch, sizes[0]))
    Y = rng.random((batch, sizes[-1]))
    hand, auto = four_equations(Ws, bs, X, Y), autograd_gradients(Ws, bs, X, Y)

    def rel(a, b):
        return float(np.abs(a - b).max() / max(np.abs(a).max(), np.abs(b).max(), 1e-300))

    return {
        "dW_rel_diff": max(rel(a, b) for a, b in zip(hand["dW"], auto["dW"])),
        "db_rel_diff": max(rel(a, b) for a, b in zip(hand["db"], auto["db"])),
        "sizes": list(sizes),
        "batch": batch,
    }
