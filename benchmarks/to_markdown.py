"""Render a results JSON of ``benchmarks.run`` as a Markdown table:
``python -m benchmarks.to_markdown runs/bench/latest.json``."""

from __future__ import annotations

import json
import sys

from benchmarks.run import TABLE_HEAD, table_cells


def render(path: str) -> str:
    with open(path) as f:
        res = json.load(f)
    m = res["machine"]
    lines = [
        f"Command: `{res['command']}`  ",
        f"Date {m['date']}; {m['nproc']} CPUs ({m['cpu']}); {m['threads']} threads per framework; "
        f"NumPy {m['numpy']} with {m['blas']}; BLAS kernel {m.get('blas_kernel', '?')}, "
        f"removed from the environment: {m.get('env_removed', '?')}; PyTorch {m['torch']}; "
        f"Python {m['python']}; load average at start {m.get('loadavg_at_start')}; medians of "
        f"{res['repeats']} alternating blocks of ~{res['block_s']:g} s.",
        "",
        "| " + " | ".join(TABLE_HEAD) + " |",
        "|---|---|---:|---:|---:|---:|:---:|---:|---:|:---:|",
    ]
    for e in res["rows"]:
        lines.append("| " + " | ".join(table_cells(e)) + " |")
    notes = [f"- {e['key']}: {e['note']}" for e in res["rows"] if e.get("note")]
    if notes:
        lines += [""] + notes
    return "\n".join(lines)


if __name__ == "__main__":
    print(render(sys.argv[1]))
