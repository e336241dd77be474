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
