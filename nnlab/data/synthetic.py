"""Synthetic 2-D classification sets: the notes' spiral, circles, moons, XOR and blobs."""

from __future__ import annotations

from typing import Sequence

import numpy as np

from nnlab.data.containers import _check_count


def _check_noise(noise) -> float:
    if not np.isfinite(noise) or noise < 0:
        raise ValueError(f"noise must be a finite number >= 0, got {noise!r}")
    return float(noise)


def _finish(X, y):
    return np.asarray(X, dtype=np.float32), np.asarray(y, dtype=np.int64)


def make_spiral(n_per_class: int = 100, classes: int = 3, noise: float = 0.2, seed: int = 0):
    """K interleaved spiral arms (the classic non-linearly-separable toy set).

    Arm k: radius r in [0, 1], angle t = 4 * (k + r) + noise * N(0, 1); point r * (sin t, cos t).
    """
    n = _check_count("n_per_class", n_per_class)
    k = _check_count("classes", classes)
    noise = _check_noise(noise)
    rng = np.random.default_rng(seed)
    r = np.tile(np.linspace(0.0, 1.0, n), k)
    y = np.repeat(np.arange(k), n)
    t = 4.0 * (y + r) + rng.standard_normal(n * k) * noise
    return _finish(np.stack([r * np.sin(t), r * np.cos(t)], axis=1), y)


def make_circles(n_samples: int = 500, noise: float = 0.1, factor: float = 0.5, seed: int = 0):
    """Two concentric circles (class 0 outer, radius 1; class 1 inner, radius ``factor``)."""
    n = _check_count("n_samples", n_samples, 2)
    noise = _check_noise(noise)
    if not 0 < factor < 1:
        raise ValueError(f"factor must be in (0, 1), got {factor!r}")
    rng = np.random.default_rng(seed)
    y = (np.arange(n) >= (n + 1) // 2).astype(np.int64)
    t = rng.uniform(0.0, 2 * np.pi, n)
    radius = np.where(y == 0, 1.0, factor)
    X = np.stack([radius * np.cos(t), radius * np.sin(t)], axis=1) + noise * rng.standard_normal((n, 2))
    return _finish(X, y)


def make_moons(n_samples: int = 500, noise: float = 0.1, seed: int = 0):
    """Two interleaving half circles."""
    n = _check_count("n_samples", n_samples, 2)
    noise = _check_noise(noise)
    rng = np.random.default_rng(seed)
    y = (np.arange(n) >= (n + 1) // 2).astype(np.int64)
    t = rng.uniform(0.0, np.pi, n)
    upper = np.stack([np.cos(t), np.sin(t)], axis=1)
    lower = np.stack([1.0 - np.cos(t), 0.5 - np.sin(t)], axis=1)
    X = np.where((y == 0)[:, None], upper, lower) + noise * rng.standard_normal((n, 2))
    return _finish(X, y)


def make_xor(n_samples: int = 500, noise: float = 0.1, seed: int = 0):
    """Points uniform in [-1, 1]^2, class 1 where the two coordinates have different signs
    (classes balanced: each point's quadrant is drawn to match its class)."""
    n = _check_count("n_samples", n_samples, 2)
    noise = _check_noise(noise)
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 2
    mag = rng.uniform(0.0, 1.0, (n, 2))
    sx = rng.choice([-1.0, 1.0], size=n)
    X = np.stack([sx * mag[:, 0], np.where(y == 1, -sx, sx) * mag[:, 1]], axis=1)
    return _finish(X + noise * rng.standard_normal((n, 2)), y)


def make_blobs(
    n_samples: int = 500,
    centers: int | Sequence[Sequence[float]] = 3,
    noise: float = 1.0,
    seed: int = 0,
    radius: float = 4.0,
):
    """Isotropic Gaussian blobs; ``noise`` is each blob's standard deviation.

    ``centers`` is a count (centers evenly spaced on a circle of ``radius``) or an explicit (K, 2) array.
    """
    n = _check_count("n_samples", n_samples)
    noise = _check_noise(noise)
    if isinstance(centers, (int, np.integer)) and not isinstance(centers, bool):
        k = _check_count("centers", centers)
        angle = 2 * np.pi * np.arange(k) / k
        c = radius * np.stack([np.cos(angle), np.sin(angle)], axis=1)
    else:
        c = np.asarray(centers, dtype=np.float64)
        if c.ndim != 2 or c.shape[1] != 2 or len(c) == 0:
            raise ValueError(f"centers must be a count or a (K, 2) array, got shape {c.shape}")
    rng = np.random.default_rng(seed)
    y = np.arange(n) % len(c)
    return _finish(c[y] + noise * rng.standard_normal((n, 2)), y)


SYNTHETIC = {"spiral": make_spiral, "circles": make_circles, "moons": make_moons, "xor": make_xor, "blobs": make_blobs}
