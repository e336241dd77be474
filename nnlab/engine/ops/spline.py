"""B-spline bases and the fused Kolmogorov-Arnold layer op.

A KAN layer puts a learnable 1-D function on every edge (input i -> output j):

    phi_ji(x_i) = w_b[j, i] * b(x_i) + w_s[j, i] * sum_m c[j, i, m] * B_m(x_i)

and each output sums its edges, y_j = sum_i phi_ji(x_i). The bases B_m are degree-k B-splines on
the knot vector of input i (G intervals plus k extra knots on each side, so G + k bases per input).
The gate builds every basis for the whole batch at once with the Cox-de Boor recursion, shape
(batch, in, G + k), and turns the spline sum into one matrix product with the coefficients; its
backward gives the gradient with respect to the input through the derivative of the bases, so KAN
layers stack and mix with other layers.
"""

from __future__ import annotations

import numpy as np

from nnlab.engine.function import Function
from nnlab.engine.ops.elementwise import lift


def _inv_spans(t: np.ndarray, p: int) -> np.ndarray:
    """1 / (t[m + p] - t[m]) per input, 0 where two knots coincide (the 0/0 := 0 convention)."""
    span = t[:, p:] - t[:, :-p]
    out = np.zeros_like(span)
    np.divide(1.0, span, out=out, where=span > 0)
    return out


def bspline_basis(x: np.ndarray, grid: np.ndarray, k: int, *, lower: bool = False):
    """Degree-k B-spline bases of every input at once (Cox-de Boor recursion).

    x (N, in); grid (in, M) knots per input, non-decreasing. Returns B of shape (N, in, M - k - 1);
    with ``lower=True`` also the degree k-1 bases (N, in, M - k), which the derivative needs:
    B'_m = k (B^{k-1}_m / (t_{m+k} - t_m) - B^{k-1}_{m+1} / (t_{m+k+1} - t_{m+1})).

    Degree 0 is the indicator of t_m <= x < t_{m+1}; degree p mixes two neighbours of degree p-1
    with weights w_m = (x - t_m) / (t_{m+p} - t_m) and 1 - w_{m+1}, so each level is a few
    elementwise passes over the whole (N, in, M) array. Outside [t_0, t_{M-1}) every basis is 0.
    """
    xe = x[:, :, None]
    t = grid.astype(x.dtype, copy=False)
    B = ((xe >= t[:, :-1]) & (xe < t[:, 1:])).astype(x.dtype)
    prev = B if k == 0 else None
    for p in range(1, k + 1):
        if p == k:
            prev = B
        W = xe - t[:, :-p]  # (N, in, M - p): x - t_m
        W *= _inv_spans(t, p)
        W *= B
        # B_p[m] = w_m B[m] + (1 - w_{m+1}) B[m+1] = WB[m] + B[m+1] - WB[m+1]
        nxt = W[:, :, :-1] + B[:, :, 1:]
        nxt -= W[:, :, 1:]
        B = nxt
    return (B, prev) if lower else B


def bspline_derivative(lower: np.ndarray, grid: np.ndarray, k: int) -> np.ndarray:
    """dB_m/dx (N, in, M - k - 1) from the degree k-1 bases ``lower`` (N, in, M - k)."""
    if k == 0:
        return np.zeros(lower.shape[:2] + (lower.shape[2] - 1,), dtype=lower.dtype)
    D = lower * (k * _inv_spans(grid.astype(lower.dtype, copy=False), k))
    return D[:, :, :-1] - D[:, :, 1:]


def _silu(x):
    s = 1.0 / (1.0 + np.exp(-np.clip(x, -80, 80)))
    return x * s, s * (1.0 + x * (1.0 - s))


def _identity(x):
    return x, np.ones_like(x)


def _tanh(x):
    th = np.tanh(x)
    return th, 1.0 - th * th


def _relu(x):
    return np.maximum(x, 0), (x > 0).astype(x.dtype)


# base function b(x) of the residual branch: name -> (x -> (b(x), b'(x))); "zero" turns it off.
BASES = {"silu": _silu, "identity": _identity, "tanh": _tanh, "relu": _relu, "zero": None}


