"""Checkpoints: one .npz file (a zip) holding a JSON document and the arrays it refers to.

Everything a run needs is data, never pickled objects, so loading a checkpoint runs no code from
it (``np.load(..., allow_pickle=False)``):

- ``__nnlab__.json``: format name, version, the model's architecture (``Module.get_config()``,
  or a builder name + keyword arguments), preprocessing parameters, optimizer hyperparameters,
  training position (epoch, step), RNG state, callback states, history and a free ``config``;
- ``a0``, ``a1``, ...: the arrays (weights, buffers, optimizer moments, preprocessing statistics),
  referenced from the JSON as ``{"__ndarray__": i}``.

Files are written to a temporary file in the target folder and moved into place with
``os.replace`` (atomic on POSIX and Windows), so a crash mid-write leaves the previous checkpoint
intact. A truncated or foreign file, or one from a newer format version, raises
``CheckpointError`` with a one-line explanation.
"""

from __future__ import annotations

import json
import math
import os
import struct
import zipfile
import zlib

import numpy as np

from nnlab.utils.io import atomic_savez

__all__ = [
    "FORMAT",
    "VERSION",
    "CheckpointError",
    "Checkpoint",
    "save",
    "load",
    "write_checkpoint",
    "read_checkpoint",
    "encode",
    "decode",
]

FORMAT = "nnlab-checkpoint"
VERSION = 1
_META = "__nnlab__"


class CheckpointError(ValueError):
    """A checkpoint that cannot be used; the message says why and what to do."""


class CheckpointNotFoundError(CheckpointError, FileNotFoundError):
    """The checkpoint path does not exist."""


# ------------------------------------------------------------------------------------------
# Nested data <-> JSON + arrays
# ------------------------------------------------------------------------------------------
_TAGS = ("__ndarray__", "__tuple__", "__items__", "__float__", "__tensor__")


def encode(obj, arrays: list):
    """JSON-compatible form of nested dicts/lists/tuples/numbers/strings/ndarrays; arrays are
    appended to ``arrays`` and replaced by references."""
    if type(obj).__name__ in ("Tensor", "Parameter") and hasattr(obj, "data") and hasattr(obj, "requires_grad"):
        return {"__tensor__": encode(np.asarray(obj.data), arrays)}
    if isinstance(obj, np.ndarray):
        if obj.dtype.kind not in "biuf":
            raise TypeError(f"checkpoint: cannot store an array of dtype {obj.dtype} (real numbers only)")
        arrays.append(obj)
        return {"__ndarray__": len(arrays) - 1}
    if isinstance(obj, np.generic):
        obj = obj.item()
    if obj is None or isinstance(obj, (bool, int, str)):
        return obj
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else {"__float__": repr(obj)}
    if isinstance(obj, tuple):
        return {"__tuple__": [encode(v, arrays) for v in obj]}
    if isinstance(obj, list):
        return [encode(v, arrays) for v in obj]
    if isinstance(obj, dict):
        if all(isinstance(k, str) for k in obj) and not any(k in _TAGS for k in obj):
            return {k: encode(v, arrays) for k, v in obj.items()}
        return {"__items__": [[encode(k, arrays), encode(v, arrays)] for k, v in obj.items()]}
    raise TypeError(
        f"checkpoint: cannot store a value of type {type(obj).__name__}; "
        "only numbers, strings, lists, dicts and NumPy arrays are saved"
    )


def decode(obj, arrays):
    if isinstance(obj, list):
        return [decode(v, arrays) for v in obj]
    if isinstance(obj, dict):
        if len(obj) == 1:
            ((tag, v),) = obj.items()
            if tag == "__ndarray__":
                return arrays(v)
            if tag == "__tuple__":
                return tuple(decode(x, arrays) for x in v)
            if tag == "__items__":
                return {_hashable(decode(k, arrays)): decode(x, arrays) for k, x in v}
            if tag == "__float__":
                return float(v)
            if tag == "__tensor__":
                from nnlab.engine.tensor import Tensor

                return Tensor(decode(v, arrays))
        return {k: decode(v, arrays) for k, v in obj.items()}
    return obj


def _hashable(k):
    return tuple(k) if isinstance(k, list) else k


