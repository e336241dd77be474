"""Weight initializers. Each fills a Parameter (or Tensor) in place and returns it.

Random draws come from nnlab's seeded generator (``nnlab.manual_seed``) unless ``rng`` is given,
and keep the tensor's dtype. Fans follow PyTorch's layouts: a Linear weight is (out, in); a conv
weight is (out, in, kh, kw), so fan_in = in * kh * kw and fan_out = out * kh * kw.

Why the scales: a unit summing n inputs of unit variance with weights of variance s^2 has output
variance n s^2; s = 1/sqrt(n) keeps it at 1 (LeCun / the notes' "1/sqrt(n)"), and s = sqrt(2/n)
compensates for ReLU zeroing half of its inputs (He et al.).
"""

from __future__ import annotations

import math

import numpy as np

from nnlab.engine import random as nrandom
from nnlab.engine.tensor import Tensor

__all__ = [
    "fan_in",
    "fan_out",
    "calculate_fans",
    "small_random_",
    "xavier_",
    "lecun_",
    "xavier_uniform_",
    "xavier_normal_",
    "he_",
    "kaiming_normal_",
    "sparse_",
    "zeros_",
    "ones_",
    "constant_",
    "normal_",
    "uniform_",
    "init_weight_",
]


def _check(t, name):
    if not isinstance(t, Tensor):
        raise TypeError(f"init.{name}: expected a Parameter or Tensor, got {type(t).__name__}")
    if t.data.dtype.kind != "f":
        raise TypeError(f"init.{name}: expected a floating-point tensor, got dtype {t.data.dtype}")


def _rng(rng):
    return rng if rng is not None else nrandom.get_rng()


def calculate_fans(shape) -> tuple[int, int]:
    """(fan_in, fan_out) of a weight of shape (out, in, *kernel)."""
    shape = tuple(shape)
    if len(shape) < 2:
        raise ValueError(
            f"init: fan_in/fan_out need a weight with at least 2 dimensions (out, in, ...), got shape {shape}"
        )
    receptive = int(np.prod(shape[2:])) if len(shape) > 2 else 1
    return shape[1] * receptive, shape[0] * receptive


def fan_in(t) -> int:
    return calculate_fans(t.shape)[0]


def fan_out(t) -> int:
    return calculate_fans(t.shape)[1]


def _fill_normal(t, std, rng, mean=0.0):
    r = _rng(rng)
    t.data[...] = (mean + std * r.standard_normal(t.shape)).astype(t.data.dtype, copy=False)
    return t


def normal_(t, mean: float = 0.0, std: float = 1.0, rng=None):
    """N(mean, std^2) entries."""
    _check(t, "normal_")
    return _fill_normal(t, std, rng, mean)


def uniform_(t, a: float = 0.0, b: float = 1.0, rng=None):
    """U(a, b) entries."""
    _check(t, "uniform_")
    t.data[...] = _rng(rng).uniform(a, b, t.shape).astype(t.data.dtype, copy=False)
    return t


def constant_(t, value: float):
    _check(t, "constant_")
    t.data[...] = value
    return t


def zeros_(t):
    """Zeros: the usual bias initialization (the notes: biases start at 0; asymmetry comes from
    the random weights)."""
    return constant_(t, 0.0)


def ones_(t):
    return constant_(t, 1.0)


def small_random_(t, std: float = 0.01, rng=None):
    """0.01 * N(0, 1): the notes' first attempt; fine for small nets, signals shrink in deep ones."""
    _check(t, "small_random_")
    return _fill_normal(t, std, rng)


def xavier_(t, rng=None):
    """N(0, 1) / sqrt(fan_in): the notes' calibrated variance (LeCun; called Xavier in the notes).
    Output variance matches input variance for linear/tanh units."""
    _check(t, "xavier_")
    return _fill_normal(t, 1.0 / math.sqrt(fan_in(t)), rng)


lecun_ = xavier_


def xavier_uniform_(t, gain: float = 1.0, rng=None):
    """Glorot uniform: U(-a, a), a = gain * sqrt(6 / (fan_in + fan_out))."""
    _check(t, "xavier_uniform_")
    fi, fo = calculate_fans(t.shape)
    a = gain * math.sqrt(6.0 / (fi + fo))
    return uniform_(t, -a, a, rng)


def xavier_normal_(t, gain: float = 1.0, rng=None):
    """Glorot normal: N(0, 2 / (fan_in + fan_out)) times gain^2."""
    _check(t, "xavier_normal_")
    fi, fo = calculate_fans(t.shape)
    return _fill_normal(t, gain * math.sqrt(2.0 / (fi + fo)), rng)


