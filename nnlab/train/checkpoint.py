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
import zipfile

import numpy as np

from nnlab.utils.io import atomic_savez

__all__ = ["FORMAT", "VERSION", "CheckpointError", "Checkpoint", "save", "load", "write_checkpoint",
           "read_checkpoint", "encode", "decode"]

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
_TAGS = ("__ndarray__", "__tuple__", "__items__", "__float__")


def encode(obj, arrays: list):
    """JSON-compatible form of nested dicts/lists/tuples/numbers/strings/ndarrays; arrays are
    appended to ``arrays`` and replaced by references."""
    if isinstance(obj, np.ndarray):
        if obj.dtype.kind not in "biufc":
            raise TypeError(f"checkpoint: cannot store an array of dtype {obj.dtype} (numbers only)")
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
    raise TypeError(f"checkpoint: cannot store a value of type {type(obj).__name__}; "
                    "only numbers, strings, lists, dicts and NumPy arrays are saved")


def decode(obj, arrays):
    if isinstance(obj, list):
        return [decode(v, arrays) for v in obj]
    if isinstance(obj, dict):
        if len(obj) == 1:
            (tag, v), = obj.items()
            if tag == "__ndarray__":
                return arrays(v)
            if tag == "__tuple__":
                return tuple(decode(x, arrays) for x in v)
            if tag == "__items__":
                return {_hashable(decode(k, arrays)): decode(x, arrays) for k, x in v}
            if tag == "__float__":
                return float(v)
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
    text = json.dumps(doc, separators=(",", ":"))
    entries = {_META: np.frombuffer(text.encode("utf-8"), dtype=np.uint8)}
    entries.update({f"a{i}": a for i, a in enumerate(arrays)})
    return atomic_savez(path, entries, fsync=True)


def read_checkpoint(path) -> dict:
    """The payload of a checkpoint file (arrays materialized), after format and version checks."""
    path = os.fspath(path)
    if os.path.isdir(path):
        candidate = os.path.join(path, "checkpoint.npz")
        if not os.path.isfile(candidate):
            raise CheckpointNotFoundError(f"{path}: folder has no checkpoint.npz; pass a run folder or a checkpoint file")
        path = candidate
    if not os.path.exists(path):
        raise CheckpointNotFoundError(f"{path}: no such checkpoint; check the path (a run folder or a .npz file)")
    corrupt = (f"{path}: the checkpoint is truncated or corrupt; use an earlier checkpoint "
               "(or the run's checkpoint.npz) or train again")
    try:
        with np.load(path, allow_pickle=False) as z:
            if _META not in z.files:
                raise CheckpointError(f"{path}: not an nnlab checkpoint (no {_META} entry); "
                                      "save checkpoints with nnlab.save or ModelCheckpoint")
            doc = json.loads(z[_META].tobytes().decode("utf-8"))
            if not isinstance(doc, dict) or doc.get("format") != FORMAT:
                raise CheckpointError(f"{path}: not an nnlab checkpoint (format {doc.get('format')!r})")
            version = doc.get("version")
            if not isinstance(version, int) or version > VERSION or version < 1:
                raise CheckpointError(f"{path}: checkpoint format version {version!r}, this nnlab reads version "
                                      f"{VERSION}; upgrade nnlab (pip install -U nnlab) or retrain")
            cache = {}

            def array(i):
                if i not in cache:
                    cache[i] = z[f"a{i}"]
                return cache[i]
            payload = decode({k: v for k, v in doc.items() if k not in ("format", "version")}, array)
    except CheckpointError:
        raise
    except (zipfile.BadZipFile, EOFError, KeyError, ValueError, OSError, UnicodeDecodeError) as e:
        if isinstance(e, OSError) and not isinstance(e, (EOFError,)) and e.errno is not None:
            raise CheckpointError(f"{path}: cannot read the checkpoint ({e.strerror}); check the file's permissions") from None
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


def build_model(arch: dict):
    """Rebuild an architecture recorded by ``model_architecture`` (fresh weights).

    Construction initializes weights from nnlab's generator; its state is restored afterwards,
    so loading a checkpoint does not change the random stream of the code that loads it.
    """
    from nnlab.engine import random as nrandom
    state = nrandom.get_state()
    try:
        return _build_model(arch)
    finally:
        nrandom.set_state(state)


def _build_model(arch: dict):
    if "config" in arch and arch["config"] is not None:
        from nnlab.nn.module import module_from_config
        return module_from_config(arch["config"])
    if "builder" in arch:
        from nnlab.train import models
        b = arch["builder"]
        return models.build_model(b["name"], **b.get("kwargs", {}))
    raise CheckpointError("the checkpoint holds no model architecture; rebuild the model in code and "
                          "load the weights with model.load_state_dict(ckpt.model_state)")


class Checkpoint:
    """What ``nnlab.load`` returns: the rebuilt ``model`` (weights loaded, eval mode) and the rest
    of the checkpoint as attributes (``preprocessor``, ``history``, ``optimizer_state``,
    ``train_state``, ``config``, ``epoch`` (epochs completed), ``step``, ``version``, ``path``)."""

    def __init__(self, payload: dict):
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
        self.epoch = None if "epoch" not in st else int(st["epoch"]) + int(
            st.get("batch", 0) >= st.get("steps_per_epoch", 1) > 0)
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
            self.model = build_model(self.architecture)
            try:
                self.model.load_state_dict(self.model_state)
            except (KeyError, ValueError) as e:
                raise CheckpointError(f"{self.path}: the weights do not fit the stored architecture ({e}); "
                                      "the file is damaged or was edited") from None
            self.model.eval()

    def __repr__(self) -> str:
        name = type(self.model).__name__ if self.model is not None else None
        return f"Checkpoint(path={self.path!r}, model={name}, epoch={self.epoch}, step={self.step}, version={self.version})"


def save(obj, path, *, preprocessor=None, config: dict | None = None, builder: dict | None = None, **extra) -> str:
    """Save a Module (architecture + weights + buffers) or a Trainer (a full, resumable
    training checkpoint) to ``path`` as one .npz. Returns the path."""
    from nnlab.nn.module import Module
    if hasattr(obj, "save_checkpoint") and hasattr(obj, "model"):
        return obj.save_checkpoint(path)
    if not isinstance(obj, Module):
        raise TypeError(f"nnlab.save: expected a Module or a Trainer, got {type(obj).__name__}")
    payload = {"kind": "model", "architecture": model_architecture(obj, builder),
               "model_state": dict(obj.state_dict()),
               "preprocessor": None if preprocessor is None else preprocessor.state_dict(),
               "config": config or {}, "extra": extra}
    return write_checkpoint(path, payload)


def load(path) -> Checkpoint:
    """Read a checkpoint written by ``nnlab.save`` or a Trainer and rebuild its model."""
    return Checkpoint(read_checkpoint(path))