# ------------------------------------------------------------------------------------------
# Files
# ------------------------------------------------------------------------------------------
def write_checkpoint(path, payload: dict) -> str:
    """Write ``payload`` (nested data with arrays) to ``path`` atomically; returns the path."""
    path = os.fspath(path)
    arrays: list = []
    doc = {"format": FORMAT, "version": VERSION, **encode(payload, arrays)}
    doc["checksum"] = {"crc32": arrays_checksum(arrays), "arrays": len(arrays)}
    text = json.dumps(doc, separators=(",", ":"))
    entries = {_META: np.frombuffer(text.encode("utf-8"), dtype=np.uint8)}
    entries.update({f"a{i}": a for i, a in enumerate(arrays)})
    return atomic_savez(path, entries, fsync=True)


def arrays_checksum(arrays) -> int:
    """CRC-32 of the arrays' names, dtypes, shapes and bytes, in order: a flipped byte anywhere in
    the stored weights (or arrays swapped by a damaged zip directory) changes it."""
    crc = 0
    for i, a in enumerate(arrays):
        a = np.ascontiguousarray(a)
        crc = zlib.crc32(f"a{i}:{a.dtype.str}:{a.shape};".encode(), crc)
        crc = zlib.crc32(memoryview(a).cast("B") if a.size else b"", crc)
    return crc


def _verified_arrays(doc: dict, z, path: str, corrupt: str) -> dict:
    """The file's arrays by index, after comparing them with the stored checksum (checkpoints
    written before the checksum existed have none: their arrays are read when referenced)."""
    want = doc.get("checksum")
    if want is None:
        return {}
    if not isinstance(want, dict) or not isinstance(want.get("arrays"), int) or not isinstance(want.get("crc32"), int):
        raise CheckpointError(corrupt)
    if not {f"a{i}" for i in range(want["arrays"])} <= set(z.files):
        raise CheckpointError(corrupt)
    arrays = [z[f"a{i}"] for i in range(want["arrays"])]
    if arrays_checksum(arrays) != want["crc32"]:
        raise CheckpointError(
            f"{path}: the stored arrays do not match the checkpoint's checksum (the file was "
            "damaged or edited); use an earlier checkpoint or train again"
        )
    return dict(enumerate(arrays))


def read_checkpoint(path) -> dict:
    """The payload of a checkpoint file (arrays materialized), after format and version checks."""
    path = os.fspath(path)
    if os.path.isdir(path):
        candidate = os.path.join(path, "checkpoint.npz")
        if not os.path.isfile(candidate):
            raise CheckpointNotFoundError(
                f"{path}: folder has no checkpoint.npz; pass a run folder or a checkpoint file"
            )
        path = candidate
    if not os.path.exists(path):
        raise CheckpointNotFoundError(f"{path}: no such checkpoint; check the path (a run folder or a .npz file)")
    corrupt = (
        f"{path}: the checkpoint is truncated or corrupt; use an earlier checkpoint "
        "(or the run's checkpoint.npz) or train again"
    )
    try:
        with np.load(path, allow_pickle=False) as z:
            if _META not in z.files:
                raise CheckpointError(
                    f"{path}: not an nnlab checkpoint (no {_META} entry); "
                    "save checkpoints with nnlab.save or ModelCheckpoint"
                )
            doc = json.loads(z[_META].tobytes().decode("utf-8"))
            if not isinstance(doc, dict) or doc.get("format") != FORMAT:
                raise CheckpointError(f"{path}: not an nnlab checkpoint (format {doc.get('format')!r})")
            version = doc.get("version")
            if not isinstance(version, int) or version > VERSION or version < 1:
                raise CheckpointError(
                    f"{path}: checkpoint format version {version!r}, this nnlab reads version "
                    f"{VERSION}; upgrade nnlab (pip install -U nnlab) or retrain"
                )
            cache = _verified_arrays(doc, z, path, corrupt)

            def array(i):
                if i not in cache:
                    cache[i] = z[f"a{i}"]
                return cache[i]

            payload = decode({k: v for k, v in doc.items() if k not in ("format", "version", "checksum")}, array)
    except CheckpointError:
        raise
    except (
        zipfile.BadZipFile,
        EOFError,
        KeyError,
        ValueError,
        OSError,
        UnicodeDecodeError,
        RuntimeError,
        NotImplementedError,
        zlib.error,
        struct.error,
    ) as e:  # a damaged zip raises any of these
        if isinstance(e, OSError) and not isinstance(e, (EOFError,)) and e.errno is not None:
            raise CheckpointError(
                f"{path}: cannot read the checkpoint ({e.strerror}); check the file's permissions"
            ) from None
        raise CheckpointError(corrupt) from None
    payload["version"] = version
    payload["path"] = path
    return payload


