"""Playground settings: their defaults, their allowed ranges, and which of them need a rebuild.

A configuration is a nested dict of plain JSON values (so it fits in a URL hash and a session file).
Each setting has a dotted path (``optim.lr``) and a kind:

- ``live``: applied between two steps without touching the weights (learning rate, momentum,
  regularization, batch size, noise, train/test ratio, stop rules, views);
- ``data``: the points are drawn again and the network rebuilt with the same seed;
- ``model``: the network is rebuilt with the same seed (architecture, features, loss, optimizer).

The ranges are what keeps the page responsive on a laptop (a few hundred units, a few thousand
points), not limits of the library; ``LIMITS_TEXT`` states them on the page.
"""

from __future__ import annotations

import copy
import math

ACTIVATIONS = ("tanh", "relu", "leaky_relu", "sigmoid", "linear", "maxout")
INITS = ("xavier", "he", "glorot", "xavier_normal", "small", "uniform")
LOSSES = ("cross_entropy", "svm", "mse")
OPTIMIZERS = ("sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam")
SCHEDULES = ("constant", "step", "exponential", "inverse_time", "cosine")
CLASSIFICATION_SETS = ("circles", "spiral", "moons", "xor", "blobs", "checkerboard")
REGRESSION_SETS = ("plane", "bumps", "sine")
DATASETS = CLASSIFICATION_SETS + REGRESSION_SETS
FEATURES = ("x1", "x2", "x1^2", "x2^2", "x1x2", "sin(x1)", "sin(x2)")

MAX_LAYERS, MAX_UNITS, MAX_POINTS = 16, 512, 20000
LIMITS_TEXT = (
    f"Limits that keep the page responsive: up to {MAX_LAYERS} hidden layers of up to {MAX_UNITS} "
    f"units, {MAX_POINTS} points, 2-8 classes, maps of 16-200 cells a side; the network diagram "
    f"and the unit thumbnails show the first 32 units of each layer."
)

DEFAULT_LAYER = {"units": 4, "activation": "tanh", "init": "xavier", "batchnorm": False, "dropout": 0.0, "pieces": 2}

DEFAULTS = {
    "data": {"dataset": "circles", "classes": 2, "n": 500, "noise": 0.0, "train_ratio": 0.5, "seed": 0},
    "features": ["x1", "x2"],
    "model": {"layers": [dict(DEFAULT_LAYER, units=4), dict(DEFAULT_LAYER, units=2)], "loss": "mse", "seed": 0},
    "optim": {
        "optimizer": "sgd",
        "lr": 0.03,
        "momentum": 0.9,
        "schedule": "constant",
        "decay": 0.1,
        "batch_size": 10,
        "l1": 0.0,
        "l2": 0.0,
        "max_norm": 0.0,
    },
    "stop": {"target_loss": 0.0, "target_accuracy": 0.0, "max_epochs": 0},
    "view": {"grid": 100, "unit_grid": 32, "hidden_layer": 2, "hidden_units": [0, 1], "curve_every": 10},
}


def _num(lo, hi, *, integer=False, lo_open=False):
    def check(path, v):
        if isinstance(v, bool) or not isinstance(v, (int, float)) or (integer and not float(v).is_integer()):
            raise ValueError(f"{path} must be {'an integer' if integer else 'a number'}, got {v!r}")
        if not math.isfinite(v) or (v <= lo if lo_open else v < lo) or v > hi:
            raise ValueError(f"{path} must be in {'(' if lo_open else '['}{lo}, {hi}], got {v!r}")
        return int(v) if integer else float(v)

    return check


def _choice(options):
    def check(path, v):
        if v not in options:
            raise ValueError(f"{path} must be one of {list(options)}, got {v!r}")
        return v

    return check


def _bool(path, v):
    if not isinstance(v, bool):
        raise ValueError(f"{path} must be true or false, got {v!r}")
    return v


def _features(path, v):
    if not isinstance(v, (list, tuple)) or not v:
        raise ValueError(f"{path} must be a non-empty list drawn from {list(FEATURES)}, got {v!r}")
    for f in v:
        if f not in FEATURES:
            raise ValueError(f"{path}: unknown feature {f!r}; choose from {list(FEATURES)}")
    if len(set(v)) != len(v):
        raise ValueError(f"{path}: a feature is listed twice: {list(v)}")
    return [f for f in FEATURES if f in v]  # canonical order


def _layer(path, v):
    if not isinstance(v, dict):
        raise ValueError(f"{path} must be a dict with keys {sorted(DEFAULT_LAYER)}, got {v!r}")
    bad = set(v) - set(DEFAULT_LAYER)
    if bad:
        raise ValueError(f"{path}: unknown field(s) {sorted(bad)}; a layer has {sorted(DEFAULT_LAYER)}")
    out = dict(DEFAULT_LAYER, **v)
    out["units"] = _num(1, MAX_UNITS, integer=True)(f"{path}.units", out["units"])
    out["activation"] = _choice(ACTIVATIONS)(f"{path}.activation", out["activation"])
    out["init"] = _choice(INITS)(f"{path}.init", out["init"])
    out["batchnorm"] = _bool(f"{path}.batchnorm", out["batchnorm"])
    out["dropout"] = _num(0.0, 0.95)(f"{path}.dropout", out["dropout"])
    out["pieces"] = _num(2, 8, integer=True)(f"{path}.pieces", out["pieces"])
    return out


