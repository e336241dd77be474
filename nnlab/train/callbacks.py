"""Callbacks: code that watches or steers training through Keras-named hooks.

The trainer calls, in this nesting::

    on_train_begin
      on_epoch_begin(epoch)
        on_train_batch_begin(batch) / on_train_batch_end(batch, logs)   per step
        on_test_begin / on_test_batch_* / on_test_end                  validation
      on_epoch_end(epoch, logs)      logs hold train keys and "val_"-prefixed dev keys
    on_train_end

A callback reaches the trainer as ``self.trainer`` (and the model as ``self.model``); setting
``trainer.stop_training = True`` ends training after the current epoch. Batch hooks are only
called on callbacks that override them, so an epoch-level callback costs nothing per step.

Callbacks with state that matters for resuming (EarlyStopping's patience count, ReduceLROnPlateau's
best value...) expose ``state_dict``/``load_state_dict``; checkpoints store them.
"""

from __future__ import annotations

import csv
import json
import math
import os
import sys
import warnings

import numpy as np

from nnlab.utils.io import atomic_write_text

__all__ = [
    "Callback",
    "CallbackList",
    "History",
    "EarlyStopping",
    "ModelCheckpoint",
    "LearningRateScheduler",
    "ReduceLROnPlateau",
    "ProgressBar",
    "CSVLogger",
    "JSONLogger",
    "LambdaCallback",
    "atomic_write_text",
]

HOOKS = (
    "on_train_begin",
    "on_train_end",
    "on_epoch_begin",
    "on_epoch_end",
    "on_train_batch_begin",
    "on_train_batch_end",
    "on_test_begin",
    "on_test_end",
    "on_test_batch_begin",
    "on_test_batch_end",
)

EXTRA_HOOKS = ("on_interrupt", "on_train_abort")  # outside the normal flow of fit


class Callback:
    """Base class: every hook is a no-op; override the ones you need."""

    trainer = None

    def set_trainer(self, trainer) -> None:
        self.trainer = trainer

    @property
    def model(self):
        return None if self.trainer is None else self.trainer.model

    def on_train_begin(self, logs=None):
        pass

    def on_train_end(self, logs=None):
        pass

    def on_epoch_begin(self, epoch, logs=None):
        pass

    def on_epoch_end(self, epoch, logs=None):
        pass

    def on_train_batch_begin(self, batch, logs=None):
        pass

    def on_train_batch_end(self, batch, logs=None):
        pass

    def on_test_begin(self, logs=None):
        pass

    def on_test_end(self, logs=None):
        pass

    def on_test_batch_begin(self, batch, logs=None):
        pass

    def on_test_batch_end(self, batch, logs=None):
        pass

    def on_interrupt(self, logs=None):
        """Training was interrupted (Ctrl-C); ModelCheckpoint saves a resumable checkpoint here."""

    def on_train_abort(self, exc, logs=None):
        """``fit`` is ending by the exception ``exc`` (not Ctrl-C: that is ``on_interrupt``), e.g.
        TrainingDiverged or a ValueError from an overflow inside the loss; ``on_train_end`` will not
        come, so callbacks that write files at the end write them here. The exception propagates."""

    def state_dict(self) -> dict:
        """What this callback needs to continue a resumed run identically (arrays allowed)."""
        return {}

    def load_state_dict(self, state: dict) -> None:
        pass


def _overrides(cb, hook: str) -> bool:
    """Whether ``cb`` does something in ``hook`` (its class or the instance replaced the no-op)."""
    fn = getattr(cb, hook, None)
    return fn is not None and getattr(fn, "__func__", fn) is not getattr(Callback, hook)


