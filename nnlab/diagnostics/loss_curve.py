"""Reading the loss curve: noise, slow decrease, plateaus, divergence; the initial-loss check."""

from __future__ import annotations

import sys

import numpy as np

from nnlab.diagnostics.findings import Finding, TrainingDiverged
from nnlab.diagnostics.hooks import register_forward_hook
from nnlab.train.callbacks import Callback


def _moving_average(v: np.ndarray, w: int) -> np.ndarray:
    if w <= 1 or v.size < w:
        return v.copy()
    c = np.cumsum(np.insert(v, 0, 0.0))
    core = (c[w:] - c[:-w]) / w
    pad = w - 1
    head = c[1 : pad + 1] / np.arange(1, pad + 1)
    return np.concatenate([head, core])


def read_initial_loss(first: float, expected: float, formula: str = "") -> Finding | None:
    """The first loss against its chance value (ln C for softmax): None when it is within 0.5x-1.5x."""
    if expected is None or not expected > 0 or not np.isfinite(first):
        return None
    ratio = first / expected
    what = f"the initial loss {first:.3g} is {ratio:.1f}x its chance value {expected:.3g}" + (
        f" ({formula})" if formula else ""
    )
    if ratio > 1.5:
        return Finding(
            "initial_loss_high",
            what,
            "the initial weights are too large (the scores start big and "
            "confidently wrong): use 1/sqrt(n) or He init and a small init for the output layer",
            "loss curve",
        )
    if ratio < 0.5:
        return Finding(
            "initial_loss_low",
            what,
            "a loss below chance before any training: the labels may leak "
            "into the inputs, or the loss ignores part of the labels (run nnlab check)",
            "loss curve",
        )
    return None


def _r2(v: np.ndarray) -> float:
    """Squared correlation of ``v`` with a straight line (1: exactly linear)."""
    if v.size < 3 or v.std() == 0:
        return 0.0
    return float(np.corrcoef(np.arange(v.size), v)[0, 1] ** 2)


def _relative_noise(v: np.ndarray, s: np.ndarray, w: int) -> float:
    """Median of |loss - smoothed| / smoothed while the loss is still high (smoothed > 15% of the
    first loss; at least the first 2w steps after the smoothing window).

    Late in training a classifier's batch loss is a few misclassified examples over many near-zero
    ones: its relative wiggle is large at any batch size (about 50% for the default CNN at batch 64
    in its last epochs), so the late part says little about the batch size. Early, it does: on the
    8x8 digits about 10% at batch 256, 25-30% at 16-64, 50% at 4, 75% at 2."""
    n = v.size
    if n <= 2 * w:
        return 0.0
    rel = np.abs(v - s) / np.maximum(np.abs(s), 1e-12)
    idx = np.arange(w, n)[s[w:] > 0.15 * abs(v[0])]
    if idx.size < 2 * w:
        idx = np.arange(w, min(n, 3 * w))
    return float(np.median(rel[idx]))


