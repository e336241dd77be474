"""``Session``: one playground run as a Python object. The page is a view of it.

Every page action is a command dict given to ``apply`` (the same call a test or a notebook makes);
``step(n)`` trains n minibatch steps with nnlab's layers, losses, optimizers and regularizers;
``frame()`` returns what the page draws (decision map, unit maps, curves, gauges, ...).

Reproducibility: the session owns its random streams (nnlab's generator for init and dropout is
swapped in around every call; the minibatch order has its own generator), and every successful
command is appended to ``log`` with the step count (``tick``) at which it was applied. Replaying the
log on the initial configuration (``Session.replay(session.record())``) gives bitwise-identical
weights.
"""

from __future__ import annotations

import base64
import contextlib
import copy
import hashlib
import math
import time

import numpy as np

import nnlab
from nnlab.diagnostics.hooks import tap
from nnlab.diagnostics.monitors import ActivationMonitor, Finding, UpdateRatioMonitor, read_loss_curve
from nnlab.engine import random as nrandom
from nnlab.nn.regularization import MaxNorm, Regularizer
from nnlab.playground import config as C
from nnlab.playground import data as D
from nnlab.playground.model import Network, make_loss, make_optimizer, scheduled_lr, write_hyperparameters

__all__ = ["Session", "COMMANDS"]

# command name -> (required fields, optional fields)
COMMANDS = {
    "set": ({"settings"}, set()),
    "add_point": ({"x", "y", "label"}, {"split"}),
    "erase": ({"x", "y"}, {"radius"}),
    "import_csv": ({"text"}, set()),
    "reset": (set(), set()),
    "preset": ({"name"}, set()),
    "play": (set(), set()),
    "pause": (set(), set()),
    "select_unit": ({"layer", "unit"}, {"x", "y"}),
    "step": (set(), {"n"}),  # not logged: the log's tick already counts steps
}


def _b64(a: np.ndarray) -> str:
    return base64.b64encode(np.ascontiguousarray(a, dtype=np.uint8).tobytes()).decode("ascii")


def _b64f(a: np.ndarray) -> str:
    """float32 values, little-endian, as base64 (a JS Float32Array reads them back)."""
    return base64.b64encode(np.ascontiguousarray(a, dtype="<f4").tobytes()).decode("ascii")


def decode_f32(s: str) -> np.ndarray:
    return np.frombuffer(base64.b64decode(s), dtype="<f4")


def _sig(v, digits: int = 5):
    """A number rounded to ``digits`` significant digits (small gradients keep their digits)."""
    v = float(v)
    return float(f"{v:.{digits}g}") if math.isfinite(v) else None


