"""Importing nnlab changes no process-wide setting; ``nnlab.tune_allocator()`` is the explicit opt-in."""

import os
import subprocess
import sys
import textwrap

import pytest

# Runs in a fresh interpreter: ctypes.CDLL is replaced by a recorder before nnlab is imported, so
# any mallopt call (from an import or from tune_allocator) is seen.
_PROBE = textwrap.dedent("""
    import ctypes, sys
    calls = []
    class FakeLibc:
        def __init__(self, name, *a, **k):
            self.name = name
        def mallopt(self, param, value):
            calls.append((param, value))
            return 1
    ctypes.CDLL = FakeLibc
    import nnlab, nnlab.nn, nnlab.optim, nnlab.train, nnlab.diagnostics, nnlab.zoo
    import nnlab.cli.main
    print("import", len(calls))
    if sys.argv[1] == "tune":
        print("tuned", nnlab.tune_allocator(), sorted(calls))
""")


def _probe(mode, **env):
    out = subprocess.run(
        [sys.executable, "-c", _PROBE, mode], capture_output=True, text=True, env=dict(os.environ, **env), timeout=120
    )
    assert out.returncode == 0, out.stderr
    return out.stdout.splitlines()


def test_importing_nnlab_calls_no_mallopt():
    assert _probe("import")[0] == "import 0"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="mallopt tuning applies to glibc on Linux")
def test_tune_allocator_sets_both_thresholds_and_can_be_switched_off():
    lines = _probe("tune", NNLAB_MALLOC_TUNING="1")
    assert lines == ["import 0", f"tuned True {sorted([(-3, 32 * 2**20), (-1, 512 * 2**20)])}"]
    assert _probe("tune", NNLAB_MALLOC_TUNING="0") == ["import 0", "tuned False []"]


def test_nnlab_command_tunes_the_allocator(monkeypatch):
    from nnlab.cli.main import main

    called = []
    monkeypatch.setattr("nnlab.engine.allocator.tune_allocator", lambda: called.append(1) or True)
    assert main([]) == 0
    assert called == [1]