class KANLinear(Function):
    """The fused KAN layer: spline bases, one GEMM with the coefficients, plus the base branch.

    Inputs: x (N, in); grid (in, G + 2k + 1) knots (constant); coef (out, in, G + k); base_weight
    (out, in); scaler (out, in); mask (out, in) or None (constant, 0 removes an edge).
    With ``edges=True`` the output is every edge's activation phi_ji(x_i), shape (N, out, in),
    which the activation regularizers and pruning scores need; otherwise their sum over i, (N, out).

    Backward (edges=False, g of shape (N, out)), with W = mask * scaler * coef flattened to
    (out, in (G+k)) and Bf = B flattened to (N, in (G+k)):
        dW = g^T Bf; dcoef = dW * mask * scaler; dscaler = sum_m dW * mask * coef;
        dbase_weight = (g^T b(x)) * mask;
        dx_i = sum_m (g W)_im B'_m(x_i) + (g (mask * base_weight))_i b'(x_i).
    """

    def forward(self, x, grid, coef, base_weight, scaler, mask=None, *, k=3, base="silu", edges=False):
        n, nin = x.shape
        nout = coef.shape[0]
        B, lower = bspline_basis(x, grid, k, lower=True)
        ws = scaler if mask is None else scaler * mask
        wb = None
        if BASES[base] is not None:
            wb = base_weight if mask is None else base_weight * mask
            bx, dbx = BASES[base](x)
        else:
            bx = dbx = None
        self.saved = (x, grid, coef, base_weight, scaler, mask, B, lower, bx, dbx, ws, wb, k, edges)
        W = coef * ws[:, :, None]  # (out, in, G + k)
        self.W = W
        if edges:
            out = np.einsum("nim,jim->nji", B, W, optimize=True)
            if wb is not None:
                out += bx[:, None, :] * wb[None]
            return out
        out = B.reshape(n, -1) @ W.reshape(nout, -1).T
        if wb is not None:
            out += bx @ wb.T
        return out

    def backward(self, g):
        x, grid, coef, base_weight, scaler, mask, B, lower, bx, dbx, ws, wb, k, edges = self.saved
        W = self.W
        nx, _, nc, nbw, ns, _ = self.needs_input_grad
        n, nin = x.shape
        nout, _, nb = coef.shape
        gx = gc = gbw = gs = None
        if edges:
            if nc or ns:
                dW = np.einsum("nji,nim->jim", g, B, optimize=True)
            if nx:
                gB = np.einsum("nji,jim->nim", g, W, optimize=True)
                gx = (gB * bspline_derivative(lower, grid, k)).sum(axis=2)
                if wb is not None:
                    gx += np.einsum("nji,ji->ni", g, wb, optimize=True) * dbx
            if nbw and wb is not None:
                gbw = np.einsum("nji,ni->ji", g, bx, optimize=True)
        else:
            if nc or ns:
                dW = (g.T @ B.reshape(n, -1)).reshape(nout, nin, nb)
            if nx:
                gB = (g @ W.reshape(nout, -1)).reshape(n, nin, nb)
                gx = (gB * bspline_derivative(lower, grid, k)).sum(axis=2)
                if wb is not None:
                    gx += (g @ wb) * dbx
            if nbw and wb is not None:
                gbw = g.T @ bx
        if nbw:
            if gbw is None:  # base branch off: its weights get a zero gradient
                gbw = np.zeros_like(base_weight)
            elif mask is not None:
                gbw *= mask
        if nc:
            gc = dW * ws[:, :, None]
        if ns:
            gs = (dW * coef).sum(axis=2)
            if mask is not None:
                gs *= mask
        return gx, None, gc, gbw, gs, None


def kan_linear(
    x,
    grid,
    coef,
    base_weight,
    scaler,
    mask=None,
    *,
    k: int = 3,
    base: str = "silu",
    edges: bool = False,
    name: str = "kan_linear",
):
    """Fused KAN layer, y_j = sum_i w_b b(x_i) + w_s sum_m c_m B_m(x_i) (see ``KANLinear``).

    Shapes: x (N, in), grid (in, G + 2k + 1), coef (out, in, G + k), base_weight and scaler
    (out, in), mask (out, in) or None. Returns (N, out), or (N, out, in) with ``edges=True``.
    """
    x, grid, coef, base_weight, scaler = (lift(v) for v in (x, grid, coef, base_weight, scaler))
    mask = None if mask is None else lift(mask)
    if base not in BASES:
        raise ValueError(f"{name}: base must be one of {sorted(BASES)}, got {base!r}")
    if not isinstance(k, (int, np.integer)) or isinstance(k, bool) or k < 0:
        raise ValueError(f"{name}: k (spline degree) must be an integer >= 0, got {k!r}")
    if coef.ndim != 3:
        raise ValueError(f"{name}: coef must be 3-D (out, in, G + k), got shape {coef.shape}")
    nout, nin, nb = coef.shape
    if x.ndim != 2 or x.shape[1] != nin:
        raise ValueError(f"{name}: expected input of shape (N, {nin}), got {x.shape}")
    if grid.shape != (nin, nb + k + 1):
        raise ValueError(
            f"{name}: grid must have shape ({nin}, {nb + k + 1}) (in, G + 2k + 1) for "
            f"coef {coef.shape} and k={k}, got {grid.shape}"
        )
    for what, t in (("base_weight", base_weight), ("scaler", scaler), ("mask", mask)):
        if t is not None and t.shape != (nout, nin):
            raise ValueError(f"{name}: {what} must have shape ({nout}, {nin}), got {t.shape}")
    if x.data.dtype.kind != "f":
        raise TypeError(f"{name}: expected a floating-point input, got dtype {x.data.dtype}; convert with x.float()")
    if x.data.dtype != coef.data.dtype:
        raise TypeError(
            f"{name}: input dtype {x.data.dtype} differs from the coefficients' "
            f"{coef.data.dtype}; convert one of them (model.double() or x.float())"
        )
    return KANLinear.apply(x, grid, coef, base_weight, scaler, mask, k=int(k), base=base, edges=bool(edges))