def _finite(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


class _Clock:
    """The few trainer attributes the monitors read (they are Trainer callbacks)."""

    def __init__(self, model):
        self.model, self.global_step = model, 0


class Session:
    """A playground run: data, network, optimizer, curves, and the command log.

    ``config`` is a (partial) nested or dotted settings dict (see ``nnlab.playground.config``),
    ``preset`` the name of one of ``PRESETS`` applied first. Bad settings raise ValueError.
    """

    def __init__(self, config: dict | None = None, preset: str | None = None):
        from nnlab.playground.presets import preset_settings

        base = C.make_config()
        if preset is not None:
            base, _ = C.validate_settings(preset_settings(preset), base)
        if config:
            base, _ = C.validate_settings(C.dotted(config), base)
        self.config = base
        self.initial_config = copy.deepcopy(base)
        self.log: list[dict] = []
        self.tick = 0  # steps taken since the session began (the log's clock)
        self.running = False  # the server's loop trains while this is set
        self.halted: str | None = None  # "diverged" or "stopped": step() does nothing until cleared
        self.message = ""
        self.error = ""
        self.selected: dict | None = None
        self.generation = 0  # +1 at each rebuild: the page clears its curves
        self.data_version = 0
        self._view_cache: dict = {}
        self._new_data()
        self._rebuild()

    # ------------------------------------------------------------------ data
    @property
    def regression(self) -> bool:
        return self.config["data"]["dataset"] in C.REGRESSION_SETS

    @property
    def classes(self) -> int:
        return 1 if self.regression else self.config["data"]["classes"]

    def _new_data(self) -> None:
        """Draw the generated points again (a data setting changed) and drop the user's points."""
        d = self.config["data"]
        n = d["n"]
        self._gen_X, self._gen_y = D.generate(d["dataset"], n, d["classes"], d["noise"], d["seed"])
        self._gen_keep = np.ones(len(self._gen_X), dtype=bool)
        self._user_X = np.zeros((0, 2), np.float32)
        self._user_y = np.zeros(0, self._gen_y.dtype)
        self._user_train = np.zeros(0, bool)
        self._resplit()

    def _redraw_noise(self) -> None:
        d = self.config["data"]
        X, y = D.generate(d["dataset"], len(self._gen_X), d["classes"], d["noise"], d["seed"])
        if len(X) == len(self._gen_X):
            self._gen_X, self._gen_y = X, y
        self._resplit()

    def _resplit(self) -> None:
        d = self.config["data"]
        train_gen = D.split_mask(len(self._gen_X), d["train_ratio"], d["seed"])
        keep = self._gen_keep
        self.X = np.concatenate([self._gen_X[keep], self._user_X]).astype(np.float32)
        self.y = np.concatenate([self._gen_y[keep], self._user_y])
        self.train_mask = np.concatenate([train_gen[keep], self._user_train])
        self.X_train, self.y_train = self.X[self.train_mask], self.y[self.train_mask]
        self.X_test, self.y_test = self.X[~self.train_mask], self.y[~self.train_mask]
        self._perm = None
        self.data_version += 1

    def points(self) -> dict:
        """The current points: x, y, label (class or target) and whether each one trains."""
        return {
            "x": self.X[:, 0].round(4).tolist(),
            "y": self.X[:, 1].round(4).tolist(),
            "label": self.y.round(4).tolist() if self.regression else self.y.tolist(),
            "train": self.train_mask.tolist(),
            "version": self.data_version,
            "regression": self.regression,
            "classes": self.classes,
        }

    def csv(self) -> str:
        return D.to_csv(self.X, self.y, self.train_mask)

    # ------------------------------------------------------------------ model
    @contextlib.contextmanager
    def _own_rng(self):
        prev = nrandom.get_state()
        nrandom.set_state(self._rng_state)
        try:
            yield
        finally:
            self._rng_state = nrandom.get_state()
            nrandom.set_state(prev)

    def _rebuild(self) -> None:
        """A fresh network, optimizer and curves from the model seed (a structural change or reset)."""
        seed = self.config["model"]["seed"]
        self._rng_state = np.random.default_rng(seed).bit_generator.state
        with self._own_rng():
            self.net = Network(self.config, self.classes)
        self.model = self.net.model
        self.model.train()
        o = self.config["optim"]
        self.optimizer = make_optimizer(o, self.model.parameters())
        self.loss_fn = make_loss(self.config["model"]["loss"], self.regression, self.classes)
        self._batch_rng = np.random.default_rng([seed, 1])
        self._perm, self._pos = None, 0
        self.step_count, self.epoch = 0, 0
        self.losses: list[float] = []
        self.curves = {k: [] for k in ("step", "epoch", "train_loss", "test_loss", "train_acc", "test_acc", "lr")}
        self._since: list[float] = []
        self._clock = _Clock(self.model)
        self.update_monitor = UpdateRatioMonitor(every=1, warmup=3)
        self.update_monitor.set_trainer(self._clock)
        self.update_monitor.on_train_begin()
        self.activation_monitor = ActivationMonitor(every=1)
        self.activation_monitor.attach(self.model)
        self.halted, self.message = None, ""
        self.generation += 1
        self._norms = self._weight_norms()
        self._good = None
        self._record()

    def _weights(self):
        return [(n, p) for n, p in self.model.named_parameters() if p.data.ndim >= 2]

    def _weight_norms(self):
        with np.errstate(over="ignore", invalid="ignore"):
            return [float(np.sqrt(np.sum(p.data.astype(np.float64) ** 2))) for _, p in self._weights()]

    def weights_digest(self) -> str:
        """sha256 of every parameter and buffer (bitwise identity of two runs)."""
        h = hashlib.sha256()
        for k, v in self.model.state_dict().items():
            h.update(k.encode()), h.update(np.ascontiguousarray(v).tobytes())
        return h.hexdigest()

    # ------------------------------------------------------------------ training
    def step(self, n: int = 1) -> int:
        """Train ``n`` minibatch steps (fewer if a stop rule or the NaN guard halts); returns how many ran."""
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 0:
            raise ValueError(f"step: n must be an integer >= 0, got {n!r}")
        if len(self.X_train) == 0:
            raise ValueError("step: there are no training points; add points, import a CSV or raise data.train_ratio")
        done = 0
        with self._own_rng():
            for _ in range(int(n)):
                if self.halted:
                    break
                self._one_step()
                done += 1
        return done

    def _next_batch(self) -> np.ndarray:
        bs = self.config["optim"]["batch_size"]
        n = len(self.X_train)
        if self._perm is None or self._pos >= len(self._perm):
            if self._perm is not None:
                self.epoch += 1
            self._perm, self._pos = self._batch_rng.permutation(n), 0
        idx = self._perm[self._pos : self._pos + bs]
        self._pos += bs
        return idx

    def _targets(self, y):
        return nnlab.tensor(y.reshape(-1, 1)) if self.regression else y

    def _forward_loss(self, Xb, yb):
        out = self.model(nnlab.tensor(Xb))
        loss = self.loss_fn(out, self._targets(yb))
        o = self.config["optim"]
        reg = Regularizer(l2=o["l2"], l1=o["l1"])(self.model) if (o["l1"] or o["l2"]) else None
        return loss, reg

    def _one_step(self) -> None:
        o = self.config["optim"]
        idx = self._next_batch()
        Xb, yb = self.X_train[idx], self.y_train[idx]
        write_hyperparameters(self.optimizer, o, self.epoch)
        sample = self.step_count % self.config["view"]["curve_every"] == 0
        self._clock.global_step = self.step_count
        if sample:
            self.update_monitor.on_train_batch_begin(0)
            self.activation_monitor.start_sample(self.step_count)
        with np.errstate(all="ignore"):
            loss, reg = self._forward_loss(Xb, yb)
            total = loss if reg is None else loss + reg
            self.optimizer.zero_grad()
            total.backward()
            self.optimizer.step()
            if o["max_norm"] > 0:
                MaxNorm(o["max_norm"]).apply(self.model)
        if sample:
            try:
                self.activation_monitor.end_sample()
            except ValueError:  # histograms of non-finite values: the guard below explains
                self.activation_monitor._active = False
            self.update_monitor.on_train_batch_end(0)
        lv = float(loss.data)
        rv = float(reg.data) if reg is not None else 0.0
        self.losses.append(lv)
        self._since.append(lv)
        self.step_count += 1
        self.tick += 1
        what = None
        if not (math.isfinite(lv) and math.isfinite(rv)):
            what = f"the loss became {lv if not math.isfinite(lv) else rv}"
        else:
            norms = self._weight_norms()
            for (name, _), old, new in zip(self._weights(), self._norms, norms):
                if not math.isfinite(new) or (old > 0 and new > 100 * old):
                    what = f"the weights of layer {name} exploded: their norm jumped from {old:.3g} to {new:.3g} in one step"
                    break
            self._norms = norms
        if what is not None:
            self._diverge(what, Xb, yb)
            return
        if self.step_count % self.config["view"]["curve_every"] == 0:
            self._record()

    def _diverge(self, what: str, Xb, yb) -> None:
        """The NaN/Inf guard: read why (the monitors' words), restore the last good weights, halt."""
        findings = [f for f in read_loss_curve(self.losses) if f.kind == "nan_loss"]
        mon = ActivationMonitor(every=1)
        mon.attach(self.model)
        try:
            mon.start_sample(self.step_count)
            with np.errstate(all="ignore"):
                loss, reg = self._forward_loss(Xb, yb)
                self.optimizer.zero_grad()
                (loss if reg is None else loss + reg).backward()
            mon.end_sample()
            findings += [f for f in mon.diagnose() if f.kind != "ok"]
        except (ValueError, FloatingPointError):
            findings.append(
                Finding(
                    "exploding_gradients",
                    "the activations or gradients are no longer finite",
                    "lower the learning rate, clip gradients, check the init",
                    "gradients",
                )
            )
        finally:
            mon.detach()
        try:
            findings += [f for f in self.update_monitor.diagnose() if f.kind == "lr_too_high"]
        except (ValueError, FloatingPointError):
            pass
        lr = self.optimizer.param_groups[0]["lr"]
        if self._good is not None:
            state, opt_state, good_step = self._good
            self.model.load_state_dict(state)
            self.optimizer.load_state_dict(opt_state)
            back = f"The weights are back to those of step {good_step}."
        else:
            back = "No finite state was recorded; press reset."
        self.optimizer.zero_grad()
        self._norms = self._weight_norms()
        seen, reasons = set(), []
        for f in findings:
            if f.kind not in seen:
                seen.add(f.kind)
                reasons.append(f"[{f.kind}] {f}")
        self.halted, self.running = "diverged", False
        why = (" What the monitors read: " + " ".join(reasons)) if reasons else ""
        self.message = (
            f"Training paused at step {self.step_count}: {what}, so training diverged.{why} {back} "
            f"The learning rate {lr:g} is too high for this network: lower optim.lr 3-10x and press play."
        )

    def _evaluate(self, X, y):
        if len(X) == 0:
            return float("nan"), float("nan")
        _, _, out = self.net.forward_all(X)
        with np.errstate(all="ignore"), nnlab.no_grad():
            loss = float(self.loss_fn(nnlab.tensor(out), self._targets(y)).data)
            if self.regression:
                r = out[:, 0] - y
                var = float(np.var(y))
                acc = 1.0 - float(np.mean(r * r)) / var if var > 0 else float("nan")
            else:
                acc = float(np.mean(out.argmax(1) == y))
        return loss, acc

    def _record(self) -> None:
        """One point of the curves (full train and test sets, eval mode), the stop rules, the last
        good state for the guard."""
        tl, ta = self._evaluate(self.X_train, self.y_train)
        vl, va = self._evaluate(self.X_test, self.y_test)
        c = self.curves
        c["step"].append(self.step_count), c["epoch"].append(self.epoch)
        c["train_loss"].append(tl), c["test_loss"].append(vl), c["train_acc"].append(ta), c["test_acc"].append(va)
        c["lr"].append(scheduled_lr(self.config["optim"], self.epoch))
        self._since = []
        if math.isfinite(tl):
            self._good = (
                copy.deepcopy(self.model.state_dict()),
                copy.deepcopy(self.optimizer.state_dict()),
                self.step_count,
            )
        s = self.config["stop"]
        if self.step_count == 0:
            return
        ref_loss, ref_acc = (vl, va) if len(self.X_test) else (tl, ta)
        why = None
        if s["target_loss"] > 0 and math.isfinite(ref_loss) and ref_loss <= s["target_loss"]:
            why = f"the loss {ref_loss:.4g} reached the target {s['target_loss']:g}"
        elif s["target_accuracy"] > 0 and math.isfinite(ref_acc) and ref_acc >= s["target_accuracy"]:
            why = f"the {'R²' if self.regression else 'accuracy'} {ref_acc:.4g} reached the target {s['target_accuracy']:g}"
        elif s["max_epochs"] > 0 and self.epoch >= s["max_epochs"]:
            why = f"{self.epoch} epochs done (stop.max_epochs = {s['max_epochs']})"
        if why:
            self.halted, self.running = "stopped", False
            self.message = f"Stopped at step {self.step_count}: {why}. Change a stop rule and press play to go on."

    # ------------------------------------------------------------------ commands
    def apply(self, command: dict) -> dict:
        """Apply one page action; returns {"ok": True, ...}. A bad command raises ValueError and
        leaves the session exactly as it was."""
        if not isinstance(command, dict):
            raise ValueError(f"a command must be a dict with a 'cmd' field, got {type(command).__name__}")
        name = command.get("cmd")
        if name not in COMMANDS:
            raise ValueError(f"unknown command {name!r}; commands: {sorted(COMMANDS)}")
        required, optional = COMMANDS[name]
        fields = set(command) - {"cmd"}
        if fields - required - optional:
            raise ValueError(
                f"command {name!r}: unknown field(s) {sorted(fields - required - optional)}; "
                f"it takes {sorted(required | optional)}"
            )
        if required - fields:
            raise ValueError(f"command {name!r}: missing field(s) {sorted(required - fields)}")
        result = getattr(self, f"_cmd_{name}")(**{k: v for k, v in command.items() if k != "cmd"})
        self.error = ""
        if name == "step":
            return {"ok": True, **result}
        self.log.append({"tick": self.tick, "command": copy.deepcopy(command)})
        self.error = ""
        return {"ok": True, **(result or {})}

    def _cmd_set(self, settings):
        new, changed = C.validate_settings(settings, self.config)
        if "view.hidden_layer" in changed and new["view"]["hidden_layer"] > len(new["model"]["layers"]):
            raise ValueError(
                f"view.hidden_layer must be at most {len(new['model']['layers'])} (the hidden layers, "
                f"0 = the input features), got {new['view']['hidden_layer']}"
            )
        kinds = set(changed.values())
        old = self.config
        self.config = new
        if "data" in kinds:
            self._new_data()
        elif "data.noise" in changed:
            self._redraw_noise()
        elif "data.train_ratio" in changed:
            self._resplit()
        if kinds & {"data", "model"}:
            self._rebuild()
        elif self.halted == "stopped" and any(p.startswith("stop.") for p in changed):
            self.halted, self.message = None, ""
        elif self.halted == "diverged" and old["optim"] != new["optim"]:  # e.g. a lower learning rate
            self.halted, self.message = None, ""
        if "optim.schedule" in changed or "optim.lr" in changed:
            write_hyperparameters(self.optimizer, self.config["optim"], self.epoch)
        return {"changed": changed}

    def _check_xy(self, x, y):
        for k, v in (("x", x), ("y", y)):
            if not _finite(v) or abs(v) > D.DOMAIN:
                raise ValueError(f"{k} must be a number in [-{D.DOMAIN:g}, {D.DOMAIN:g}], got {v!r}")

    def _cmd_add_point(self, x, y, label, split="train"):
        self._check_xy(x, y)
        if split not in ("train", "test"):
            raise ValueError(f"add_point: split must be 'train' or 'test', got {split!r}")
        if self.regression:
            if not _finite(label):
                raise ValueError(f"add_point: the target must be a finite number, got {label!r}")
            lab = np.float32(label)
        else:
            if isinstance(label, bool) or not isinstance(label, int) or not 0 <= label < self.classes:
                raise ValueError(f"add_point: label must be a class in 0-{self.classes - 1}, got {label!r}")
            lab = np.int64(label)
        yv = 0.0 if self.config["data"]["dataset"] == "sine" else y
        self._user_X = np.concatenate([self._user_X, np.array([[x, yv]], np.float32)])
        self._user_y = np.concatenate([self._user_y, np.array([lab], self._user_y.dtype)])
        self._user_train = np.concatenate([self._user_train, [split == "train"]])
        self._resplit()
        return {"points": len(self.X)}

    def _cmd_erase(self, x, y, radius=0.5):
        self._check_xy(x, y)
        if not _finite(radius) or radius <= 0:
            raise ValueError(f"erase: radius must be a number > 0, got {radius!r}")
        r2 = radius * radius
        gd = ((self._gen_X - [x, y]) ** 2).sum(1) if len(self._gen_X) else np.zeros(0)
        ud = ((self._user_X - [x, y]) ** 2).sum(1) if len(self._user_X) else np.zeros(0)
        before = len(self.X)
        self._gen_keep &= ~(gd <= r2)
        keep = ~(ud <= r2)
        self._user_X, self._user_y, self._user_train = self._user_X[keep], self._user_y[keep], self._user_train[keep]
        self._resplit()
        return {"erased": before - len(self.X)}

    def _cmd_import_csv(self, text):
        X, y, train = D.parse_csv(text, self.classes, self.regression)
        self._gen_X = np.zeros((0, 2), np.float32)
        self._gen_y = np.zeros(0, y.dtype)
        self._gen_keep = np.zeros(0, bool)
        self._user_X, self._user_y, self._user_train = X, y, train
        self._resplit()
        return {"points": len(self.X)}

    def _cmd_reset(self):
        self._rebuild()

    def _cmd_preset(self, name):
        from nnlab.playground.presets import preset_settings

        base = C.make_config()
        new, _ = C.validate_settings(preset_settings(name), base)
        self.config = new
        self._new_data()
        self._rebuild()

    def _cmd_play(self):
        if self.halted == "stopped":
            self.halted, self.message = None, ""
        if self.halted == "diverged":
            raise ValueError("play: training diverged; lower optim.lr (or reset) first")
        self.running = True

    def _cmd_step(self, n=1):
        if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= 100000:
            raise ValueError(f"step: n must be an integer in 1-100000, got {n!r}")
        return {"steps": self.step(n)}

    def _cmd_pause(self):
        self.running = False

    def _cmd_select_unit(self, layer, unit, x=None, y=None):
        L = len(self.net.pre)
        if isinstance(layer, bool) or not isinstance(layer, int) or not 0 <= layer <= L:
            raise ValueError(f"select_unit: layer must be 0-{L} (hidden layers, then {L} = the output), got {layer!r}")
        width = self.config["model"]["layers"][layer]["units"] if layer < L else self.net.linears[-1].out_features
        if isinstance(unit, bool) or not isinstance(unit, int) or not 0 <= unit < width:
            raise ValueError(f"select_unit: unit must be 0-{width - 1} in layer {layer}, got {unit!r}")
        if x is not None or y is not None:
            self._check_xy(x, y)
        self.selected = {"layer": layer, "unit": unit, "x": x, "y": y}

    # ------------------------------------------------------------------ record / replay
    def record(self) -> dict:
        """Everything needed to replay this session: initial settings, the command log, the final
        step count (and, for reading, the final settings, points and weights digest)."""
        return {
            "format": "nnlab-playground-session",
            "version": 1,
            "config": copy.deepcopy(self.initial_config),
            "log": copy.deepcopy(self.log),
            "tick": self.tick,
            "final_config": copy.deepcopy(self.config),
            "points": self.points(),
            "weights_sha256": self.weights_digest(),
        }

    @classmethod
    def replay(cls, record: dict) -> "Session":
        """A new session that re-runs ``record`` (from ``record()``): bitwise the same weights."""
        if not isinstance(record, dict) or record.get("format") != "nnlab-playground-session":
            raise ValueError("replay: expected a session record (format 'nnlab-playground-session')")
        for key in ("config", "log", "tick"):
            if key not in record:
                raise ValueError(f"replay: the record has no {key!r}")
        s = cls(record["config"])
        for i, entry in enumerate(record["log"]):
            if not isinstance(entry, dict) or "tick" not in entry or "command" not in entry:
                raise ValueError(f"replay: log entry {i} must be {{'tick': int, 'command': dict}}, got {entry!r:.80}")
            s._advance(entry["tick"])
            s.apply(entry["command"])
        s._advance(record["tick"])
        s.running = False
        return s

    def _advance(self, tick) -> None:
        if isinstance(tick, bool) or not isinstance(tick, int) or tick < self.tick:
            raise ValueError(f"replay: log ticks must be integers that never decrease, got {tick!r} after {self.tick}")
        if tick > self.tick:
            self.step(tick - self.tick)
            if self.tick != tick:
                raise ValueError(f"replay: training halted at step {self.tick} before tick {tick} ({self.message})")

    # ------------------------------------------------------------------ views
    def _grid(self, g: int):
        lin = np.linspace(-D.DOMAIN, D.DOMAIN, g, dtype=np.float32)
        if self.config["data"]["dataset"] == "sine":
            return np.stack([lin, np.zeros_like(lin)], axis=1)
        xx, yy = np.meshgrid(lin, -lin)  # row 0 is the top (y = +6)
        return np.stack([xx.ravel(), yy.ravel()], axis=1)

    def decision_map(self, g: int | None = None, out=None) -> dict:
        """The network's output on a g x g grid over [-6, 6]^2 (row 0 at the top): per cell the
        winning class and the confidence (softmax of the scores, 0-255), or the value for regression.
        ``out``: the outputs on that grid if already computed."""
        g = g or self.config["view"]["grid"]
        P = self._grid(g)
        if out is None:
            _, _, out = self.net.forward_all(P)
        with np.errstate(all="ignore"):
            if self.regression:
                v = np.nan_to_num(out[:, 0], nan=0.0, posinf=1e6, neginf=-1e6)
                lo, hi = float(np.min(self.y)) if len(self.y) else -1.0, float(np.max(self.y)) if len(self.y) else 1.0
                if hi - lo < 1e-6:
                    lo, hi = lo - 1, hi + 1
                q = np.clip((v - lo) / (hi - lo) * 255, 0, 255).round()
                if self.config["data"]["dataset"] == "sine":
                    return {
                        "kind": "curve",
                        "grid": g,
                        "x": P[:, 0].round(3).tolist(),
                        "v": v.round(4).tolist(),
                        "lo": lo,
                        "hi": hi,
                    }
                return {"kind": "value", "grid": g, "value": _b64(q), "lo": lo, "hi": hi}
            s = out - out.max(1, keepdims=True)
            p = np.exp(s)
            p /= p.sum(1, keepdims=True)
            label = out.argmax(1)
            conf = np.nan_to_num(p.max(1), nan=0.0)
        # confidence rescaled from [1/K, 1] to [0, 255]
        k = self.classes
        c = np.clip((conf - 1.0 / k) / (1.0 - 1.0 / k), 0, 1) * 255
        return {"kind": "classes", "grid": g, "classes": k, "label": _b64(label), "conf": _b64(c.round())}

    def _unit_maps(self, posts, pres, g: int, limit: int = 32):
        """Each shown unit's output on the g x g grid as bytes, 128 = 0, scaled by the unit's largest
        absolute value (so sign and shape read alike for every unit), with its range."""
        layers = []
        with np.errstate(all="ignore"):
            for a in posts:
                A = a[:, :limit].astype(np.float64)
                finite = np.isfinite(A)
                lo = np.where(finite, A, np.inf).min(0)
                hi = np.where(finite, A, -np.inf).max(0)
                ok = np.isfinite(lo) & np.isfinite(hi)
                lo, hi = np.where(ok, lo, -1.0), np.where(ok, hi, 1.0)
                m = np.maximum(np.maximum(np.abs(lo), np.abs(hi)), 1e-6)
                Q = np.clip((np.where(finite, A, 0.0) / m + 1) * 127.5, 0, 255).round().astype(np.uint8)
                layers.append(
                    [
                        {"map": _b64(Q[:, j]), "lo": round(float(lo[j]), 4), "hi": round(float(hi[j]), 4)}
                        for j in range(Q.shape[1])
                    ]
                )
        return layers

    def _histograms(self, pres, bins: int = 20):
        out = []
        for li, z in enumerate(pres):
            z = z[np.isfinite(z)]
            if z.size == 0:
                out.append({"counts": [], "lo": 0, "hi": 0})
                continue
            lo, hi = float(z.min()), float(z.max())
            if hi - lo < 1e-9:
                lo, hi = lo - 0.5, hi + 0.5
            counts, _ = np.histogram(z, bins=bins, range=(lo, hi))
            out.append({"counts": counts.tolist(), "lo": round(lo, 4), "hi": round(hi, 4)})
        return out

    def linear_probes(self) -> list:
        """Per layer (0 = the input features, then each hidden layer): the test accuracy of a
        least-squares linear classifier (one-hot targets) fitted on that layer's training outputs.
        The number behind "later layers make the classes separable"."""
        if self.regression or len(self.X_train) == 0:
            return []
        Xe = self.X_test if len(self.X_test) else self.X_train
        ye = self.y_test if len(self.X_test) else self.y_train
        feats_tr = [self.model[0](self.X_train).data] + self.net.forward_all(self.X_train)[1]
        feats_te = [self.model[0](Xe).data] + self.net.forward_all(Xe)[1]
        onehot = np.eye(self.classes)[self.y_train]
        acc = []
        for Htr, Hte in zip(feats_tr, feats_te):
            A = np.c_[Htr.astype(np.float64), np.ones(len(Htr))]
            B = np.c_[Hte.astype(np.float64), np.ones(len(Hte))]
            if not (np.isfinite(A).all() and np.isfinite(B).all()):
                acc.append(None)
                continue
            W = np.linalg.lstsq(A.T @ A + 1e-6 * np.eye(A.shape[1]), A.T @ onehot, rcond=None)[0]
            acc.append(round(float(np.mean((B @ W).argmax(1) == ye)), 4))
        return acc

    def hidden_space(self, layer: int | None = None, units=None, lines: int = 11, per_line: int = 41) -> dict:
        """ConvNetJS's view: a regular grid of lines over the input square and the points, mapped
        through two units of one layer (0 = the features themselves). ``grid`` and ``points`` are
        base64 float32 (x, y) pairs (``decode_f32``): lines first (``lines`` horizontal then as many
        vertical, ``per_line`` points each), then one pair per data point."""
        v = self.config["view"]
        layer = min(v["hidden_layer"], len(self.net.post)) if layer is None else layer
        units = v["hidden_units"] if units is None else units
        L = len(self.net.post)
        if not 0 <= layer <= L:
            raise ValueError(f"hidden_space: layer must be 0-{L}, got {layer}")
        t = np.linspace(-D.DOMAIN, D.DOMAIN, per_line, dtype=np.float32)
        c = np.linspace(-D.DOMAIN, D.DOMAIN, lines, dtype=np.float32)
        hl = np.stack([np.tile(t, lines), np.repeat(c, per_line)], axis=1)  # horizontal lines
        vl = np.stack([np.repeat(c, per_line), np.tile(t, lines)], axis=1)  # vertical lines
        P = np.concatenate([hl, vl, self.X]).astype(np.float32)

        def through(Q):
            if layer == 0:
                return self.model[0](Q).data
            return self.net.forward_all(Q)[1][layer - 1]

        H = through(P)
        width = H.shape[1]
        a, b = (min(u, width - 1) for u in units)
        pts = np.nan_to_num(np.stack([H[:, a], H[:, b]], axis=1), posinf=1e6, neginf=-1e6).astype(np.float32)
        n_line = lines * per_line
        return {
            "layer": layer,
            "units": [a, b],
            "width": width,
            "lines": lines,
            "per_line": per_line,
            "grid": _b64f(pts[: 2 * n_line]),
            "points": _b64f(pts[2 * n_line :]),
        }

    def explain(self, layer: int, unit: int, x=None, y=None) -> dict:
        """One unit in numbers: its formula with the current weights and bias and, for one point
        (the data point nearest to (x, y), or the first training point), its forward values and one
        backward step: upstream gradient dL/da, local gradient da/dz, and dL/dz, dL/dw, dL/db."""
        L = len(self.net.pre)
        lin = self.net.linears[layer]
        is_out = layer == L
        names = list(self.config["features"]) if layer == 0 else [f"h{layer}.{i}" for i in range(lin.in_features)]
        pieces = getattr(lin, "pieces", 1)
        rows = list(range(unit * pieces, unit * pieces + pieces))
        W = lin.weight.data[rows].astype(np.float64)
        b = lin.bias.data[rows].astype(np.float64)
        act = "output score" if is_out else self.net.kinds[layer]
        terms = " + ".join(f"{W[0, i]:+.3f}·{names[i]}" for i in range(len(names)))
        formula = f"z = {terms} {b[0]:+.3f}"
        if pieces > 1:
            formula = f"a = max over {pieces} pieces of (w_k · inputs + b_k); piece 0: {formula}"
        elif not is_out:
            formula = f"a = {act}(z),  {formula}"
        # the point
        if len(self.X) == 0:
            return {"layer": layer, "unit": unit, "formula": formula, "point": None}
        if x is None or y is None:
            i = int(np.flatnonzero(self.train_mask)[0]) if self.train_mask.any() else 0
        else:
            i = int(np.argmin(((self.X - [x, y]) ** 2).sum(1)))
        xp, yp = self.X[i : i + 1], self.y[i : i + 1]
        grabbed = {}
        was = self.model.training
        self.model.eval()
        try:
            h = nnlab.tensor(xp)
            inputs = None
            mods = list(self.model)
            pre_idx = self.net.pre[layer] if not is_out else len(mods) - 1
            post_idx = self.net.post[layer] if not is_out else len(mods) - 1
            for k, m in enumerate(mods):
                if k == pre_idx:
                    inputs = h.data[0].astype(np.float64)
                h = m(h)
                if k == pre_idx:
                    h = tap(h, lambda g: grabbed.__setitem__("dz", float(g[0, unit])))
                if k == post_idx:
                    grabbed["a"] = float(h.data[0, unit])
                    h = tap(h, lambda g: grabbed.__setitem__("da", float(g[0, unit])))
            loss = self.loss_fn(h, self._targets(yp))
            self.optimizer.zero_grad()
            with np.errstate(all="ignore"):
                loss.backward()
            self.optimizer.zero_grad()
        finally:
            self.model.train(was)
        zs = W @ inputs + b if inputs is not None else np.zeros(len(rows))
        win = int(np.argmax(zs))
        z, dz = float(zs[win]), grabbed.get("dz", 0.0)
        da = grabbed.get("da", 0.0)
        local = dz / da if da != 0 else self._local_grad(act, z, grabbed.get("a", z))
        return {
            "layer": layer,
            "unit": unit,
            "output": is_out,
            "activation": act,
            "formula": formula,
            "weights": W[win].round(5).tolist(),
            "bias": round(float(b[win]), 5),
            "inputs_names": names,
            "point": {
                "index": i,
                "x": float(xp[0, 0]),
                "y": float(xp[0, 1]),
                "label": float(yp[0]) if self.regression else int(yp[0]),
                "inputs": inputs.round(5).tolist() if inputs is not None else [],
                "z": _sig(z),
                "a": _sig(grabbed.get("a", z)),
                "loss": _sig(loss.data),
            },
            "backward": {
                "upstream": _sig(da),
                "local": _sig(local),
                "dz": _sig(dz),
                "dw": [_sig(v) for v in dz * inputs] if inputs is not None else [],
                "db": _sig(dz),
            },
        }

    @staticmethod
    def _local_grad(act, z, a):
        return {
            "tanh": 1 - a * a,
            "sigmoid": a * (1 - a),
            "relu": float(z > 0),
            "leaky_relu": 1.0 if z > 0 else 0.01,
        }.get(act, 1.0)

    def gauges(self) -> dict:
        """The babysitting numbers and the monitors' verdicts."""
        ratios = {n: (r[-1] if r else None) for n, r in self.update_monitor.ratios.items()}
        dead, sat, grad = {}, {}, {}
        s = self.activation_monitor.last()
        if s is not None:
            for name, st in s["act"].items():
                if "dead" in st:
                    dead[name] = st["dead"]
                if "saturated" in st:
                    sat[name] = st["saturated"]
            for name, v in s["param_grad"].items():
                grad[name] = v["norm"]
        verdicts = []
        for fn in (self.update_monitor.diagnose, self.activation_monitor.diagnose):
            try:
                verdicts += fn()
            except (ValueError, FloatingPointError):
                pass
        if len(self.losses) >= 20:
            every = max(1, len(self.losses) // 5000)  # the whole curve from its start, thinned
            verdicts += [
                f
                for f in read_loss_curve(self.losses[::every], self.config["optim"]["batch_size"])
                if f.kind != "nan_loss"
            ]
        clean = lambda d: {
            k: (round(float(v), 6) if v is not None and math.isfinite(v) else None) for k, v in d.items()
        }
        return {
            "update_ratio": clean(ratios),
            "dead": clean(dead),
            "saturated": clean(sat),
            "grad_norm": clean(grad),
            "verdicts": [
                {"kind": f.kind, "message": f.message, "advice": f.advice, "source": f.source} for f in verdicts
            ],
        }

    def network(self, limit: int = 32) -> dict:
        """Sizes, and weights/biases of the first ``limit`` units of each layer (for the diagram)."""
        sizes = (
            [len(self.config["features"])]
            + [l["units"] for l in self.config["model"]["layers"]]
            + [self.net.linears[-1].out_features]
        )
        weights, biases = [], []
        for lin in self.net.linears:
            W = lin.weight.data
            p = getattr(lin, "pieces", 1)
            if p > 1:  # one line per unit: the mean of its pieces
                W = W.reshape(-1, p, W.shape[1]).mean(1)
                bb = lin.bias.data.reshape(-1, p).mean(1)
            else:
                bb = lin.bias.data
            weights.append(np.nan_to_num(W[:limit, :limit]).round(4).tolist())
            biases.append(np.nan_to_num(bb[:limit]).round(4).tolist())
        return {
            "sizes": sizes,
            "features": list(self.config["features"]),
            "weights": weights,
            "biases": biases,
            "activations": [l["activation"] for l in self.config["model"]["layers"]],
        }

    def _cached(self, key, fn, max_age: float):
        """A view computed at most every ``max_age`` seconds (0: always fresh) while the network and
        the points stay the same; only what the page shows is cached, never training state."""
        now = time.monotonic()
        stamp = (self.generation, self.data_version, len(self.config["model"]["layers"]))
        hit = self._view_cache.get(key)
        if max_age > 0 and hit is not None and hit[0] == stamp and now - hit[1] < max_age:
            return hit[2]
        value = fn()
        self._view_cache[key] = (stamp, now, value)
        return value

    def frame(self, curves_since: int = 0, views: bool = True, max_age: float = 0.0) -> dict:
        """What the page draws, as JSON-ready data. ``curves_since``: the first curve point to include;
        ``max_age``: seconds the slower views (probes, hidden space, verdicts) may be reused (the
        server uses 0.5 s to keep the training fast; the default recomputes everything)."""
        c = self.curves
        i = max(0, min(int(curves_since), len(c["step"])))
        last = {k: (v[-1] if v else None) for k, v in c.items()}
        clean = lambda v: v if v is None or (isinstance(v, (int, float)) and math.isfinite(v)) else None
        f = {
            "tick": self.tick,
            "step": self.step_count,
            "epoch": self.epoch,
            "running": self.running,
            "halted": self.halted,
            "message": self.message,
            "error": self.error,
            "generation": self.generation,
            "data_version": self.data_version,
            "config": copy.deepcopy(self.config),
            "regression": self.regression,
            "classes": self.classes,
            "n_train": int(self.train_mask.sum()),
            "n_test": int((~self.train_mask).sum()),
            "lr": self.optimizer.param_groups[0]["lr"],
            "metrics": {k: clean(last[k]) for k in ("train_loss", "test_loss", "train_acc", "test_acc")},
            "curves": {"start": i, **{k: [clean(x) for x in v[i:]] for k, v in c.items()}},
            "limits": C.LIMITS_TEXT,
            "weights_sha256": self.weights_digest()[:16],
        }
        if not views:
            return f
        # one forward pass (eval mode: per-point) over the map grid, the thumbnail grid and the training points
        G, g = self.config["view"]["grid"], self.config["view"]["unit_grid"]
        PG, Pu = self._grid(G), self._grid(g)
        pres, posts, out = self.net.forward_all(np.concatenate([PG, Pu, self.X_train]))
        a, b = len(PG), len(PG) + len(Pu)
        f["map"] = self.decision_map(G, out[:a])
        f["unit_grid"] = g
        f["units"] = self._unit_maps([h[a:b] for h in posts], None, g)
        f["histograms"] = self._histograms([z[b:] for z in pres])
        f["network"] = self.network()
        f["gauges"] = self._cached("gauges", self.gauges, max_age)
        f["probes"] = self._cached("probes", self.linear_probes, max_age)
        f["hidden"] = self._cached("hidden", self.hidden_space, max_age)
        f["explain"] = None
        if self.selected is not None:
            sel = self.selected
            if sel["layer"] <= len(self.net.pre) and sel["unit"] < self.net.linears[sel["layer"]].out_features:
                f["explain"] = self.explain(sel["layer"], sel["unit"], sel["x"], sel["y"])
        return f