def read_loss_curve(
    losses,
    batch_size: int | None = None,
    steps_per_epoch: int | None = None,
    expected_initial: float | None = None,
    formula: str = "",
) -> list:
    """Read a per-iteration loss curve the way the notes do; returns Findings.

    - the first loss far from ``expected_initial`` (ln C for softmax), if given: a bad init scale.
    - NaN/Inf anywhere: the learning rate is too high (or a numerical bug).
    - noise: the median relative deviation from the smoothed curve while the loss is still high
      (``_relative_noise``); above 45% it means a small batch.
    - a slow, nearly linear decrease (less than 30% of the loss gone): learning rate too low.
    - a rising loss, or one that falls in the first tenth of training and then stays flat at a
      high level: learning rate too high.
    """
    v = np.asarray(losses, dtype=np.float64)
    out = []
    if v.size == 0:
        return out
    init = read_initial_loss(float(v[0]), expected_initial, formula) if expected_initial is not None else None
    if init is not None:
        out.append(init)
    bad = ~np.isfinite(v)
    if bad.any():
        i = int(np.argmax(bad))
        return out + [
            Finding(
                "nan_loss",
                f"the loss became {v[i]} at step {i + 1}",
                "the learning rate is too high (or a numerical bug such as log(0)): lower it 3-10x "
                "and restart from the last good checkpoint",
                "loss curve",
            )
        ]
    n = v.size
    if n < 20:
        return out
    w = max(5, n // 20)
    s = _moving_average(v, w)
    noise = _relative_noise(v, s, w)
    start = float(v[0])  # before any update
    end = float(np.mean(v[-w:]))
    drop = (start - end) / max(abs(start), 1e-12)
    bs = f" (batch size {batch_size})" if batch_size else ""
    if noise > 0.45:
        out.append(
            Finding(
                "noisy",
                f"the loss is noisy: typical deviation {noise * 100:.0f}% of its smoothed value{bs}",
                "a larger batch (or a lower learning rate) smooths it",
                "loss curve",
            )
        )
    tenth = max(1, n // 10)
    early = float(np.mean(s[tenth - 1 : tenth + w])) if n > tenth + w else end
    half = s[n // 2 :]
    late_change = (half[0] - half[-1]) / max(abs(half[0]), 1e-12)
    peak = float(v[1:].max())
    if end > start * 1.05 or peak > 2.5 * max(start, 1e-12):
        out.append(
            Finding(
                "lr_too_high",
                f"the loss rose: {start:.3g} at the start, peaks up to {peak:.3g}, {end:.3g} at the end",
                "the learning rate is too high: lower it 3-10x",
                "loss curve",
            )
        )
    elif drop < 0.3 and late_change > 0 and (drop >= 0.05 or _r2(half) > 0.8):
        shape = ", linearly" if _r2(half) > 0.8 else ""
        out.append(
            Finding(
                "lr_too_low",
                f"the loss decreases only slowly{shape}: {start:.3g} -> {end:.3g} ({drop * 100:.0f}% in {n} steps)",
                "the learning rate is probably too low: raise it 3-10x",
                "loss curve",
            )
        )
    elif drop < 0.05:  # flat from the start: nothing is learned (not an early plateau after a drop)
        out.append(
            Finding(
                "no_progress",
                f"the loss does not decrease: {start:.3g} -> {end:.3g} in {n} steps",
                "nothing is learned: look for zero gradients (dead ReLUs, saturated units, a detached "
                "graph), a learning rate far too low, or a bug (nnlab check, gradcheck_model)",
                "loss curve",
            )
        )
    elif start > 0 and (start - early) > 0.8 * (start - end) and abs(late_change) < 0.05 and end > 0.25 * start:
        out.append(
            Finding(
                "lr_too_high",
                f"the loss dropped fast to {early:.3g} in the first tenth and then "
                f"plateaued at {end:.3g} ({end / start * 100:.0f}% of the initial {start:.3g})",
                "an early plateau at a high loss: the learning rate is probably too high; lower it or decay it",
                "loss curve",
            )
        )
    if not out:
        out.append(
            Finding("ok", f"loss {start:.3g} -> {end:.3g} in {n} steps, noise {noise * 100:.0f}%{bs}", "", "loss curve")
        )
    return out


class LossCurveMonitor(Callback):
    """Watches the per-iteration loss: stops at once on NaN/Inf, reads the curve at the end.

    Divergence is caught after the step that causes it, before the next forward pass overflows:
    a non-finite loss, or a weight tensor whose norm grew more than ``growth``-fold in one step or
    became non-finite (the norm of 16 evenly spread runs of 256 contiguous entries per tensor: a
    step that blows the weights up touches most of them, and the full norms, reading every weight
    from memory after each step, cost 2% of an MLP step). Then: the model's weights are restored
    to the last good state (the last epoch end with a finite loss, or the start of training),
    ``checkpoint`` (if given) receives them as a model checkpoint unless a ModelCheckpoint already
    holds a good one (it is not overwritten: its next save would be at the end of this epoch), and
    ``TrainingDiverged`` is raised with the advice to lower the learning rate.
    """

    def __init__(self, checkpoint=None, stop_on_nan: bool = True, verbose: bool = True, growth: float = 100.0):
        self.checkpoint, self.stop_on_nan, self.verbose = checkpoint, stop_on_nan, verbose
        self.growth = float(growth)
        self.on_diverge = None  # called with no arguments just before TrainingDiverged is raised
        self.findings: list = []
        self.diverged = None

    def on_train_begin(self, logs=None):
        self._good = self.model.state_dict()
        self._good_epoch = None
        self.findings, self.diverged = [], None
        if not getattr(self.trainer, "resuming", False):
            self.num_outputs = None  # the number of class scores, read from the first forward pass
            self._out_hook = register_forward_hook(self.model, self._read_outputs)
        self._weights = [(n, p) for n, p in self.model.named_parameters() if p.requires_grad and p.data.ndim >= 2]
        self._norms = [self._norm(p) for _, p in self._weights]

    def _read_outputs(self, module, inputs, output):
        shape = getattr(output, "shape", ())
        if len(shape) == 2:
            self.num_outputs = int(shape[1])
        self._remove_out_hook()

    def _remove_out_hook(self):
        h = getattr(self, "_out_hook", None)
        if h is not None:
            h.remove()
            self._out_hook = None

    def on_train_end(self, logs=None):
        self._remove_out_hook()

    on_interrupt = on_train_end

    def on_train_abort(self, exc, logs=None):
        self._remove_out_hook()

    _RUNS, _RUN = 16, 256

    @classmethod
    def _norm(cls, p) -> float:
        """Norm of the whole tensor if small, else of 16 evenly spread runs of 256 entries (contiguous
        runs: a few hundred cache lines, where random entries would each miss the cache)."""
        w = p.data.ravel()
        k, run = cls._RUNS, cls._RUN
        with np.errstate(over="ignore", invalid="ignore"):
            if w.size <= k * run * 2:
                return float(np.sqrt(np.dot(w, w)))
            stride = w.size // k
            v = w[: k * stride].reshape(k, stride)[:, :run]
            return float(np.sqrt(np.einsum("ij,ij->", v, v)))

    def on_train_batch_end(self, batch, logs=None):
        lv, rv = logs["loss"], logs.get("reg_loss", 0.0)
        if not (np.isfinite(lv) and np.isfinite(rv)):
            return self._diverge(f"the loss became {lv if not np.isfinite(lv) else rv}")
        # weights blown up (norm `growth`-fold in one step, or non-finite): the next forward pass
        # would overflow
        norms = [self._norm(p) for _, p in self._weights]
        for old, new, (name, _) in zip(self._norms, norms, self._weights):
            if not np.isfinite(new) or (old > 0 and new > self.growth * old):
                return self._diverge(f"the norm of {name} jumped from {old:.3g} to {new:.3g} in one step")
        self._norms = norms

    def on_epoch_end(self, epoch, logs=None):
        if self.diverged is None and np.isfinite(logs.get("loss", 0.0)):
            self._good = self.model.state_dict()
            self._good_epoch = int(epoch)

    def _last_checkpoint(self):
        for cb in getattr(self.trainer, "_cbs", []):
            path = getattr(cb, "last_path", None)
            if path is not None and type(cb).__name__ == "ModelCheckpoint":
                return path
        return None

    def _diverge(self, what: str):
        t = self.trainer
        step, epoch = t.global_step, t.epoch
        self.model.load_state_dict(self._good)  # the in-memory model is usable again
        path = self._last_checkpoint()
        if path is None and self.checkpoint is not None:
            from nnlab.train.checkpoint import save

            path = save(self.model, self.checkpoint, preprocessor=t.preprocessor, config=t.config, builder=t.builder)
        when = "the start of training" if self._good_epoch is None else f"the end of epoch {self._good_epoch + 1}"
        lr = t.optimizer.param_groups[0]["lr"]
        msg = (
            f"{what} at step {step} (epoch {epoch + 1}): training diverged and was stopped. The weights are "
            f"back to those of {when}"
            + (f", saved in {path}" if path else "")
            + f". The learning rate {lr:g} is too high (or a numerical bug such as log(0)): lower it 3-10x "
            f"and restart" + (" (nnlab train --lr ...)" if path else "")
        )
        self.diverged = Finding("nan_loss", msg, "lower the learning rate 3-10x", "loss curve")
        if self.verbose:
            print("diagnostics: " + msg, file=sys.stderr)
        if self.on_diverge is not None:  # e.g. write the run's figures before training stops
            try:
                self.on_diverge()
            except Exception as e:  # noqa: BLE001 - the stop itself must happen
                print(f"diagnostics: could not write the diagnostics after divergence: {e}", file=sys.stderr)
        if self.stop_on_nan:
            t.stop_training = True
            raise TrainingDiverged(msg, step, epoch, path)

    def diagnose(self) -> list:
        if self.diverged is not None:
            return [self.diverged]
        t = self.trainer
        if t is None:
            return []
        loader = getattr(t, "_loader", None)
        expected, formula = None, ""
        if getattr(self, "num_outputs", None):
            from nnlab.diagnostics.sanity import expected_initial_loss

            expected, formula = expected_initial_loss(t.loss_fn, self.num_outputs)
        return read_loss_curve(
            t.history.iterations["loss"],
            getattr(loader, "batch_size", None),
            expected_initial=expected,
            formula=formula,
        )
