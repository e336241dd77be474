"""Data preprocessing whose statistics come from the training split only.

Each preprocessor learns its statistics in ``fit`` and applies them unchanged in ``transform``,
so dev/test data go through exactly the training transformation. ``fit`` refuses a dataset
tagged "dev" or "test" unless ``allow_non_train=True`` is passed: computing the mean (or PCA basis)
over all data and then splitting is the classic leak this design rules out.

Inputs may have any shape (N, ...): features are flattened internally; element-wise
preprocessors restore the shape, PCA/Whiten return (N, k).
Statistics are computed in float64; outputs keep a float64 input's dtype, else float32.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from .datasets import ArrayDataset, DatasetSplits

__all__ = [
    "Preprocessor",
    "MeanSubtract",
    "Standardize",
    "MinMaxScale",
    "PCA",
    "Whiten",
    "Pipeline",
    "preprocessor_from_state",
]


def _training_array(data, allow_non_train: bool, who: str) -> np.ndarray:
    """The array to learn statistics from, refusing dev/test data unless explicitly allowed."""
    if isinstance(data, DatasetSplits):
        data = data.train
    if isinstance(data, ArrayDataset):
        if data.role not in ("train", None) and not allow_non_train:
            raise ValueError(
                f"{who}.fit: got the {data.role!r} split; statistics must come from the training "
                f"split only (fit on splits.train, then transform dev/test), or pass "
                f"allow_non_train=True if this is really intended"
            )
        X = data.X
    elif isinstance(data, tuple) and len(data) == 2:
        X = data[0]
    else:
        X = data
    X = np.asarray(X)
    if X.dtype.kind not in "iufb":
        raise TypeError(f"{who}.fit: expected numeric data, got dtype {X.dtype}")
    if X.ndim < 2 or len(X) == 0:
        raise ValueError(f"{who}.fit: expected X of shape (N, features...) with N >= 1, got {X.shape}")
    return X


def _out_dtype(X: np.ndarray):
    return np.float64 if X.dtype == np.float64 else np.float32


class Preprocessor:
    """Base: ``fit(data)`` learns statistics, ``transform(X)`` applies them."""

    #: parameter names saved in state_dict and passed back to __init__
    _params: tuple[str, ...] = ()
    #: fitted array attributes saved in state_dict
    _stats: tuple[str, ...] = ()

    def __init__(self):
        self.feature_shape: tuple[int, ...] | None = None

    @property
    def fitted(self) -> bool:
        return self.feature_shape is not None

    def fit(self, data, allow_non_train: bool = False):
        X = _training_array(data, allow_non_train, type(self).__name__)
        self.feature_shape = tuple(X.shape[1:])
        self._fit(X.astype(np.float64))
        return self

    def transform(self, X) -> np.ndarray:
        name = type(self).__name__
        if not self.fitted:
            raise RuntimeError(f"{name}.transform: call fit(train) first")
        if isinstance(X, ArrayDataset):
            X = X.X
        X = np.asarray(X)
        if tuple(X.shape[1:]) != self.feature_shape:
            raise ValueError(
                f"{name}.transform: expected samples of shape {self.feature_shape} "
                f"(as in fit), got X of shape {X.shape}"
            )
        return self._transform(X.astype(np.float64)).astype(_out_dtype(X), copy=False)

    def fit_transform(self, data, allow_non_train: bool = False) -> np.ndarray:
        self.fit(data, allow_non_train=allow_non_train)
        X = data.train.X if isinstance(data, DatasetSplits) else data
        return self.transform(X[0] if isinstance(X, tuple) else X)

    def __call__(self, X) -> np.ndarray:
        return self.transform(X)

    def apply(self, data):
        """Transform an ArrayDataset (keeping its role and class names), every split of a
        DatasetSplits (input_shape updated), or a plain array. Fit first, on the training split."""
        if isinstance(data, DatasetSplits):
            parts = [self.apply(d) for d in data]
            return DatasetSplits(
                *parts,
                num_classes=data.num_classes,
                input_shape=parts[0].input_shape,
                name=data.name,
                class_names=data.class_names,
            )
        if isinstance(data, ArrayDataset):
            return ArrayDataset(self.transform(data.X), data.y, role=data.role, class_names=data.class_names)
        return self.transform(data)

    # subclasses -------------------------------------------------------------------------
    def _fit(self, X: np.ndarray) -> None:
        raise NotImplementedError

    def _transform(self, X: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    # checkpoints ------------------------------------------------------------------------
    def state_dict(self) -> dict:
        state = {
            "type": type(self).__name__,
            "params": {k: getattr(self, k) for k in self._params},
            "feature_shape": None if self.feature_shape is None else list(self.feature_shape),
        }
        if self.fitted:
            state["stats"] = {k: np.array(getattr(self, k)) for k in self._stats}
        return state

    def load_state_dict(self, state: dict) -> None:
        shape = state.get("feature_shape")
        self.feature_shape = None if shape is None else tuple(int(s) for s in shape)
        for k in self._stats:
            setattr(self, k, np.array(state["stats"][k]) if self.fitted else None)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={getattr(self, k)!r}" for k in self._params)
        return f"{type(self).__name__}({args})"


_PER = ("feature", "channel", "global")


def _reduce_axes(shape: tuple[int, ...], per: str) -> tuple[int, ...]:
    """Axes of X (N, ...) averaged over: the samples (per feature), also space (per channel of
    NCHW images), or everything (one number)."""
    if per == "feature":
        return (0,)
    if per == "channel":
        return (0,) + tuple(range(2, len(shape) + 1))
    return tuple(range(len(shape) + 1))


class MeanSubtract(Preprocessor):
    """x - mean, the mean taken over the training samples.

    ``per``: "feature" (one mean per input dimension), "channel" (one per channel of NCHW images)
    or "global" (a single number).
    """

    _params = ("per",)
    _stats = ("mean",)

    def __init__(self, per: str = "feature"):
        super().__init__()
        if per not in _PER:
            raise ValueError(f"{type(self).__name__}: per must be one of {_PER}, got {per!r}")
        self.per = per
        self.mean = None

    def _fit(self, X):
        if self.per == "channel" and X.ndim < 3:
            raise ValueError(f"{type(self).__name__}: per='channel' needs images (N, C, ...), got {X.shape}")
        self.mean = X.mean(axis=_reduce_axes(X.shape[1:], self.per), keepdims=True)[0]

    def _transform(self, X):
        return X - self.mean

    def inverse_transform(self, Z):
        return np.asarray(Z) + self.mean


class Standardize(MeanSubtract):
    """(x - mean) / sqrt(var + eps): zero mean, unit variance per feature (or channel/globally).

    A feature that is constant on the training data (an always-blank border pixel) is only
    centred (scale 1): dividing by sqrt(eps) would turn one stray dev/test value into thousands.
    """

    _params = ("eps", "per")
    _stats = ("mean", "std")

    def __init__(self, eps: float = 1e-8, per: str = "feature"):
        super().__init__(per=per)
        if not eps >= 0:
            raise ValueError(f"Standardize: eps must be >= 0, got {eps!r}")
        self.eps = float(eps)
        self.std = None

    def _fit(self, X):
        super()._fit(X)
        var = X.var(axis=_reduce_axes(X.shape[1:], self.per), keepdims=True)[0]
        self.std = np.where(var > 0, np.sqrt(var + self.eps), 1.0)

    def _transform(self, X):
        return (X - self.mean) / self.std

    def inverse_transform(self, Z):
        return np.asarray(Z) * self.std + self.mean


class MinMaxScale(Preprocessor):
    """Map each feature's training range [min, max] linearly onto [low, high] (default [-1, 1]).

    A feature constant on the training data maps to the middle of [low, high].
    """

    _params = ("low", "high")
    _stats = ("data_min", "data_max")

    def __init__(self, low: float = -1.0, high: float = 1.0):
        super().__init__()
        if not low < high:
            raise ValueError(f"MinMaxScale: need low < high, got low={low!r}, high={high!r}")
        self.low, self.high = float(low), float(high)
        self.data_min = self.data_max = None

    def _fit(self, X):
        self.data_min, self.data_max = X.min(axis=0), X.max(axis=0)

    def _transform(self, X):
        span = self.data_max - self.data_min
        scale = np.where(span > 0, (self.high - self.low) / np.where(span > 0, span, 1.0), 0.0)
        base = np.where(span > 0, self.low, 0.5 * (self.low + self.high))
        return base + (X - self.data_min) * scale


class PCA(Preprocessor):
    """Project centred data onto the top principal directions: X_rot = (X - mean) @ U[:, :k].

    U and the variances S come from the SVD of the training covariance (X^T X / N, centred X). The columns
    of the result are uncorrelated (diagonal covariance, variances S[:k]).

    ``n_components``: an int k, a float f in (0, 1] (the fewest components keeping at least that
    fraction of the variance), or None (all).
    Attributes after fit: ``components_`` (D, k), ``explained_variance_`` (k,),
    ``explained_variance_ratio_`` (k,), ``retained_variance`` (their sum), ``n_components_``.
    """

    _params = ("n_components",)
    _stats = ("mean", "components_", "explained_variance_", "total_variance")

    def __init__(self, n_components: int | float | None = None):
        super().__init__()
        nc = n_components
        if nc is not None:
            if isinstance(nc, bool) or not isinstance(nc, (int, float, np.integer, np.floating)):
                raise TypeError(
                    f"{type(self).__name__}: n_components must be an int, a float in (0, 1] or None, got {nc!r}"
                )
            if isinstance(nc, (int, np.integer)) and nc < 1:
                raise ValueError(f"{type(self).__name__}: n_components must be >= 1, got {nc}")
            if isinstance(nc, (float, np.floating)) and not 0 < nc <= 1:
                raise ValueError(
                    f"{type(self).__name__}: a float n_components is a variance fraction in (0, 1], got {nc}"
                )
        self.n_components = nc
        self.mean = self.components_ = self.explained_variance_ = self.total_variance = None

    def _fit(self, X):
        X = X.reshape(len(X), -1)
        d = X.shape[1]
        self.mean = X.mean(axis=0)
        Xc = X - self.mean
        cov = Xc.T @ Xc / len(X)
        # cov is symmetric PSD: its eigendecomposition is its SVD, and eigh is the fast way there.
        S, U = np.linalg.eigh(cov)
        S, U = np.clip(S[::-1], 0.0, None), U[:, ::-1]  # descending variance
        # Deterministic signs: the largest-magnitude entry of each direction is positive.
        signs = np.sign(U[np.argmax(np.abs(U), axis=0), np.arange(d)])
        U = U * np.where(signs == 0, 1.0, signs)
        total = float(S.sum())
        nc = self.n_components
        if nc is None:
            k = d
        elif isinstance(nc, (int, np.integer)):
            if nc > d:
                raise ValueError(f"{type(self).__name__}: n_components={nc} exceeds the {d} input features")
            k = int(nc)
        else:
            ratio = np.cumsum(S) / total if total > 0 else np.ones(d)
            k = int(min(np.searchsorted(ratio, nc - 1e-12) + 1, d))
        self.components_ = U[:, :k]
        self.explained_variance_ = S[:k]
        self.total_variance = np.array(total)

    @property
    def n_components_(self) -> int:
        return self.components_.shape[1]

    @property
    def explained_variance_ratio_(self) -> np.ndarray:
        total = float(self.total_variance)
        return self.explained_variance_ / total if total > 0 else np.zeros_like(self.explained_variance_)

    @property
    def retained_variance(self) -> float:
        """Fraction of the training variance kept by the chosen components."""
        return float(self.explained_variance_ratio_.sum())

    def _transform(self, X):
        return (X.reshape(len(X), -1) - self.mean) @ self.components_

    def inverse_transform(self, Z) -> np.ndarray:
        """Back to the input space (a low-rank reconstruction when k < D)."""
        Z = np.asarray(Z, dtype=np.float64)
        return (Z @ self.components_.T + self.mean).reshape((len(Z),) + self.feature_shape)

    def __repr__(self) -> str:
        extra = f", retained_variance={self.retained_variance:.4f}" if self.fitted else ""
        return f"{type(self).__name__}(n_components={self.n_components!r}{extra})"


class Whiten(PCA):
    """PCA whitening: X_white = X_rot / sqrt(S + eps), so the covariance is diag(S / (S + eps)),
    the identity up to eps. A larger eps smooths (it stops the low-variance, mostly-noise
    directions from being blown up to unit variance)."""

    _params = ("n_components", "eps")

    def __init__(self, n_components: int | float | None = None, eps: float = 1e-5):
        super().__init__(n_components)
        if not eps >= 0:
            raise ValueError(f"Whiten: eps must be >= 0, got {eps!r}")
        self.eps = float(eps)

    def _transform(self, X):
        return super()._transform(X) / np.sqrt(self.explained_variance_ + self.eps)

    def inverse_transform(self, Z) -> np.ndarray:
        Z = np.asarray(Z, dtype=np.float64) * np.sqrt(self.explained_variance_ + self.eps)
        return super().inverse_transform(Z)

    def __repr__(self) -> str:
        return super().__repr__()[:-1] + f", eps={self.eps!r})"


class Pipeline(Preprocessor):
    """Steps fitted in order, each on the previous step's output of the training data."""

    def __init__(self, steps: Sequence[Preprocessor]):
        super().__init__()
        steps = list(steps)
        for i, s in enumerate(steps):
            if not isinstance(s, Preprocessor):
                raise TypeError(f"Pipeline: step {i} must be a Preprocessor, got {type(s).__name__}")
        self.steps = steps

    def fit(self, data, allow_non_train: bool = False):
        X = _training_array(data, allow_non_train, "Pipeline")
        self.feature_shape = tuple(X.shape[1:])
        for s in self.steps:
            X = s.fit(X).transform(X)
        return self

    def _transform(self, X):
        for s in self.steps:
            X = s.transform(X)
        return X

    def transform(self, X) -> np.ndarray:
        if isinstance(X, ArrayDataset):
            X = X.X
        X = np.asarray(X)
        if not self.fitted:
            raise RuntimeError("Pipeline.transform: call fit(train) first")
        if tuple(X.shape[1:]) != self.feature_shape:
            raise ValueError(
                f"Pipeline.transform: expected samples of shape {self.feature_shape}, got X of shape {X.shape}"
            )
        return self._transform(X).astype(_out_dtype(X), copy=False)

    def state_dict(self) -> dict:
        return {
            "type": "Pipeline",
            "params": {},
            "steps": [s.state_dict() for s in self.steps],
            "feature_shape": None if self.feature_shape is None else list(self.feature_shape),
        }

    def load_state_dict(self, state: dict) -> None:
        self.steps = [preprocessor_from_state(s) for s in state["steps"]]
        shape = state.get("feature_shape")
        self.feature_shape = None if shape is None else tuple(int(s) for s in shape)

    def __repr__(self) -> str:
        return "Pipeline([" + ", ".join(map(repr, self.steps)) + "])"


_REGISTRY = {c.__name__: c for c in (MeanSubtract, Standardize, MinMaxScale, PCA, Whiten)}


def preprocessor_from_state(state: dict) -> Preprocessor:
    """Rebuild any preprocessor (fitted or not) from its ``state_dict()``, e.g. from a checkpoint."""
    if not isinstance(state, dict) or "type" not in state:
        raise ValueError("preprocessor_from_state: expected a dict from Preprocessor.state_dict() with a 'type' key")
    kind = state["type"]
    if kind == "Pipeline":
        p = Pipeline([])
    elif kind in _REGISTRY:
        p = _REGISTRY[kind](**state.get("params", {}))
    else:
        raise ValueError(f"preprocessor_from_state: unknown type {kind!r}; known: Pipeline, {', '.join(_REGISTRY)}")
    p.load_state_dict(state)
    return p
