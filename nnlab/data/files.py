"""User files: .npz arrays, CSV tables, image folders and single images."""

from __future__ import annotations

import csv
import os
from pathlib import Path
from typing import Sequence

import numpy as np

from nnlab.data.containers import ArrayDataset, DataError, DataFileNotFoundError

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg")


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
            raise DataError(
                f"{where}: labels must be finite class indices, found "
                f"{raw[~np.isfinite(raw)][0].item()!r}; fill in every sample's label"
            )
        if raw.dtype.kind == "f" and not np.all(np.mod(raw, 1) == 0):
            bad = raw[np.mod(raw, 1) != 0][0].item()
            raise DataError(
                f"{where}: labels must be class indices or names, found non-integer values "
                f"such as {bad!r}; use integer class labels"
            )
        ints = raw.astype(np.int64)
        if ints.size == 0:
            return ints, []
        values, y = np.unique(ints, return_inverse=True)
        if values[0] >= 0 and values[-1] + 1 <= 2 * len(values):
            return ints, [str(i) for i in range(int(values[-1]) + 1)]
        return y.astype(np.int64), [str(v) for v in values]
    text = np.char.strip(raw.astype(str))
    if text.size and (text == "").any():
        raise DataError(
            f"{where}: the label of sample {int(np.argmax(text == '')) + 1} is empty; give every sample a label"
        )
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
            raise DataError(
                f"{path}: not an .npz archive (it does not start like a zip file); "
                "save it with np.savez(path, X=features, y=labels)"
            )
    try:
        with np.load(path, allow_pickle=False) as z:
            keys = list(z.keys())
            if "X" not in keys or "y" not in keys:
                raise DataError(
                    f"{path}: an .npz dataset needs arrays named 'X' and 'y', found {keys}; "
                    "save it with np.savez(path, X=features, y=labels)"
                )
            X, raw_y = z["X"], z["y"]
            names = [str(s) for s in z["class_names"]] if "class_names" in keys else None
    except DataError:
        raise
    except Exception as e:
        raise DataError(
            f"{path}: cannot read as .npz ({type(e).__name__}: {e}); save it with np.savez(path, X=features, y=labels)"
        ) from None
    if X.dtype.kind not in "iufb":
        raise DataError(f"{path}: X must be numeric, got dtype {X.dtype}")
    if X.dtype.kind == "f" and not np.all(np.isfinite(X)):
        i = int(np.argwhere(~np.isfinite(X.reshape(len(X), -1)))[0][0])
        raise DataError(
            f"{path}: X holds NaN or infinite values (first in sample {i}); features must be finite numbers"
        )
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
    cols = (
        [label_column]
        if label_column is not None
        else [-1] + [j for j, c in enumerate(rows[0]) if c.strip().lower() in LABEL_NAMES]
    )
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
            raise DataError(
                f"{path}: row {i + first_line} has {len(r)} cells, expected {width}; every row needs the same columns"
            )
    if width < 2:
        other = next((d for d in ";\t|" if d in (header or rows[0])[0]), None)
        hint = f"; the file seems to separate cells with {other!r}, save it comma-separated" if other else ""
        raise DataError(f"{path}: need at least one feature column and a label column, found {width} column(s){hint}")
    named = [j for j, c in enumerate(header or []) if c.lower() in LABEL_NAMES]
    if label_column is None:
        # a header naming one column "label" (or class/target/y) marks it, wherever it is
        col = named[0] if len(named) == 1 else width - 1
    elif isinstance(label_column, str) and not label_column.lstrip("-").isdigit():
        if header is None or label_column not in header:
            have = f"columns are {header}" if header is not None else "the file has no header row"
            raise DataError(
                f"{path}: label column {label_column!r} not found ({have}); pass label_column= a column name or index"
            )
        col = header.index(label_column)
    else:
        col = int(label_column)
        if not -width <= col < width:
            raise DataError(
                f"{path}: label column {col} is out of range for {width} columns; "
                f"use an index in [0, {width - 1}] or a column name"
            )
        col %= width
    cells = np.array(rows, dtype=object)
    features = np.delete(cells, col, axis=1)
    feature_cols = [j for j in range(width) if j != col]
    try:
        X = features.astype(np.float64)
    except ValueError:
        bad = next(
            (i, j) for i in range(features.shape[0]) for j in range(features.shape[1]) if not _is_number(features[i, j])
        )
        i, j = bad
        cname = f" ({header[feature_cols[j]]!r})" if header is not None else ""
        raise DataError(
            f"{path}: row {i + first_line}, column {feature_cols[j] + 1}{cname} holds "
            f"{features[i, j]!r}, which is not a number; features must be numeric "
            "(set label_column= if this is the label)"
        ) from None
    if not np.all(np.isfinite(X)):
        i, j = np.argwhere(~np.isfinite(X))[0]
        raise DataError(
            f"{path}: row {i + first_line}, column {feature_cols[j] + 1} is "
            f"{features[i, j]!r}; features must be finite numbers"
        )
    raw = np.array([r[col].strip() for r in rows])
    labels = raw.astype(np.float64) if all(_is_number(c) for c in raw) else raw
    y, names = _encode_labels(labels, str(path))
    return ArrayDataset(X, y, class_names=names)


def load_image_folder(path, image_size: int | tuple[int, int] | None = None, color: str = "auto") -> ArrayDataset:
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
        raise DataError(
            f"{path}: no class sub-folders; put each class's images in its own "
            f"sub-folder (e.g. {path / 'cat' / '1.png'}, {path / 'dog' / '2.png'})"
        )
    files, labels = [], []
    for k, name in enumerate(classes):
        found = sorted(p for p in (path / name).iterdir() if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS)
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
            raise DataError(
                f"{f}: cannot read the image ({type(e).__name__}: {e}); replace or remove the file"
            ) from None
        grayscale &= im.mode in ("1", "L", "LA", "I", "I;16", "F")
        images.append(im)
    mode = {"grayscale": "L", "rgb": "RGB"}.get(color) or ("L" if grayscale else "RGB")
    arrays = [image_array(im, mode, image_size) for im in images]
    first = arrays[0].shape
    j = next((i for i, a in enumerate(arrays) if a.shape != first), None)
    if j is not None:
        raise DataError(
            f"{where}: images differ in size ({Path(files[0]).name} is {first[1]}x{first[0]}, "
            f"{Path(files[j]).name} is {arrays[j].shape[1]}x{arrays[j].shape[0]}); "
            "pass image_size=(H, W) to resize them"
        )
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


def load_images(
    paths: Sequence[str | os.PathLike], image_size=None, color: str = "grayscale", invert: bool | str = False
) -> np.ndarray:
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
        centre = X[:, :, h // 4 : h - h // 4, w // 4 : w - w // 4].mean(axis=(1, 2, 3))
        flip = (border > centre)[:, None, None, None]
        X = np.where(flip, 1.0 - X, X).astype(np.float32)
    elif invert is True:
        X = 1.0 - X
    elif invert is not False:
        raise ValueError(f"invert must be True, False or 'auto', got {invert!r}")
    return X
