"""Training monitors: callbacks that watch the quantities the notes say to babysit, and read them.

- ``UpdateRatioMonitor``: ||update|| / ||parameter|| per parameter tensor (about 1e-3 is healthy;
  far below: learning rate too low; far above: too high).
- ``ActivationMonitor``: every ``every`` steps, per-layer activation and gradient statistics and
  histograms: dead ReLU fraction, saturated tanh/sigmoid fraction, activations collapsing to zero,
  gradient norms by depth (vanishing / exploding gradients).
- ``LossCurveMonitor``: reads the per-iteration loss: noise against batch size, a slow linear
  decrease (learning rate too low), an early plateau at a high loss or a rising loss (too high);
  a NaN/Inf loss stops training at once, restores the last good weights, keeps the last good
  checkpoint and says to lower the learning rate.
- ``BiasVarianceMonitor``: the train/dev error gap read as the notes' four cases (004) with advice.

Each monitor collects ``findings`` (``Finding(kind, message, advice)``); ``diagnose(monitors)``
gathers them. The monitors are cheap: per step at most a copy and two norms per parameter tensor
(update ratios, sampled every ``every`` steps) and a finiteness test of the loss; the histogram
work happens on sampled steps only.
"""
from __future__ import annotations

import sys
from dataclasses import dataclass

import numpy as np

from nnlab.diagnostics.hooks import register_forward_hook, tap
from nnlab.train.callbacks import Callback

__all__ = ["Finding", "TrainingDiverged", "UpdateRatioMonitor", "ActivationMonitor", "LossCurveMonitor",
           "BiasVarianceMonitor", "read_loss_curve", "read_initial_loss", "read_bias_variance", "diagnose"]


@dataclass
class Finding:
    """One diagnosis: ``kind`` is a stable tag (e.g. "lr_too_high"), ``message`` the numbers,
    ``advice`` what to do."""

    kind: str
    message: str
    advice: str = ""
    source: str = ""

    def __str__(self) -> str:
        return f"{self.message}" + (f" -> {self.advice}" if self.advice else "")


class TrainingDiverged(RuntimeError):
    """The loss became NaN/Inf; training stopped at once. ``checkpoint_path`` is the last good
    checkpoint (or None), ``step``/``epoch`` where it happened."""

    def __init__(self, message, step: int, epoch: int, checkpoint_path=None):
        super().__init__(message)
        self.step, self.epoch, self.checkpoint_path = step, epoch, checkpoint_path


def diagnose(monitors) -> list:
    """All findings of the given monitors (callbacks without ``diagnose`` are skipped).

    One cross-reading: a slowly falling loss says "learning rate too low" only if the updates are
    small too. When the update/parameter ratio is on the high side (above 3e-3) the loss-curve
    finding becomes ``slow_progress``: a larger learning rate would not help."""
    out = []
    for m in monitors:
        if hasattr(m, "diagnose"):
            out.extend(m.diagnose())
    upd = next((m for m in monitors if isinstance(m, UpdateRatioMonitor)), None)
    ratio = upd.median() if upd is not None else float("nan")
    if np.isfinite(ratio) and ratio > 3e-3:
        for i, f in enumerate(out):
            if f.kind == "lr_too_low" and f.source == "loss curve":
                out[i] = Finding("slow_progress", f"{f.message}, although the updates are large (update/parameter "
                                 f"ratio {ratio:.1e})", "a higher learning rate is unlikely to help: the network may "
                                 "be too small for the data (see bias/variance) or its gradients vanish (see the "
                                 "activations)", f.source)
    return out


def _weights(model):
    """(name, parameter) for trainable weight tensors (2-D or more: the ones the notes' ratio is about)."""
    return [(n, p) for n, p in model.named_parameters() if p.requires_grad]


