"""Pattern sets and corruption for the Hopfield experiments: random +-1 patterns, bit flips,
binarized digits (correlated patterns), and the 3-pattern mixture state."""

from __future__ import annotations

import numpy as np

__all__ = ["random_patterns", "flip_bits", "binarize", "digit_patterns", "mixture", "to_bipolar"]


def random_patterns(P: int, N: int, seed=None) -> np.ndarray:
    """P independent patterns of N fair +-1 bits, (P, N) float64."""
    for name, v, lo in (("P", P, 0), ("N", N, 1)):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < lo:
            raise ValueError(f"random_patterns: {name} must be an int >= {lo}, got {v!r}")
    rng = np.random.default_rng(seed)
    return rng.choice(np.array([-1.0, 1.0]), size=(int(P), int(N)))


def flip_bits(x, fraction: float, seed=None) -> np.ndarray:
    """A copy of the +-1 vector(s) ``x`` with round(fraction * N) bits flipped in each row
    (distinct positions, chosen at random)."""
    a = np.array(x, dtype=np.float64)
    if not 0.0 <= fraction <= 1.0:
        raise ValueError(f"flip_bits: fraction must lie in [0, 1], got {fraction!r}")
    rng = np.random.default_rng(seed)
    rows = np.atleast_2d(a)
    k = int(round(fraction * rows.shape[1]))
    idx = np.argsort(rng.random(rows.shape), axis=1)[:, :k]
    np.put_along_axis(rows, idx, -np.take_along_axis(rows, idx, axis=1), axis=1)
    return rows.reshape(a.shape)


def to_bipolar(x, threshold: float = 0.5) -> np.ndarray:
    """+1 where ``x`` > threshold, else -1 (float64)."""
    return np.where(np.asarray(x) > threshold, 1.0, -1.0)


binarize = to_bipolar


def digit_patterns(size: int = 28, per_class: int = 1, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Binarized bundled MNIST digits: ``per_class`` images of each digit 0-9 (picked at random
    with ``seed``), block-averaged to ``size`` x ``size`` (a divisor of 28) and thresholded at 0.5.

    These patterns are strongly correlated (most pixels are background), which is why a Hopfield
    network stores far fewer of them than random patterns. Returns ((10*per_class, size*size), labels).
    """
    if 28 % size:
        raise ValueError(f"digit_patterns: size must divide 28 (28, 14, 7, 4, 2), got {size}")
    from nnlab.data import load_mnist5k

    X, y = load_mnist5k()
    rng = np.random.default_rng(seed)
    pick = np.concatenate([rng.choice(np.flatnonzero(y == c), per_class, replace=False) for c in range(10)])
    f = 28 // size
    img = X[pick, 0].reshape(len(pick), size, f, size, f).mean((2, 4))
    return to_bipolar(img.reshape(len(pick), -1)), y[pick]


def mixture(p1, p2, p3) -> np.ndarray:
    """The symmetric 3-mixture sgn(xi1 + xi2 + xi3) (never zero for +-1 inputs)."""
    return np.sign(np.asarray(p1, float) + np.asarray(p2, float) + np.asarray(p3, float))
