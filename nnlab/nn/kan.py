"""Kolmogorov-Arnold layers: a learnable 1-D function on every edge instead of a weight.

``KANLinear(in, out)`` computes y_j = sum_i phi_ji(x_i) with

    phi_ji(x) = base_weight[j, i] * b(x) + spline_scaler[j, i] * sum_m spline_weight[j, i, m] B_m(x)

(b = SiLU by default, B_m the degree-k B-splines on a grid of G intervals over ``grid_range``, k
extra knots on each side), as one fused engine op. ``KAN(width)`` stacks them, like pykan's
``KAN(width=[2, 5, 1])``. Both keep the parts that make KANs readable: grids fitted to the data
(``update_grid``), finer grids with the function kept (``refine``), the sparsity regularizers
(``regularization``), pruning, one plotted curve per edge, and a symbolic fit of each edge
(``auto_symbolic``, see nnlab/nn/kan_symbolic.py).

Inputs outside ``grid_range``. The grid is extended by k knots of the same spacing on each side, as
in pykan, so inputs a little outside the range still get a smooth spline; beyond the outermost
extension knot every basis is 0 and only the base branch b(x) acts. That is the default,
``out_of_range="extend"``. ``out_of_range="error"`` raises instead, naming the layer and the values,
for users who want to know (call ``update_grid(x)`` to move the grid to the data). Layers stacked
after a KAN layer usually see values outside (-1, 1); pykan moves the grids during the first
training steps (``KAN.update_grid``), and so can you.

Changing the grid changes the number of spline coefficients (``refine``) or their meaning
(``update_grid``): make a new optimizer afterwards, as with pykan's ``fit``.
"""

from __future__ import annotations

import inspect
import weakref

import numpy as np

from nnlab.engine import ops
from nnlab.engine.autograd import no_grad
from nnlab.engine.random import get_rng
from nnlab.engine.ops.spline import BASES, bspline_basis
from nnlab.engine.tensor import Tensor
from nnlab.nn.container import ModuleList
from nnlab.nn.module import Module
from nnlab.nn.parameter import Parameter

__all__ = ["KANLinear", "KAN", "kan_layers", "kan_regularization"]


def _extend(points: np.ndarray, k: int) -> np.ndarray:
    """Grid points (in, G + 1) -> knots (in, G + 2k + 1): k more on each side, spaced
    (last - first) / G like the grid's mean interval."""
    h = (points[:, -1:] - points[:, :1]) / (points.shape[1] - 1)
    steps = np.arange(1, k + 1, dtype=points.dtype)
    return np.concatenate([points[:, :1] - h * steps[::-1], points, points[:, -1:] + h * steps], axis=1)


def _lstsq(A: np.ndarray, Y: np.ndarray) -> np.ndarray:
    """Least squares per input: A (in, N, nb), Y (in, N, out) -> (in, nb, out), via a batched
    pseudo-inverse (minimum-norm where the samples leave a basis undetermined)."""
    return np.linalg.pinv(A) @ Y


def _as_array(x, name: str, nin: int) -> np.ndarray:
    a = x.data if isinstance(x, Tensor) else np.asarray(x)
    if a.ndim != 2 or a.shape[1] != nin:
        raise ValueError(f"{name}: expected samples of shape (N, {nin}), got {a.shape}")
    if a.shape[0] < 2 or not np.isfinite(a).all():
        raise ValueError(
            f"{name}: need at least 2 finite samples, got shape {a.shape}"
            + ("" if np.isfinite(a).all() else " with NaN/inf values")
        )
    return a.astype(np.float64)


