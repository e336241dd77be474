"""Run several experiments and write the lab report: ``report.html`` (a verdict table, then one
section per claim with its figures, in the style of the training report) and ``results.json``."""

from __future__ import annotations

import html
import json
import os
import platform
import time
from datetime import datetime, timezone
from pathlib import Path

from nnlab.experiments.registry import FAILS, HOLDS, INCONCLUSIVE, get, heading_with_gloss, names, run_experiment

__all__ = ["run_many", "write_lab_report", "write_markdown", "machine_info"]

_COLORS = {HOLDS: "#1a7f37", FAILS: "#b42318", INCONCLUSIVE: "#9a6700"}
_CSS_EXTRA = """
.verdict{font-weight:600;white-space:nowrap} .claim{font-style:italic} td.l,th.l{text-align:left}
td.stat{min-width:20em} body{max-width:1150px}
"""


def machine_info() -> dict:
    """What the numbers were measured on: CPU model, core count, Python and NumPy versions."""
    import numpy as np

    cpu = platform.processor() or ""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "system": f"{platform.system()} {platform.release()}",
    }


def run_many(
    selected=None,
    seeds: int | None = None,
    quick: bool = False,
    out_dir="runs/experiments",
    progress: bool = True,
    jobs: int = 1,
    update: bool = False,
) -> dict:
    """Run the named experiments (all when ``selected`` is None), write results.json and
    report.html into ``out_dir``; returns the results document.

    ``jobs`` > 1 runs that many experiments at once in separate processes (each uses one BLAS
    thread, so ``jobs=2`` fills a 2-core machine). The CPU seconds reported are the sum over
    experiments, each measured in the process that ran it.

    ``update``: keep the other experiments' records from ``out_dir/results.json`` (a previous run)
    and replace only the ones run now, so one claim can be re-measured without losing the rest."""
    if isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1:
        raise ValueError(f"run_many: jobs must be a positive integer, got {jobs!r}")
    selected = list(selected) if selected else names()
    exps = [get(n) for n in selected]
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    total = sum(e.seeds if seeds is None else seeds for e in exps)
    bar = _bar(total, progress)
    started = datetime.now(timezone.utc)
    cpu0, wall0 = time.process_time(), time.perf_counter()
    records = []
    # the previous run's records, read before this run's partial writes replace the file
    previous = json.loads((out / "results.json").read_text()) if update and (out / "results.json").exists() else None
    if previous is not None and bool(previous.get("quick")) != bool(quick):
        _merge(previous, {"quick": quick})  # raises: quick and full runs do not mix

    def document(complete: bool) -> dict:
        doc = {
            "date": started.strftime("%Y-%m-%d %H:%M UTC"),
            "machine": machine_info(),
            "quick": bool(quick),
            "complete": complete,
            "jobs": jobs,
            "cpu_seconds": round(
                sum(r["cpu_seconds"] for r in records) + (time.process_time() - cpu0 if jobs > 1 else 0), 1
            ),
            "wall_seconds": round(time.perf_counter() - wall0, 1),
            "counts": {s: sum(r["verdict"]["status"] == s for r in records) for s in (HOLDS, FAILS, INCONCLUSIVE)},
            "experiments": list(records),
        }
        return _merge(previous, doc) if previous is not None else doc

    try:
        if jobs == 1:
            for e in exps:
                if bar is not None:
                    bar.set_description(e.name)
                records.append(
                    run_experiment(
                        e, seeds=seeds, quick=quick, out_dir=out, progress=bar.update if bar is not None else None
                    )
                )
                if len(records) < len(exps):  # what is done so far survives an interrupted run
                    _write(document(False), out)
        else:
            import multiprocessing
            from concurrent.futures import ProcessPoolExecutor, as_completed

            done = {}
            with ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context("spawn")) as pool:
                futures = [pool.submit(run_experiment, e.name, seeds, quick, str(out)) for e in exps]
                for f in as_completed(futures):
                    rec = f.result()
                    done[rec["name"]] = rec
                    records[:] = [done[e.name] for e in exps if e.name in done]
                    if bar is not None:
                        bar.set_description(rec["name"])
                        bar.update(len(rec["seeds"]))
                    if len(records) < len(exps):
                        _write(document(False), out)
    finally:
        if bar is not None:
            bar.close()
    doc = document(True)
    _write(doc, out)
    return doc


