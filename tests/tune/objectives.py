"""Objectives for the search tests: cheap synthetic ones, and a tiny network on the bundled digits.

Kept in a plain file so that worker processes can load them (``--objective FILE.py:NAME``).
"""

import json
import math
import os
import time

import numpy as np


def bowl(params, epochs=1, trial_dir=None, seed=0):
    """Peak at lr = 10**-2.5, l2 = 1e-4; more epochs score a little higher."""
    lr, l2 = params["lr"], params.get("l2", 1e-4)
    return {"val_accuracy": 1 - (math.log10(lr) + 2.5) ** 2 / 10 - (math.log10(l2) + 4) ** 2 / 100 + 0.01 * epochs}


def one_important(params, epochs=1, trial_dir=None, seed=0):
    """Only x matters (a sharp peak at x = 0.37); y is noise in the space (Bergstra and Bengio)."""
    return {"val_accuracy": math.exp(-(((params["x"] - 0.37) / 0.05) ** 2))}


def upper_edge(params, epochs=1, trial_dir=None, seed=0):
    """Keeps improving as lr grows: the best lies beyond the top of any range below 1."""
    return {"val_accuracy": math.log10(params["lr"]) / 10 + 1 - 0.001 * params.get("dropout", 0)}


def logged_sleepy(params, epochs=1, trial_dir=None, seed=0):
    """``bowl`` after a pause, logging start/end of every call to $NNLAB_TEST_LOG."""
    log = os.environ["NNLAB_TEST_LOG"]
    key = json.dumps(params, sort_keys=True)
    with open(log, "a") as f:
        f.write(f"start {os.getpid()} {key}\n")
    # $NNLAB_TEST_BARRIER=K: no trial ends before K processes have started one (so that a test
    # of K workers does not depend on how fast a loaded machine starts them).
    barrier, t0 = int(os.environ.get("NNLAB_TEST_BARRIER", "0")), time.time()
    while barrier and time.time() - t0 < 120:
        with open(log) as f:
            if len({line.split()[1] for line in f if line.startswith("start ")}) >= barrier:
                break
        time.sleep(0.05)
    time.sleep(float(os.environ.get("NNLAB_TEST_SLEEP", "0.3")))
    out = bowl(params, epochs)
    with open(log, "a") as f:
        f.write(f"end {os.getpid()} {key}\n")
    return out


_DATA = {}


def tiny_digits(params, epochs=1, trial_dir=None, seed=0, n_train=1000):
    """A 784-32-10 ReLU net, plain SGD with L2, on the first ``n_train`` bundled digits; dev accuracy."""
    import nnlab
    from nnlab import nn, optim
    from nnlab.data import load_dataset
    from nnlab.train import Trainer

    if "d" not in _DATA:
        _DATA["d"] = load_dataset("mnist5k", seed=0)
    d = _DATA["d"]
    nnlab.manual_seed(seed % 7)
    model = nn.Sequential(nn.Flatten(), nn.Linear(784, 32), nn.ReLU(), nn.Linear(32, 10))
    tr = Trainer(
        model,
        nn.CrossEntropyLoss(),
        optim.SGD(model.parameters(), lr=params["lr"]),
        regularizer=nn.Regularizer(l2=params["l2"]),
        seed=0,
    )
    with np.errstate(all="ignore"):
        tr.fit((d.train.X[:n_train], d.train.y[:n_train]), None, epochs=epochs, batch_size=50)
        res = tr.evaluate(d.dev)
    acc = res.get("accuracy", 0.0)
    return {"val_accuracy": acc if math.isfinite(res["loss"]) else 0.0}
