"""The update rules exactly as the notes write them: the oracle for the fast in-place versions.

Each rule has one shape, ``update(x, dx, config) -> (next_x, config)``: ``config`` holds the
hyperparameters and the rule's running state (velocity, caches, step count), created on the first
call. The arithmetic is the notes' equations line for line, on fresh arrays, with no concern for
speed. ``nnlab.optim`` runs the same rules in place, fused and with scratch buffers
(``sgd.py``, ``adagrad.py``, ``rmsprop.py``, ``adam.py``); the tests check that both give the same
trajectory. Use these to read the algorithms or to try a variant; train with ``nnlab.optim``.
"""

from __future__ import annotations

import numpy as np

__all__ = ["sgd", "sgd_momentum", "nesterov_momentum", "adagrad", "rmsprop", "adam"]


def sgd(x, dx, config):
    """Vanilla update: step down the gradient. config: learning_rate."""
    x = x + -config["learning_rate"] * dx
    return x, config


def sgd_momentum(x, dx, config):
    """Momentum: the gradient changes a velocity, the velocity changes the position.

    config: learning_rate, momentum (mu, 0.5-0.99); state: velocity (starts at 0).
    """
    mu, lr = config["momentum"], config["learning_rate"]
    v = config.get("velocity", np.zeros_like(x))
    v = mu * v - lr * dx  # integrate velocity
    x = x + v  # integrate position
    config["velocity"] = v
    return x, config


def nesterov_momentum(x, dx, config):
    """Nesterov momentum in the notes' look-ahead form (``x`` is the stored look-ahead point).

    config: learning_rate, momentum; state: velocity.
    """
    mu, lr = config["momentum"], config["learning_rate"]
    v = config.get("velocity", np.zeros_like(x))
    v_prev = v
    v = mu * v - lr * dx
    x = x + (-mu * v_prev + (1 + mu) * v)
    config["velocity"] = v
    return x, config


def adagrad(x, dx, config):
    """Adagrad: each element's step is divided by the root of its summed squared gradients.

    config: learning_rate, eps; state: cache (starts at 0).
    """
    cache = config.get("cache", np.zeros_like(x))
    cache = cache + dx**2
    x = x + -config["learning_rate"] * dx / (np.sqrt(cache) + config["eps"])
    config["cache"] = cache
    return x, config


def rmsprop(x, dx, config):
    """RMSprop: Adagrad with a leaky average of squared gradients.

    config: learning_rate, decay_rate, eps; state: cache (starts at 0).
    """
    decay_rate = config["decay_rate"]
    cache = config.get("cache", np.zeros_like(x))
    cache = decay_rate * cache + (1 - decay_rate) * dx**2
    x = x + -config["learning_rate"] * dx / (np.sqrt(cache) + config["eps"])
    config["cache"] = cache
    return x, config


def adam(x, dx, config):
    """Adam with bias correction.

    config: learning_rate, beta1, beta2, eps; state: m, v (start at 0), t (updates so far).
    """
    beta1, beta2 = config["beta1"], config["beta2"]
    m = config.get("m", np.zeros_like(x))
    v = config.get("v", np.zeros_like(x))
    t = config.get("t", 0) + 1
    m = beta1 * m + (1 - beta1) * dx
    v = beta2 * v + (1 - beta2) * dx**2
    mt = m / (1 - beta1**t)
    vt = v / (1 - beta2**t)
    x = x + -config["learning_rate"] * mt / (np.sqrt(vt) + config["eps"])
    config.update(m=m, v=v, t=t)
    return x, config
