"""Search spaces: which hyperparameters to try and on what scale.

Learning rate and regularization strength act multiplicatively on training, so they are drawn
log-uniformly (``lr = 10 ** uniform(-6, 1)``); dropout is drawn on its own scale; sizes are integers
or choices; batch sizes are powers of two.

A space is written one parameter per item, on the command line or in a JSON config::

    lr=log:1e-4,1e-1  l2=log:1e-6,1e-2  dropout=uniform:0,0.5  hidden=int:32,256
    optimizer=choice:sgd,adam  batch_size=pow2:16,128

Every parameter maps its value to a position ``u`` in [0, 1] on its own scale (``unit``), which
is what the boundary warning and range narrowing reason about.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

__all__ = [
    "Param",
    "LogUniform",
    "Uniform",
    "IntRange",
    "Choice",
    "PowerOfTwo",
    "SearchSpace",
    "parse_param",
    "default_space",
    "KINDS",
]


class Param:
    """One hyperparameter: a name, a range or choices, and a scale."""

    kind = "param"
    numeric = True
    name: str

    def suggest(self, trial):
        raise NotImplementedError

    def grid(self, n: int) -> list:
        raise NotImplementedError

    def unit(self, value) -> float:
        """Position of ``value`` in [0, 1] on this parameter's scale."""
        raise NotImplementedError

    def from_unit(self, u: float):
        raise NotImplementedError

    def narrowed(self, values, pad: float = 0.1) -> "Param":
        """The sub-range spanning ``values`` plus ``pad`` of this range's width on each side."""
        return self

    def spec(self) -> str:
        raise NotImplementedError

    def to_dict(self) -> dict:
        return {"name": self.name, "spec": self.spec()}

    def __str__(self) -> str:
        return f"{self.name}={self.spec()}"


def _check_range(name, kind, low, high, positive=False):
    if not (math.isfinite(low) and math.isfinite(high)) or not low < high:
        raise ValueError(f"search space: {name}={kind} needs low < high, got {low}, {high}")
    if positive and low <= 0:
        raise ValueError(f"search space: {name}={kind} is on a log scale and needs low > 0, got {low}")


@dataclass
class _Continuous(Param):
    name: str
    low: float
    high: float
    log = False

    def __post_init__(self):
        self.low, self.high = float(self.low), float(self.high)
        _check_range(self.name, self.kind, self.low, self.high, positive=self.log)

    def _t(self, v):
        return np.log10(v) if self.log else v

    def _inv(self, t):
        return 10.0**t if self.log else t

    def suggest(self, trial):
        return trial.suggest_float(self.name, self.low, self.high, log=self.log)

    def distribution(self):
        from optuna.distributions import FloatDistribution

        return FloatDistribution(self.low, self.high, log=self.log)

    def grid(self, n: int) -> list:
        return [float(self._inv(t)) for t in np.linspace(self._t(self.low), self._t(self.high), int(n))]

    def unit(self, value) -> float:
        a, b = self._t(self.low), self._t(self.high)
        return float((self._t(float(value)) - a) / (b - a))

    def from_unit(self, u: float):
        a, b = self._t(self.low), self._t(self.high)
        return float(self._inv(a + float(u) * (b - a)))

    def narrowed(self, values, pad: float = 0.1):
        us = [self.unit(v) for v in values]
        lo, hi = max(0.0, min(us) - pad), min(1.0, max(us) + pad)
        if hi - lo < 2 * pad:  # keep a usable width around a single point
            mid = (lo + hi) / 2
            lo, hi = max(0.0, mid - pad), min(1.0, mid + pad)
        return type(self)(self.name, self.from_unit(lo), self.from_unit(hi))

    def spec(self) -> str:
        return f"{self.kind}:{self.low:.10g},{self.high:.10g}"


class LogUniform(_Continuous):
    """log10(value) uniform in [log10(low), log10(high)]: learning rates, weight decay."""

    kind = "log"
    log = True

    def __init__(self, name, low, high):
        self.name, self.low, self.high = name, low, high
        self.__post_init__()


class Uniform(_Continuous):
    """value uniform in [low, high]: dropout, momentum."""

    kind = "uniform"

    def __init__(self, name, low, high):
        self.name, self.low, self.high = name, low, high
        self.__post_init__()


