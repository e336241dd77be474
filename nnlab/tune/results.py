"""A search's results: one row per trial of every stage, results.csv, best.json and the report."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from nnlab.tune.boundary import boundary_warnings

__all__ = ["SearchResult", "trial_rows", "write_results", "load_results", "write_json"]


@dataclass
class SearchResult:
    out: Path
    rows: list
    best: dict | None
    warnings: list
    stages: list
    stopped: str | None = None  # why a worker stopped before the total (too many failed trials)

    def table(self, limit: int | None = 20) -> str:
        from nnlab.tune.report import results_table

        return results_table(self.rows, limit=limit)


def trial_rows(studies, stages, metric: str, direction: str) -> list[dict]:
    """One row per trial (params, stage, epochs, metric, status), the last stage first, best first.

    ``studies``: the study of each stage reached so far (index = stage).
    """
    from optuna.trial import TrialState

    rows = []
    for k, study in enumerate(studies):
        for t in study.get_trials(deepcopy=False):
            if t.user_attrs.get("surplus"):
                continue  # withdrawn before it ran (see trial.withdraw_surplus)
            status = {
                TrialState.COMPLETE: "complete",
                TrialState.FAIL: "fail",
                TrialState.RUNNING: "running",
                TrialState.WAITING: "waiting",
                TrialState.PRUNED: "pruned",
            }[t.state]
            if t.state == TrialState.FAIL and "error" not in t.user_attrs:
                status = "lost"  # its worker vanished; the parameters were queued again
            rows.append(
                {
                    "stage": k + 1,
                    "trial": t.number,
                    "epochs": t.user_attrs.get("epochs", stages[k].epochs),
                    "status": status,
                    metric: t.value,
                    **t.params,
                    "seconds": (t.duration.total_seconds() if t.duration else None),
                    "dir": t.user_attrs.get("dir", ""),
                    "error": t.user_attrs.get("error", ""),
                }
            )
    sign = -1 if direction == "maximize" else 1

    def key(r):
        v = r[metric]
        return (-r["stage"], 0 if v is not None else 1, sign * v if v is not None else 0, r["trial"])

    rows.sort(key=key)
    return rows


def write_results(out: Path, rows, space, stages, metric: str, direction: str, plots: bool = True) -> SearchResult:
    """results.csv, best.json (the best trial of the last stage reached) and the report."""
    from nnlab.tune.report import write_report, write_csv

    names = list(space.params)
    write_csv(out / "results.csv", rows, names, metric)
    first = [r for r in rows if r["stage"] == 1 and r["status"] == "complete"]
    warnings = boundary_warnings(first, space, metric, direction)
    best = next((r for r in rows if r["status"] == "complete"), None)
    best_doc = None
    if best is not None:
        kept = first[: max(1, math.ceil(len(first) * stages[0].keep))]
        best_doc = {
            "metric": metric,
            "value": best[metric],
            "params": {n: best[n] for n in names},
            "stage": best["stage"],
            "epochs": best["epochs"],
            "trial": best["trial"],
            "checkpoint": (
                str(Path(best["dir"]) / "checkpoint.npz")
                if best["dir"] and (out / best["dir"] / "checkpoint.npz").exists()
                else None
            ),
            "warnings": warnings,
            "narrowed_space": space.narrowed([{n: r[n] for n in names} for r in kept]).to_config() if first else None,
            "trials": {
                f"stage{k + 1}": sum(1 for r in rows if r["stage"] == k + 1 and r["status"] == "complete")
                for k in range(len(stages))
            },
        }
        write_json(out / "best.json", best_doc)
    write_report(out, rows, space, metric, warnings, best_doc, plots=plots)
    return SearchResult(out, rows, best_doc, warnings, stages)


def _jsonable(x):
    if isinstance(x, dict):
        return {str(k): _jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_jsonable(v) for v in x]
    if isinstance(x, np.generic):
        return x.item()
    if isinstance(x, float) and not math.isfinite(x):
        return repr(x)
    return x


def write_json(path, doc) -> None:
    from nnlab.utils.io import atomic_write_text

    atomic_write_text(path, json.dumps(_jsonable(doc), indent=2) + "\n")


def load_results(out) -> list[dict]:
    """The rows of ``<out>/results.csv`` with numbers parsed."""
    import csv

    rows = []
    with open(Path(out) / "results.csv", newline="", encoding="utf-8") as f:
        for r in csv.DictReader(f):
            rows.append({k: _parse_cell(v) for k, v in r.items()})
    return rows


def _parse_cell(v):
    if v == "":
        return None
    for conv in (int, float):
        try:
            return conv(v)
        except ValueError:
            pass
    return v
