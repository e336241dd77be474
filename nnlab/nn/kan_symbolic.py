"""Symbolic fits of KAN edges: which simple function is each learned curve?

Each live edge phi(x) is compared with every function f of a small library in the affine form
c * f(a * x + b) + d: a and b by a grid search (51 x 51 over [-10, 10]^2, then 4 more searches
zoomed into the best cell's neighbours, down to steps of about 1e-6), c and
d by least squares, the fit scored by r^2. Among the candidates the choice trades accuracy for
simplicity as pykan does: minimize w * complexity + (1 - w) * log2(1 + 1e-5 - r^2), w = 0.8, so a
simpler function wins unless a more complex one is clearly more accurate. sympy, when installed
(extra ``kan``), prints the resulting formula; without it the formula is a plain string.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def _pos(z):
    return z > 0


def _nonneg(z):
    return z >= 0


def _nonzero(z):
    return np.abs(z) > 1e-3


# name -> (NumPy function, complexity, sympy builder (sympy, z) -> expr, domain test or None).
# Simpler names first: on equal scores the earlier one is kept. No cos: sin(a x + b) covers it.
LIBRARY = {
    "x": (lambda z: z, 1, lambda sp, z: z, None),
    "x^2": (lambda z: z**2, 2, lambda sp, z: z**2, None),
    "x^3": (lambda z: z**3, 3, lambda sp, z: z**3, None),
    "x^4": (lambda z: z**4, 3, lambda sp, z: z**4, None),
    "1/x": (lambda z: 1 / z, 2, lambda sp, z: 1 / z, _nonzero),
    "sqrt": (np.sqrt, 2, lambda sp, z: sp.sqrt(z), _nonneg),
    "exp": (np.exp, 2, lambda sp, z: sp.exp(z), None),
    "log": (np.log, 2, lambda sp, z: sp.log(z), _pos),
    "sin": (np.sin, 2, lambda sp, z: sp.sin(z), None),
    "abs": (np.abs, 3, lambda sp, z: sp.Abs(z), None),
    "tanh": (np.tanh, 3, lambda sp, z: sp.tanh(z), None),
    "gaussian": (lambda z: np.exp(-(z**2)), 3, lambda sp, z: sp.exp(-(z**2)), None),
    "arctan": (np.arctan, 4, lambda sp, z: sp.atan(z), None),
}


@dataclass
class SymbolicFit:
    """c * f(a * x + b) + d for the library function ``name``, with its r^2 on the edge."""

    name: str
    a: float
    b: float
    c: float
    d: float
    r2: float
    complexity: int

    def __call__(self, x):
        with np.errstate(all="ignore"):
            return self.c * LIBRARY[self.name][0](self.a * np.asarray(x, dtype=np.float64) + self.b) + self.d

    def expression(self, z):
        """The fit as a sympy expression of z, full precision (sympy required)."""
        import sympy as sp

        inner = z if self.name == "x" else sp.Float(self.a) * z + sp.Float(self.b)
        return sp.Float(self.c) * LIBRARY[self.name][2](sp, inner) + sp.Float(self.d)

    def text(self, z: str, digits: int = 4) -> str:
        g = lambda v: f"{v:.{digits}g}"  # noqa: E731
        inner = z if self.name == "x" else f"({g(self.a)}*{z} + {g(self.b)})"
        f = {
            "x": inner,
            "x^2": f"{inner}^2",
            "x^3": f"{inner}^3",
            "x^4": f"{inner}^4",
            "1/x": f"1/{inner}",
            "gaussian": f"exp(-{inner}^2)",
        }.get(self.name, f"{self.name}{inner}" if inner.startswith("(") else f"{self.name}({inner})")
        return f"{g(self.c)}*{f} + {g(self.d)}".replace("+ -", "- ")


def _r2_grid(x, y, f, domain, a, b):
    """r^2 of the best c, d for every (a, b) pair: (len(a), len(b)), -inf where invalid."""
    z = a[:, None, None] * x[None, None, :] + b[None, :, None]
    with np.errstate(all="ignore"):
        fz = f(z)
    valid = np.isfinite(fz).all(axis=-1)
    if domain is not None:
        valid &= domain(z).all(axis=-1)
    fz = np.where(valid[..., None], fz, 0.0)
    fc = fz - fz.mean(axis=-1, keepdims=True)
    yc = y - y.mean()
    den = (fc * fc).sum(axis=-1) * float(yc @ yc)
    num = (fc @ yc) ** 2
    with np.errstate(all="ignore"):
        r2 = np.where(valid & (den > 1e-300), num / den, -np.inf)
    return r2


def fit_affine(
    x, y, name: str, a_range=(-10, 10), b_range=(-10, 10), grid_number: int = 51, iterations: int = 5
) -> SymbolicFit:
    """Best c * f(a x + b) + d for one library function (see the module docstring)."""
    if name not in LIBRARY:
        raise ValueError(f"fit_affine: unknown function {name!r}; the library has {sorted(LIBRARY)}")
    f, complexity, _, domain = LIBRARY[name]
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    if name == "x":
        a_best, b_best = 1.0, 0.0
    else:
        (a_lo, a_hi), (b_lo, b_hi) = a_range, b_range
        a_best = b_best = None
        for _ in range(iterations):
            A, Bv = np.linspace(a_lo, a_hi, grid_number), np.linspace(b_lo, b_hi, grid_number)
            r2 = _r2_grid(x, y, f, domain, A, Bv)
            if not np.isfinite(r2).any():
                break
            ia, ib = np.unravel_index(np.argmax(r2), r2.shape)
            a_best, b_best = A[ia], Bv[ib]
            a_lo, a_hi = A[max(ia - 1, 0)], A[min(ia + 1, grid_number - 1)]
            b_lo, b_hi = Bv[max(ib - 1, 0)], Bv[min(ib + 1, grid_number - 1)]
        if a_best is None:
            return SymbolicFit(name, 0.0, 0.0, 0.0, float(y.mean()), -np.inf, complexity)
    with np.errstate(all="ignore"):
        fz = f(a_best * x + b_best)
    M = np.stack([fz, np.ones_like(fz)], axis=1)
    (c, d), *_ = np.linalg.lstsq(M, y, rcond=None)
    sst = float(((y - y.mean()) ** 2).sum())
    sse = float(((M @ np.array([c, d]) - y) ** 2).sum())
    r2 = 1.0 - sse / sst if sst > 0 else (1.0 if sse < 1e-24 else -np.inf)
    return SymbolicFit(name, float(a_best), float(b_best), float(c), float(d), r2, complexity)


def fit_edge(x, y, lib=None, weight_simple: float = 0.8, **kwargs):
    """Fit every library function to the samples (x, y) of one edge; returns (best, all fits sorted
    best first)."""
    names = list(LIBRARY) if lib is None else list(lib)
    unknown = [n for n in names if n not in LIBRARY]
    if unknown or not names:
        raise ValueError(f"fit_edge: lib must name functions of {sorted(LIBRARY)}, got {lib!r}")
    fits = [fit_affine(x, y, n, **kwargs) for n in names]
    score = lambda s: (
        weight_simple * s.complexity + (1 - weight_simple) * np.log2(1 + 1e-5 - min(s.r2, 1.0))
        if np.isfinite(s.r2)
        else np.inf
    )  # noqa: E731
    # scores within 0.05 (rounded to 0.1) tie, and the earlier (simpler) library entry wins: near
    # r^2 = 1 the log term cannot tell a quadratic from sin(a x + b) with a tiny a
    order = sorted(range(len(fits)), key=lambda i: (round(score(fits[i]), 1), i))
    ranked = [fits[i] for i in order]
    return ranked[0], ranked


def _edge_samples(layer, x, n: int = 101) -> np.ndarray:
    """n points per input spanning the samples (their quantiles) or else the grid range, (n, in)."""
    if x is None:
        pts = layer.grid_points.astype(np.float64)
        return np.linspace(pts[:, 0], pts[:, -1], n)
    a = np.asarray(x.data if hasattr(x, "_ctx") else x, dtype=np.float64)
    return np.quantile(a, np.linspace(0, 1, n), axis=0)


def fit_layer(layer, x=None, lib=None, n_samples: int = 101, **kwargs) -> dict:
    """{(j, i): SymbolicFit} for every live (unmasked) edge of a KANLinear layer, fitted on its
    curve over the samples x of the layer's input (or over the grid range)."""
    xs = _edge_samples(layer, x, n_samples)
    phi = layer.edge_values(xs)  # (n, out, in)
    out = {}
    for j in range(layer.out_features):
        for i in range(layer.in_features):
            if layer.mask[j, i] == 0:
                continue
            out[(j, i)] = fit_edge(xs[:, i], phi[:, j, i], lib=lib, **kwargs)[0]
    return out


