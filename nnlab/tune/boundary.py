"""The notes' warning when the best value of a parameter sits at the edge of its range."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from nnlab.tune.space import SearchSpace

__all__ = ["boundary_warnings"]


def _fmt(v):
    return f"{v:.3g}" if isinstance(v, float) else str(v)


def boundary_warnings(
    rows, space: SearchSpace, metric: str = "val_accuracy", direction: str = "maximize", top: int = 3, edge: float = 0.1
) -> list[str]:
    """Numeric parameters whose best trials sit at an edge of the range.

    Positions are on the parameter's own scale (log for log ranges), 0 and 1 being the range's
    ends. Looks at the ``top`` best rows (dicts with the parameter values and ``metric``) and
    warns for a side when

    - the best one and the median of the top ones both lie within ``edge`` of that end, or
    - the best one is (within ``edge / 2``) the most extreme value tried on that side, the top
      ones lie in the outer ``2.5 * edge``, and over all rows (at least ``max(4 * top, 12)``) the metric
      improves towards that end (rank correlation beyond 0.5): random sampling merely left the
      last stretch untried. The trend keeps a parameter that does not matter quiet.

    Either way the range probably cuts off better values beyond that end. An optimum well inside
    the range has trials on both of its sides, so it stays quiet.
    """
    rows = [r for r in rows if r.get(metric) is not None and math.isfinite(r[metric])]
    if len(rows) < 2:
        return []
    ranked = sorted(rows, key=lambda r: -r[metric] if direction == "maximize" else r[metric])
    best_rows = ranked[: max(1, top)]
    out = []
    for p in space:
        if not p.numeric or p.name not in best_rows[0]:
            continue
        us = [p.unit(r[p.name]) for r in best_rows]
        if any(r.get(p.name) is None for r in rows):
            continue
        tried = [p.unit(r[p.name]) for r in rows]
        if not all(math.isfinite(u) for u in us + tried):
            continue
        # Rank correlation of position and metric (positive: better towards the upper end).
        trend = _rank_corr(tried, [r[metric] if direction == "maximize" else -r[metric] for r in rows])
        for side, dist, sign in (("lower", lambda u: u, -1), ("upper", lambda u: 1 - u, 1)):
            best, med = dist(us[0]), float(np.median([dist(u) for u in us]))
            at_edge = best <= edge and med <= edge
            extreme = (
                len(rows) >= max(4 * top, 12)
                and best - min(dist(u) for u in tried) <= edge / 2
                and max(best, med) <= 2.5 * edge
                and sign * trend > 0.5
            )
            if at_edge or extreme:
                bound = p.low if side == "lower" else p.high
                out.append(
                    f"{p.name}: the best trials lie at the {side} edge of its range "
                    f"[{_fmt(p.low)}, {_fmt(p.high)}] (best {p.name}={_fmt(best_rows[0][p.name])}, "
                    f"edge {_fmt(bound)}); better values may lie beyond {_fmt(bound)}: widen the range"
                )
    return out


def _rank_corr(a, b) -> float:
    """Spearman's rank correlation (0 when either side is constant)."""
    ra = np.argsort(np.argsort(a, kind="stable"), kind="stable").astype(float)
    rb = np.argsort(np.argsort(b, kind="stable"), kind="stable").astype(float)
    ra, rb = ra - ra.mean(), rb - rb.mean()
    den = math.sqrt(float(ra @ ra) * float(rb @ rb))
    return float(ra @ rb) / den if den else 0.0