def _merge(old: dict, new: dict) -> dict:
    """``old``'s records with those in ``new`` replaced (registry order); the date and the costs
    say which parts were measured when."""
    if bool(old.get("quick")) != bool(new.get("quick")):
        raise ValueError(
            "run_many(update=True): the previous results are "
            f"{'quick' if old.get('quick') else 'full'} runs and these are not; use another --out"
        )
    fresh = {r["name"]: r for r in new["experiments"]}
    kept = [r for r in old.get("experiments", []) if r["name"] not in fresh]
    order = {n: i for i, n in enumerate(names())}
    records = sorted(kept + list(fresh.values()), key=lambda r: order.get(r["name"], len(order)))
    doc = dict(new)
    doc["experiments"] = records
    doc["date"] = f"{old.get('date', '?')}; updated {new['date']} ({', '.join(fresh)})"
    doc["cpu_seconds"] = round(sum(r["cpu_seconds"] for r in records), 1)
    doc["wall_seconds"] = round(old.get("wall_seconds", 0) + new["wall_seconds"], 1)
    doc["counts"] = {s: sum(r["verdict"]["status"] == s for r in records) for s in (HOLDS, FAILS, INCONCLUSIVE)}
    return doc


def _write(doc, out):
    (out / "results.json").write_text(json.dumps(doc, indent=1))
    write_lab_report(doc, out)


def _bar(total, enabled):
    if not enabled:
        return None
    try:
        from tqdm.auto import tqdm
    except ImportError:  # pragma: no cover
        return None
    return tqdm(total=total, unit="seed", leave=True)


def _num(x):
    return "-" if x is None else f"{x:.4g}"


def write_lab_report(doc: dict, out_dir) -> str:
    """``out_dir/report.html`` from a results document (what :func:`run_many` returns)."""
    from nnlab.report import _CSS

    out = Path(out_dir)
    m = doc.get("machine", {})
    title = "nnlab lab report: the notes' claims, measured"
    p = [
        f"<!doctype html><html><head><meta charset='utf-8'><title>{title}</title>"
        f"<style>{_CSS}{_CSS_EXTRA}</style></head><body><h1>{title}</h1>",
        f"<p class='muted'>{html.escape(doc.get('date', ''))} &middot; {html.escape(str(m.get('cpu', '')))}, "
        f"{m.get('cores', '?')} cores &middot; Python {m.get('python', '')}, NumPy {m.get('numpy', '')} &middot; "
        f"{'quick runs (machinery check, not verdicts to quote)' if doc.get('quick') else 'full runs'} &middot; "
        f"{doc.get('cpu_seconds', 0):.0f} s CPU, {doc.get('wall_seconds', 0):.0f} s wall"
        f"{'' if doc.get('complete', True) else ' &middot; <b>incomplete: the run is still going or was stopped</b>'}</p>",
    ]
    c = doc.get("counts", {})
    p.append(
        f"<p>{c.get(HOLDS, 0)} claims hold, {c.get(FAILS, 0)} do not hold, {c.get(INCONCLUSIVE, 0)} are "
        "inconclusive. A claim holds when its statistic passes the threshold on every seed, does not hold "
        "when it passes on none, and is inconclusive when the seeds disagree.</p>"
    )
    p.append(
        "<h2>Verdicts</h2><table><tr><th>experiment</th><th class='l'>verdict</th><th class='l'>statistic</th>"
        "<th>threshold</th><th>median (min..max)</th><th>seeds</th><th>CPU s</th></tr>"
    )
    for r in doc["experiments"]:
        v = r["verdict"]
        p.append(
            f"<tr><td><a href='#{r['name']}'>{r['name']}</a></td>"
            f"<td class='verdict l' style='color:{_COLORS.get(v['status'], '#222')}'>{v['status']}</td>"
            f"<td class='l stat'>{html.escape(v['statistic'])}</td><td>{html.escape(v['threshold'])}</td>"
            f"<td>{_num(v['median'])} ({_num(v['min'])}..{_num(v['max'])})</td>"
            f"<td>{len(r['seeds'])}</td><td>{r['cpu_seconds']:.1f}</td></tr>"
        )
    p.append("</table>")
    for r in doc["experiments"]:
        v = r["verdict"]
        p.append(
            f"<h2 id='{r['name']}'>{html.escape(r['name'])}: "
            f"<span style='color:{_COLORS.get(v['status'], '#222')}'>{v['status']}</span></h2>"
        )
        p.append(f"<p class='claim'>{html.escape(r['claim'])}</p>")
        heading = html.escape(heading_with_gloss(r["heading"]))
        p.append(
            f"<p class='muted'>From {html.escape(r['source'])}, section &laquo;{heading}&raquo;. "
            f"Statistic: {html.escape(v['statistic'])} {html.escape(v['threshold'])}; per seed: "
            f"{', '.join(_num(x) for x in v['values'])}.</p>"
        )
        if v.get("detail"):
            p.append(f"<p class='muted'>{html.escape(v['detail'])}</p>")
        for f in r.get("figures", []):
            p.append(f"<img src='{html.escape(f)}' alt='{html.escape(r['name'])}'>")
    p.append("</body></html>")
    path = out / "report.html"
    path.write_text("\n".join(p))
    return str(path)


