"""Datasets: the bundled digits, synthetic 2D sets, user files, and stratified splits.

Everything here is plain NumPy: X is float32 (images in NCHW, values in [0, 1]), y is int64 class
indices 0..K-1. A dataset knows its *role* ("train", "dev", "test") so that preprocessing can refuse
to learn statistics from anything but the training split.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from nnlab.data.bundled import cache_dir, load_digits8x8, load_mnist5k
from nnlab.data.containers import ROLES, ArrayDataset, DataError, DataFileNotFoundError, DatasetSplits
from nnlab.data.files import (
    IMAGE_EXTENSIONS,  # noqa: F401  (re-exported: nnlab.data.datasets.IMAGE_EXTENSIONS)
    _check_exists,
    image_array,
    load_csv,
    load_image_folder,
    load_images,
    load_npz,
)
from nnlab.data.splits import kfold, train_dev_test_split
from nnlab.data.synthetic import SYNTHETIC, make_blobs, make_circles, make_moons, make_spiral, make_xor

__all__ = [
    "DataError",
    "DataFileNotFoundError",
    "ArrayDataset",
    "DatasetSplits",
    "load_mnist5k",
    "load_digits8x8",
    "make_spiral",
    "make_circles",
    "make_moons",
    "make_xor",
    "make_blobs",
    "train_dev_test_split",
    "kfold",
    "load_dataset",
    "load_npz",
    "load_csv",
    "load_image_folder",
    "load_images",
    "image_array",
    "cache_dir",
    "KNOWN_DATASETS",
    "ROLES",
]


KNOWN_DATASETS = ("mnist5k", "digits", "digits8x8", "spiral", "circles", "moons", "xor", "blobs")
_DEFAULT_SPLITS = {"mnist5k": (4000, 500, 500), "digits8x8": (0.8, 0.1, 0.1)}
_SYNTHETIC_SPLITS = (0.6, 0.2, 0.2)
_FILE_SPLITS = (0.8, 0.1, 0.1)


def _looks_like_path(s) -> bool:
    if isinstance(s, os.PathLike):
        return True
    if s.strip().lower() in KNOWN_DATASETS:  # a bundled name wins over a same-named folder
        return False
    return (
        os.sep in s or "/" in s or s.startswith(".") or Path(s).suffix.lower() in (".npz", ".csv") or Path(s).exists()
    )


def _check_classes(data: "ArrayDataset", where) -> None:
    """A classification dataset needs two classes at least: with one, every model reaches loss 0
    by predicting it, and nothing is learnt."""
    if data.y is not None and len(data.y) and np.unique(data.y).size < 2:
        only = data.class_names[int(data.y[0])] if data.class_names else int(data.y[0])
        raise DataError(
            f"{where}: every sample has the same label ({only!r}); a classifier needs at least "
            "two classes: add samples of another class"
        )


def load_dataset(
    name_or_path="mnist5k",
    *,
    seed: int = 0,
    splits=None,
    stratify: bool = True,
    label_column: int | str | None = None,
    image_size=None,
    color: str = "auto",
    n_samples: int | None = None,
    noise: float | None = None,
    classes: int | None = None,
    cache: str | os.PathLike | None = None,
) -> DatasetSplits:
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
            raise DataError(
                f"unknown dataset {name_or_path!r}; known names are {', '.join(KNOWN_DATASETS)}, "
                "or give a path to a .npz, .csv or image folder"
            )
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
            raise DataError(
                f"{path}: unsupported file type {suffix or '(none)'!r}; "
                "use a .npz (X, y), a .csv, or a folder of class sub-folders with images"
            )
        default = _FILE_SPLITS
    _check_classes(data, name_or_path)
    return train_dev_test_split(
        data, sizes=splits if splits is not None else default, stratify=stratify, seed=seed, name=name
    )
