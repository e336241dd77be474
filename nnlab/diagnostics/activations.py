"""Per-layer activation and gradient statistics: dead ReLUs, saturation, vanishing gradients."""

from __future__ import annotations

import numpy as np

from nnlab.diagnostics.findings import Finding
from nnlab.diagnostics.hooks import register_forward_hook, tap
from nnlab.train.callbacks import Callback


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
    st = {"mean": float(flat.mean()), "std": float(flat.std()), "min": float(flat.min()), "max": float(flat.max())}
    if kind == "relu":
        units = np.moveaxis(a, 1, 0).reshape(a.shape[1], -1) if a.ndim >= 2 else a.reshape(1, -1)
        st["dead"] = float(np.mean(~(units > 0).any(axis=1)))  # never active on this batch
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
    return {
        "norm": norm,
        "rms": norm / np.sqrt(max(full.size, 1)),
        "std": float(flat.std()),
        "hist": np.histogram(np.clip(flat, -m, m), bins=bins, range=(-m, m)),
    }


class ActivationMonitor(Callback):
    """Per-layer activation/gradient statistics and histograms, sampled every ``every`` steps and
    at the last step of each epoch.

    Activations are read at every ReLU/LeakyReLU/Tanh/Sigmoid module through a forward hook; the
    gradient flowing into them through an identity gate (``hooks.tap``); parameter gradient norms
    by depth from ``p.grad`` after the step. Between samples the hooks return at once.
    """

    def __init__(
        self,
        every: int = 100,
        bins: int = 40,
        dead: float = 0.5,
        saturated: float = 0.5,
        collapse: float = 1e-2,
        vanish: float = 1e-3,
        explode: float = 1e3,
    ):
        if every < 1:
            raise ValueError(f"ActivationMonitor: every must be >= 1, got {every}")
        self.every, self.bins = int(every), int(bins)
        self.dead, self.saturated, self.collapse = dead, saturated, collapse
        self.vanish, self.explode = vanish, explode
        self.samples: list[dict] = []  # {"step", "act": {layer: stats}, "grad": {...}, "param_grad": {...}}
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
                cur["param_grad"][n] = {
                    "norm": float(np.sqrt(np.dot(g, g))),
                    "weight_norm": float(np.sqrt(np.dot(w, w))),
                }
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
            rows.append(
                {
                    "depth": i + 1,
                    "layer": name,
                    "kind": st["kind"],
                    "mean": st["mean"],
                    "std": st["std"],
                    "dead": st.get("dead"),
                    "saturated": st.get("saturated"),
                    "grad_norm": g.get("norm"),
                }
            )
        return rows

    def diagnose(self) -> list:
        s = self.last()
        if s is None:
            return []
        out = []
        for name, st in s["act"].items():
            kind = st["kind"]
            if kind == "relu" and st.get("dead", 0) > self.dead:
                out.append(
                    Finding(
                        "dead_relu",
                        f"layer {name}: {st['dead'] * 100:.0f}% of ReLU units never fire on a batch (dead)",
                        "a too-high learning rate or a bad init/bias "
                        "killed them: lower the learning rate, check the init, or try Leaky ReLU",
                        "activations",
                    )
                )
            if kind in ("tanh", "sigmoid") and st.get("saturated", 0) > self.saturated:
                out.append(
                    Finding(
                        "saturated",
                        f"layer {name}: {st['saturated'] * 100:.0f}% of {kind} units saturated",
                        "their local gradient is ~0 and learning stalls: the weights "
                        "are too large; use 1/sqrt(n) init, smaller inputs, or batch norm",
                        "activations",
                    )
                )
            if kind == "tanh" and st["std"] < self.collapse:
                out.append(
                    Finding(
                        "collapsed",
                        f"layer {name}: tanh activations collapsed to ~0 (std {st['std']:.1e})",
                        "the weights are too small: activations and "
                        "gradients shrink layer by layer; use 1/sqrt(n) init",
                        "activations",
                    )
                )
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
                out.append(
                    Finding(
                        "exploding_gradients",
                        f"non-finite gradients ({what}: {desc})",
                        "lower the learning rate, clip gradients, check the init",
                        "gradients",
                    )
                )
            elif not np.any(norms > 0):
                out.append(
                    Finding(
                        "no_gradients",
                        "every gradient is zero",
                        "nothing learns: dead ReLUs (lower the learning rate), a detached graph, "
                        "or a loss that does not depend on the outputs",
                        "gradients",
                    )
                )
            else:
                first, last = norms[0], norms[-1]
                ratio = first / last if last > 0 else np.inf
                if ratio < self.vanish:
                    out.append(
                        Finding(
                            "vanishing_gradients",
                            f"{what} by depth: {desc}; the first layer gets {ratio:.1e}x the last one's",
                            "gradients vanish on the way down: use 1/sqrt(n) (tanh) or He (ReLU) "
                            "init, ReLU instead of sigmoid/tanh, batch norm, or a shallower net",
                            "gradients",
                        )
                    )
                elif ratio > self.explode:
                    out.append(
                        Finding(
                            "exploding_gradients",
                            f"{what} by depth: {desc}; the first layer gets {ratio:.1e}x the last one's",
                            "gradients explode on the way down: smaller init, batch norm, lower "
                            "learning rate or gradient clipping",
                            "gradients",
                        )
                    )
        return out