class CallbackList:
    """Dispatches each hook to the callbacks that define it, in order."""

    def __init__(self, callbacks=(), trainer=None):
        self.callbacks = list(callbacks)
        for cb in self.callbacks:
            if not isinstance(cb, Callback):
                raise TypeError(f"callbacks: expected Callback instances, got {type(cb).__name__}")
            if trainer is not None:
                cb.set_trainer(trainer)
        # Bound methods per hook, computed once: the per-step loop calls only what exists.
        self._hooks = {h: [getattr(cb, h) for cb in self.callbacks if _overrides(cb, h)] for h in HOOKS + EXTRA_HOOKS}

    def has(self, hook: str) -> bool:
        return bool(self._hooks[hook])

    def call(self, hook: str, *args) -> None:
        for fn in self._hooks[hook]:
            fn(*args)

    def __iter__(self):
        return iter(self.callbacks)


# ------------------------------------------------------------------------------------------
# History
# ------------------------------------------------------------------------------------------
class History(Callback):
    """Per-epoch logs (``history[key]`` lists, aligned with ``epoch``) and per-iteration losses.

    The trainer appends to ``iterations["loss"]`` (data loss) and ``iterations["reg_loss"]``
    directly after each step; ``fit`` returns this object.
    """

    def __init__(self):
        self.epoch: list[int] = []
        self.history: dict[str, list] = {}
        self.iterations: dict[str, list] = {"loss": [], "reg_loss": []}

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        if epoch in self.epoch:  # an epoch redone after resuming replaces its old record
            cut = self.epoch.index(epoch)
            del self.epoch[cut:]
            for v in self.history.values():
                del v[cut:]
        n = len(self.epoch)
        self.epoch.append(int(epoch))
        for k, v in logs.items():
            col = self.history.setdefault(k, [None] * n)
            col.append(v)
        for k, col in self.history.items():
            if len(col) < n + 1:
                col.append(None)

    def truncate_iterations(self, steps: int) -> None:
        for v in self.iterations.values():
            del v[steps:]

    def last(self, key: str, default=None):
        col = self.history.get(key)
        return col[-1] if col else default

    def state_dict(self) -> dict:
        return {
            "epoch": list(self.epoch),
            "history": {k: [None if v is None else float(v) for v in col] for k, col in self.history.items()},
            "iterations": {k: np.asarray(v, dtype=np.float64) for k, v in self.iterations.items()},
        }

    def load_state_dict(self, state: dict) -> None:
        self.epoch = [int(e) for e in state.get("epoch", [])]
        self.history = {k: list(v) for k, v in state.get("history", {}).items()}
        self.iterations = {
            k: [float(x) for x in np.asarray(v).ravel()]
            for k, v in state.get("iterations", {"loss": [], "reg_loss": []}).items()
        }

    def __repr__(self) -> str:
        return f"History(epochs={len(self.epoch)}, keys={sorted(self.history)})"


# ------------------------------------------------------------------------------------------
# Monitoring helpers
# ------------------------------------------------------------------------------------------
def _mode_for(monitor: str, mode: str) -> str:
    if mode not in ("auto", "min", "max"):
        raise ValueError(f"mode must be 'auto', 'min' or 'max', got {mode!r}")
    if mode != "auto":
        return mode
    return "max" if any(s in monitor for s in ("acc", "auc", "f1", "precision", "recall")) else "min"


def _improved(current: float, best: float | None, mode: str, min_delta: float) -> bool:
    if best is None:
        return True
    return current < best - min_delta if mode == "min" else current > best + min_delta


class _Monitor:
    """Shared 'watch one log key' logic with the warning Keras users expect."""

    def _read(self, logs, who: str):
        value = (logs or {}).get(self.monitor)
        if value is None or (isinstance(value, float) and math.isnan(value)):
            if not getattr(self, "_warned", False):
                why = (
                    "is NaN this epoch (the loss diverged?)"
                    if value is not None
                    else f"is not in the logs; available keys: {', '.join(sorted(logs or {})) or '(none)'}"
                )
                warnings.warn(f"{who}: monitored key '{self.monitor}' {why}", RuntimeWarning, stacklevel=3)
                self._warned = True
            return None
        return float(value)


