"""The benchmark harness: its timing logic, and one tiny workload run end to end."""

import json
import os
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

from benchmarks import run as bench  # noqa: E402
from benchmarks.workloads import Case  # noqa: E402


class _FakeClock:
    """perf_counter and sleep on a clock that moves only when a step 'sleeps': no wall time involved."""

    def __init__(self):
        self.now = 0.0

    def perf_counter(self):
        return self.now

    def sleep(self, seconds):
        self.now += seconds


def test_measure_alternates_and_reports_medians(monkeypatch):
    clock, calls = _FakeClock(), []
    monkeypatch.setattr(bench, "time", clock)

    def stepper(name, seconds):
        def step():
            calls.append(name)
            clock.sleep(seconds)

        return step

    cases = {"fast": Case(stepper("fast", 0.005), samples=10), "slow": Case(stepper("slow", 0.030), samples=10)}
    res = bench.measure(cases, repeats=3, block_s=0.02, warmup_s=0.0, pause=0.0)
    assert set(res) == {"fast", "slow"}
    for v in res.values():
        assert len(v["runs"]) == 3 and v["median"] == sorted(v["runs"])[1]
    # throughput is samples per second of the clock: 10 / 0.005 and 10 / 0.030, a ratio of 6
    assert res["fast"]["median"] == pytest.approx(2000.0) and res["slow"]["median"] == pytest.approx(1000 / 3)
    assert res["fast"]["steps"] == 4 and res["slow"]["steps"] == 1  # block_s / time per step, at least 1
    # Timed blocks alternate: fast, slow, slow, fast, fast, slow (after the warm-up calls).
    warm = 4  # two warm-up steps each
    timed = calls[warm:]
    firsts = [timed[0]]
    for a, b in zip(timed, timed[1:]):
        if a != b:
            firsts.append(b)
    assert firsts == ["fast", "slow", "fast", "slow"]


def test_ratio_floor_and_memory_direction():
    e = bench._entry("1a", "x", "samples/s", 120.0, 100.0, 1.1)
    assert e["ratio"] == pytest.approx(1.2) and e["met"] is True
    m = bench._entry("1a", "x", "peak RSS MB", 200.0, 100.0, 1.5, higher=False)
    assert m["ratio"] == pytest.approx(2.0) and m["met"] is False
    missing = bench._entry("3t", "x", "samples/s", "n/a (missing: Conv2d)", 100.0, 0.8)
    assert "ratio" not in missing and "met" not in missing


def test_harness_runs_the_tiny_workload(tmp_path, capsys):
    out = tmp_path / "bench.json"
    rc = bench.main(["--only", "2", "--repeats", "1", "--quick", "--block", "0.05", "--no-memory", "--json", str(out)])
    assert rc == 0
    rows = json.loads(out.read_text())["rows"]
    assert [r["key"] for r in rows] == ["2"]
    row = rows[0]
    printed = capsys.readouterr().out
    assert "digits 784-16-16-10" in printed
    if isinstance(row["nnlab"], str):  # layers not written yet: said so, not crashed
        assert row["nnlab"].startswith("n/a (missing:")
    else:
        assert row["nnlab"] > 0
        if isinstance(row["torch"], float):
            assert row["ratio"] == pytest.approx(row["nnlab"] / row["torch"])


def test_workloads_1_2_carry_the_numpy_reference(tmp_path):
    out = tmp_path / "bench.json"
    assert (
        bench.main(["--only", "2", "--repeats", "1", "--quick", "--block", "0.05", "--no-memory", "--json", str(out)])
        == 0
    )
    row = json.loads(out.read_text())["rows"][0]
    assert row["reference"] > 0 and row["ref_ratio"] == pytest.approx(row["nnlab"] / row["reference"])
    assert row["ref_met_text"] in ("yes", "NO")


def test_run_drops_forced_openblas_kernels_and_says_so(tmp_path):
    """OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE are removed for the benchmark's own run (it restarts
    itself without them) and the header names the kernel in use and what was removed."""
    import subprocess

    out = tmp_path / "bench.json"
    env = dict(os.environ, OPENBLAS_CORETYPE="Haswell", OPENBLAS_L2_SIZE="1048576")
    p = subprocess.run(
        [
            sys.executable,
            "-m",
            "benchmarks.run",
            "--only",
            "2",
            "--repeats",
            "1",
            "--quick",
            "--block",
            "0.05",
            "--no-memory",
            "--json",
            str(out),
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert p.returncode == 0, p.stderr
    machine = json.loads(out.read_text())["machine"]
    assert machine["env_removed"] == "OPENBLAS_CORETYPE=Haswell,OPENBLAS_L2_SIZE=1048576"
    assert "removed from this run's environment: OPENBLAS_CORETYPE=Haswell" in p.stdout
    assert f"BLAS kernel {machine['blas_kernel']}" in p.stdout