def _layers(path, v):
    if not isinstance(v, (list, tuple)) or len(v) > MAX_LAYERS:
        raise ValueError(f"{path} must be a list of at most {MAX_LAYERS} layers, got {v!r:.80}")
    return [_layer(f"{path}[{i}]", layer) for i, layer in enumerate(v)]


def _units(path, v):
    if not isinstance(v, (list, tuple)) or len(v) != 2:
        raise ValueError(f"{path} must be two unit indices, got {v!r}")
    return [_num(0, MAX_UNITS - 1, integer=True)(f"{path}[{i}]", u) for i, u in enumerate(v)]


# path -> (validator, kind)
SCHEMA = {
    "data.dataset": (_choice(DATASETS), "data"),
    "data.classes": (_num(2, 8, integer=True), "data"),
    "data.n": (_num(2, MAX_POINTS, integer=True), "data"),
    "data.noise": (_num(0.0, 2.0), "live"),
    "data.train_ratio": (_num(0.1, 0.9), "live"),
    "data.seed": (_num(0, 2**31 - 1, integer=True), "data"),
    "features": (_features, "model"),
    "model.layers": (_layers, "model"),
    "model.loss": (_choice(LOSSES), "model"),
    "model.seed": (_num(0, 2**31 - 1, integer=True), "model"),
    "optim.optimizer": (_choice(OPTIMIZERS), "model"),
    "optim.lr": (_num(0.0, 100.0, lo_open=True), "live"),
    "optim.momentum": (_num(0.0, 0.999), "live"),
    "optim.schedule": (_choice(SCHEDULES), "live"),
    "optim.decay": (_num(0.0, 10.0), "live"),
    "optim.batch_size": (_num(1, MAX_POINTS, integer=True), "live"),
    "optim.l1": (_num(0.0, 10.0), "live"),
    "optim.l2": (_num(0.0, 10.0), "live"),
    "optim.max_norm": (_num(0.0, 100.0), "live"),
    "stop.target_loss": (_num(0.0, 1e6), "live"),
    "stop.target_accuracy": (_num(0.0, 1.0), "live"),
    "stop.max_epochs": (_num(0, 10**7, integer=True), "live"),
    "view.grid": (_num(16, 200, integer=True), "live"),
    "view.unit_grid": (_num(8, 64, integer=True), "live"),
    "view.hidden_layer": (_num(0, MAX_LAYERS, integer=True), "live"),
    "view.hidden_units": (_units, "live"),
    "view.curve_every": (_num(1, 1000, integer=True), "live"),
}


def get(config: dict, path: str):
    node = config
    for part in path.split("."):
        node = node[part]
    return node


def _put(config: dict, path: str, value) -> None:
    *head, last = path.split(".")
    node = config
    for part in head:
        node = node[part]
    node[last] = value


def flatten(config: dict) -> dict:
    """{dotted path: value} for every known setting."""
    return {p: copy.deepcopy(get(config, p)) for p in SCHEMA}


def validate_settings(settings: dict, base: dict) -> tuple[dict, dict]:
    """Check ``settings`` ({dotted path: value}) against the schema and against each other (as applied
    on top of ``base``); returns (new config, {path: kind} of the settings that changed).
    Raises ValueError naming the setting; ``base`` is never modified."""
    if not isinstance(settings, dict):
        raise ValueError(f"settings must be a dict of {{'section.name': value}}, got {type(settings).__name__}")
    new = copy.deepcopy(base)
    changed = {}
    for path, value in settings.items():
        if path not in SCHEMA:
            raise ValueError(f"unknown setting {path!r}; known settings: {sorted(SCHEMA)}")
        check, kind = SCHEMA[path]
        v = check(path, value)
        if get(new, path) != v:
            _put(new, path, v)
            changed[path] = kind
    check_consistent(new)
    return new, changed


def check_consistent(config: dict) -> None:
    """Rules between settings (a data set's class count, the loss for regression, ...)."""
    d = config["data"]
    regression = d["dataset"] in REGRESSION_SETS
    if d["dataset"] in ("moons", "xor") and d["classes"] != 2:
        raise ValueError(
            f"data.classes: the {d['dataset']!r} set has 2 classes, got classes={d['classes']}; "
            f"spiral, circles, blobs and checkerboard take 2-8"
        )
    if regression and config["model"]["loss"] != "mse":
        raise ValueError(
            f"model.loss: the regression set {d['dataset']!r} is fitted with 'mse', got {config['model']['loss']!r}"
        )
    if d["dataset"] == "sine" and any(f.endswith("2)") or "x2" in f for f in config["features"]):
        raise ValueError(f"features: the 1-D set 'sine' has only x1; got {config['features']}")


def make_config(overrides: dict | None = None) -> dict:
    """The defaults with ``overrides`` (nested or dotted) applied and checked."""
    base = copy.deepcopy(DEFAULTS)
    if not overrides:
        return base
    new, _ = validate_settings(dotted(overrides), base)
    return new


def dotted(config: dict) -> dict:
    """A nested (possibly partial) configuration as {dotted path: value}; already dotted keys pass."""
    if not isinstance(config, dict):
        raise ValueError(f"a configuration must be a dict, got {type(config).__name__}")
    out = {}
    for key, value in config.items():
        if key in SCHEMA:
            out[key] = value
        elif isinstance(value, dict) and key in DEFAULTS and isinstance(DEFAULTS[key], dict):
            for k, v in value.items():
                out[f"{key}.{k}"] = v
        else:
            raise ValueError(f"unknown setting {key!r}; known sections: {sorted(DEFAULTS)}")
    return out
