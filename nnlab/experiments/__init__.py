"""The notes' claims as seeded experiments with figures and verdicts.

``nnlab experiments list`` / ``nnlab experiments run NAME [--quick] [--seeds K]`` on the command
line; in Python::

    from nnlab.experiments import run_experiment, names
    record = run_experiment("init", seeds=3, out_dir="runs/lab")
    record["verdict"]["status"]          # "holds", "does not hold" or "inconclusive"

The registry lives in ``registry``, the experiments in ``catalog`` (one module per topic of the
notes), the lab report in ``lab``. ``python -m nnlab.experiments.init_study`` still runs the
initialization study alone.
"""

from nnlab.experiments.registry import (
    FAILS,
    HOLDS,
    INCONCLUSIVE,
    REGISTRY,
    Experiment,
    Verdict,
    get,
    names,
    register,
    run_experiment,
    threshold_verdict,
)

__all__ = [
    "Experiment",
    "Verdict",
    "register",
    "REGISTRY",
    "get",
    "names",
    "run_experiment",
    "threshold_verdict",
    "HOLDS",
    "FAILS",
    "INCONCLUSIVE",
]
