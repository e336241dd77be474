"""benchmarks.op_profile: per-gate CPU time of a workload step, in a child process (it wraps the
gates of the process it runs in)."""

import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_op_profile_lists_the_step_gates_by_shape():
    out = subprocess.run(
        [sys.executable, "-m", "benchmarks.op_profile", "2", "--steps", "3"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0].startswith("workload 2 ") and "ms CPU per step" in lines[0]
    # the digit network's three Linear gates show separately, keyed by their input shapes
    for key in ("Linear(10x784, 16x784, 16)", "Linear(10x16, 16x16, 16)", "Linear(10x16, 10x16, 10)"):
        assert any(ln.endswith(key + ".forward") for ln in lines), key
        assert any(ln.endswith(key + ".backward") for ln in lines), key
    assert any(ln.endswith("Sigmoid(10x16).backward") for ln in lines)
    assert lines[-1].endswith("outside the gates")