def _cell(text) -> str:
    return str(text).replace("|", "\\|")


def write_markdown(doc: dict, out_dir, path, command: str = "", remarks: str = "") -> str:
    """The results as Markdown at ``path`` (docs/experiments.md), with the figures copied into a
    folder named after it (docs/experiments/). ``out_dir`` is where the run wrote its figures."""
    import shutil

    path = Path(path)
    fig_dir = path.with_suffix("")
    if fig_dir.exists():
        shutil.rmtree(fig_dir)
    m = doc.get("machine", {})
    c = doc.get("counts", {})
    lines = [
        "# The notes' claims, measured",
        "",
        "Each claim of the notes is a seeded experiment with a numeric verdict (`nnlab experiments list`). "
        "A claim **holds** when its statistic passes the threshold on every seed, **does not hold** when it "
        "passes on none, and is **inconclusive** when the seeds disagree. Thresholds follow from the claim; "
        "a claim that does not hold on our data is reported as such.",
        "",
        f"- Run: {doc.get('date', '')}, {'quick variants' if doc.get('quick') else 'full runs'}"
        + (f", `{command}`" if command else ""),
        f"- Machine: {m.get('cpu', '')}, {m.get('cores', '?')} cores (shared with other jobs), "
        f"{m.get('system', '')}, Python {m.get('python', '')}, NumPy {m.get('numpy', '')}",
        f"- Cost: {doc.get('cpu_seconds', 0):.0f} s CPU, {doc.get('wall_seconds', 0):.0f} s wall "
        "(one BLAS thread per experiment)",
        f"- Verdicts: {c.get(HOLDS, 0)} hold, {c.get(FAILS, 0)} do not hold, {c.get(INCONCLUSIVE, 0)} inconclusive",
        *([f"- {remarks}"] if remarks else []),
        "",
        "| experiment | verdict | statistic | threshold | median | min | max | seeds | CPU s |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in doc["experiments"]:
        v = r["verdict"]
        lines.append(
            f"| [{r['name']}](#{r['name']}) | **{v['status']}** | {_cell(v['statistic'])} | "
            f"{_cell(v['threshold'])} | {_num(v['median'])} | {_num(v['min'])} | {_num(v['max'])} | "
            f"{len(r['seeds'])} | {r['cpu_seconds']:.1f} |"
        )
    for r in doc["experiments"]:
        v = r["verdict"]
        lines += [
            "",
            f"## {r['name']}",
            "",
            f"*{r['claim']}*",
            "",
            f"Source: {r['source']}, «{heading_with_gloss(r['heading'])}». Verdict: **{v['status']}** "
            f"({v['statistic']} {v['threshold']}; per seed {', '.join(_num(x) for x in v['values'])}).",
            "",
        ]
        if v.get("detail"):
            lines += [v["detail"], ""]
        lines.append(
            f"Measured: `nnlab experiments run {r['name']}"
            f"{' --quick' if r['quick'] else ''} --seeds {len(r['seeds'])}` ({r['cpu_seconds']:.1f} s CPU)."
        )
        for f in r.get("figures", []):
            src = Path(out_dir) / f
            if src.exists():
                dst = fig_dir / f
                dst.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(src, dst)
                lines += ["", f"![{r['name']}]({fig_dir.name}/{f})"]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")
    return str(path)