class EarlyStopping(Callback, _Monitor):
    """Stop when ``monitor`` has not improved by more than ``min_delta`` for ``patience`` epochs.

    With ``restore_best_weights`` the model ends training with the weights of its best epoch
    (the dev-set early stopping of the notes), whether training stopped early or ran out of epochs.
    """

    def __init__(
        self,
        monitor: str = "val_loss",
        min_delta: float = 0.0,
        patience: int = 0,
        mode: str = "auto",
        restore_best_weights: bool = False,
        baseline: float | None = None,
        verbose: bool = False,
    ):
        if patience < 0:
            raise ValueError(f"EarlyStopping: patience must be >= 0, got {patience}")
        self.monitor, self.min_delta, self.patience = monitor, abs(float(min_delta)), int(patience)
        self.mode = _mode_for(monitor, mode)
        self.restore_best_weights, self.baseline, self.verbose = restore_best_weights, baseline, verbose
        self.best, self.best_epoch, self.wait, self.stopped_epoch = baseline, None, 0, None
        self.best_weights = None

    def on_train_begin(self, logs=None):
        if self.trainer is not None and getattr(self.trainer, "resuming", False):
            return
        self.best, self.best_epoch, self.wait, self.stopped_epoch = self.baseline, None, 0, None
        self.best_weights = None

    def on_epoch_end(self, epoch, logs=None):
        current = self._read(logs, "EarlyStopping")
        if current is None:
            return
        if _improved(current, self.best, self.mode, self.min_delta):
            self.best, self.best_epoch, self.wait = current, int(epoch), 0
            if self.restore_best_weights:
                self.best_weights = self.model.state_dict()
            return
        self.wait += 1
        if self.wait >= self.patience:
            self.stopped_epoch = int(epoch)
            self.trainer.stop_training = True
            if self.verbose:
                print(
                    f"EarlyStopping: {self.monitor} did not improve for {self.wait} epochs; "
                    f"best {self.best:.4g} at epoch {self.best_epoch + 1}",
                    file=sys.stderr,
                )

    def on_train_end(self, logs=None):
        if self.restore_best_weights and self.best_weights is not None:
            self.model.load_state_dict(self.best_weights)

    def state_dict(self):
        return {
            "best": self.best,
            "best_epoch": self.best_epoch,
            "wait": self.wait,
            "stopped_epoch": self.stopped_epoch,
            "best_weights": self.best_weights,
        }

    def load_state_dict(self, state):
        self.best, self.best_epoch = state.get("best"), state.get("best_epoch")
        self.wait, self.stopped_epoch = int(state.get("wait", 0)), state.get("stopped_epoch")
        bw = state.get("best_weights")
        self.best_weights = None if bw is None else {k: np.asarray(v) for k, v in bw.items()}