def _check_fitted(model):
    for l, layer in enumerate(model.layers):
        live = {(j, i) for j in range(layer.out_features) for i in range(layer.in_features) if layer.mask[j, i]}
        missing = live - set(layer.symbolic)
        if missing:
            raise RuntimeError(
                f"KAN: layer {l} has live edges without a symbolic fit ({sorted(missing)[:3]}...); "
                f"run model.auto_symbolic(x) first"
            )


def network_predict(model, x) -> np.ndarray:
    """Evaluate the network with every live edge replaced by its symbolic fit."""
    _check_fitted(model)
    h = np.asarray(x.data if hasattr(x, "_ctx") else x, dtype=np.float64)
    for layer in model.layers:
        nxt = np.zeros((h.shape[0], layer.out_features))
        for (j, i), fit in layer.symbolic.items():
            if layer.mask[j, i]:
                nxt[:, j] += fit(h[:, i])
        h = nxt
    return h


def network_formula(model, names=None, digits: int = 4):
    """One formula per output: sympy expressions when sympy is installed, else strings."""
    _check_fitted(model)
    n_in = model.layers[0].in_features
    names = list(names) if names is not None else [f"x_{i + 1}" for i in range(n_in)]
    if len(names) != n_in:
        raise ValueError(f"symbolic_formula: need {n_in} names, got {len(names)}")
    try:
        import sympy as sp
    except ImportError:
        sp = None
    if sp is not None:
        h = list(sp.symbols(names))
        for layer in model.layers:
            nxt = [sp.Integer(0)] * layer.out_features
            for (j, i), fit in sorted(layer.symbolic.items()):
                if layer.mask[j, i]:
                    nxt[j] = nxt[j] + fit.expression(h[i])
            h = nxt
        # round once, at the end (rounding every edge's a, b, c, d first compounds the errors):
        # ``digits`` significant digits, and numbers below 1e-6 in size become 0
        return [
            sp.expand(e, power_exp=False).xreplace(
                {
                    v: (sp.Integer(0) if abs(float(v)) < 1e-6 else sp.Float(float(f"{float(v):.{digits}g}")))
                    for v in sp.expand(e, power_exp=False).atoms(sp.Float)
                }
            )
            for e in h
        ]
    h = names
    for layer in model.layers:
        nxt = [[] for _ in range(layer.out_features)]
        for (j, i), fit in sorted(layer.symbolic.items()):
            if layer.mask[j, i]:
                nxt[j].append(fit.text(f"({h[i]})" if layer is not model.layers[0] else h[i], digits))
        h = [(" + ".join(t) if t else "0").replace("+ -", "- ") for t in nxt]
    return h


