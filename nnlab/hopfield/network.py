"""The classic binary Hopfield network (Hopfield 1982): +-1 units, symmetric weights with a zero
diagonal, one-shot storage, and recall as descent on the energy E(s) = -1/2 s^T W s.

Tie rule: a unit whose local field h_i = sum_j w_ij s_j is zero keeps its state (sgn(0) is not
forced to +1). Fields within a rounding tolerance of zero (1e-9 of the largest row sum of |W|)
count as zero, so a tie that is exact in exact arithmetic does not flip on rounding noise.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["HopfieldNetwork", "RecallResult", "RULES", "MODES", "check_bipolar"]

RULES = ("hebb", "storkey", "pinv")
MODES = ("async", "sync")


def _check_n(N) -> int:
    if isinstance(N, bool) or not isinstance(N, (int, np.integer)):
        raise TypeError(f"HopfieldNetwork: N must be an int (the number of neurons), got {type(N).__name__}")
    if N < 1:
        raise ValueError(f"HopfieldNetwork: N must be at least 1, got {N}")
    return int(N)


def check_bipolar(x, N: int, name: str, allow_batch: bool = True) -> np.ndarray:
    """``x`` as a float64 array of +-1 values with last dimension ``N`` (one vector, or a (P, N)
    stack when ``allow_batch``); anything else is a ValueError naming ``name``."""
    a = np.asarray(getattr(x, "data", x))
    if a.dtype == object or not (np.issubdtype(a.dtype, np.number) or a.dtype == bool):
        raise TypeError(f"{name}: expected a numeric array of +-1 values, got dtype {a.dtype}")
    if a.ndim not in ((1, 2) if allow_batch else (1,)):
        want = "a vector of length N or a (P, N) array" if allow_batch else "a vector of length N"
        raise ValueError(f"{name}: expected {want} with N={N}, got shape {a.shape}")
    if a.shape[-1] != N:
        raise ValueError(
            f"{name}: expected length N={N} (the network's neuron count), got {a.shape[-1]} (shape {a.shape})"
        )
    if a.size == 0:
        raise ValueError(f"{name}: got no patterns (shape {a.shape})")
    bad = ~((a == 1) | (a == -1))
    if a.dtype == bool or bad.any():
        vals = np.unique(a[bad] if a.dtype != bool else a)[:5]
        hint = (
            " (for 0/1 data use 2*x - 1; for grey images threshold first)"
            if a.dtype == bool or np.all(np.isin(a, (0, 1)))
            else ""
        )
        raise ValueError(f"{name}: every entry must be +1 or -1, got values such as {vals.tolist()}{hint}")
    return a.astype(np.float64)


def _rng(seed) -> np.random.Generator:
    if isinstance(seed, np.random.Generator):
        return seed
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, (int, np.integer))):
        raise TypeError(f"recall: seed must be an int, a numpy Generator or None, got {type(seed).__name__}")
    return np.random.default_rng(seed)


@dataclass
class RecallResult:
    """What ``HopfieldNetwork.recall`` returns.

    state: the final +-1 state (N,). energies: E after each recorded step, index 0 = the start.
    overlaps: (T, P) overlaps m_mu = xi_mu . s / N with each stored pattern at the same steps.
    steps: sweeps run (async: one sweep = N single-unit updates in random order; sync: one
    parallel update). flips: units that changed state in total. converged: the last sweep/step
    changed nothing (a fixed point). cycle: 2 when synchronous updates entered a 2-cycle, else 0.
    """

    state: np.ndarray
    energies: np.ndarray
    overlaps: np.ndarray
    steps: int
    flips: int
    converged: bool
    cycle: int = 0

    @property
    def energy(self) -> float:
        return float(self.energies[-1])

    def overlap(self, index: int | None = None) -> float | np.ndarray:
        """Final overlap with stored pattern ``index`` (all patterns when None)."""
        m = self.overlaps[-1]
        return m if index is None else float(m[index])


class HopfieldNetwork:
    """N binary (+-1) neurons with symmetric weights and a zero diagonal.

    >>> net = HopfieldNetwork(100)
    >>> net.store(patterns)                       # (P, 100) array of +-1
    >>> res = net.recall(noisy, mode="async", seed=0)
    >>> res.state, res.energies, res.overlaps

    Rules: ``hebb`` w = (1/N) sum_mu xi xi^T (capacity ~0.138 N for random patterns),
    ``storkey`` (Storkey 1997, local and incremental, larger basins and capacity), ``pinv`` the
    projection (pseudo-inverse) rule w = X^T (X X^T)^+ X, which makes every stored pattern a fixed
    point up to P < N linearly independent patterns. ``store`` replaces what was stored before.
    """

    def __init__(self, N: int):
        self.N = _check_n(N)
        self.weights = np.zeros((self.N, self.N))
        self.patterns = np.zeros((0, self.N))
        self.rule: str | None = None

    def __repr__(self) -> str:
        return f"HopfieldNetwork(N={self.N}, patterns={len(self.patterns)}, rule={self.rule!r})"

    # ------------------------------------------------------------------ storage
    def store(self, patterns, rule: str = "hebb") -> "HopfieldNetwork":
        """Set the weights so that ``patterns`` ((P, N) or one (N,) vector of +-1) are memories."""
        if rule not in RULES:
            raise ValueError(f"store: rule must be one of {', '.join(repr(r) for r in RULES)}, got {rule!r}")
        X = check_bipolar(patterns, self.N, "store: patterns")
        X = np.atleast_2d(X)
        N = self.N
        if rule == "hebb":
            W = X.T @ X / N
        elif rule == "storkey":
            W = np.zeros((N, N))
            for xi in X:  # the rule is sequential over patterns (each sees the weights so far)
                h = W @ xi  # h_i = sum_{k != i} w_ik xi_k (zero diagonal)
                # h_ij = sum_{k != i, j} w_ik xi_k = h_i - w_ij xi_j
                hij = h[:, None] - W * xi[None, :]
                W += (np.outer(xi, xi) - xi[:, None] * hij.T - hij * xi[None, :]) / N
                np.fill_diagonal(W, 0.0)
        else:  # pinv: projection onto the span of the patterns
            C = X @ X.T / N
            W = X.T @ np.linalg.pinv(C, hermitian=True) @ X / N
        W = (W + W.T) / 2  # exact symmetry after floating-point products
        np.fill_diagonal(W, 0.0)
        self.weights, self.patterns, self.rule = W, X, rule
        return self

    # ------------------------------------------------------------------ energy
    def energy(self, s) -> float | np.ndarray:
        """E(s) = -1/2 s^T W s for one state (N,) or each row of a (B, N) batch."""
        S = check_bipolar(s, self.N, "energy: s")
        if S.ndim == 1:
            return float(-0.5 * S @ self.weights @ S)
        return -0.5 * np.einsum("bi,ij,bj->b", S, self.weights, S)

    def local_field(self, s) -> np.ndarray:
        """h = W s: the input each neuron sees."""
        return check_bipolar(s, self.N, "local_field: s") @ self.weights

    def _tie_tol(self) -> float:
        return 1e-9 * max(float(np.abs(self.weights).sum(1).max()), 1e-300)

    def is_fixed_point(self, s) -> bool:
        """True when no unit would change under the update rule (ties keep their state)."""
        S = check_bipolar(s, self.N, "is_fixed_point: s", allow_batch=False)
        return not np.any(S * (self.weights @ S) < -self._tie_tol())

    # ------------------------------------------------------------------ recall
    def recall(self, x, mode: str = "async", max_sweeps: int = 100, seed=None, record: str = "sweep") -> RecallResult:
        """Run the dynamics from state ``x`` until a fixed point (or a 2-cycle in sync mode) or
        ``max_sweeps``.

        async: in each sweep every unit is visited once in a fresh random order (``seed``) and set
        to sgn(h_i) (kept when h_i = 0); the energy never rises. The local fields are kept and
        updated by one weight column per flip, and the sweep jumps straight to the next unit whose
        sign disagrees with its field, so a sweep costs O(N) vectorized work per flip.
        sync: all units update at once; this can oscillate between two states (a 2-cycle), which
        stops the run with ``cycle=2``.

        ``record``: "sweep" records energy and overlaps after each sweep; "flip" (async only)
        after every single flip as well, for plotting the descent.
        """
        if mode not in MODES:
            raise ValueError(f"recall: mode must be 'async' or 'sync', got {mode!r}")
        if record not in ("sweep", "flip"):
            raise ValueError(f"recall: record must be 'sweep' or 'flip', got {record!r}")
        if record == "flip" and mode != "async":
            raise ValueError("recall: record='flip' needs mode='async' (sync updates flip all units at once)")
        if isinstance(max_sweeps, bool) or not isinstance(max_sweeps, (int, np.integer)) or max_sweeps < 1:
            raise ValueError(f"recall: max_sweeps must be a positive int, got {max_sweeps!r}")
        s = check_bipolar(x, self.N, "recall: x", allow_batch=False).copy()
        rng = _rng(seed)
        if mode == "async":
            return self._recall_async(s, int(max_sweeps), rng, record == "flip")
        return self._recall_sync(s, int(max_sweeps))

    def _recall_async(self, s, max_sweeps, rng, per_flip) -> RecallResult:
        W, X, N, tol = self.weights, self.patterns, self.N, self._tie_tol()
        XT = np.ascontiguousarray(X.T)  # row i: neuron i's bit in every pattern
        h = W @ s  # the only full product: afterwards the fields follow the flips
        m = X @ s / N
        E = -0.5 * float(s @ h)
        energies, overlaps = [E], [m.copy()]
        flips, converged, sweeps = 0, False, 0
        for sweeps in range(1, max_sweeps + 1):
            order = rng.permutation(N)
            pos, changed = 0, 0
            while pos < N:
                rest = order[pos:]
                unstable = s[rest] * h[rest] < -tol  # sign disagrees with a nonzero field
                k = int(np.argmax(unstable))
                if not unstable[k]:
                    break
                i = rest[k]
                E += 2.0 * s[i] * h[i]  # dE = -(s_new - s_old) h_i = 2 s_old h_i < 0
                s[i] = -s[i]
                h += (2.0 * s[i]) * W[i]  # column i = row i (symmetric), contiguous
                m += (2.0 * s[i] / N) * XT[i]
                changed += 1
                pos += k + 1
                if per_flip:
                    energies.append(E)
                    overlaps.append(m.copy())
            flips += changed
            E = -0.5 * float(s @ h)  # re-anchor the running energy on the fields (O(N))
            if per_flip and changed:
                energies[-1] = E
            else:
                energies.append(E)
                overlaps.append(m.copy())
            if changed == 0:
                converged = True
                break
        return RecallResult(
            s, np.asarray(energies), np.asarray(overlaps).reshape(len(energies), len(X)), sweeps, flips, converged
        )

    def _recall_sync(self, s, max_sweeps) -> RecallResult:
        W, X, N, tol = self.weights, self.patterns, self.N, self._tie_tol()
        energies, overlaps = [float(-0.5 * s @ W @ s)], [X @ s / N]
        prev = None
        flips, converged, cycle, steps = 0, False, 0, 0
        for steps in range(1, max_sweeps + 1):
            h = W @ s
            new = np.where(np.abs(h) > tol, np.sign(h), s)
            changed = int(np.count_nonzero(new != s))
            flips += changed
            prev, s = s, new
            energies.append(float(-0.5 * s @ W @ s))
            overlaps.append(X @ s / N)
            if changed == 0:
                converged = True
                break
            h2 = W @ s
            back = np.where(np.abs(h2) > tol, np.sign(h2), s)
            if np.array_equal(back, prev):
                cycle = 2
                break
        return RecallResult(
            s, np.asarray(energies), np.asarray(overlaps).reshape(len(energies), len(X)), steps, flips, converged, cycle
        )