@dataclass
class IntRange(Param):
    """An integer in [low, high] (inclusive), on a log scale with ``log=True``: hidden sizes."""

    name: str
    low: int
    high: int
    log: bool = False
    kind = "int"

    def __post_init__(self):
        if int(self.low) != self.low or int(self.high) != self.high:
            raise ValueError(f"search space: {self.name}=int needs integer bounds, got {self.low}, {self.high}")
        self.low, self.high = int(self.low), int(self.high)
        _check_range(self.name, "int", self.low, self.high, positive=self.log)
        if self.log:
            self.kind = "logint"

    def suggest(self, trial):
        return trial.suggest_int(self.name, self.low, self.high, log=self.log)

    def distribution(self):
        from optuna.distributions import IntDistribution

        return IntDistribution(self.low, self.high, log=self.log)

    def _t(self, v):
        return np.log(v) if self.log else float(v)

    def grid(self, n: int) -> list:
        ts = np.linspace(self._t(self.low), self._t(self.high), int(n))
        vals = np.exp(ts) if self.log else ts
        return sorted({int(round(v)) for v in vals})

    def unit(self, value) -> float:
        a, b = self._t(self.low), self._t(self.high)
        return float((self._t(value) - a) / (b - a))

    def from_unit(self, u: float):
        a, b = self._t(self.low), self._t(self.high)
        t = a + float(u) * (b - a)
        return int(round(math.exp(t) if self.log else t))

    def narrowed(self, values, pad: float = 0.1):
        us = [self.unit(v) for v in values]
        lo, hi = self.from_unit(max(0.0, min(us) - pad)), self.from_unit(min(1.0, max(us) + pad))
        if hi <= lo:
            return self
        return IntRange(self.name, lo, hi, self.log)

    def spec(self) -> str:
        return f"{self.kind}:{self.low},{self.high}"


@dataclass
class Choice(Param):
    """One of a list of values (optimizer names, sizes); no order, no edges."""

    name: str
    choices: list = field(default_factory=list)
    kind = "choice"
    numeric = False

    def __post_init__(self):
        self.choices = list(self.choices)
        if not self.choices:
            raise ValueError(f"search space: {self.name}=choice needs at least one value")
        if len(set(map(repr, self.choices))) != len(self.choices):
            raise ValueError(f"search space: {self.name}=choice has repeated values {self.choices}")

    def suggest(self, trial):
        return trial.suggest_categorical(self.name, self.choices)

    def distribution(self):
        from optuna.distributions import CategoricalDistribution

        return CategoricalDistribution(self.choices)

    def grid(self, n: int) -> list:
        return list(self.choices)

    def unit(self, value) -> float:
        return float("nan")

    def narrowed(self, values, pad: float = 0.1):
        kept = [c for c in self.choices if c in list(values)]
        return Choice(self.name, kept or self.choices)

    def spec(self) -> str:
        return "choice:" + ",".join(str(c) for c in self.choices)


class PowerOfTwo(Choice):
    """A power of two in [low, high]: batch sizes. Ordered, so it has edges."""

    kind = "pow2"
    numeric = True

    def __init__(self, name, low, high):
        low, high = int(low), int(high)
        if low < 1 or high < low or low & (low - 1) or high & (high - 1):
            raise ValueError(f"search space: {name}=pow2 needs powers of two low <= high, got {low}, {high}")
        self.low, self.high = low, high
        super().__init__(name, [1 << k for k in range(low.bit_length() - 1, high.bit_length())])

    def unit(self, value) -> float:
        if self.low == self.high:
            return 0.5
        return float((math.log2(value) - math.log2(self.low)) / (math.log2(self.high) - math.log2(self.low)))

    def from_unit(self, u: float):
        a, b = math.log2(self.low), math.log2(self.high)
        return 1 << int(round(a + float(u) * (b - a)))

    def narrowed(self, values, pad: float = 0.1):
        return PowerOfTwo(self.name, min(values), max(values))

    def spec(self) -> str:
        return f"pow2:{self.low},{self.high}"


KINDS = {
    "log": LogUniform,
    "loguniform": LogUniform,
    "uniform": Uniform,
    "int": IntRange,
    "logint": lambda n, a, b: IntRange(n, a, b, log=True),
    "choice": Choice,
    "pow2": PowerOfTwo,
}


