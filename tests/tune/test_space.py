"""Search spaces: parsing, scales, grids, narrowing, errors."""

import math

import numpy as np
import pytest

from nnlab.tune.space import Choice, IntRange, LogUniform, PowerOfTwo, SearchSpace, Uniform, default_space, parse_param


def test_parse_every_kind():
    s = SearchSpace.parse(
        "lr=log:1e-4,1e-1 l2=log:1e-6,1e-2 dropout=uniform:0,0.5 hidden=int:32,256 "
        "optimizer=choice:sgd,adam batch_size=pow2:16,128"
    )
    assert isinstance(s["lr"], LogUniform) and (s["lr"].low, s["lr"].high) == (1e-4, 1e-1)
    assert isinstance(s["dropout"], Uniform)
    assert isinstance(s["hidden"], IntRange) and (s["hidden"].low, s["hidden"].high) == (32, 256)
    assert isinstance(s["optimizer"], Choice) and s["optimizer"].choices == ["sgd", "adam"]
    assert isinstance(s["batch_size"], PowerOfTwo) and s["batch_size"].choices == [16, 32, 64, 128]
    # A config round trip gives the same space.
    again = SearchSpace.from_config(s.to_config())
    assert again.to_config() == s.to_config()


def test_log_scale_positions_and_grid():
    p = LogUniform("lr", 1e-4, 1e-1)
    assert p.unit(1e-4) == pytest.approx(0) and p.unit(1e-1) == pytest.approx(1)
    assert p.unit(10**-2.5) == pytest.approx(0.5)
    assert p.grid(4) == pytest.approx([1e-4, 1e-3, 1e-2, 1e-1])  # evenly spaced in log10
    assert Uniform("d", 0, 0.6).grid(4) == pytest.approx([0, 0.2, 0.4, 0.6])


def test_samples_are_log_uniform():
    optuna = pytest.importorskip("optuna", reason="the search runs on Optuna")
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    s = SearchSpace([LogUniform("lr", 1e-6, 1e1)])
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    vals = []
    for _ in range(400):
        t = study.ask()
        vals.append(s.sample(t)["lr"])
        study.tell(t, 0.0)
    exps = np.log10(vals)
    # Each decade gets about 1/7 of the samples: as many below 1e-3 as above 1e-2 (roughly).
    assert exps.min() >= -6 and exps.max() <= 1
    counts = np.histogram(exps, bins=7, range=(-6, 1))[0]
    assert counts.min() > 30, counts


def test_narrowing_keeps_the_best_inside_and_shrinks():
    s = default_space()
    best = [{"lr": 3e-3, "l2": 1e-5, "dropout": 0.2}, {"lr": 5e-3, "l2": 3e-5, "dropout": 0.3}]
    n = s.narrowed(best)
    for p in n:
        full = s[p.name]
        assert p.high - p.low < full.high - full.low
        for b in best:
            assert p.low <= b[p.name] <= p.high
    assert Choice("opt", ["sgd", "adam", "rmsprop"]).narrowed(["adam"]).choices == ["adam"]
    assert PowerOfTwo("bs", 16, 256).narrowed([32, 64]).choices == [32, 64]


@pytest.mark.parametrize(
    "text, words",
    [
        ("lr=log:0,1", "low > 0"),
        ("lr=uniform:1,0", "low < high"),
        ("lr", "NAME=KIND:ARGS"),
        ("lr=gauss:0,1", "unknown kind"),
        ("lr=log:1e-4", "two bounds"),
        ("bs=pow2:10,64", "powers of two"),
        ("h=int:1.5,4", "integer bounds"),
        ("x=log:a,b", "expects numbers"),
    ],
)
def test_bad_specs_say_what_is_wrong(text, words):
    with pytest.raises(ValueError, match=words):
        parse_param(text)


def test_repeated_name_rejected():
    with pytest.raises(ValueError, match="given twice"):
        SearchSpace.parse("lr=log:1e-3,1 lr=log:1e-4,1")