# ------------------------------------------------------------------------------------------
# User-facing save/load
# ------------------------------------------------------------------------------------------
def model_architecture(model, builder: dict | None = None) -> dict:
    """How to rebuild ``model``: its ``get_config()``, and/or a registered builder with kwargs."""
    arch = {}
    if builder is not None:
        arch["builder"] = builder
    try:
        arch["config"] = model.get_config()
    except (TypeError, AttributeError):
        if builder is None:
            raise
    return arch


def build_model(arch: dict, custom_objects=None, max_values: int | None = None):
    """Rebuild an architecture recorded by ``model_architecture`` (fresh weights).

    Construction initializes weights from nnlab's generator; its state is restored afterwards,
    so loading a checkpoint does not change the random stream of the code that loads it.
    ``custom_objects``: Module classes from outside nnlab that the architecture may name (see
    ``nn.module_from_config``). ``max_values``: the number of values the stored weights hold; a
    parameter that would take the architecture beyond it stops the build before it is allocated.
    """
    from nnlab.engine import random as nrandom
    from nnlab.nn import parameter

    state = nrandom.get_state()
    seen = [0]

    def guard(shape, commit=True):
        n = seen[0] + (int(np.prod(shape, dtype=np.int64)) if len(shape) else 1)
        if commit:
            seen[0] = n
        if n > max_values:
            raise CheckpointError(
                f"the stored architecture asks for more than the {max_values:,} weight values the "
                "file holds (a parameter of shape "
                f"{tuple(int(d) for d in shape)}); the file is damaged or was edited"
            )

    if max_values is not None:
        parameter._BUILD_GUARDS.append(guard)
    try:
        return _build_model(arch, custom_objects)
    except MemoryError:
        raise CheckpointError(
            "the stored architecture asks for more memory than this machine has; the file is damaged or was edited"
        ) from None
    finally:
        if max_values is not None:
            parameter._BUILD_GUARDS.remove(guard)
        nrandom.set_state(state)


def _build_model(arch: dict, custom_objects=None):
    if "config" in arch and arch["config"] is not None:
        from nnlab.nn.module import module_from_config

        return module_from_config(arch["config"], custom_objects)
    if "builder" in arch:
        from nnlab.train import models

        b = arch["builder"]
        return models.build_model(b["name"], **b.get("kwargs", {}))
    raise CheckpointError(
        "the checkpoint holds no model architecture; rebuild the model in code and "
        "load the weights with model.load_state_dict(ckpt.model_state)"
    )


def state_values(state) -> int:
    """How many values a state dict's arrays hold."""
    return sum(int(np.size(v)) for v in state.values()) if isinstance(state, dict) else 0