def he_(t, rng=None):
    """N(0, 1) * sqrt(2 / fan_in): He initialization, the notes' recommendation for ReLU layers."""
    _check(t, "he_")
    return _fill_normal(t, math.sqrt(2.0 / fan_in(t)), rng)


kaiming_normal_ = he_


def sparse_(t, connections: int = 10, std: float | None = None, rng=None):
    """Sparse init: each unit (row) gets exactly ``connections`` non-zero incoming weights at random
    input positions, drawn from N(0, std^2); every other weight is 0. ``std`` defaults to
    1/sqrt(connections), the 1/sqrt(n) rule for the unit's actual fan-in."""
    _check(t, "sparse_")
    if t.ndim < 2:
        raise ValueError(f"init.sparse_: expected a weight of shape (out, in, ...), got {t.shape}")
    rows = t.shape[0]
    cols = int(np.prod(t.shape[1:]))
    if not 1 <= connections <= cols:
        raise ValueError(f"init.sparse_: connections must lie in [1, {cols}] (the fan-in), got {connections}")
    r = _rng(rng)
    if std is None:
        std = 1.0 / math.sqrt(connections)
    # A random permutation per row (argsort of uniform keys); its first k columns are the inputs.
    chosen = np.argsort(r.random((rows, cols)), axis=1)[:, :connections]
    w = np.zeros((rows, cols), dtype=t.data.dtype)
    np.put_along_axis(w, chosen, (std * r.standard_normal((rows, connections))).astype(w.dtype), axis=1)
    t.data[...] = w.reshape(t.shape)
    return t


_BY_NAME = {
    "he": he_,
    "kaiming": he_,
    "xavier": xavier_,
    "lecun": xavier_,
    "glorot": xavier_uniform_,
    "xavier_uniform": xavier_uniform_,
    "xavier_normal": xavier_normal_,
    "small": small_random_,
    "small_random": small_random_,
    "sparse": sparse_,
}


def init_weight_(t, how="he", rng=None):
    """Initialize by name ("he", "xavier"/"lecun", "glorot"/"xavier_uniform", "xavier_normal",
    "small", "sparse") or by a callable ``f(t)``."""
    if callable(how):
        how(t)
        return t
    if how not in _BY_NAME:
        raise ValueError(f"init: unknown initializer {how!r}; choose one of {sorted(_BY_NAME)} or pass a callable")
    return _BY_NAME[how](t, rng=rng)


# ---- PyTorch's default initialization, as an opt-in ------------------------------------------
# nnlab's layers default to the notes' He init, N(0, 2/fan_in); PyTorch's Linear and Conv2d draw
# U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for weight and bias (kaiming_uniform with a = sqrt(5)), a
# standard deviation 1/sqrt(3 fan_in), sqrt(6) ~ 2.45x smaller than He's. To reproduce torch
# programs' numbers, ``nnlab.set_default_init("torch")`` switches layers built with their default
# ``init`` to torch's scheme ("nnlab" switches back); an ``init=`` other than the layer's default wins.
_DEFAULT_INIT = ["nnlab"]


def set_default_init(scheme: str) -> None:
    """ "torch": layers created afterwards with their default ``init`` use PyTorch's default
    initialization (weights and biases U(-1/sqrt(fan_in), 1/sqrt(fan_in))); "nnlab": the notes'."""
    if scheme not in ("nnlab", "torch"):
        raise ValueError(f"set_default_init: scheme must be 'nnlab' or 'torch', got {scheme!r}")
    _DEFAULT_INIT[0] = scheme


def default_init() -> str:
    return _DEFAULT_INIT[0]


def torch_default_(weight, bias=None, rng=None):
    """PyTorch's Linear/Conv2d reset_parameters: weight and bias U(-b, b), b = 1/sqrt(fan_in)."""
    _check(weight, "torch_default_")
    bound = 1.0 / math.sqrt(fan_in(weight)) if fan_in(weight) > 0 else 0.0
    r = _rng(rng)
    weight.data[...] = r.uniform(-bound, bound, weight.shape).astype(weight.data.dtype, copy=False)
    if bias is not None:
        bias.data[...] = r.uniform(-bound, bound, bias.shape).astype(bias.data.dtype, copy=False)
    return weight


__all__ += ["set_default_init", "default_init", "torch_default_"]
