"""Atomic file writes: a crash or Ctrl-C mid-write never leaves a half-written file behind.

The data goes to a temporary file in the destination's folder (same file system, so the final
``os.replace`` is atomic), which then replaces the destination in one step.
"""

from __future__ import annotations

import os
import re
import tempfile
import time

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: temporary files are not locked, only aged
    fcntl = None

__all__ = ["atomic_write", "atomic_write_text", "atomic_savez", "file_mode", "remove_stale_temps"]

# mkstemp's names: "<target>.<8 random characters>.tmp"
_TEMP_NAME = re.compile(r"^.+\.[A-Za-z0-9_]{8}\.tmp$")


def file_mode() -> int:
    """The mode a plain open() would give a new file (mkstemp files are private, 0600)."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


def atomic_write(path, writer, *, text: bool = False, fsync: bool = False) -> str:
    """Call ``writer(f)`` on a temporary file next to ``path``, then move it onto ``path``.

    ``text=True`` opens it as UTF-8 text (newlines as written), else binary. ``fsync=True`` forces
    the bytes to disk before the rename (for files a run cannot lose, e.g. checkpoints). The folder
    is created if needed; on any error the temporary file is removed and the error propagates.
    Returns ``path`` as a string.
    """
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=os.path.basename(path) + ".", suffix=".tmp", dir=folder)
    _lock(fd)  # held while writing: remove_stale_temps leaves the file alone
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") if text else os.fdopen(fd, "wb") as f:
            writer(f)
            if fsync:
                f.flush()
                os.fsync(f.fileno())
        os.chmod(tmp, file_mode())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    return path


def atomic_write_text(path, text: str) -> None:
    """Write ``text`` to ``path`` atomically (UTF-8)."""
    atomic_write(path, lambda f: f.write(text), text=True)


def atomic_savez(path, arrays: dict, *, fsync: bool = False) -> str:
    """``np.savez(path, **arrays)``, atomically (``arrays`` a dict: any key is a valid name)."""
    import numpy as np

    return atomic_write(path, lambda f: np.savez(f, **arrays), fsync=fsync)


def _lock(fd: int) -> bool:
    if fcntl is None:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except OSError:
        return False


def remove_stale_temps(folder, min_age: float = 2.0) -> list[str]:
    """Delete the temporary files that writers killed mid-write (kill -9, power loss) left in
    ``folder``; returns their paths.

    A temporary file of ``atomic_write`` is locked while its writer lives (the lock goes with the
    process), so a file that can be locked, and is at least ``min_age`` seconds old, has no writer
    any more; one being written by another process right now is left alone.
    """
    removed = []
    try:
        names = os.listdir(folder)
    except OSError:
        return removed
    now = time.time()
    for name in names:
        if not _TEMP_NAME.match(name):
            continue
        path = os.path.join(folder, name)
        try:
            if now - os.stat(path).st_mtime < min_age:
                continue
            fd = os.open(path, os.O_RDONLY)
        except OSError:
            continue
        try:
            if fcntl is not None and not _lock(fd):
                continue  # its writer is alive
            os.unlink(path)
            removed.append(path)
        except OSError:
            pass
        finally:
            os.close(fd)
    return removed