class Checkpoint:
    """What ``nnlab.load`` returns: the rebuilt ``model`` (weights loaded, eval mode) and the rest
    of the checkpoint as attributes (``preprocessor``, ``history``, ``optimizer_state``,
    ``train_state``, ``config``, ``epoch`` (epochs completed), ``step``, ``version``, ``path``)."""

    def __init__(self, payload: dict, custom_objects=None):
        self.payload = payload
        self.path = payload.get("path")
        self.version = payload.get("version")
        self.kind = payload.get("kind", "model")
        self.architecture = payload.get("architecture") or {}
        self.model_state = payload.get("model_state") or {}
        self.optimizer_state = payload.get("optimizer")
        self.train_state = payload.get("train_state") or {}
        self.config = payload.get("config") or {}
        self.extra = payload.get("extra") or {}
        st = self.train_state
        # Completed epochs (a checkpoint from an epoch end has that epoch trained, its hooks pending).
        self.epoch = (
            None
            if "epoch" not in st
            else int(st["epoch"]) + int(st.get("batch", 0) >= st.get("steps_per_epoch", 1) > 0)
        )
        self.step = self.train_state.get("global_step")
        prep = payload.get("preprocessor")
        self.preprocessor = None
        if prep is not None:
            from nnlab.data.preprocessing import preprocessor_from_state

            self.preprocessor = preprocessor_from_state(prep)
        from nnlab.train.callbacks import History

        self.history = History()
        if payload.get("history"):
            self.history.load_state_dict(payload["history"])
        self.model = None
        if self.architecture:
            try:
                self.model = build_model(self.architecture, custom_objects, max_values=state_values(self.model_state))
            except CheckpointError as e:
                raise CheckpointError(f"{self.path}: {e}") from None
            except (ValueError, TypeError) as e:
                raise CheckpointError(f"{self.path}: cannot rebuild the stored architecture: {e}") from None
            try:
                self.model.load_state_dict(self.model_state)
            except (KeyError, ValueError) as e:
                raise CheckpointError(
                    f"{self.path}: the weights do not fit the stored architecture ({e}); "
                    "the file is damaged or was edited"
                ) from None
            self.model.eval()

    def __repr__(self) -> str:
        name = type(self.model).__name__ if self.model is not None else None
        return f"Checkpoint(path={self.path!r}, model={name}, epoch={self.epoch}, step={self.step}, version={self.version})"


def save(obj, path, *, preprocessor=None, config: dict | None = None, builder: dict | None = None, **extra) -> str:
    """Save to ``path`` as one .npz (no pickle): a Module (architecture + weights + buffers), a
    Trainer (a full, resumable training checkpoint), or plain data such as a ``state_dict()``:
    dicts, lists and tuples of arrays, Tensors, numbers, strings and None (``nnlab.load`` gives
    it back as saved, as ``torch.save``/``torch.load`` do). Returns the path."""
    from nnlab.nn.module import Module

    _check_target(path)
    if hasattr(obj, "save_checkpoint") and hasattr(obj, "model"):
        return obj.save_checkpoint(path)
    if not isinstance(obj, Module):
        if preprocessor is not None or config or builder is not None or extra:
            raise TypeError(
                "nnlab.save: preprocessor=, config=, builder= and extra keywords go with a Module; "
                f"got a {type(obj).__name__}"
            )
        try:
            encode(obj, [])
        except TypeError as e:
            raise TypeError(
                f"nnlab.save: expected a Module, a Trainer, or data made of dicts, lists, tuples, arrays, "
                f"Tensors, numbers and strings ({str(e).removeprefix('checkpoint: ')})"
            ) from None
        return write_checkpoint(path, {"kind": "data", "data": obj})
    payload = {
        "kind": "model",
        "architecture": model_architecture(obj, builder),
        "model_state": dict(obj.state_dict()),
        "preprocessor": None if preprocessor is None else preprocessor.state_dict(),
        "config": config or {},
        "extra": extra,
    }
    return write_checkpoint(path, payload)


def _check_target(path) -> None:
    try:
        target = os.fspath(path)
    except TypeError:
        raise TypeError(
            f"nnlab.save: path must be a file path (str or os.PathLike), got {type(path).__name__}"
        ) from None
    if os.path.isdir(target):
        raise IsADirectoryError(
            f"nnlab.save: {target} is a folder; give a file name such as {os.path.join(target, 'model.npz')}"
        )


def load(path, custom_objects=None):
    """Read a file written by ``nnlab.save`` or a Trainer.

    A model or training checkpoint gives a ``Checkpoint`` with the model rebuilt; data saved with
    ``nnlab.save`` (a state_dict, a dict of arrays...) is given back as it was saved.
    ``custom_objects``: Module classes defined outside nnlab that the file may name (a dict of
    names to classes, or a list of classes); any other class it names is refused before anything
    is imported (see ``nnlab.nn.register_module``).
    """
    payload = read_checkpoint(path)
    if payload.get("kind") == "data":
        return payload.get("data")
    return Checkpoint(payload, custom_objects)
