"""What a worker trains: the objective of a trial.

An objective is ``f(params, epochs=, trial_dir=, seed=) -> metric or dict of metrics``. The
default one (``DigitsTask``) trains a ``nnlab train`` model recipe with the trial's parameters on
a dataset, evaluates it on the validation (dev) split and writes ``checkpoint.npz`` (a full
training checkpoint that ``nnlab.load`` rebuilds) and ``history.json`` into the trial folder.
Any other objective is named as ``"package.module:function"`` or ``"path/to/file.py:function"``
so that worker processes can import it.
"""

from __future__ import annotations

import functools
import importlib
import importlib.util
import os
from pathlib import Path

import numpy as np

__all__ = ["DigitsTask", "resolve_objective", "PARAM_ALIASES"]

# Search-space names that mean a recipe option under another name.
PARAM_ALIASES = {"weight_decay": "l2", "reg": "l2", "learning_rate": "lr", "batch": "batch_size"}


@functools.lru_cache(maxsize=4)
def _dataset(data: str, seed: int):
    from nnlab.data import load_dataset

    return load_dataset(data, seed=seed)


def _subset(ds, n):
    if n is None or n >= len(ds.y):
        return ds.X, ds.y
    return ds.X[:n], ds.y[:n]


class DigitsTask:
    """Train ``model`` (a ``nnlab train`` recipe name) on ``data`` with the trial's parameters.

    Parameters understood: lr, l2 (alias weight_decay), dropout, hidden (an int = one layer, or a
    list), channels, fc, optimizer, batch_size, activation, batchnorm, init, schedule. The
    recipe's tuned settings fill in the rest. ``subset`` keeps the first N training (and N/4
    validation) examples for quick searches.
    """

    def __init__(
        self,
        model: str | None = None,
        data: str = "mnist5k",
        subset: int | None = None,
        data_seed: int = 0,
        save_checkpoint: bool = True,
        check: bool = True,
    ):
        from nnlab.train.models import DEFAULT_MODEL

        self.model = model or DEFAULT_MODEL
        self.data, self.subset, self.data_seed = data, subset, int(data_seed)
        self.save_checkpoint = save_checkpoint
        if check:
            self.check()

    def check(self) -> None:
        """Fail now, in one line, on a model or dataset that no trial could train (a typo in
        ``--model`` or ``--data`` would otherwise fail every trial of the search)."""
        from nnlab.train.models import model_names

        names = model_names()
        if self.model not in names:
            raise ValueError(f"--model: unknown model {self.model!r}; choose one of {', '.join(names)}")
        if self.subset is not None and (
            isinstance(self.subset, bool) or not isinstance(self.subset, int) or self.subset < 1
        ):
            raise ValueError(f"--subset: expected a positive number of examples, got {self.subset!r}")
        try:
            _dataset(self.data, self.data_seed)
        except (OSError, ValueError) as e:
            raise ValueError(f"--data {self.data}: {e}") from None

    def config(self) -> dict:
        return {
            "model": self.model,
            "data": self.data,
            "subset": self.subset,
            "data_seed": self.data_seed,
            "save_checkpoint": self.save_checkpoint,
        }

    def _overrides(self, params: dict) -> dict:
        out = {}
        for k, v in params.items():
            k = PARAM_ALIASES.get(k, k)
            if k == "hidden" and not isinstance(v, (list, tuple)):
                v = (int(v),) if self.model != "digit16" else (int(v), int(v))
            if k == "channels" and not isinstance(v, (list, tuple)):
                v = (int(v), 2 * int(v))
            out[k] = v
        return out

    def __call__(self, params: dict, epochs: int = 1, trial_dir=None, seed: int = 0, resume=None) -> dict:
        """Train and evaluate one trial. With ``trial_dir``, ``checkpoint.npz`` and ``history.json``
        are rewritten at every epoch end (the notes' worker: statistics and a checkpoint in shared
        storage as it goes); ``resume``: such a checkpoint of a lost trial with the same
        parameters, to continue from instead of starting again."""
        import nnlab
        from nnlab.train import Trainer
        from nnlab.train.callbacks import JSONLogger, LearningRateScheduler, ModelCheckpoint
        from nnlab.train.models import recipe

        splits = _dataset(self.data, self.data_seed)
        Xtr, ytr = _subset(splits.train, self.subset)
        Xva, yva = _subset(splits.dev, None if self.subset is None else max(self.subset // 4, 100))
        nnlab.manual_seed(int(seed))
        r = recipe(
            self.model,
            input_shape=Xtr.shape[1:],
            num_classes=int(max(ytr.max(), yva.max()) + 1),
            epochs=int(epochs),
            **self._overrides(params),
        )
        if r.ignored:
            raise ValueError(
                f"model {self.model!r} has no hyperparameter(s) {', '.join(r.ignored)}; "
                "remove them from the search space"
            )
        callbacks = [LearningRateScheduler(r.schedule)] if r.schedule is not None else []
        trainer = Trainer(
            r.model,
            r.loss,
            r.optimizer,
            regularizer=r.regularizer,
            callbacks=callbacks,
            seed=int(seed),
            builder=r.builder,
            config={"params": params, "task": self.config()},
        )
        per_epoch = []
        if trial_dir is not None:
            d = Path(trial_dir)
            d.mkdir(parents=True, exist_ok=True)
            per_epoch.append(JSONLogger(d / "history.json"))
            if self.save_checkpoint:
                per_epoch.append(ModelCheckpoint(d / "checkpoint.npz", save_on_interrupt=False))
        hist = trainer.fit(
            (Xtr, ytr), (Xva, yva), epochs=r.epochs, batch_size=r.batch_size, callbacks=per_epoch, resume=resume
        )
        last = {k: float(v[-1]) for k, v in hist.history.items() if v and v[-1] is not None}
        if trial_dir is not None and self.save_checkpoint:
            trainer.save_checkpoint(Path(trial_dir) / "checkpoint.npz")
        last.setdefault("val_accuracy", float("nan"))
        return last


def _load_callable(spec: str):
    target, sep, name = spec.rpartition(":")
    if not sep or not target or not name:
        raise ValueError(f"--objective expects MODULE:FUNCTION or FILE.py:FUNCTION, got {spec!r}")
    if target.endswith(".py") or os.sep in target:
        path = Path(target).resolve()
        if not path.is_file():
            raise ValueError(f"--objective {spec}: {path} does not exist; give FILE.py:FUNCTION or MODULE:FUNCTION")
        mod_name = "_nnlab_objective_" + path.stem
        module_spec = importlib.util.spec_from_file_location(mod_name, path)
        module = importlib.util.module_from_spec(module_spec)
        module_spec.loader.exec_module(module)
    else:
        try:
            module = importlib.import_module(target)
        except ImportError as e:
            raise ValueError(
                f"--objective {spec}: cannot import module {target!r} ({e}); give an importable "
                "module (on PYTHONPATH) or a path such as path/to/file.py:function"
            ) from None
    fn = getattr(module, name, None)
    if not callable(fn):
        raise ValueError(f"--objective: {target} has no function {name!r}")
    return fn


def resolve_objective(objective, task: dict | None = None):
    """A callable objective from a callable, a ``"module:function"`` string, or None (DigitsTask)."""
    if objective is None:
        return DigitsTask(**(task or {}))
    if callable(objective):
        return objective
    if isinstance(objective, str):
        return _load_callable(objective)
    raise TypeError(f"objective must be a callable, a 'module:function' string or None, got {type(objective).__name__}")
