"""Measurements behind the Hopfield figures: recall overlap against load (capacity), correlated
versus random patterns, and the modern network's beta sweep. Each returns plain arrays so tests
and figures share one code path."""

from __future__ import annotations

import numpy as np

from .modern import ModernHopfield
from .network import HopfieldNetwork
from .patterns import flip_bits, random_patterns

__all__ = ["recall_overlaps", "capacity_curve", "correlated_vs_random", "beta_sweep", "CRITICAL_LOAD"]

CRITICAL_LOAD = 0.138  # Amit, Gutfreund & Sompolinsky (1985): Hebbian retrieval breaks down near 0.138 N


def recall_overlaps(
    net: HopfieldNetwork,
    patterns,
    noise: float = 0.1,
    probes: int | None = None,
    mode: str = "async",
    seed: int = 0,
    max_sweeps: int = 100,
) -> np.ndarray:
    """Final overlap with the target after recall from each stored pattern with ``noise`` of its
    bits flipped (the first ``probes`` patterns, all by default)."""
    X = np.atleast_2d(patterns)
    n = len(X) if probes is None else min(int(probes), len(X))
    rng = np.random.default_rng(seed)
    out = np.empty(n)
    for mu in range(n):
        x = flip_bits(X[mu], noise, rng)
        r = net.recall(x, mode=mode, seed=rng, max_sweeps=max_sweeps)
        out[mu] = r.state @ X[mu] / net.N
    return out


def capacity_curve(
    N: int = 400,
    loads=(0.05, 0.1, 0.138, 0.2, 0.3),
    seeds=(0, 1, 2),
    rule: str = "hebb",
    noise: float = 0.1,
    probes: int | None = 20,
) -> dict:
    """Mean recall overlap from ``noise`` flipped bits at each load P/N, for each seed.

    Returns {"loads", "overlaps" (seeds x loads, each the mean over probes), "mean", "std"}.
    """
    loads = np.asarray(loads, float)
    res = np.empty((len(seeds), len(loads)))
    for a, seed in enumerate(seeds):
        for b, load in enumerate(loads):
            P = max(1, int(round(load * N)))
            X = random_patterns(P, N, seed=1000 * seed + b)
            net = HopfieldNetwork(N).store(X, rule=rule)
            res[a, b] = recall_overlaps(net, X, noise, probes, seed=seed).mean()
    return {"loads": loads, "overlaps": res, "mean": res.mean(0), "std": res.std(0), "N": N, "rule": rule}


def correlated_vs_random(patterns, noise: float = 0.1, seed: int = 0, rule: str = "hebb") -> dict:
    """Store the given (correlated) patterns and as many random ones of the same length; compare
    how many are fixed points and the recall overlap from ``noise`` flipped bits."""
    X = np.atleast_2d(np.asarray(patterns, float))
    P, N = X.shape
    R = random_patterns(P, N, seed=seed)
    out = {"P": P, "N": N, "load": P / N}
    for name, S in (("correlated", X), ("random", R)):
        net = HopfieldNetwork(N).store(S, rule=rule)
        out[name] = {
            "fixed": float(np.mean([net.is_fixed_point(s) for s in S])),
            "overlap": recall_overlaps(net, S, noise, seed=seed),
            "mean_abs_correlation": float(np.abs(np.corrcoef(S)[np.triu_indices(P, 1)]).mean()) if P > 1 else 0.0,
        }
    return out


def beta_sweep(
    d: int = 64, M: int = 500, betas=(0.5, 1, 2, 4, 8, 16, 32), noise: float = 0.5, queries: int = 20, seed: int = 0
) -> dict:
    """Modern Hopfield retrieval after ONE update for unit-norm random patterns: the query is a
    stored pattern plus Gaussian noise of relative size ``noise``. Returns the mean cosine to the
    target and the mean largest softmax weight for each beta."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((d, M))
    X /= np.linalg.norm(X, axis=0)
    targets = rng.choice(M, queries, replace=False)
    Q = X[:, targets].T + noise * rng.standard_normal((queries, d)) / np.sqrt(d)
    cos, pmax = [], []
    for beta in betas:
        net = ModernHopfield(X, beta=beta)
        out = net.update(Q)
        T = X[:, targets].T
        cos.append(float(np.mean((out * T).sum(1) / np.linalg.norm(out, axis=1) / np.linalg.norm(T, axis=1))))
        pmax.append(float(net.separation(Q).max(1).mean()))
    return {
        "betas": np.asarray(betas, float),
        "cosine": np.asarray(cos),
        "max_weight": np.asarray(pmax),
        "d": d,
        "M": M,
    }
