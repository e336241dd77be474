"""Render a results JSON of ``benchmarks.run`` as a Markdown table:
``python -m benchmarks.to_markdown runs/bench/latest.json``."""
from __future__ import annotations

import json
import sys

from benchmarks.run import _fmt


def render(path: str) -> str:
    with open(path) as f:
        res = json.load(f)
    m = res["machine"]
    lines = [f"Command: `{res['command']}`  ",
             f"Date {m['date']}; {m['nproc']} CPUs ({m['cpu']}); {m['threads']} threads per framework; "
             f"NumPy {m['numpy']} with {m['blas']}; PyTorch {m['torch']}; Python {m['python']}; "
             f"load average at start {m.get('loadavg_at_start')}; medians of {res['repeats']} "
             f"alternating blocks of ~{res['block_s']:g} s.",
             "",
             "| workload | unit | nnlab | torch | ratio | floor | met? |",
             "|---|---|---:|---:|---:|---:|:---:|"]
    for e in res["rows"]:
        ratio = _fmt(e["ratio"]) if e.get("ratio") is not None else "-"
        lines.append(f"| {e['key']} {e['name']} | {e['unit']} | {_fmt(e.get('nnlab'))} | "
                     f"{_fmt(e.get('torch'))} | {ratio} | {e.get('floor_text', '-')} | "
                     f"{e.get('met_text', '-')} |")
    notes = [f"- {e['key']}: {e['note']}" for e in res["rows"] if e.get("note")]
    if notes:
        lines += [""] + notes
    return "\n".join(lines)


if __name__ == "__main__":
    print(render(sys.argv[1]))
