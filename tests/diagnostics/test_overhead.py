"""The overhead tool: one short A/B run gives consistent figures."""

import math

from nnlab.diagnostics import overhead


def test_measure_overhead_small_run(capsys, monkeypatch):
    r = overhead.measure_overhead("mlp", data="digits8x8", limit=256, epochs=1, repeats=1)
    assert r["steps"] == math.ceil(256 / 64)
    assert r["plain_seconds"] > 0 and r["monitored_seconds"] > 0
    # the instrumented parts are inside the monitored run's time
    assert 0 <= r["per_step_overhead"] <= r["total_overhead"]
    assert r["end_of_run_seconds"] > 0  # figures, TensorBoard images, diagnostics.json
    assert r["ab_overhead"] == r["monitored_seconds"] / r["plain_seconds"] - 1
    monkeypatch.setattr(overhead, "measure_overhead", lambda *a: r)
    assert overhead.main(["--model", "mlp", "--data", "digits8x8"]) == 0
    last = capsys.readouterr().out.splitlines()[-1].split()
    assert last[0] == "mlp" and last[1] == "4" and last[-1] == f"{r['total_overhead'] * 100:.2f}%"