def finetune(model, x, y, steps: int = 50, tol: float = 1e-14):
    """Refine every fitted edge's (a, b, c, d) on data (x, y) with Levenberg-Marquardt, the step
    pykan takes by training the symbolic network; returns the final RMSE. Finite-difference
    Jacobian: the formula has a handful of parameters."""
    _check_fitted(model)
    y = np.asarray(y.data if hasattr(y, "_ctx") else y, dtype=np.float64).reshape(len(x), -1)
    fits = [fit for layer in model.layers for key, fit in sorted(layer.symbolic.items()) if layer.mask[key]]

    def get():
        return np.array([[f.a, f.b, f.c, f.d] for f in fits]).ravel()

    def put(p):
        for f, (a, b, c, d) in zip(fits, p.reshape(-1, 4)):
            f.a, f.b, f.c, f.d = a, b, c, d

    def resid(p):
        put(p)
        return (network_predict(model, x) - y).ravel()

    p, lam = get(), 1e-3
    r = resid(p)
    for _ in range(steps):
        J = np.empty((r.size, p.size))
        for q in range(p.size):
            h = 1e-7 * max(1.0, abs(p[q]))
            dp = p.copy()
            dp[q] += h
            J[:, q] = (resid(dp) - r) / h
        JTJ, JTr = J.T @ J, J.T @ r
        while True:
            step = np.linalg.solve(JTJ + lam * np.diag(np.diag(JTJ) + 1e-12), -JTr)
            r_new = resid(p + step)
            if np.isfinite(r_new).all() and r_new @ r_new < r @ r:
                p, r, lam = p + step, r_new, max(lam / 3, 1e-12)
                break
            lam *= 4
            if lam > 1e8:
                break
        if lam > 1e8 or r @ r / r.size < tol:
            break
    put(p)
    for f in fits:  # c (a x + b) + d is a line: write it as c' x + d'
        if f.name == "x":
            f.a, f.b, f.c, f.d = 1.0, 0.0, f.c * f.a, f.c * f.b + f.d
    return float(np.sqrt(r @ r / r.size))