class KANLinear(Module):
    """One Kolmogorov-Arnold layer: ``in_features * out_features`` learnable edge functions.

    Args:
        grid: number of grid intervals G (an int >= k), or the grid points themselves (a strictly
            increasing sequence of at least k + 1 numbers, e.g. a non-uniform grid).
        k: spline degree (3: cubic). Each edge has G + k coefficients.
        grid_range: (low, high) of a uniform grid; ignored when ``grid`` lists points.
        base: residual function b(x): "silu" (pykan's), "identity", "tanh", "relu" or "zero".
        noise_scale: spread of the initial coefficients (pykan's default 0.3 for ``KAN``, 0.1 here):
            the layer starts close to its base branch.
        grid_eps: in ``update_grid``, the weight of a uniform grid against the sample percentiles
            (0: percentiles only, 1: uniform), pykan's default 0.02.
        out_of_range: "extend" (the spline lives on the extended knots, 0 beyond; module docstring)
            or "error".

    Parameters: ``base_weight`` (out, in), ``spline_weight`` (out, in, G + k), ``spline_scaler``
    (out, in); buffers ``grid`` (in, G + 2k + 1) knots and ``mask`` (out, in) (0 = pruned edge).

    Shape: input (N, in_features); output (N, out_features).
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        grid=5,
        k: int = 3,
        grid_range=(-1, 1),
        base: str = "silu",
        noise_scale: float = 0.1,
        grid_eps: float = 0.02,
        out_of_range: str = "extend",
        dtype=np.float32,
    ):
        super().__init__()
        for what, v in (("in_features", in_features), ("out_features", out_features)):
            if not isinstance(v, (int, np.integer)) or isinstance(v, bool) or v < 1:
                raise ValueError(f"KANLinear: {what} must be a positive integer, got {v!r}")
        if not isinstance(k, (int, np.integer)) or isinstance(k, bool) or k < 0:
            raise ValueError(f"KANLinear: k (spline degree) must be an integer >= 0, got {k!r}")
        if base not in BASES:
            raise ValueError(f"KANLinear: base must be one of {sorted(BASES)}, got {base!r}")
        if out_of_range not in ("extend", "error"):
            raise ValueError(f"KANLinear: out_of_range must be 'extend' or 'error', got {out_of_range!r}")
        if not (isinstance(grid_eps, (int, float)) and 0.0 <= grid_eps <= 1.0):
            raise ValueError(f"KANLinear: grid_eps must be a number in [0, 1], got {grid_eps!r}")
        self.in_features, self.out_features, self.k = int(in_features), int(out_features), int(k)
        self.base, self.grid_eps, self.out_of_range = base, float(grid_eps), out_of_range
        points = self._grid_points(grid, grid_range)
        G = points.size - 1
        self.register_buffer("grid", _extend(np.tile(points, (self.in_features, 1)), self.k).astype(dtype))
        self.register_buffer("mask", np.ones((self.out_features, self.in_features), dtype=dtype))
        rng = get_rng()  # nnlab's generator: nnlab.manual_seed makes the init reproducible
        nin, nout = self.in_features, self.out_features
        self.base_weight = Parameter(((rng.random((nout, nin)) * 2 - 1) / np.sqrt(nin)).astype(dtype))
        self.spline_weight = Parameter(((rng.random((nout, nin, G + self.k)) - 0.5) * noise_scale / G).astype(dtype))
        self.spline_scaler = Parameter(np.full((nout, nin), 1 / np.sqrt(nin), dtype=dtype))
        self.symbolic = {}  # (j, i) -> SymbolicFit, filled by auto_symbolic
        object.__setattr__(self, "_last_input", None)

    def _grid_points(self, grid, grid_range) -> np.ndarray:
        k = self.k
        if isinstance(grid, (int, np.integer)) and not isinstance(grid, bool):
            if grid < max(k, 1):
                raise ValueError(
                    f"KANLinear: grid={grid} intervals gives {grid + 1} grid points; a "
                    f"degree-{k} spline needs at least k + 1 = {k + 1} points "
                    f"(grid >= {max(k, 1)})"
                )
            try:
                lo, hi = (float(v) for v in grid_range)
            except (TypeError, ValueError):
                raise ValueError(f"KANLinear: grid_range must be (low, high), got {grid_range!r}") from None
            if not (np.isfinite([lo, hi]).all() and lo < hi):
                raise ValueError(f"KANLinear: grid_range must be finite with low < high, got {grid_range!r}")
            return np.linspace(lo, hi, int(grid) + 1)
        try:
            points = np.asarray(grid, dtype=np.float64)
        except (TypeError, ValueError):
            raise TypeError(
                f"KANLinear: grid must be an int (intervals) or a sequence of points, got {grid!r}"
            ) from None
        if points.ndim != 1 or points.size < max(k + 1, 2):
            raise ValueError(
                f"KANLinear: a degree-{k} spline needs a grid of at least k + 1 = "
                f"{max(k + 1, 2)} points, got {points.size if points.ndim == 1 else points.shape}"
            )
        if not (np.isfinite(points).all() and (np.diff(points) > 0).all()):
            raise ValueError(f"KANLinear: grid points must be finite and strictly increasing, got {points}")
        return points

    # ---- shape facts -------------------------------------------------------------------------
    @property
    def grid_size(self) -> int:
        """G, the number of grid intervals."""
        return self.grid.shape[1] - 2 * self.k - 1

    @property
    def grid_points(self) -> np.ndarray:
        """The grid without its extension knots, (in, G + 1)."""
        return self.grid[:, self.k : self.grid.shape[1] - self.k]

    @property
    def label(self) -> str:
        return f"KANLinear({self.in_features}->{self.out_features})"

    def extra_repr(self) -> str:
        lo, hi = self.grid_points.min(), self.grid_points.max()
        return (
            f"in_features={self.in_features}, out_features={self.out_features}, grid={self.grid_size}, "
            f"k={self.k}, range=({lo:.3g}, {hi:.3g}), base={self.base!r}"
        )

    def get_config(self) -> dict:
        """Constructor arguments with the current grid size (``refine`` changes it); the grid's
        knots themselves travel in ``state_dict``."""
        return _config_with(self, grid=self.grid_size)

    # ---- forward -------------------------------------------------------------------------------
    def _check_input(self, x: Tensor) -> None:
        if x.ndim != 2 or x.shape[1] != self.in_features:
            raise ValueError(f"{self.label}: expected input of shape (N, {self.in_features}), got {x.shape}")
        if self.out_of_range == "error":
            pts = self.grid_points
            lo, hi = pts[:, 0], pts[:, -1]
            bad = (x.data < lo) | (x.data > hi)
            if bad.any():
                i = int(np.argmax(bad.any(axis=0)))
                raise ValueError(
                    f"{self.label}: {int(bad.sum())} input values lie outside the grid range "
                    f"(input {i}: range [{lo[i]:.4g}, {hi[i]:.4g}], values seen "
                    f"[{x.data[:, i].min():.4g}, {x.data[:, i].max():.4g}]); call update_grid(x) "
                    f"or build the layer with out_of_range='extend'"
                )

    def _op(self, x, edges=False):
        x = x if isinstance(x, Tensor) else Tensor(np.asarray(x))
        self._check_input(x)
        return ops.kan_linear(
            x,
            Tensor(self.grid),
            self.spline_weight,
            self.base_weight,
            self.spline_scaler,
            Tensor(self.mask),
            k=self.k,
            base=self.base,
            edges=edges,
            name=self.label,
        )

    def forward(self, x):
        out = self._op(x)
        object.__setattr__(self, "_last_input", weakref.ref(x) if isinstance(x, Tensor) else None)
        return out

    def edge_activations(self, x) -> Tensor:
        """phi_ji(x_i) for every sample and edge, (N, out, in), differentiable (regularizers)."""
        return self._op(x, edges=True)

    def __getstate__(self):
        """Pickling drops the weak reference to the latest input (it cannot be pickled)."""
        state = self.__dict__.copy()
        state["_last_input"] = None
        return state

    def last_input(self):
        """The input of the latest forward while it is alive (it is held by weak reference)."""
        ref = self.__dict__.get("_last_input")
        return None if ref is None else ref()

    # ---- the edge functions as arrays -----------------------------------------------------------
    def _spline(self, x: np.ndarray, grid=None, coef=None) -> np.ndarray:
        """sum_m c_jim B_m(x_i), (N, out, in), in float64, without scaler, mask or base."""
        grid = self.grid if grid is None else grid
        coef = self.spline_weight.data if coef is None else coef
        B = bspline_basis(x.astype(np.float64), grid.astype(np.float64), self.k)
        return np.einsum("nim,jim->nji", B, coef.astype(np.float64))

    def edge_values(self, x) -> np.ndarray:
        """phi_ji(x_i), (N, out, in), as a float64 array (plots, scores, symbolic fits)."""
        x = _as_array(x, f"{self.label}.edge_values", self.in_features)
        phi = self._spline(x) * self.spline_scaler.data
        if BASES[self.base] is not None:
            phi = phi + BASES[self.base](x)[0][:, None, :] * self.base_weight.data
        return phi * self.mask

    def edge_scores(self, x) -> np.ndarray:
        """Mean |phi_ji| over the samples, (out, in): the paper's L1 size of each edge."""
        return np.abs(self.edge_values(x)).mean(axis=0)

    # ---- grids ------------------------------------------------------------------------------------
    def _set_grid(self, knots: np.ndarray, coef: np.ndarray) -> None:
        dtype = self.spline_weight.data.dtype
        self._buffers["grid"] = knots.astype(dtype)
        self.spline_weight.data = np.ascontiguousarray(coef.astype(dtype))
        self.spline_weight.grad = None

    def _refit(self, knots: np.ndarray, samples: np.ndarray) -> np.ndarray:
        """Coefficients on ``knots`` whose spline matches the current one at ``samples`` (N, in)."""
        old = self._spline(samples)  # (N, out, in)
        A = bspline_basis(samples, knots, self.k).transpose(1, 0, 2)  # (in, N, nb)
        coef = _lstsq(A, old.transpose(2, 0, 1))  # (in, nb, out)
        return coef.transpose(2, 0, 1)

    def update_grid(self, x, grid_eps: float | None = None) -> None:
        """Move the grid to the samples x (N, in): G + 1 points at the sample percentiles mixed
        with a uniform grid over the samples' range (weight ``grid_eps``), as pykan does; the
        coefficients are refitted by least squares so each edge keeps its function on the samples."""
        x = _as_array(x, f"{self.label}.update_grid", self.in_features)
        eps = self.grid_eps if grid_eps is None else float(grid_eps)
        xs = np.sort(x, axis=0)
        n, G = xs.shape[0], self.grid_size
        ids = np.minimum((np.arange(G + 1) * n) // G, n - 1)
        adaptive = xs[ids].T  # (in, G + 1)
        lo, hi = xs[0], xs[-1]
        flat = hi - lo < 1e-8 * np.maximum(1.0, np.abs(hi))
        lo, hi = np.where(flat, lo - 0.5, lo), np.where(flat, hi + 0.5, hi)  # a constant input
        uniform = lo[:, None] + (hi - lo)[:, None] * np.linspace(0, 1, G + 1)
        points = np.where(flat[:, None], uniform, eps * uniform + (1 - eps) * adaptive)
        # percentiles repeat where the data has ties: keep the points strictly increasing
        points = np.maximum.accumulate(points, axis=1) + (1e-7 * (hi - lo))[:, None] * np.arange(G + 1)
        knots = _extend(points, self.k)
        self._set_grid(knots, self._refit(knots, xs))

    def refine(self, new_grid: int, x=None) -> None:
        """Change to ``new_grid`` intervals (a finer grid: more coefficients per edge), refitting
        the coefficients by least squares so each edge keeps its function. The new points follow
        the current ones (a non-uniform grid stays non-uniform). The fit uses the samples x
        (N, in) when given (the grid then also stretches to cover them), else a dense sweep of
        the grid range. Make a new optimizer after."""
        if not isinstance(new_grid, (int, np.integer)) or isinstance(new_grid, bool) or new_grid < max(self.k, 1):
            raise ValueError(
                f"{self.label}.refine: new_grid must be an integer >= {max(self.k, 1)} "
                f"(k + 1 = {self.k + 1} grid points), got {new_grid!r}"
            )
        old = self.grid_points.astype(np.float64)
        G = self.grid_size
        samples = None if x is None else _as_array(x, f"{self.label}.refine", self.in_features)
        if samples is not None:  # the new grid also spans the samples, so their values can be kept
            old = old.copy()
            old[:, 0] = np.minimum(old[:, 0], samples.min(axis=0))
            old[:, -1] = np.maximum(old[:, -1], samples.max(axis=0))
        points = np.stack([np.interp(np.linspace(0, 1, new_grid + 1), np.linspace(0, 1, G + 1), p) for p in old])
        knots = _extend(points, self.k)
        if samples is None:
            dense = np.linspace(0, 1, 10 * (new_grid + self.k) + 1)
            samples = np.stack([np.interp(dense, np.linspace(0, 1, G + 1), p) for p in old], axis=1)
        self._set_grid(knots, self._refit(knots, samples))

    # ---- interpretability -------------------------------------------------------------------------
    def regularization(self, x=None, l1: float = 1.0, entropy: float = 2.0) -> Tensor:
        """l1 * |Phi|_1 + entropy * S(Phi) of this layer (Liu et al. 2024, eq. 2.17-2.19), a Tensor
        to add to the loss: |phi_ji|_1 = mean over the batch of |phi_ji(x_i)|, |Phi|_1 their sum,
        S = -sum p log p with p = |phi_ji|_1 / |Phi|_1. x defaults to the latest forward's input,
        so the gradient also reaches the layers before this one."""
        if x is None:
            x = self.last_input()
            if x is None:
                raise RuntimeError(
                    f"{self.label}.regularization: no input to measure; run a forward "
                    f"pass first (the input is kept only until it is freed) or pass x"
                )
        A = ops.mean(ops.abs(self.edge_activations(x)), axis=0)  # (out, in)
        total = ops.sum(A)
        out = total * l1
        if entropy:
            p = A / (total + 1e-12)
            out = out + ops.sum(p * ops.log(p + 1e-12)) * (-entropy)
        return out

    def prune(self, threshold: float = 1e-2, x=None) -> int:
        """Switch off (mask = 0) every edge whose score mean |phi_ji| on the samples x is below
        ``threshold``; returns how many edges are off now. The parameters keep their shapes."""
        if x is None:
            x = self.last_input()
            if x is None:
                raise RuntimeError(f"{self.label}.prune: pass samples x (N, {self.in_features}) to score the edges")
        scores = self.edge_scores(x)
        self.mask = np.where(scores < threshold, 0, self.mask).astype(self.mask.dtype)
        return int((self.mask == 0).sum())

    def plot(self, path=None, x=None, title: str | None = None):
        """One curve per edge (rows: outputs, columns: inputs) over the grid range, or over the
        samples' range when x is given; pruned edges grey, symbolic fits dashed. Returns the
        matplotlib Figure; writes a file only when ``path`` is given."""
        from nnlab.nn.kan_plot import plot_layers

        return plot_layers([self], path=path, inputs=None if x is None else [x], title=title)

    def auto_symbolic(self, x=None, lib=None, **kwargs) -> dict:
        """Fit every live edge against the function library (see ``kan_symbolic.fit_edge``);
        stores and returns {(j, i): SymbolicFit}."""
        from nnlab.nn.kan_symbolic import fit_layer

        self.symbolic = fit_layer(self, x, lib=lib, **kwargs)
        return self.symbolic


def _config_with(module: Module, **changes) -> dict:
    """``Module.get_config`` with some constructor arguments replaced by their current values."""
    args, kw = module.__dict__.get("_init_args", ((), {}))
    bound = inspect.signature(type(module).__init__).bind(module, *args, **kw).arguments
    bound.pop("self")
    bound.pop("dtype", None)  # a NumPy type is not data; the state_dict carries the dtype's values
    bound.update(changes)
    saved = module.__dict__.get("_init_args")
    object.__setattr__(module, "_init_args", ((), bound))
    try:
        return Module.get_config(module)
    finally:
        object.__setattr__(module, "_init_args", saved)


def kan_layers(model: Module) -> list:
    """The KANLinear layers of a model, in registration (forward) order."""
    return [m for m in model.modules() if isinstance(m, KANLinear)]


def kan_regularization(model: Module, l1: float = 1.0, entropy: float = 2.0) -> Tensor:
    """Sum of ``KANLinear.regularization`` over the model's KAN layers, measured on the inputs of
    the latest forward pass: ``loss = mse(model(x), y) + 1e-3 * kan_regularization(model)``."""
    layers = kan_layers(model)
    if not layers:
        raise ValueError(f"kan_regularization: {type(model).__name__} has no KANLinear layer")
    total = None
    for layer in layers:
        r = layer.regularization(None, l1=l1, entropy=entropy)
        total = r if total is None else total + r
    return total


class KAN(Module):
    """A stack of KANLinear layers, ``KAN([2, 5, 1], grid=3, k=3)``: the network of pykan's
    examples, with its grid, pruning, plotting and symbolic tools working on all layers."""

    def __init__(
        self,
        width,
        grid=5,
        k: int = 3,
        grid_range=(-1, 1),
        base: str = "silu",
        noise_scale: float = 0.1,
        grid_eps: float = 0.02,
        out_of_range: str = "extend",
        dtype=np.float32,
    ):
        super().__init__()
        try:
            width = [int(w) for w in width]
        except (TypeError, ValueError):
            raise ValueError(f"KAN: width must be a list of layer sizes like [2, 5, 1], got {width!r}") from None
        if len(width) < 2 or min(width) < 1:
            raise ValueError(f"KAN: width needs at least 2 positive sizes, got {width}")
        self.width = width
        self.layers = ModuleList(
            [
                KANLinear(
                    a,
                    b,
                    grid=grid,
                    k=k,
                    grid_range=grid_range,
                    base=base,
                    noise_scale=noise_scale,
                    grid_eps=grid_eps,
                    out_of_range=out_of_range,
                    dtype=dtype,
                )
                for a, b in zip(width[:-1], width[1:])
            ]
        )

    def get_config(self) -> dict:
        return _config_with(self, grid=self.layers[0].grid_size)

    def forward(self, x):
        for layer in self.layers:
            x = layer(x)
        return x

    def layer_inputs(self, x) -> list:
        """The input of every layer for the samples x, as float64 arrays (no graph)."""
        out = []
        with no_grad():
            h = x if isinstance(x, Tensor) else Tensor(np.asarray(x, dtype=self.layers[0].spline_weight.dtype))
            for layer in self.layers:
                out.append(np.asarray(h.data, dtype=np.float64))
                h = layer(h)
        return out

    def fit(self, x, y, steps: int = 20, update_grid_every: int | None = None, lamb: float = 0.0) -> list:
        """pykan's ``fit`` with its default optimizer: ``steps`` L-BFGS calls of up to 20 iterations
        (strong Wolfe line search) on the mean squared error, plus ``lamb`` times
        :meth:`regularization`; with ``update_grid_every = n`` the grids move to the data before
        every n-th step, as pykan does in early training. Returns the training RMSE after each step.

        Full-batch and second-order: the fit that reaches pykan's figures on small smooth targets.
        Large or noisy data train as any other Module does (``nnlab.optim`` and a loop)."""
        from nnlab.engine._args import check_float, check_int
        from nnlab.nn import functional as F
        from nnlab.optim import LBFGS

        steps = check_int("KAN.fit", "steps", steps, min=0)
        if update_grid_every is not None:
            update_grid_every = check_int("KAN.fit", "update_grid_every", update_grid_every, min=1)
        lamb = check_float("KAN.fit", "lamb", lamb, min=0.0)
        dtype = self.layers[0].spline_weight.dtype
        X, Y = np.asarray(x, dtype=dtype), np.asarray(y, dtype=dtype)
        if X.ndim != 2 or X.shape[1] != self.width[0]:
            raise ValueError(f"KAN.fit: x must have shape (N, {self.width[0]}), got {X.shape}")
        if Y.shape != (len(X), self.width[-1]):
            raise ValueError(f"KAN.fit: y must have shape ({len(X)}, {self.width[-1]}), got {Y.shape}")
        xt, yt = Tensor(X), Tensor(Y)
        opt = LBFGS(
            [p for p in self.parameters() if p.requires_grad],  # frozen parts stay as they are
            max_iter=20,
            history_size=10,
            line_search_fn="strong_wolfe",
            tolerance_grad=1e-32,
            tolerance_change=1e-32,
        )

        def closure():
            opt.zero_grad()
            loss = F.mse_loss(self(xt), yt)
            if lamb:
                loss = loss + lamb * self.regularization()
            loss.backward()
            return loss

        curve = []
        for step in range(steps):
            if update_grid_every and step % update_grid_every == 0:
                self.update_grid(X)
            opt.step(closure)
            with no_grad():
                curve.append(float(np.sqrt(np.mean((self(xt).data - Y) ** 2))))
        return curve

    def update_grid(self, x) -> None:
        """Each layer's grid from the samples it sees, first to last (later layers see the inputs
        the updated earlier layers produce)."""
        for i, layer in enumerate(self.layers):
            layer.update_grid(self.layer_inputs(x)[i])

    def refine(self, new_grid: int, x=None) -> None:
        """Every layer to ``new_grid`` intervals, fitted on the layer inputs of x when given."""
        inputs = self.layer_inputs(x) if x is not None else [None] * len(self.layers)
        for layer, xi in zip(self.layers, inputs):
            layer.refine(new_grid, xi)

    @property
    def grid_size(self) -> int:
        return self.layers[0].grid_size

    def regularization(self, l1: float = 1.0, entropy: float = 2.0) -> Tensor:
        return kan_regularization(self, l1=l1, entropy=entropy)

    def edge_scores(self, x) -> list:
        return [layer.edge_scores(xi) for layer, xi in zip(self.layers, self.layer_inputs(x))]

    def prune(self, threshold: float = 1e-2, x=None) -> "KAN":
        """A smaller copy: hidden nodes whose largest incoming and largest outgoing edge scores are
        not both above ``threshold`` are removed (the paper's rule), and the remaining edges scoring
        below it are masked. Scores are mean |phi| on the samples x (default: the input of the
        latest forward, while it is alive). The model itself is unchanged."""
        if x is None:
            x = self.layers[0].last_input()
            if x is None:
                raise RuntimeError(
                    "KAN.prune: pass samples x to score the edges (or run a forward pass and keep its input)"
                )
        scores = self.edge_scores(x)
        keep = [np.arange(self.width[0])]
        for l in range(1, len(self.width) - 1):
            alive = (scores[l - 1].max(axis=1) > threshold) & (scores[l].max(axis=0) > threshold)
            keep.append(np.flatnonzero(alive))
        keep.append(np.arange(self.width[-1]))
        widths = [max(len(kp), 1) for kp in keep]
        keep = [kp if len(kp) else np.arange(1) for kp in keep]
        first = self.layers[0]
        new = KAN(
            widths,
            grid=first.grid_size,
            k=first.k,
            base=first.base,
            grid_eps=first.grid_eps,
            out_of_range=first.out_of_range,
            dtype=first.spline_weight.data.dtype,
        )
        for l, (old, fresh) in enumerate(zip(self.layers, new.layers)):
            rows, cols = keep[l + 1], keep[l]
            fresh._buffers["grid"] = old.grid[cols].copy()
            for name in ("base_weight", "spline_weight", "spline_scaler"):
                getattr(fresh, name).data = getattr(old, name).data[np.ix_(rows, cols)].copy()
            small = scores[l][np.ix_(rows, cols)] < threshold
            fresh.mask = np.where(small, 0, old.mask[np.ix_(rows, cols)]).astype(old.mask.dtype)
        return new

    def plot(self, path=None, x=None, title: str | None = None):
        """Every layer's edge curves (see ``KANLinear.plot``), one block of panels per layer."""
        from nnlab.nn.kan_plot import plot_layers

        return plot_layers(
            list(self.layers), path=path, inputs=None if x is None else self.layer_inputs(x), title=title
        )

    def auto_symbolic(self, x, lib=None, **kwargs) -> list:
        """Symbolic fit of every live edge of every layer on the layer inputs of x."""
        return [layer.auto_symbolic(xi, lib=lib, **kwargs) for layer, xi in zip(self.layers, self.layer_inputs(x))]

    def symbolic_formula(self, names=None, digits: int = 4):
        """The network as a formula from the symbolic fits (run ``auto_symbolic`` first): a sympy
        expression per output when sympy is installed, else a plain string."""
        from nnlab.nn.kan_symbolic import network_formula

        return network_formula(self, names=names, digits=digits)

    def symbolic_predict(self, x) -> np.ndarray:
        """The outputs of the symbolic formula (every edge replaced by its fit), float64."""
        from nnlab.nn.kan_symbolic import network_predict

        return network_predict(self, x)
