"""L-BFGS: a quasi-Newton method for small, full-batch problems."""

from __future__ import annotations

import math

import numpy as np

from nnlab.engine.autograd import enable_grad
from nnlab.optim.optimizer import Optimizer, _num


def two_loop_direction(g: np.ndarray, s_hist, y_hist, rho_hist, h_diag: float) -> np.ndarray:
    """``d = -H g`` with H the L-BFGS inverse-Hessian estimate, never formed as a matrix.

    H is built from the last m pairs ``s = x_{k+1} - x_k``, ``y = g_{k+1} - g_k``, ``rho = 1 / y.s``
    starting from ``h_diag * I`` (``h_diag = s.y / y.y`` of the newest pair): the first loop goes from
    newest to oldest, ``a_i = rho_i s_i.q;  q -= a_i y_i``; then ``r = h_diag q``; the second loop goes
    oldest to newest, ``b = rho_i y_i.r;  r += s_i (a_i - b)``. Cost O(m n).
    """
    q = -g
    k = len(s_hist)
    alpha = [0.0] * k
    for i in range(k - 1, -1, -1):
        alpha[i] = rho_hist[i] * float(s_hist[i] @ q)
        q -= alpha[i] * y_hist[i]
    r = q * h_diag
    for i in range(k):
        beta = rho_hist[i] * float(y_hist[i] @ r)
        r += s_hist[i] * (alpha[i] - beta)
    return r


def _cubic_min(t1, f1, g1, t2, f2, g2, lo, hi):
    """Minimizer of the cubic through (t1, f1, slope g1) and (t2, f2, slope g2), clipped to [lo, hi]."""
    d1 = g1 + g2 - 3.0 * (f1 - f2) / (t1 - t2)
    disc = d1 * d1 - g1 * g2
    if disc < 0 or not math.isfinite(disc):
        return 0.5 * (lo + hi)
    d2 = math.sqrt(disc)
    if t1 <= t2:
        t = t2 - (t2 - t1) * ((g2 + d2 - d1) / (g2 - g1 + 2.0 * d2))
    else:
        t = t1 - (t1 - t2) * ((g1 + d2 - d1) / (g1 - g2 + 2.0 * d2))
    if not math.isfinite(t):
        return 0.5 * (lo + hi)
    return min(max(t, lo), hi)


def strong_wolfe_search(phi, t, f0, g0, gtd0, d, c1=1e-4, c2=0.9, tolerance_change=1e-9, max_evals=25):
    """Find a step t along d with the strong Wolfe conditions

        f(x + t d) <= f(x) + c1 t g.d          (sufficient decrease)
        |g(x + t d).d| <= c2 |g.d|              (the slope has flattened)

    by bracketing (growing t by cubic extrapolation until the bracket holds a minimum) and zooming
    (cubic interpolation, bisection when it lands near an end). ``phi(t) -> (f, g)`` evaluates at
    ``x + t d``. Returns (f, g, t, evaluations); if the budget runs out, the best point found.
    """
    d_norm = float(np.abs(d).max())
    prev = (0.0, f0, g0, gtd0)
    evals = 0
    bracket = None
    while evals < max_evals:
        f, g = phi(t)
        evals += 1
        gtd = float(g @ d)
        cur = (t, f, g, gtd)
        if f > f0 + c1 * t * gtd0 or (evals > 1 and f >= prev[1]):
            bracket = [prev, cur]  # [lo, hi]: lo has the lower value
            break
        if abs(gtd) <= -c2 * gtd0:
            return f, g, t, evals
        if gtd >= 0:
            bracket = [cur, prev]
            break
        t_next = _cubic_min(prev[0], prev[1], prev[3], t, f, gtd, t + 0.01 * (t - prev[0]), 10.0 * t)
        prev, t = cur, t_next
    if bracket is None:
        return prev[1], prev[2], prev[0], evals
    lo, hi = bracket
    while evals < max_evals and abs(hi[0] - lo[0]) * d_norm >= tolerance_change:
        a, b = min(lo[0], hi[0]), max(lo[0], hi[0])
        t = _cubic_min(lo[0], lo[1], lo[3], hi[0], hi[1], hi[3], a, b)
        margin = 0.1 * (b - a)
        if t - a < margin or b - t < margin:
            t = 0.5 * (a + b)  # safeguard: keep the interval shrinking
        f, g = phi(t)
        evals += 1
        gtd = float(g @ d)
        cur = (t, f, g, gtd)
        if f > f0 + c1 * t * gtd0 or f >= lo[1]:
            hi = cur
        else:
            if abs(gtd) <= -c2 * gtd0:
                return f, g, t, evals
            if gtd * (hi[0] - lo[0]) >= 0:
                hi = lo
            lo = cur
    return lo[1], lo[2], lo[0], evals


