"""The playground's points: nnlab's synthetic 2-D sets scaled to TF Playground's [-6, 6] square,
plus the checkerboard and the regression sets, and CSV import/export.

Points are kept inside the square (noise that would carry one outside leaves it on the border).
Every set is drawn from ``seed`` with the noise as a separate factor, so changing the noise moves the
same points further or nearer (a live change), and drawing again with the same settings gives the
same points.
"""

from __future__ import annotations

import csv
import io

import numpy as np

from nnlab.data import make_blobs, make_circles, make_moons, make_spiral, make_xor
from nnlab.playground.config import MAX_POINTS, REGRESSION_SETS

DOMAIN = 6.0  # points and maps live in [-DOMAIN, DOMAIN]^2


def _rings(n, k, noise, seed):
    """K concentric rings (class 0 outermost), the circles set for more than two classes."""
    rng = np.random.default_rng(seed)
    y = np.arange(n) % k
    t = rng.uniform(0.0, 2 * np.pi, n)
    radius = 1.0 - y / k
    X = np.stack([radius * np.cos(t), radius * np.sin(t)], axis=1) + noise * rng.standard_normal((n, 2))
    return X, y


def _checkerboard(n, k, noise, seed):
    """Uniform points; the class is the sum of the 3x3 cell indices modulo K."""
    rng = np.random.default_rng(seed)
    X = rng.uniform(-DOMAIN, DOMAIN, (n, 2))
    cell = np.floor(X / 3.0).astype(np.int64)
    y = (cell[:, 0] + cell[:, 1]) % k
    return X + noise * rng.standard_normal((n, 2)), y


