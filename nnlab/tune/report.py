"""The search's report: results.csv, a table sorted by the validation metric, and one scatter
plot per numeric parameter (metric against the value, log axes for log-scaled ranges such as the
learning rate and L2 strength), gathered in ``report.md``."""

from __future__ import annotations

import csv
import io
import math
from pathlib import Path

__all__ = ["results_table", "write_csv", "plot_param", "write_report"]

_FIXED = ("stage", "trial", "epochs", "status")


def _cell(v) -> str:
    if v is None:
        return ""
    if isinstance(v, float):
        return f"{v:.4g}"
    return str(v)


def _columns(rows, names=None, metric=None):
    if not rows:
        return list(_FIXED)
    metric = metric or next((k for k in rows[0] if k.startswith("val_")), None)
    names = names or [k for k in rows[0] if k not in _FIXED + (metric, "seconds", "dir", "error")]
    return list(_FIXED) + ([metric] if metric else []) + list(names) + ["seconds", "dir", "error"]


def write_csv(path, rows, names, metric) -> None:
    """One row per trial: stage, trial, epochs, status, metric, parameters, seconds, dir, error."""
    from nnlab.train.callbacks import atomic_write_text

    cols = _columns(rows, names, metric)
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(cols)
    for r in rows:
        w.writerow([("" if r.get(c) is None else (repr(r[c]) if isinstance(r[c], float) else r[c])) for c in cols])
    atomic_write_text(path, buf.getvalue())


def results_table(rows, limit: int | None = 20, metric: str | None = None) -> str:
    """A plain-text table of the rows as given (sorted by the search: best first per stage)."""
    cols = [c for c in _columns(rows, metric=metric) if c not in ("dir", "error")]
    shown = rows if limit is None else rows[:limit]
    cells = [[_cell(r.get(c)) for c in cols] for r in shown]
    widths = [max([len(c)] + [len(row[i]) for row in cells]) for i, c in enumerate(cols)]
    lines = ["  ".join(c.rjust(w) for c, w in zip(cols, widths)), "  ".join("-" * w for w in widths)]
    lines += ["  ".join(v.rjust(w) for v, w in zip(row, widths)) for row in cells]
    if limit is not None and len(rows) > limit:
        lines.append(f"... {len(rows) - limit} more rows in results.csv")
    return "\n".join(lines)


def plot_param(rows, param, metric: str, path) -> str | None:
    """Scatter of ``metric`` against ``param`` (a space Param), one colour per stage."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    pts = [
        (r[param.name], r[metric], r["stage"])
        for r in rows
        if r.get("status") == "complete" and r.get(param.name) is not None and r.get(metric) is not None
    ]
    if not pts:
        return None
    fig, ax = plt.subplots(figsize=(5, 3.6), dpi=100)
    for s in sorted({p[2] for p in pts}):
        xs = [p[0] for p in pts if p[2] == s]
        ys = [p[1] for p in pts if p[2] == s]
        ax.scatter(xs, ys, s=18, alpha=0.8, label=f"stage {s}")
    if getattr(param, "log", False) or param.kind == "pow2":
        ax.set_xscale("log", base=2 if param.kind == "pow2" else 10)
    lo, hi = getattr(param, "low", None), getattr(param, "high", None)
    if lo is not None:
        for b in (lo, hi):
            ax.axvline(b, color="0.7", lw=0.8, ls="--")
    ax.set_xlabel(param.name + (" (log scale)" if getattr(param, "log", False) else ""))
    ax.set_ylabel(metric)
    ax.set_title(f"{metric} vs {param.name}")
    ax.grid(alpha=0.3)
    if len({p[2] for p in pts}) > 1:
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return str(path)


def write_report(out, rows, space, metric: str, warnings, best, plots: bool = True) -> Path:
    """``report.md`` with the best configuration, warnings, the table and the plots."""
    out = Path(out)
    lines = ["# Hyperparameter search", ""]
    if best:
        params = ", ".join(f"{k}={_cell(v)}" for k, v in best["params"].items())
        lines += [
            f"Best {metric}: **{best['value']:.4f}** (stage {best['stage']}, {best['epochs']} epochs, "
            f"trial {best['trial']}): {params}",
            "",
        ]
        if best.get("checkpoint"):
            lines += [f"Checkpoint: `{best['checkpoint']}`", ""]
    for w in warnings:
        lines.append(f"- **warning** {w}")
    if warnings:
        lines.append("")
    figs = []
    for p in space:
        if not p.numeric or not plots:
            continue
        f = plot_param(rows, p, metric, out / f"{metric}_vs_{p.name}.png")
        if f:
            figs.append(Path(f).name)
    lines += [f"![{f}]({f})" for f in figs] + [""]
    lines += ["```", results_table(rows, limit=50, metric=metric), "```", ""]
    path = out / "report.md"
    from nnlab.train.callbacks import atomic_write_text

    atomic_write_text(path, "\n".join(lines))
    return path


def _finite(v) -> bool:
    return isinstance(v, (int, float)) and math.isfinite(v)