def _number(text: str, where: str):
    try:
        v = float(text)
    except ValueError:
        raise ValueError(f"search space: {where} expects numbers, got {text!r}") from None
    return int(v) if v.is_integer() and "." not in text and "e" not in text.lower() else v


def _choice_value(text: str):
    for conv in (int, float):
        try:
            return conv(text)
        except ValueError:
            pass
    return {"true": True, "false": False, "none": None}.get(text.lower(), text)


def parse_param(text: str) -> Param:
    """``name=kind:a,b`` with kind log|uniform|int|logint|pow2 (a range) or choice (values)."""
    if "=" not in text or ":" not in text.split("=", 1)[1]:
        raise ValueError(f"search space: expected NAME=KIND:ARGS such as lr=log:1e-4,1e-1, got {text!r}")
    name, rest = text.split("=", 1)
    kind, args = rest.split(":", 1)
    name, kind = name.strip(), kind.strip().lower()
    if not name.isidentifier():
        raise ValueError(f"search space: parameter name must be an identifier, got {name!r}")
    if kind not in KINDS:
        raise ValueError(f"search space: {name}: unknown kind {kind!r}; use one of {', '.join(KINDS)}")
    parts = [p.strip() for p in args.split(",") if p.strip()]
    if kind == "choice":
        return Choice(name, [_choice_value(p) for p in parts])
    if len(parts) != 2:
        raise ValueError(f"search space: {name}={kind} needs two bounds LOW,HIGH, got {args!r}")
    lo, hi = (_number(p, f"{name}={kind}") for p in parts)
    return KINDS[kind](name, lo, hi)


class SearchSpace:
    """An ordered set of parameters; samples through an Optuna trial."""

    def __init__(self, params=()):
        self.params: dict[str, Param] = {}
        for p in params:
            if p.name in self.params:
                raise ValueError(f"search space: parameter {p.name!r} given twice")
            self.params[p.name] = p

    @classmethod
    def parse(cls, items) -> "SearchSpace":
        """From ``["lr=log:1e-4,1e-1", ...]`` or one whitespace-separated string."""
        if isinstance(items, str):
            items = items.split()
        return cls(parse_param(t) for t in items)

    @classmethod
    def from_config(cls, config) -> "SearchSpace":
        """From a dict ``{"lr": "log:1e-4,1e-1", ...}``, a list of specs, or a JSON file path."""
        if isinstance(config, (str, Path)) and Path(config).suffix == ".json":
            with open(config, encoding="utf-8") as f:
                config = json.load(f)
            config = config.get("space", config) if isinstance(config, dict) else config
        if isinstance(config, dict):
            return cls(parse_param(f"{k}={v}") for k, v in config.items())
        return cls.parse(config)

    def to_config(self) -> dict:
        return {p.name: p.spec() for p in self.params.values()}

    def __iter__(self):
        return iter(self.params.values())

    def __len__(self):
        return len(self.params)

    def __contains__(self, name):
        return name in self.params

    def __getitem__(self, name) -> Param:
        return self.params[name]

    def __repr__(self):
        return "SearchSpace(" + " ".join(str(p) for p in self) + ")"

    def sample(self, trial) -> dict:
        return {p.name: p.suggest(trial) for p in self}

    def distributions(self) -> dict:
        return {p.name: p.distribution() for p in self}

    def grid(self, n_per_dim: int) -> dict:
        """Grid values per parameter (``n_per_dim`` points on each numeric scale)."""
        return {p.name: p.grid(n_per_dim) for p in self}

    def grid_size(self, n_per_dim: int) -> int:
        return int(np.prod([len(v) for v in self.grid(n_per_dim).values()]))

    def narrowed(self, configs, pad: float = 0.1) -> "SearchSpace":
        """Each range shrunk around the values in ``configs`` (dicts), ``pad`` of the width around."""
        configs = list(configs)
        if not configs:
            return self
        return SearchSpace(
            p.narrowed([c[p.name] for c in configs if p.name in c] or [p.from_unit(0.5)], pad)
            if p.name in configs[0]
            else p
            for p in self
        )


def default_space() -> SearchSpace:
    """Learning rate and L2 strength on log scales, dropout on its own: the three that matter most."""
    return SearchSpace([LogUniform("lr", 1e-4, 1e-1), LogUniform("l2", 1e-6, 1e-2), Uniform("dropout", 0.0, 0.6)])
