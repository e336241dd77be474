"""Trainer: the training loop with Keras-style callbacks, exact resume and safe Ctrl-C.

Per step: forward, data loss (+ regularization loss, logged separately), backward, optimizer
step, and a few float conversions for the per-iteration log. Nothing else runs per step unless
a callback asks for batch hooks.

Resuming is exact: a checkpoint records the position (epoch, batches done in it), the optimizer
state, the RNG state, the running sums of the epoch and every callback's state. Batch order comes
from the DataLoader's (seed, epoch) alone, so a resumed run replays the remaining batches of the
epoch with the same data and the same dropout masks and ends with bitwise-identical weights.
Checkpoints made during epoch-end hooks record the state from before those hooks, and a resumed
run redoes the epoch end (validation, logs, callbacks).
"""

from __future__ import annotations

import signal
import threading
import time
import warnings

import numpy as np

from nnlab.engine._args import check_array_data, check_int
from nnlab.engine import random as nrandom
from nnlab.engine.autograd import no_grad
from nnlab.engine.tensor import Tensor
from nnlab.train import checkpoint as ckpt
from nnlab.train.callbacks import CallbackList, History
from nnlab.train.metrics import is_classification_output

__all__ = ["Trainer", "TrainingInterrupted"]


class TrainingInterrupted(KeyboardInterrupt):
    """Ctrl-C during ``fit``; ``checkpoint_path`` is the resumable checkpoint written (or None)."""

    def __init__(self, checkpoint_path, epoch: int, step: int):
        super().__init__(f"training interrupted at epoch {epoch + 1}, step {step}")
        self.checkpoint_path, self.epoch, self.step = checkpoint_path, epoch, step


def _as_xy(data, who: str):
    """(X, y) arrays from an ArrayDataset, a DataLoader or an (X, y) pair."""
    if isinstance(data, (tuple, list)) and len(data) == 2:
        return np.asarray(data[0]), np.asarray(data[1])
    if hasattr(data, "X") and hasattr(data, "y"):
        return data.X, data.y
    raise TypeError(
        f"Trainer.{who}: expected an ArrayDataset, a DataLoader or an (X, y) pair, got {type(data).__name__}"
    )