# ------------------------------------------------------------------------------------------
# Update / parameter ratio
# ------------------------------------------------------------------------------------------
class UpdateRatioMonitor(Callback):
    """||w_after - w_before|| / ||w_before|| for each parameter tensor, every ``every`` steps.

    The notes: "about 1e-3; much lower and the learning rate is probably too low, much higher and it
    is too high". The verdict uses the median over the weight tensors (2-D and up; biases start at
    zero, so their ratio says little) of each tensor's median ratio after ``warmup`` steps.
    """

    def __init__(self, every: int = 1, low: float = 1e-4, high: float = 5e-2, warmup: int = 10):
        if every < 1:
            raise ValueError(f"UpdateRatioMonitor: every must be >= 1, got {every}")
        self.every, self.low, self.high, self.warmup = int(every), float(low), float(high), int(warmup)
        self.steps: list[int] = []
        self.ratios: dict[str, list[float]] = {}
        self._buf, self._armed = [], False

    def on_train_begin(self, logs=None):
        self._params = _weights(self.model)
        self.steps, self.ratios = [], {n: [] for n, _ in self._params}
        self._buf = [np.empty_like(p.data) for _, p in self._params]  # reused: no allocation per step
        self._armed = False

    def on_train_batch_begin(self, batch, logs=None):
        if self.trainer.global_step % self.every == 0:
            for i, (_, p) in enumerate(self._params):
                if self._buf[i].shape != p.data.shape or self._buf[i].dtype != p.data.dtype:
                    self._buf[i] = np.empty_like(p.data)
                np.copyto(self._buf[i], p.data)
            self._armed = True

    def on_train_batch_end(self, batch, logs=None):
        if not self._armed:
            return
        self._armed = False
        self.steps.append(self.trainer.global_step)
        for (name, p), b in zip(self._params, self._buf):
            w = b.reshape(-1)
            wn = float(np.sqrt(np.dot(w, w)))
            np.subtract(p.data, b, out=b)   # b is now the update
            un = float(np.sqrt(np.dot(w, w)))
            self.ratios[name].append(un / wn if wn > 0 else (0.0 if un == 0 else np.inf))

    def summary(self) -> dict:
        """Median ratio per parameter after the warm-up."""
        out = {}
        for name, r in self.ratios.items():
            r = np.asarray(r[self.warmup // self.every:] or r, dtype=np.float64)
            r = r[np.isfinite(r)]
            out[name] = float(np.median(r)) if r.size else float("nan")
        return out

    def median(self) -> float:
        """Median over the weight tensors (2-D and up) of their median ratio after the warm-up."""
        s = self.summary()
        shapes = {n: p.data.ndim for n, p in getattr(self, "_params", [])}
        ws = [v for n, v in s.items() if shapes.get(n, 2) >= 2 and np.isfinite(v)]
        return float(np.median(ws)) if ws else float("nan")

    def diagnose(self) -> list:
        s = self.summary()
        shapes = {n: p.data.ndim for n, p in getattr(self, "_params", [])}
        ws = [v for n, v in s.items() if shapes.get(n, 2) >= 2 and np.isfinite(v)]
        if not ws:
            return []
        med = float(np.median(ws))
        if max(ws) == 0.0:
            return [Finding("no_updates", "the weights do not change (update/parameter ratio 0)",
                            "the gradients are zero: dead ReLUs, a detached graph or frozen parameters",
                            "update ratio")]
        detail = ", ".join(f"{n} {v:.1e}" for n, v in s.items() if shapes.get(n, 2) >= 2)
        if med < self.low:
            return [Finding("lr_too_low", f"update/parameter ratio {med:.1e} (median over weights; {detail}), "
                            f"far below ~1e-3", "the learning rate is probably too low: raise it (try 3-10x)",
                            "update ratio")]
        if med > self.high:
            return [Finding("lr_too_high", f"update/parameter ratio {med:.1e} (median over weights; {detail}), "
                            f"far above ~1e-3", "the learning rate is probably too high: lower it (try 3-10x)",
                            "update ratio")]
        side = "" if 3e-4 <= med <= 3e-3 else (" (on the high side)" if med > 3e-3 else " (on the low side)")
        return [Finding("ok", f"update/parameter ratio {med:.1e} (median over weights): within [{self.low:.0e}, "
                        f"{self.high:.0e}] around ~1e-3{side}", "", "update ratio")]


# ------------------------------------------------------------------------------------------
# Activations and gradients per layer
# ------------------------------------------------------------------------------------------
def _kind(module) -> str | None:
    name = type(module).__name__
    return {"ReLU": "relu", "LeakyReLU": "relu", "Tanh": "tanh", "Sigmoid": "sigmoid"}.get(name)


def _subsample(a: np.ndarray, limit: int) -> np.ndarray:
    flat = a.reshape(-1)
    if flat.size > limit:
        flat = flat[:: int(np.ceil(flat.size / limit))]
    return flat


def activation_stats(a: np.ndarray, kind: str, bins: int = 40, limit: int = 200_000) -> dict:
    """Statistics of one layer's activations (N, features...) as the notes read them."""
    a = np.asarray(a)
    flat = _subsample(a, limit).astype(np.float64)
    st = {"mean": float(flat.mean()), "std": float(flat.std()),
          "min": float(flat.min()), "max": float(flat.max())}
    if kind == "relu":
        units = np.moveaxis(a, 1, 0).reshape(a.shape[1], -1) if a.ndim >= 2 else a.reshape(1, -1)
        st["dead"] = float(np.mean(~(units > 0).any(axis=1)))   # never active on this batch
        st["zero"] = float(np.mean(flat <= 0))
        rng = (0.0, max(float(flat.max()), 1e-12))
    elif kind == "tanh":
        st["saturated"] = float(np.mean(np.abs(flat) > 0.99))
        rng = (-1.0, 1.0)
    elif kind == "sigmoid":
        st["saturated"] = float(np.mean((flat < 0.01) | (flat > 0.99)))
        rng = (0.0, 1.0)
    else:
        rng = (float(flat.min()), float(flat.max()) + 1e-12)
    st["hist"] = np.histogram(flat, bins=bins, range=rng)
    return st


def gradient_stats(g: np.ndarray, bins: int = 40, limit: int = 200_000) -> dict:
    flat = _subsample(np.asarray(g), limit).astype(np.float64)
    full = np.asarray(g).ravel()
    m = float(np.percentile(np.abs(flat), 99.5)) if flat.size else 0.0
    m = m if m > 0 and np.isfinite(m) else 1.0
    norm = float(np.sqrt(np.dot(full, full)))
    return {"norm": norm, "rms": norm / np.sqrt(max(full.size, 1)), "std": float(flat.std()),
            "hist": np.histogram(np.clip(flat, -m, m), bins=bins, range=(-m, m))}


class ActivationMonitor(Callback):
    """Per-layer activation/gradient statistics and histograms, sampled every ``every`` steps and
    at the last step of each epoch.

    Activations are read at every ReLU/LeakyReLU/Tanh/Sigmoid module through a forward hook; the
    gradient flowing into them through an identity gate (``hooks.tap``); parameter gradient norms
    by depth from ``p.grad`` after the step. Between samples the hooks return at once.
    """

    def __init__(self, every: int = 100, bins: int = 40, dead: float = 0.5, saturated: float = 0.5,
                 collapse: float = 1e-2, vanish: float = 1e-3, explode: float = 1e3):
        if every < 1:
            raise ValueError(f"ActivationMonitor: every must be >= 1, got {every}")
        self.every, self.bins = int(every), int(bins)
        self.dead, self.saturated, self.collapse = dead, saturated, collapse
        self.vanish, self.explode = vanish, explode
        self.samples: list[dict] = []        # {"step", "act": {layer: stats}, "grad": {...}, "param_grad": {...}}
        self._handles = []
        self._active = False
        self._current = None

    # -- hooks --
    def attach(self, model) -> None:
        """Install the hooks on ``model`` (done by on_train_begin; public for use without a Trainer)."""
        self.detach()
        self.layers = []
        for name, m in model.named_modules():
            kind = _kind(m)
            if kind is not None:
                self.layers.append((name, kind))
                self._handles.append(register_forward_hook(m, self._hook(name, kind)))
        self.param_layers = [(n, p) for n, p in model.named_parameters() if p.requires_grad and p.data.ndim >= 2]

    def detach(self) -> None:
        for h in self._handles:
            h.remove()
        self._handles = []

    def _hook(self, name, kind):
        def hook(module, inputs, output):
            if not self._active:
                return None
            cur = self._current
            cur["act"][name] = activation_stats(output.data, kind, self.bins)
            cur["act"][name]["kind"] = kind
            return tap(output, lambda g: cur["grad"].__setitem__(name, gradient_stats(g, self.bins)))
        return hook

    def start_sample(self, step: int) -> None:
        self._current = {"step": int(step), "act": {}, "grad": {}, "param_grad": {}}
        self._active = True

    def end_sample(self, model=None) -> None:
        self._active = False
        cur = self._current
        if cur is None:
            return
        for n, p in getattr(self, "param_layers", []):
            if p.grad is not None:
                g = np.asarray(p.grad).ravel()
                w = p.data.ravel()
                cur["param_grad"][n] = {"norm": float(np.sqrt(np.dot(g, g))),
                                        "weight_norm": float(np.sqrt(np.dot(w, w)))}
        self.samples.append(cur)
        self._current = None

    # -- callback --
    def on_train_begin(self, logs=None):
        self.samples = []
        self.attach(self.model)

    def on_train_batch_begin(self, batch, logs=None):
        t = self.trainer
        if t.global_step % self.every == 0 or batch == t.steps_per_epoch - 1:  # also each epoch's last step
            self.start_sample(t.global_step)

    def on_train_batch_end(self, batch, logs=None):
        if self._active:
            self.end_sample()

    def on_train_end(self, logs=None):
        self._active = False
        self.detach()

    on_interrupt = on_train_end

    # -- reading --
    def last(self) -> dict | None:
        return self.samples[-1] if self.samples else None

    def layer_table(self) -> list[dict]:
        """Latest statistics per activation layer, in depth order."""
        s = self.last()
        if s is None:
            return []
        rows = []
        for i, (name, st) in enumerate(s["act"].items()):
            g = s["grad"].get(name, {})
            rows.append({"depth": i + 1, "layer": name, "kind": st["kind"], "mean": st["mean"], "std": st["std"],
                         "dead": st.get("dead"), "saturated": st.get("saturated"), "grad_norm": g.get("norm")})
        return rows

    def diagnose(self) -> list:
        s = self.last()
        if s is None:
            return []
        out = []
        for name, st in s["act"].items():
            kind = st["kind"]
            if kind == "relu" and st.get("dead", 0) > self.dead:
                out.append(Finding("dead_relu", f"layer {name}: {st['dead'] * 100:.0f}% of ReLU units never "
                                   f"fire on a batch (dead)", "a too-high learning rate or a bad init/bias "
                                   "killed them: lower the learning rate, check the init, or try Leaky ReLU",
                                   "activations"))
            if kind in ("tanh", "sigmoid") and st.get("saturated", 0) > self.saturated:
                out.append(Finding("saturated", f"layer {name}: {st['saturated'] * 100:.0f}% of {kind} units "
                                   f"saturated", "their local gradient is ~0 and learning stalls: the weights "
                                   "are too large; use 1/sqrt(n) init, smaller inputs, or batch norm",
                                   "activations"))
            if kind == "tanh" and st["std"] < self.collapse:
                out.append(Finding("collapsed", f"layer {name}: tanh activations collapsed to ~0 "
                                   f"(std {st['std']:.1e})", "the weights are too small: activations and "
                                   "gradients shrink layer by layer; use 1/sqrt(n) init", "activations"))
        # gradient size by depth: the RMS of dL/d(activation) per layer if recorded, else the
        # weight-gradient norms
        if len(s["grad"]) >= 2:
            pg = [(n, s["grad"][n]["rms"]) for n in s["act"] if n in s["grad"]]  # forward (depth) order
            what = "RMS gradient of the activations"
        else:
            pg = [(n, v["norm"]) for n, v in s["param_grad"].items()]
            what = "weight-gradient norms"
        if len(pg) >= 2:
            norms = np.array([v for _, v in pg])
            desc = ", ".join(f"{n} {v:.1e}" for n, v in pg)
            if not np.all(np.isfinite(norms)):
                out.append(Finding("exploding_gradients", f"non-finite gradients ({what}: {desc})",
                                   "lower the learning rate, clip gradients, check the init", "gradients"))
            elif not np.any(norms > 0):
                out.append(Finding("no_gradients", "every gradient is zero",
                                   "nothing learns: dead ReLUs (lower the learning rate), a detached graph, "
                                   "or a loss that does not depend on the outputs", "gradients"))
            else:
                first, last = norms[0], norms[-1]
                ratio = first / last if last > 0 else np.inf
                if ratio < self.vanish:
                    out.append(Finding("vanishing_gradients", f"{what} by depth: {desc}; the first layer gets "
                                       f"{ratio:.1e}x the last one's",
                                       "gradients vanish on the way down: use 1/sqrt(n) (tanh) or He (ReLU) "
                                       "init, ReLU instead of sigmoid/tanh, batch norm, or a shallower net",
                                       "gradients"))
                elif ratio > self.explode:
                    out.append(Finding("exploding_gradients", f"{what} by depth: {desc}; the first layer gets "
                                       f"{ratio:.1e}x the last one's",
                                       "gradients explode on the way down: smaller init, batch norm, lower "
                                       "learning rate or gradient clipping", "gradients"))
        return out


# ------------------------------------------------------------------------------------------
# Loss curve
# ------------------------------------------------------------------------------------------
def _moving_average(v: np.ndarray, w: int) -> np.ndarray:
    if w <= 1 or v.size < w:
        return v.copy()
    c = np.cumsum(np.insert(v, 0, 0.0))
    core = (c[w:] - c[:-w]) / w
    pad = w - 1
    head = c[1:pad + 1] / np.arange(1, pad + 1)
    return np.concatenate([head, core])


def read_initial_loss(first: float, expected: float, formula: str = "") -> Finding | None:
    """The first loss against its chance value (ln C for softmax): None when it is within 0.5x-1.5x."""
    if expected is None or not expected > 0 or not np.isfinite(first):
        return None
    ratio = first / expected
    what = f"the initial loss {first:.3g} is {ratio:.1f}x its chance value {expected:.3g}" + \
        (f" ({formula})" if formula else "")
    if ratio > 1.5:
        return Finding("initial_loss_high", what, "the initial weights are too large (the scores start big and "
                       "confidently wrong): use 1/sqrt(n) or He init and a small init for the output layer",
                       "loss curve")
    if ratio < 0.5:
        return Finding("initial_loss_low", what, "a loss below chance before any training: the labels may leak "
                       "into the inputs, or the loss ignores part of the labels (run nnlab check)", "loss curve")
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


def read_loss_curve(losses, batch_size: int | None = None, steps_per_epoch: int | None = None,
                    expected_initial: float | None = None, formula: str = "") -> list:
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
        return out + [Finding("nan_loss", f"the loss became {v[i]} at step {i + 1}",
                              "the learning rate is too high (or a numerical bug such as log(0)): lower it 3-10x "
                              "and restart from the last good checkpoint", "loss curve")]
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
        out.append(Finding("noisy", f"the loss is noisy: typical deviation {noise * 100:.0f}% of its smoothed "
                           f"value{bs}", "a larger batch (or a lower learning rate) smooths it", "loss curve"))
    tenth = max(1, n // 10)
    early = float(np.mean(s[tenth - 1:tenth + w])) if n > tenth + w else end
    half = s[n // 2:]
    late_change = (half[0] - half[-1]) / max(abs(half[0]), 1e-12)
    peak = float(v[1:].max())
    if end > start * 1.05 or peak > 2.5 * max(start, 1e-12):
        out.append(Finding("lr_too_high", f"the loss rose: {start:.3g} at the start, peaks up to {peak:.3g}, "
                           f"{end:.3g} at the end", "the learning rate is too high: lower it 3-10x", "loss curve"))
    elif drop < 0.3 and late_change > 0 and (drop >= 0.05 or _r2(half) > 0.8):
        shape = ", linearly" if _r2(half) > 0.8 else ""
        out.append(Finding("lr_too_low", f"the loss decreases only slowly{shape}: {start:.3g} -> {end:.3g} "
                           f"({drop * 100:.0f}% in {n} steps)", "the learning rate is probably too low: raise it "
                           "3-10x", "loss curve"))
    elif drop < 0.05:  # flat from the start: nothing is learned (not an early plateau after a drop)
        out.append(Finding("no_progress", f"the loss does not decrease: {start:.3g} -> {end:.3g} in {n} steps",
                           "nothing is learned: look for zero gradients (dead ReLUs, saturated units, a detached "
                           "graph), a learning rate far too low, or a bug (nnlab check, gradcheck_model)",
                           "loss curve"))
    elif start > 0 and (start - early) > 0.8 * (start - end) and abs(late_change) < 0.05 and end > 0.25 * start:
        out.append(Finding("lr_too_high", f"the loss dropped fast to {early:.3g} in the first tenth and then "
                           f"plateaued at {end:.3g} ({end / start * 100:.0f}% of the initial {start:.3g})",
                           "an early plateau at a high loss: the learning rate is probably too high; lower it "
                           "or decay it", "loss curve"))
    if not out:
        out.append(Finding("ok", f"loss {start:.3g} -> {end:.3g} in {n} steps, noise {noise * 100:.0f}%{bs}", "",
                           "loss curve"))
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
            v = w[:k * stride].reshape(k, stride)[:, :run]
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
            path = save(self.model, self.checkpoint, preprocessor=t.preprocessor, config=t.config,
                        builder=t.builder)
        when = "the start of training" if self._good_epoch is None else f"the end of epoch {self._good_epoch + 1}"
        lr = t.optimizer.param_groups[0]["lr"]
        msg = (f"{what} at step {step} (epoch {epoch + 1}): training diverged and was stopped. The weights are "
               f"back to those of {when}" + (f", saved in {path}" if path else "") +
               f". The learning rate {lr:g} is too high (or a numerical bug such as log(0)): lower it 3-10x "
               f"and restart" + (" (nnlab train --lr ...)" if path else ""))
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
        return read_loss_curve(t.history.iterations["loss"], getattr(loader, "batch_size", None),
                               expected_initial=expected, formula=formula)


# ------------------------------------------------------------------------------------------
# Bias and variance
# ------------------------------------------------------------------------------------------
def read_bias_variance(train_error: float, dev_error: float, target_error: float = 0.0,
                       bias_tol: float = 0.05, variance_tol: float = 0.05) -> Finding:
    """The notes' four cases (004) from the train and dev error rates.

    high bias: train error well above the target (human / Bayes) error; high variance: dev error
    well above the train error.
    """
    avoidable = train_error - target_error
    gap = dev_error - train_error
    hb, hv = avoidable > bias_tol, gap > variance_tol
    nums = f"train error {train_error * 100:.1f}%, dev error {dev_error * 100:.1f}% (gap {gap * 100:.1f} points)"
    if hb and hv:
        return Finding("high_bias_high_variance", f"high bias and high variance: {nums}",
                       "first reduce bias (bigger network, train longer), then variance (more data, "
                       "regularization)", "bias/variance")
    if hb:
        return Finding("high_bias", f"high bias (underfitting): {nums}",
                       "a bigger network (more layers or units) or longer training", "bias/variance")
    if hv:
        return Finding("high_variance", f"high variance (overfitting): {nums}",
                       "more training data or regularization (L2, dropout, early stopping)", "bias/variance")
    return Finding("ok", f"low bias and low variance: {nums}", "", "bias/variance")


class BiasVarianceMonitor(Callback):
    """Reads each epoch's train/dev accuracy as bias/variance (``read_bias_variance``).

    The per-epoch train accuracy in the logs is a running average over the epoch's batches, taken in
    training mode (dropout on) while the weights still change: it overstates the training error,
    by several points early in training. So at the end of training the final verdict measures the
    training error again in eval mode on up to ``eval_samples`` training examples (one forward
    pass, no graph), the same way the dev error is measured.
    """

    def __init__(self, target_error: float = 0.0, bias_tol: float = 0.05, variance_tol: float = 0.05,
                 eval_samples: int = 1000):
        self.target_error, self.bias_tol, self.variance_tol = target_error, bias_tol, variance_tol
        self.eval_samples = int(eval_samples)
        self.epochs: list = []   # (epoch, train_error, dev_error, kind)
        self.final = None        # (train_error measured in eval mode, dev_error, examples) at the end

    def on_train_begin(self, logs=None):
        self.final = None
        if not getattr(self.trainer, "resuming", False):
            self.epochs = []

    def on_train_end(self, logs=None):
        t, loader = self.trainer, getattr(self.trainer, "_loader", None)
        if not self.epochs or self.eval_samples < 1 or loader is None or not hasattr(loader, "X"):
            return
        n = len(loader.y)
        idx = np.arange(n) if n <= self.eval_samples else \
            np.sort(np.random.default_rng(0).choice(n, self.eval_samples, replace=False))
        res = t.evaluate((loader.X[idx], loader.y[idx]), _prepared=True)
        if "accuracy" in res and np.isfinite(res.get("loss", 0.0)):
            self.final = (1.0 - float(res["accuracy"]), self.epochs[-1][2], len(idx))

    def on_epoch_end(self, epoch, logs=None):
        if "accuracy" in logs and "val_accuracy" in logs:
            tr, dv = 1.0 - float(logs["accuracy"]), 1.0 - float(logs["val_accuracy"])
            f = read_bias_variance(tr, dv, self.target_error, self.bias_tol, self.variance_tol)
            self.epochs.append((int(epoch), tr, dv, f.kind))

    def diagnose(self) -> list:
        if not self.epochs:
            return []
        if self.final is not None:
            tr, dv, n = self.final
            f = read_bias_variance(tr, dv, self.target_error, self.bias_tol, self.variance_tol)
            f.message += f"; train error measured in eval mode on {n} training examples"
            return [f]
        _, tr, dv, _ = self.epochs[-1]
        f = read_bias_variance(tr, dv, self.target_error, self.bias_tol, self.variance_tol)
        f.message += "; train error = the last epoch's running average (training mode)"
        return [f]

    def state_dict(self):
        return {"epochs": [list(e) for e in self.epochs]}

    def load_state_dict(self, state):
        self.epochs = [(int(e), float(a), float(b), str(k)) for e, a, b, k in state.get("epochs", [])]