def _as_float(v) -> float:
    return float(v.item()) if hasattr(v, "item") else float(v)


class LBFGS(Optimizer):
    """Limited-memory BFGS over the flat vector of all trainable parameters (one group only).

    Newton's step ``x <- x - [H f(x)]^{-1} grad f(x)`` uses curvature to take big steps where the
    loss is flat and small ones where it is curved, with no learning rate to tune; L-BFGS replaces
    the inverse Hessian by an estimate from the last ``history_size`` steps (see
    ``two_loop_direction``). It needs the full batch (noisy minibatch gradients break the curvature
    pairs), so it suits small problems. Each ``step(closure)`` runs up to ``max_iter`` iterations;
    the closure must zero the gradients, recompute the loss, call ``backward`` and return the loss.

    Per iteration: ``d = -H g``; step ``t`` = ``lr`` (the first ever: ``lr * min(1, 1/|g|_1)``), or
    from a line search: ``"strong_wolfe"`` (sufficient decrease + curvature conditions),
    ``"backtracking"`` (halve t until ``f(x + t d) <= f + 1e-4 t g.d``), or None (fixed step).
    Stops when ``max|g| <= tolerance_grad``, the step or the loss change is below
    ``tolerance_change``, or the iteration/evaluation budget is spent. The pair (s, y) is kept only
    when ``y.s > 1e-10`` so the estimate stays positive definite.
    """

    def __init__(
        self,
        params,
        lr: float = 1.0,
        max_iter: int = 20,
        max_eval: int | None = None,
        tolerance_grad: float = 1e-7,
        tolerance_change: float = 1e-9,
        history_size: int = 100,
        line_search_fn: str | None = None,
    ):
        if max_eval is None:
            max_eval = max_iter * 5 // 4
        defaults = dict(
            lr=lr,
            max_iter=max_iter,
            max_eval=max_eval,
            tolerance_grad=tolerance_grad,
            tolerance_change=tolerance_change,
            history_size=history_size,
            line_search_fn=line_search_fn,
        )
        super().__init__(params, defaults)
        if len(self.param_groups) != 1:
            raise ValueError(f"LBFGS: supports a single parameter group, got {len(self.param_groups)}")

    def _check_group(self, group):
        super()._check_group(group)
        for key in ("max_iter", "max_eval", "history_size"):
            if not (isinstance(group[key], (int, np.integer)) and group[key] >= 1):
                raise ValueError(f"LBFGS: {key} must be an integer >= 1, got {group[key]!r}")
        _num("LBFGS", "tolerance_grad", group["tolerance_grad"], 0.0)
        _num("LBFGS", "tolerance_change", group["tolerance_change"], 0.0)
        if group["line_search_fn"] not in (None, "strong_wolfe", "backtracking"):
            raise ValueError(
                f"LBFGS: line_search_fn must be None, 'strong_wolfe' or 'backtracking', got {group['line_search_fn']!r}"
            )

    def _load_param_state(self, k, st):
        """LBFGS keeps one state for all parameters, under key 0: counters and flat vectors."""
        if k != 0:
            raise ValueError(f"LBFGS.load_state_dict: expected state under key 0 only, got key {k}")
        missing = {"func_evals", "n_iter"} - set(st)
        if missing:
            raise ValueError(f"LBFGS.load_state_dict: the state lacks {sorted(missing)}")
        size = sum(p.data.size for p in self._trainable())
        vectors = [("d", st.get("d")), ("prev_flat_grad", st.get("prev_flat_grad"))]
        vectors += [(key, v) for key in ("old_dirs", "old_stps") for v in st.get(key, [])]
        for key, v in vectors:
            if v is not None and np.shape(v) != (size,):
                raise ValueError(
                    f"LBFGS.load_state_dict: state '{key}' has shape {np.shape(v)}, the "
                    f"trainable parameters have {size} values"
                )
        return st

    # ---- flat-vector views of the trainable parameters --------------------------------
    def _trainable(self):
        return [p for p in self.param_groups[0]["params"] if p.requires_grad]

    def _flat_grad(self, params, dtype):
        for i, p in enumerate(params):
            if p.grad is not None and p.grad.shape != p.data.shape:
                self._bad_grad(i, p.data, p.grad)
        parts = [np.zeros(p.data.size, dtype) if p.grad is None else p.grad.reshape(-1) for p in params]
        return np.concatenate(parts).astype(dtype, copy=False)

    def _flat_params(self, params, dtype):
        return np.concatenate([p.data.reshape(-1) for p in params]).astype(dtype, copy=False)

    def _set_params(self, params, x):
        off = 0
        for p in params:
            n = p.data.size
            np.copyto(p.data, x[off : off + n].reshape(p.data.shape), casting="same_kind")
            off += n

    def step(self, closure=None):
        """Run up to max_iter L-BFGS iterations; returns the loss at the starting point."""
        if closure is None:
            raise ValueError(
                "LBFGS.step: needs a closure that zeroes the gradients, recomputes the loss, "
                "calls backward and returns the loss"
            )
        group = self.param_groups[0]
        lr = float(group["lr"])
        max_iter, max_eval = group["max_iter"], group["max_eval"]
        tol_grad, tol_change = group["tolerance_grad"], group["tolerance_change"]
        history_size, line_search = group["history_size"], group["line_search_fn"]
        params = self._trainable()
        if not params:
            raise ValueError("LBFGS.step: no parameter requires grad")
        dtype = np.result_type(*[p.data.dtype for p in params])

        def evaluate():
            with enable_grad():
                value = closure()
            return _as_float(value), self._flat_grad(params, dtype)

        st = self.state.setdefault(0, {"func_evals": 0, "n_iter": 0})
        with enable_grad():
            orig_loss = closure()
        loss = _as_float(orig_loss)
        g = self._flat_grad(params, dtype)
        evals = 1
        st["func_evals"] += 1
        if float(np.abs(g).max()) <= tol_grad:
            return orig_loss

        d, t = st.get("d"), st.get("t")
        s_hist, y_hist, rho_hist = st.get("old_dirs", []), st.get("old_stps", []), st.get("ro", [])
        h_diag, prev_g = st.get("H_diag", 1.0), st.get("prev_flat_grad")
        n_iter = 0
        while n_iter < max_iter:
            n_iter += 1
            st["n_iter"] += 1
            if st["n_iter"] == 1 or prev_g is None:
                d = -g
                s_hist, y_hist, rho_hist, h_diag = [], [], [], 1.0
            else:
                y = g - prev_g
                s = d * t
                ys = float(y @ s)
                if ys > 1e-10:
                    if len(s_hist) == history_size:
                        s_hist.pop(0), y_hist.pop(0), rho_hist.pop(0)
                    s_hist.append(s), y_hist.append(y), rho_hist.append(1.0 / ys)
                    h_diag = ys / float(y @ y)
                d = two_loop_direction(g, s_hist, y_hist, rho_hist, h_diag)
            prev_g = g.copy()
            prev_loss = loss
            t = min(1.0, 1.0 / float(np.abs(g).sum())) * lr if st["n_iter"] == 1 else lr
            gtd = float(g @ d)
            if gtd > -tol_change:  # not a descent direction any more
                break

            if line_search is None:
                self._set_params(params, self._flat_params(params, dtype) + t * d)
                ls_evals = 0
                if n_iter != max_iter:
                    loss, g = evaluate()
                    ls_evals = 1
            else:
                x0 = self._flat_params(params, dtype)

                def phi(step):
                    self._set_params(params, x0 + step * d)  # noqa: B023 - used within this iteration
                    return evaluate()

                if line_search == "strong_wolfe":
                    loss, g, t, ls_evals = strong_wolfe_search(phi, t, loss, g, gtd, d, tolerance_change=tol_change)
                else:
                    ls_evals, f0 = 0, loss
                    while True:
                        loss, g = phi(t)
                        ls_evals += 1
                        if loss <= f0 + 1e-4 * t * gtd or ls_evals >= 30:
                            break
                        t *= 0.5
                self._set_params(params, x0 + t * d)
            evals += ls_evals
            st["func_evals"] += ls_evals

            if n_iter == max_iter or evals >= max_eval:
                break
            if float(np.abs(g).max()) <= tol_grad:
                break
            if float(np.abs(d * t).max()) <= tol_change or abs(loss - prev_loss) < tol_change:
                break

        st.update(
            d=d,
            t=t,
            old_dirs=s_hist,
            old_stps=y_hist,
            ro=rho_hist,
            H_diag=h_diag,
            prev_flat_grad=prev_g,
            prev_loss=prev_loss if n_iter else loss,
        )
        return orig_loss