class Trainer:
    """Fit a model with a loss and an optimizer.

    Args:
        model: an ``nnlab.nn.Module``.
        loss: the data loss, ``loss(outputs, labels) -> scalar Tensor`` (labels: int64 ndarray).
        optimizer: an ``nnlab.optim`` optimizer over the model's parameters.
        regularizer: optional; ``regularizer(model) -> scalar Tensor`` (e.g.
            ``nnlab.nn.regularization``), added to the data loss and logged separately as ``reg_loss``.
        callbacks: callbacks used by every ``fit`` (more can be given to ``fit``).
        seed: shuffling seed for the DataLoaders ``fit`` builds. Initialization and dropout draw
            from ``nnlab.manual_seed``'s generator: seed it before building the model.
        preprocessor: optional fitted-or-not ``nnlab.data`` preprocessor; ``fit`` fits it on the
            training split only and applies it to train/val; ``evaluate``/``predict`` apply it;
            checkpoints store it.
        config: free JSON-compatible data stored in checkpoints (e.g. the command line).
        builder: ``{"name": ..., "kwargs": {...}}`` to rebuild the model when its ``get_config``
            cannot describe it.
    """

    def __init__(
        self,
        model,
        loss,
        optimizer,
        regularizer=None,
        callbacks=None,
        seed: int = 0,
        preprocessor=None,
        config: dict | None = None,
        builder: dict | None = None,
        eval_batch_size: int = 1000,
    ):
        if not callable(loss):
            raise TypeError(f"Trainer: loss must be callable loss(outputs, labels), got {type(loss).__name__}")
        if not hasattr(optimizer, "step") or not hasattr(optimizer, "param_groups"):
            raise TypeError(f"Trainer: optimizer must be an nnlab.optim optimizer, got {type(optimizer).__name__}")
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
            raise ValueError(f"Trainer: seed must be a non-negative integer, got {seed!r}")
        self.model, self.loss_fn, self.optimizer, self.regularizer = model, loss, optimizer, regularizer
        self.callbacks = list(callbacks or [])
        self.seed = int(seed)
        self.preprocessor = preprocessor
        self.config = dict(config or {})
        self.builder = builder
        self.eval_batch_size = int(eval_batch_size)
        self.history = History()
        self.stop_training = False
        self.resuming = False
        self.interrupted = False
        self.epoch = 0  # index of the epoch in progress (or next to run)
        self.batch_in_epoch = 0  # optimizer steps done in that epoch
        self.global_step = 0
        self.epochs = 0
        self.steps_per_epoch = 0
        self._sums = [0.0, 0.0, 0, 0]  # epoch running: data loss * n, reg loss * n, correct, n
        self._pending = None  # state captured before epoch-end hooks (see module doc)
        self._loader = None
        self._classify = None
        self._cbs = CallbackList([], self)
        self._sigint = False

    # ------------------------------------------------------------------------------------
    # Data plumbing
    # ------------------------------------------------------------------------------------
    def _prepare(self, data, fit_preprocessor: bool = False):
        """Apply (and on the training split, fit) the preprocessor; returns data of the same kind."""
        p = self.preprocessor
        if p is not None and fit_preprocessor and hasattr(data, "permutation"):
            # a DataLoader is used as given: its batches would skip the preprocessing dev/test get
            raise ValueError(
                "Trainer.fit: with a preprocessor, pass the training data as an ArrayDataset or "
                "(X, y), not a DataLoader (the trainer builds the loader from the preprocessed data)"
            )
        if p is None or data is None or hasattr(data, "permutation"):  # DataLoaders are used as given
            return data
        X, y = _as_xy(data, "fit")
        if fit_preprocessor and not p.fitted:
            p.fit(data if hasattr(data, "role") else X)
        return (p.transform(X), y)

    def _make_loader(self, data, batch_size, shuffle, drop_last, transform=None):
        from nnlab.data.loader import DataLoader

        if isinstance(data, DataLoader):
            return data
        return DataLoader(
            data, batch_size=batch_size, shuffle=shuffle, drop_last=drop_last, seed=self.seed, transform=transform
        )

    def _reg_loss(self):
        r = self.regularizer
        if hasattr(r, "loss") and not callable(r):
            return r.loss(self.model)
        return r(self.model)

    # ------------------------------------------------------------------------------------
    # fit
    # ------------------------------------------------------------------------------------
    def fit(
        self,
        train,
        val=None,
        epochs: int = 1,
        batch_size: int | None = 32,
        callbacks=None,
        resume=None,
        shuffle: bool = True,
        drop_last: bool = False,
        augment=None,
    ) -> History:
        """Train until ``epochs`` epochs are done in total (counting a resumed checkpoint's), or a
        callback sets ``stop_training``. ``val`` adds ``val_``-prefixed keys to the epoch logs.

        ``augment`` is a batch transform ``t(x, rng)`` (``nnlab.data.transforms``) applied to training
        batches only, seeded per (seed, epoch, batch) so that resuming replays it exactly.
        ``resume`` is a checkpoint path (from ModelCheckpoint, ``save_checkpoint`` or an
        interrupted run) to continue from; the model and optimizer must be built as before.
        Returns the History (also ``self.history``).
        """
        if isinstance(epochs, bool) or not isinstance(epochs, (int, np.integer)) or epochs < 0:
            raise ValueError(f"Trainer.fit: epochs must be a non-negative integer, got {epochs!r}")
        payload = ckpt.read_checkpoint(resume) if resume is not None else None
        if payload is not None and payload.get("preprocessor") is not None:
            # the run's fitted preprocessor, before any data goes through it (a fresh one fitted
            # here, or none at all, would feed the resumed model differently scaled inputs)
            from nnlab.data.preprocessing import preprocessor_from_state

            self.preprocessor = preprocessor_from_state(payload["preprocessor"])
        train = self._prepare(train, fit_preprocessor=True)
        val = self._prepare(val)
        loader = self._make_loader(train, batch_size, shuffle, drop_last, augment)
        self._loader = loader
        self.epochs = int(epochs)
        self.steps_per_epoch = len(loader)
        cbs = [self.history] + self.callbacks + list(callbacks or [])
        self._cbs = CallbackList(cbs, self)
        self.stop_training = self.interrupted = False
        self._pending = None
        if payload is not None:
            self._restore(payload)
            self.resuming = True
        else:
            self.resuming = False
            self.history.__init__()
            self.epoch = self.batch_in_epoch = self.global_step = 0
            self._sums = [0.0, 0.0, 0, 0]
            self._classify = None
        handler_installed = self._install_sigint()
        try:
            self._cbs.call("on_train_begin", {})
            self.resuming = False
            while self.epoch < self.epochs and not self.stop_training:
                self._run_epoch(loader, val)
            self._cbs.call("on_train_end", {})
        except KeyboardInterrupt as e:
            if isinstance(e, TrainingInterrupted):
                raise
            self.interrupted = True
            path = self._save_on_interrupt()
            raise TrainingInterrupted(path, self.epoch, self.global_step) from None
        except Exception as e:
            self._abort(e)
            raise
        finally:
            if handler_installed:
                signal.signal(signal.SIGINT, self._old_handler)
            self._pending = None
        return self.history

    def _abort(self, exc: Exception) -> None:
        """Tell the callbacks that fit ends by ``exc``; a failing callback is reported, not raised
        (the original exception is the one the caller must see)."""
        for fn in self._cbs._hooks["on_train_abort"]:
            try:
                fn(exc, {})
            except Exception as e:  # noqa: BLE001
                warnings.warn(
                    f"{type(getattr(fn, '__self__', fn)).__name__}.on_train_abort failed: {e!r}",
                    RuntimeWarning,
                    stacklevel=3,
                )

    def _install_sigint(self) -> bool:
        """Defer Ctrl-C to the end of the current step (a half-applied update cannot be saved);
        a second Ctrl-C interrupts at once."""
        self._sigint = False
        if threading.current_thread() is not threading.main_thread():
            return False
        if signal.getsignal(signal.SIGINT) is not signal.default_int_handler:
            return False

        def handler(signum, frame):
            if self._sigint:
                raise KeyboardInterrupt
            self._sigint = True

        self._old_handler = signal.signal(signal.SIGINT, handler)
        return True

    def _save_on_interrupt(self):
        cbs = self._cbs
        cbs.call("on_interrupt", {})
        for cb in cbs:
            path = getattr(cb, "last_path", None)
            if path is not None and getattr(cb, "save_on_interrupt", False):
                return path
        return None

    def _run_epoch(self, loader, val):
        epoch = self.epoch
        cbs = self._cbs
        t0 = time.perf_counter()
        cbs.call("on_epoch_begin", epoch, {})
        skip = self.batch_in_epoch
        if skip < self.steps_per_epoch:
            loader.set_epoch(epoch)
            self._train_batches(loader, skip)
        if self._sigint:
            raise KeyboardInterrupt
        s_loss, s_reg, correct, n = self._sums
        logs = {"loss": s_loss / max(n, 1), "reg_loss": s_reg / max(n, 1)}
        if self._classify:
            logs["accuracy"] = correct / max(n, 1)
        if val is not None:
            for k, v in self.evaluate(val, _prepared=True).items():
                logs["val_" + k] = v
        logs["lr"] = float(self.optimizer.param_groups[0]["lr"])
        logs["epoch_seconds"] = time.perf_counter() - t0
        self._pending = self._resume_state()
        cbs.call("on_epoch_end", epoch, logs)
        self._pending = None
        self.epoch = epoch + 1
        self.batch_in_epoch = 0
        self._sums = [0.0, 0.0, 0, 0]
        if self._sigint:
            raise KeyboardInterrupt

    def _train_batches(self, loader, skip: int) -> None:
        model, loss_fn, opt = self.model, self.loss_fn, self.optimizer
        reg = self.regularizer is not None
        begin = self._cbs._hooks["on_train_batch_begin"]
        end = self._cbs._hooks["on_train_batch_end"]
        it_loss = self.history.iterations["loss"]
        it_reg = self.history.iterations["reg_loss"]
        sums = self._sums
        model.train()
        for b, (xb, yb) in enumerate(loader):
            if b < skip:
                continue
            for fn in begin:
                fn(b, None)
            if not xb.flags.c_contiguous:  # e.g. a crop view from augmentation: BLAS wants contiguous
                xb = np.ascontiguousarray(xb)
            out = model(Tensor(xb))
            data_loss = loss_fn(out, yb)
            if reg:
                r = self._reg_loss()
                total = data_loss + r
            else:
                total = data_loss
            opt.zero_grad()
            total.backward()
            opt.step()
            lv = float(data_loss.data)
            rv = float(r.data) if reg else 0.0
            n = len(yb)
            scores = out.data
            if self._classify is None:
                self._classify = is_classification_output(scores)
            if self._classify:
                sums[2] += int(np.count_nonzero(scores.argmax(axis=1) == yb))
            sums[0] += lv * n
            sums[1] += rv * n
            sums[3] += n
            it_loss.append(lv)
            it_reg.append(rv)
            self.batch_in_epoch = b + 1
            self.global_step += 1
            if end:
                logs = {"batch": b, "size": n, "loss": lv, "reg_loss": rv}
                for fn in end:
                    fn(b, logs)
            if self._sigint:
                raise KeyboardInterrupt

    # ------------------------------------------------------------------------------------
    # evaluate / predict
    # ------------------------------------------------------------------------------------
    def _batches(self, X, batch_size):
        bs = batch_size or self.eval_batch_size
        for lo in range(0, len(X), bs):
            yield lo, X[lo : lo + bs]

    def evaluate(self, data, batch_size: int | None = None, _prepared: bool = False) -> dict:
        """Mean data loss and accuracy over ``data`` (eval mode, no graph recorded)."""
        if not _prepared:
            data = self._prepare(data)
        X, y = _as_xy(data, "evaluate")
        X = np.asarray(X, dtype=np.float32)
        y = np.asarray(y)
        if len(y) == 0:  # a mean over no samples would read as a perfect 0.0 loss
            raise ValueError("Trainer.evaluate: the data is empty; evaluate on at least one sample")
        cbs = self._cbs
        was_training = self.model.training
        self.model.eval()
        cbs.call("on_test_begin", {})
        total, correct, classify = 0.0, 0, None
        try:
            with no_grad():
                for i, (lo, xb) in enumerate(self._batches(X, batch_size)):
                    yb = y[lo : lo + len(xb)]
                    cbs.call("on_test_batch_begin", i, None)
                    out = self.model(Tensor(xb))
                    lv = float(self.loss_fn(out, yb).data)
                    total += lv * len(xb)
                    if classify is None:
                        classify = is_classification_output(out.data)
                    if classify:
                        correct += int(np.count_nonzero(out.data.argmax(axis=1) == yb))
                    cbs.call("on_test_batch_end", i, {"loss": lv, "size": len(xb)})
        finally:
            self.model.train(was_training)
        n = max(len(y), 1)
        result = {"loss": total / n}
        if classify:
            result["accuracy"] = correct / n
        cbs.call("on_test_end", dict(result))
        return result

    def predict(self, X, classes: bool = False, batch_size: int | None = None, preprocess: bool = True) -> np.ndarray:
        """Class probabilities (softmax of the outputs; outputs as they are for non-softmax
        losses such as MSE), or predicted classes with ``classes=True``."""
        X = _batch_input("Trainer.predict", X.X if hasattr(X, "X") else X)
        if preprocess and self.preprocessor is not None:
            X = self.preprocessor.transform(X)
        return predict(
            self.model,
            X,
            classes=classes,
            batch_size=batch_size or self.eval_batch_size,
            softmax=_is_softmax_loss(self.loss_fn),
        )

    # ------------------------------------------------------------------------------------
    # checkpoints
    # ------------------------------------------------------------------------------------
    def _callback_states(self) -> dict:
        out = {}
        for i, cb in enumerate(self._cbs):
            st = cb.state_dict()
            if st:
                out[f"{i}:{type(cb).__name__}"] = st
        return out

    def _resume_state(self) -> dict:
        """The state a resumed run starts from, as of now (between steps)."""
        groups = [{k: v for k, v in g.items() if k != "params"} for g in self.optimizer.param_groups]
        return {
            "epoch": self.epoch,
            "batch": self.batch_in_epoch,
            "global_step": self.global_step,
            "sums": list(self._sums),
            "callbacks": self._callback_states(),
            "groups": groups,
            "classify": self._classify,
        }

    def checkpoint_payload(self) -> dict:
        st = dict(self._pending) if self._pending is not None else self._resume_state()
        opt_state = self.optimizer.state_dict()
        for g, saved in zip(opt_state["param_groups"], st.pop("groups")):
            g.update({k: v for k, v in saved.items() if k != "params"})
        loader = self._loader
        st.update(
            {
                "epochs": self.epochs,
                "steps_per_epoch": self.steps_per_epoch,
                "seed": self.seed,
                "rng": nrandom.get_state(),
                "loader": loader.state_dict() if loader is not None else None,
            }
        )
        return {
            "kind": "training",
            "architecture": ckpt.model_architecture(self.model, self.builder),
            "model_state": dict(self.model.state_dict()),
            "optimizer": {"class": type(self.optimizer).__name__, **opt_state},
            "preprocessor": None if self.preprocessor is None else self.preprocessor.state_dict(),
            "train_state": st,
            "history": self.history.state_dict(),
            "config": self.config,
        }

    def save_checkpoint(self, path) -> str:
        """Write a resumable checkpoint (atomically); returns the path."""
        return ckpt.write_checkpoint(path, self.checkpoint_payload())

    def _restore(self, payload: dict) -> None:
        path = payload.get("path")
        st = payload.get("train_state")
        if payload.get("kind") != "training" or not st:
            raise ckpt.CheckpointError(
                f"{path}: holds a model only, not a training state; resume needs a "
                "checkpoint written during training (ModelCheckpoint or Ctrl-C)"
            )
        if st["steps_per_epoch"] != self.steps_per_epoch:
            raise ckpt.CheckpointError(
                f"{path}: the run had {st['steps_per_epoch']} steps per epoch, this one has {self.steps_per_epoch}; "
                "resume with the same data and batch size"
            )
        try:
            self.model.load_state_dict(payload["model_state"])
        except (KeyError, ValueError) as e:
            raise ckpt.CheckpointError(
                f"{path}: the checkpoint's weights do not fit this model ({e}); "
                "build the same architecture as the interrupted run"
            ) from None
        opt = dict(payload["optimizer"])
        saved_class = opt.pop("class", None)
        if saved_class is not None and saved_class != type(self.optimizer).__name__:
            raise ckpt.CheckpointError(
                f"{path}: saved with optimizer {saved_class}, resuming with "
                f"{type(self.optimizer).__name__}; use the same optimizer"
            )
        self.optimizer.load_state_dict(opt)
        nrandom.set_state(st["rng"])
        if self._loader is not None and st.get("loader"):
            self._loader.seed = int(st["loader"]["seed"])
        self.epoch, self.batch_in_epoch = int(st["epoch"]), int(st["batch"])
        self.global_step = int(st["global_step"])
        s = st["sums"]
        self._sums = [float(s[0]), float(s[1]), int(s[2]), int(s[3])]
        self._classify = st.get("classify")
        states = st.get("callbacks", {})
        used = set()
        for i, cb in enumerate(self._cbs):
            key = f"{i}:{type(cb).__name__}"
            if key not in states:  # same class at another position (callbacks given in another order)
                key = next((k for k in states if k.split(":", 1)[1] == type(cb).__name__ and k not in used), None)
            if key is not None:
                used.add(key)
                cb.load_state_dict(states[key])
        self.history.truncate_iterations(self.global_step)
        self.config = self.config or payload.get("config") or {}  # a config given to this Trainer wins