def generate(dataset: str, n: int, classes: int, noise: float, seed: int):
    """(X float32 (n, 2), y) with y int64 class labels, or float32 targets for the regression sets."""
    if dataset == "circles":
        X, y = (
            make_circles(n, noise=noise * 0.2, factor=0.5, seed=seed)
            if classes == 2
            else _rings(n, classes, noise * 0.2, seed)
        )
        X = X * 5.0
    elif dataset == "spiral":
        per = max(1, n // classes)
        X, y = make_spiral(per, classes, noise=noise * 0.3, seed=seed)
        X = X * 5.0
    elif dataset == "moons":
        X, y = make_moons(n, noise=noise * 0.2, seed=seed)
        X = (X - np.array([0.5, 0.25], dtype=np.float32)) * 3.0
    elif dataset == "xor":
        X, y = make_xor(n, noise=noise * 0.2, seed=seed)
        X = X * 5.0
    elif dataset == "blobs":
        X, y = make_blobs(n, centers=classes, noise=0.5 + noise * 0.8, seed=seed, radius=3.0)
    elif dataset == "checkerboard":
        X, y = _checkerboard(n, classes, noise, seed)
    elif dataset == "plane":
        rng = np.random.default_rng(seed)
        X = rng.uniform(-DOMAIN, DOMAIN, (n, 2))
        y = (X[:, 0] + X[:, 1]) / (2 * DOMAIN) + noise * 0.5 * rng.standard_normal(n)
    elif dataset == "bumps":
        rng = np.random.default_rng(seed)
        X = rng.uniform(-DOMAIN, DOMAIN, (n, 2))
        y = np.exp(-((X[:, 0] - 2) ** 2 + (X[:, 1] - 2) ** 2) / 4) - np.exp(
            -((X[:, 0] + 2) ** 2 + (X[:, 1] + 2) ** 2) / 4
        )
        y = y + noise * 0.5 * rng.standard_normal(n)
    elif dataset == "sine":
        rng = np.random.default_rng(seed)
        x = rng.uniform(-DOMAIN, DOMAIN, n)
        X = np.stack([x, np.zeros(n)], axis=1)
        y = np.sin(x) + noise * 0.5 * rng.standard_normal(n)
    else:
        raise ValueError(f"data.dataset: unknown set {dataset!r}")
    y = np.asarray(y, dtype=np.float32 if dataset in REGRESSION_SETS else np.int64)
    # the playground's world is the square: noise never carries a point off the map
    return np.clip(np.asarray(X, dtype=np.float32), -DOMAIN, DOMAIN), y


def split_mask(n: int, train_ratio: float, seed: int) -> np.ndarray:
    """Boolean mask of the training points among ``n`` generated ones: a seeded permutation whose
    first ``round(train_ratio * n)`` entries train (so a ratio change moves as few points as possible)."""
    order = np.random.default_rng([seed, 7]).permutation(n)
    mask = np.zeros(n, dtype=bool)
    mask[order[: int(round(train_ratio * n))]] = True
    return mask


def to_csv(X, y, train) -> str:
    """The points as CSV text: x1,x2,label,split (split is "train" or "test")."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["x1", "x2", "label", "split"])
    regression = y.dtype.kind == "f"
    for (a, b), t, tr in zip(np.asarray(X).tolist(), np.asarray(y).tolist(), np.asarray(train).tolist()):
        w.writerow([f"{a:.6g}", f"{b:.6g}", f"{t:.6g}" if regression else int(t), "train" if tr else "test"])
    return buf.getvalue()


def parse_csv(text: str, classes: int | None, regression: bool):
    """Points from CSV text with columns x1,x2,label[,split] (a header row is optional).

    Returns (X, y, train). A bad row raises ValueError naming its line and what was expected; labels
    must be integers in [0, classes) for classification."""
    if not isinstance(text, str):
        raise ValueError(f"CSV import: expected text, got {type(text).__name__}")
    rows = [r for r in csv.reader(io.StringIO(text)) if r and any(c.strip() for c in r)]
    if rows and rows[0] and rows[0][0].strip().lower() in ("x1", "x", "x0"):
        rows, first = rows[1:], 2
    else:
        first = 1
    if not rows:
        raise ValueError("CSV import: no data rows (expected lines 'x1,x2,label[,split]')")
    if len(rows) > MAX_POINTS:
        raise ValueError(f"CSV import: {len(rows)} rows, the playground takes at most {MAX_POINTS} points")
    X, y, train = [], [], []
    for i, r in enumerate(rows):
        line = i + first
        if len(r) not in (3, 4):
            raise ValueError(
                f"CSV import: line {line} has {len(r)} fields, expected 3 or 4 (x1,x2,label[,split]): {','.join(r)!r}"
            )
        try:
            a, b = float(r[0]), float(r[1])
        except ValueError:
            raise ValueError(f"CSV import: line {line}: x1 and x2 must be numbers, got {r[0]!r}, {r[1]!r}") from None
        if not (np.isfinite(a) and np.isfinite(b)) or max(abs(a), abs(b)) > DOMAIN:
            raise ValueError(
                f"CSV import: line {line}: the point ({a}, {b}) is outside the [-{DOMAIN:g}, {DOMAIN:g}] square"
            )
        if regression:
            try:
                t = float(r[2])
            except ValueError:
                raise ValueError(f"CSV import: line {line}: the target must be a number, got {r[2]!r}") from None
            if not np.isfinite(t):
                raise ValueError(f"CSV import: line {line}: the target must be finite, got {r[2]!r}")
        else:
            try:
                t = int(r[2])
            except ValueError:
                raise ValueError(f"CSV import: line {line}: the label must be an integer class, got {r[2]!r}") from None
            if not 0 <= t < classes:
                raise ValueError(
                    f"CSV import: line {line}: label {t} is beyond the {classes} classes "
                    f"(expected 0-{classes - 1}; raise data.classes first)"
                )
        split = r[3].strip().lower() if len(r) == 4 else "train"
        if split not in ("train", "test"):
            raise ValueError(f"CSV import: line {line}: split must be 'train' or 'test', got {r[3]!r}")
        X.append((a, b)), y.append(t), train.append(split == "train")
    return (
        np.asarray(X, dtype=np.float32),
        np.asarray(y, dtype=np.float32 if regression else np.int64),
        np.asarray(train, dtype=bool),
    )