class ModelCheckpoint(Callback, _Monitor):
    """Save a full, resumable checkpoint (see ``nnlab.train.checkpoint``) during training.

    ``filepath`` may contain ``{epoch}`` and ``{step}`` (1-based epoch). Every write goes to a
    temporary file first and replaces the target with os.replace, so a crash mid-write leaves the
    previous checkpoint intact. ``every_n_steps`` adds mid-epoch checkpoints; ``save_best_only``
    writes only when ``monitor`` improves; ``save_on_interrupt`` writes one on Ctrl-C.
    """

    def __init__(
        self,
        filepath,
        monitor: str | None = None,
        save_best_only: bool = False,
        mode: str = "auto",
        every_n_epochs: int = 1,
        every_n_steps: int | None = None,
        save_on_interrupt: bool = True,
    ):
        if save_best_only and monitor is None:
            raise ValueError("ModelCheckpoint: save_best_only=True needs monitor= a log key such as 'val_loss'")
        if every_n_epochs < 1 or (every_n_steps is not None and every_n_steps < 1):
            raise ValueError("ModelCheckpoint: every_n_epochs and every_n_steps must be >= 1")
        self.filepath = os.fspath(filepath)
        self.monitor, self.save_best_only = monitor, save_best_only
        self.mode = _mode_for(monitor or "val_loss", mode)
        self.every_n_epochs, self.every_n_steps = every_n_epochs, every_n_steps
        self.save_on_interrupt = save_on_interrupt
        self.best = None
        self.last_path = None
        if every_n_steps is None:  # keep the step hook out of the per-step loop entirely
            self.on_train_batch_end = Callback.on_train_batch_end.__get__(self)

    def _path(self) -> str:
        t = self.trainer
        return self.filepath.format(epoch=t.epoch + 1, step=t.global_step)

    def on_train_begin(self, logs=None):
        """A run that starts or resumes first removes the temporary files of checkpoint writes
        that a killed process left in its folder (each up to a checkpoint's size)."""
        from nnlab.utils.io import remove_stale_temps

        remove_stale_temps(os.path.dirname(os.path.abspath(self.filepath)))

    def _save(self) -> None:
        self.last_path = self.trainer.save_checkpoint(self._path())

    def on_train_batch_end(self, batch, logs=None):
        if self.every_n_steps and self.trainer.global_step % self.every_n_steps == 0:
            self._save()

    def on_epoch_end(self, epoch, logs=None):
        if (epoch + 1) % self.every_n_epochs:
            return
        if self.save_best_only:
            current = self._read(logs, "ModelCheckpoint")
            if current is None or not _improved(current, self.best, self.mode, 0.0):
                return
            self.best = current
        self._save()

    def on_interrupt(self, logs=None):
        if self.save_on_interrupt and not self.save_best_only:
            self._save()

    def state_dict(self):
        return {"best": self.best}

    def load_state_dict(self, state):
        self.best = state.get("best")


# ------------------------------------------------------------------------------------------
# Learning-rate control
# ------------------------------------------------------------------------------------------
def _set_lr(optimizer, lr) -> None:
    lrs = lr if isinstance(lr, (list, tuple)) else [lr] * len(optimizer.param_groups)
    for g, v in zip(optimizer.param_groups, lrs):
        g["lr"] = float(v)


def _is_bound_scheduler(schedule) -> bool:
    """A scheduler that writes into an optimizer when stepped (vs a pure function t -> lr)."""
    bound = getattr(schedule, "_bound", False)
    if bound is not False:  # nnlab.optim.schedules.Schedule: bound when built with an optimizer
        return bound is not None
    return (
        hasattr(schedule, "step")
        and hasattr(schedule, "state_dict")
        and (hasattr(schedule, "optimizer") or not callable(schedule))
    )


class LearningRateScheduler(Callback):
    """Set the learning rate from a schedule, per epoch or per step (``interval``).

    ``schedule`` is either a function ``t -> lr`` (t = epoch or global step, 0-based; a pure
    function of t, so resuming needs no state) or a scheduler object from
    ``nnlab.optim.schedules`` bound to the optimizer (anything with ``step()``), which is stepped
    after each epoch/step and whose ``state_dict`` goes into checkpoints.
    """

    def __init__(self, schedule, interval: str = "epoch", verbose: bool = False):
        if interval not in ("epoch", "step"):
            raise ValueError(f"LearningRateScheduler: interval must be 'epoch' or 'step', got {interval!r}")
        if not (callable(schedule) or hasattr(schedule, "step")):
            raise TypeError("LearningRateScheduler: schedule must be a function t -> lr or a scheduler with step()")
        self.schedule, self.interval, self.verbose = schedule, interval, verbose
        self.stateful = _is_bound_scheduler(schedule)
        if interval == "epoch":
            self.on_train_batch_begin = Callback.on_train_batch_begin.__get__(self)
            self.on_train_batch_end = Callback.on_train_batch_end.__get__(self)
        elif self.stateful:
            self.on_train_batch_begin = Callback.on_train_batch_begin.__get__(self)
        else:
            self.on_train_batch_end = Callback.on_train_batch_end.__get__(self)

    def on_epoch_begin(self, epoch, logs=None):
        if self.interval == "epoch" and not self.stateful:
            _set_lr(self.trainer.optimizer, self.schedule(epoch))

    def on_epoch_end(self, epoch, logs=None):
        if self.interval == "epoch" and self.stateful:
            self.schedule.step()

    def on_train_batch_begin(self, batch, logs=None):
        _set_lr(self.trainer.optimizer, self.schedule(self.trainer.global_step))

    def on_train_batch_end(self, batch, logs=None):
        self.schedule.step()

    def state_dict(self):
        return {"schedule": self.schedule.state_dict()} if self.stateful else {}

    def load_state_dict(self, state):
        if self.stateful and "schedule" in state:
            self.schedule.load_state_dict(state["schedule"])