def _is_softmax_loss(loss_fn) -> bool:
    name = type(loss_fn).__name__.lower()
    if hasattr(loss_fn, "output_kind"):
        return loss_fn.output_kind == "logits"
    return "crossentropy" in name or "cross_entropy" in getattr(loss_fn, "__name__", "")


def predict(model, X, classes: bool = False, batch_size: int = 1000, softmax: bool = True) -> np.ndarray:
    """Run ``model`` in eval mode over ``X`` in batches; probabilities or classes."""
    X = _batch_input("predict", X).astype(np.float32, copy=False)
    batch_size = check_int("predict", "batch_size", batch_size, min=1)
    was = model.training
    model.eval()
    outs = []
    try:
        with no_grad():
            for lo in range(0, len(X), batch_size):
                outs.append(model(Tensor(X[lo : lo + batch_size])).data)
    finally:
        model.train(was)
    scores = np.concatenate(outs) if outs else np.zeros((0,), np.float32)
    if classes:
        from nnlab.train.metrics import predicted_classes

        return predicted_classes(scores)
    if softmax and is_classification_output(scores):
        z = scores - scores.max(axis=1, keepdims=True)
        e = np.exp(z)
        return e / e.sum(axis=1, keepdims=True)
    return scores


def _batch_input(fn: str, X) -> np.ndarray:
    """Examples to predict: a numeric array (or Tensor, or nested list) with a batch axis."""
    X = check_array_data(fn, X.data if isinstance(X, Tensor) else X)
    if X.ndim == 0:
        raise ValueError(
            f"{fn}: X must hold a batch of examples (an array with a first, batch axis), got a single number"
        )
    return X
