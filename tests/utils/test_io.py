import os

import numpy as np
import pytest

from nnlab.utils.io import atomic_savez, atomic_write, atomic_write_text, file_mode


def test_a_failing_writer_keeps_the_old_file_and_leaves_no_temporary(tmp_path):
    path = tmp_path / "sub" / "f.txt"
    atomic_write_text(path, "old\n")
    assert path.read_text() == "old\n"

    def writer(f):
        f.write(b"half")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        atomic_write(path, writer)
    assert path.read_text() == "old\n"
    assert sorted(p.name for p in path.parent.iterdir()) == ["f.txt"]


def test_savez_roundtrip_mode_and_keys_that_look_like_options(tmp_path):
    path = tmp_path / "a.npz"
    x = np.arange(6, dtype=np.float32).reshape(2, 3)
    assert atomic_savez(path, {"x": x, "fsync": np.ones(2), "path": np.zeros(1)}, fsync=True) == str(path)
    with np.load(path) as z:
        assert sorted(z.files) == ["fsync", "path", "x"]
        np.testing.assert_array_equal(z["x"], x)
    assert os.stat(path).st_mode & 0o777 == file_mode()  # what open() would give, not mkstemp's 0600


def test_a_process_killed_mid_write_leaves_the_previous_file_whole(tmp_path):
    """SIGKILL (no cleanup at all) while a checkpoint-sized file is being written, chunk by chunk:
    the destination still holds the last complete version."""
    import signal
    import subprocess
    import sys
    import textwrap
    import time

    path = tmp_path / "ck.npz"
    child = textwrap.dedent(f"""
        import sys, time
        import numpy as np
        from nnlab.utils.io import atomic_savez
        class Slow:  # a file object whose writes take time, so the kill lands mid-write
            def __init__(self, f): self.f = f
            def write(self, b): time.sleep(0.01); return self.f.write(b)
            def __getattr__(self, k): return getattr(self.f, k)
        from nnlab.utils import io
        real = io.atomic_write
        io.atomic_write = lambda p, w, **kw: real(p, lambda f: w(Slow(f)), **kw)
        for k in range(1000):
            atomic_savez({str(path)!r}, {{"k": np.full(200_000, k, dtype=np.int64)}})
            print(k, flush=True)
    """)
    env = {**os.environ, "PYTHONPATH": os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))}
    proc = subprocess.Popen([sys.executable, "-c", child], stdout=subprocess.PIPE, text=True, env=env)
    try:
        proc.stdout.readline()  # version 0 complete
        time.sleep(0.05)  # now inside the next write
        temporaries = [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert temporaries, "the kill should land while a temporary file is being written"
    with np.load(path) as z:
        k = z["k"]
    assert len(k) == 200_000 and (k == k[0]).all()