class ReduceLROnPlateau(Callback, _Monitor):
    """Multiply the learning rate by ``factor`` when ``monitor`` stalls for ``patience`` epochs
    (the notes' "step decay when the validation error stops improving")."""

    def __init__(
        self,
        monitor: str = "val_loss",
        factor: float = 0.1,
        patience: int = 10,
        mode: str = "auto",
        min_delta: float = 1e-4,
        cooldown: int = 0,
        min_lr: float = 0.0,
        verbose: bool = False,
    ):
        if not 0 < factor < 1:
            raise ValueError(f"ReduceLROnPlateau: factor must be in (0, 1), got {factor}")
        self.monitor, self.factor, self.patience = monitor, float(factor), int(patience)
        self.mode = _mode_for(monitor, mode)
        self.min_delta, self.cooldown, self.min_lr, self.verbose = (
            float(min_delta),
            int(cooldown),
            float(min_lr),
            verbose,
        )
        self.best, self.wait, self.cooldown_counter = None, 0, 0

    def on_epoch_end(self, epoch, logs=None):
        current = self._read(logs, "ReduceLROnPlateau")
        if current is None:
            return
        if self.cooldown_counter > 0:
            self.cooldown_counter -= 1
            self.wait = 0
        if _improved(current, self.best, self.mode, self.min_delta):
            self.best, self.wait = current, 0
        elif self.cooldown_counter == 0:
            self.wait += 1
            if self.wait >= self.patience:
                for g in self.trainer.optimizer.param_groups:
                    g["lr"] = max(g["lr"] * self.factor, self.min_lr)
                self.cooldown_counter, self.wait = self.cooldown, 0
                if self.verbose:
                    print(
                        f"ReduceLROnPlateau: lr -> {self.trainer.optimizer.param_groups[0]['lr']:.3g}", file=sys.stderr
                    )

    def state_dict(self):
        return {"best": self.best, "wait": self.wait, "cooldown_counter": self.cooldown_counter}

    def load_state_dict(self, state):
        self.best, self.wait = state.get("best"), int(state.get("wait", 0))
        self.cooldown_counter = int(state.get("cooldown_counter", 0))


# ------------------------------------------------------------------------------------------
# Output
# ------------------------------------------------------------------------------------------
def _fmt(v) -> str:
    if isinstance(v, float):
        return f"{v:.4f}" if abs(v) < 1e4 else f"{v:.3g}"
    return str(v)


class ProgressBar(Callback):
    """A tqdm bar per epoch with the running loss; silent when stderr is not a terminal
    (``enabled=None``), so logs and CI output stay clean. Prints one summary line per epoch."""

    def __init__(
        self,
        enabled: bool | None = None,
        file=None,
        keys=("loss", "accuracy", "val_loss", "val_accuracy"),
        update_every: int = 10,
    ):
        self.file = file if file is not None else sys.stderr
        self.enabled = enabled
        self.keys, self.update_every = keys, max(1, int(update_every))
        self._bar = None

    def _active(self) -> bool:
        if self.enabled is not None:
            return self.enabled
        return hasattr(self.file, "isatty") and self.file.isatty()

    def on_train_begin(self, logs=None):
        self._on = self._active()
        self._epochs = self.trainer.epochs

    def on_epoch_begin(self, epoch, logs=None):
        if not self._on:
            return
        from tqdm.auto import tqdm

        self._bar = tqdm(
            total=self.trainer.steps_per_epoch,
            desc=f"epoch {epoch + 1}/{self._epochs}",
            file=self.file,
            leave=False,
            unit="step",
            dynamic_ncols=True,
        )
        self._bar.update(self.trainer.batch_in_epoch)

    def on_train_batch_end(self, batch, logs=None):
        bar = self._bar
        if bar is None:
            return
        bar.update(1)
        if batch % self.update_every == 0:
            bar.set_postfix_str(f"loss {logs['loss']:.4f}", refresh=False)

    def on_epoch_end(self, epoch, logs=None):
        if self._bar is not None:
            self._bar.close()
            self._bar = None
        if self._on:
            parts = [f"{k} {_fmt(logs[k])}" for k in self.keys if k in logs]
            print(
                f"epoch {epoch + 1}/{self._epochs}  " + "  ".join(parts) + f"  ({logs.get('epoch_seconds', 0):.1f}s)",
                file=self.file,
            )

    def on_train_end(self, logs=None):
        if self._bar is not None:
            self._bar.close()
            self._bar = None

    on_interrupt = on_train_end

    def on_train_abort(self, exc, logs=None):
        self.on_train_end(logs)


def _history_rows(history: History):
    keys = list(history.history)
    return ["epoch"] + keys, [[e + 1] + [history.history[k][i] for k in keys] for i, e in enumerate(history.epoch)]


class CSVLogger(Callback):
    """Per-epoch metrics as CSV (one row per epoch). The file is rewritten from the History at
    each epoch end, so a resumed run never duplicates or loses rows."""

    def __init__(self, filename):
        self.filename = os.fspath(filename)

    def on_epoch_end(self, epoch, logs=None):
        header, rows = _history_rows(self.trainer.history)
        import io

        buf = io.StringIO()
        w = csv.writer(buf)
        w.writerow(header)
        for r in rows:
            w.writerow(["" if v is None else (repr(v) if isinstance(v, float) else v) for v in r])
        atomic_write_text(self.filename, buf.getvalue())


class JSONLogger(Callback):
    """Per-epoch metrics (and per-iteration losses if ``iterations``) as a JSON file, rewritten
    atomically at each epoch end."""

    def __init__(self, filename, iterations: bool = False):
        self.filename, self.iterations = os.fspath(filename), iterations

    def on_epoch_end(self, epoch, logs=None):
        h = self.trainer.history
        doc = {"epoch": [e + 1 for e in h.epoch], **h.history}
        if self.iterations:
            doc["iterations"] = h.iterations
        atomic_write_text(self.filename, json.dumps(doc, indent=1))


class LambdaCallback(Callback):
    """Callbacks from functions: ``LambdaCallback(on_epoch_end=lambda epoch, logs: ...)``.

    ``every_n_steps=N`` with ``on_step=f(step, logs)`` runs ``f`` every N optimizer steps (an
    interval trigger for evaluation, logging or plotting during long epochs).
    """

    def __init__(self, every_n_steps: int | None = None, on_step=None, **hooks):
        for name, fn in hooks.items():
            if name not in HOOKS + EXTRA_HOOKS:
                raise ValueError(f"LambdaCallback: unknown hook {name!r}; hooks are {', '.join(HOOKS + EXTRA_HOOKS)}")
            setattr(self, name, fn)
        if on_step is not None:
            if not every_n_steps or every_n_steps < 1:
                raise ValueError("LambdaCallback: on_step needs every_n_steps >= 1")
            user_end = hooks.get("on_train_batch_end")

            def batch_end(batch, logs=None):
                if user_end is not None:
                    user_end(batch, logs)
                if self.trainer.global_step % every_n_steps == 0:
                    on_step(self.trainer.global_step, logs)

            self.on_train_batch_end = batch_end
