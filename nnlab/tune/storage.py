"""Where a search keeps its study: an SQLite file in the search folder, or a database server.

Every worker records a heartbeat for its trial in flight; a trial whose heartbeat stopped (its
worker was killed or its machine died) is marked failed by the next worker that looks and its
parameters are queued again, so a killed worker loses only its own trial. When the search folder
is local and no other ``nnlab tune`` holds its lock, nothing can be in flight, so RUNNING trials
left over from a killed run are reclaimed at once.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

__all__ = ["storage_url", "open_storage", "DirLock", "reclaim", "finished", "MEMORY", "is_local_sqlite"]

MEMORY = ":memory:"
HEARTBEAT_SECONDS = 5
GRACE_SECONDS = 30


def _optuna():
    import warnings
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    # Heartbeats are used with ask/tell on purpose (each worker runs its own loop).
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
    warnings.filterwarnings("ignore", message="Heartbeat of storage is supposed to be used with Study.optimize")
    return optuna


def storage_url(url: str | None, out) -> str:
    """``url`` as given, or the default SQLite study file ``<out>/study.db``."""
    if url:
        return str(url)
    return "sqlite:///" + str((Path(out) / "study.db").resolve())


def is_local_sqlite(url: str, out) -> bool:
    return url == storage_url(None, out)


def open_storage(url: str, heartbeat: int = HEARTBEAT_SECONDS, grace: int = GRACE_SECONDS):
    """An Optuna storage with heartbeats (an in-memory one for ``":memory:"``)."""
    optuna = _optuna()
    if url == MEMORY:
        return optuna.storages.InMemoryStorage()
    check_storage_url(url)
    url = _with_driver(url)
    engine_kwargs = {"pool_pre_ping": True}
    if url.startswith("sqlite"):
        # Several processes write one file: wait for the lock rather than fail at once.
        engine_kwargs = {"connect_args": {"timeout": 120}}
    scheme = url.split("://")[0]
    try:
        return optuna.storages.RDBStorage(
            url, engine_kwargs=engine_kwargs, heartbeat_interval=int(heartbeat), grace_period=int(grace)
        )
    except ImportError as e:
        raise ValueError(
            f"--storage {scheme}://...: cannot load the database driver ({e}); "
            "install it (PostgreSQL: pip install psycopg2-binary)"
        ) from None
    except Exception as e:  # noqa: BLE001 - SQLAlchemy's errors, said as what to fix
        kind = type(e).__name__
        if kind == "NoSuchModuleError":
            raise ValueError(
                f"--storage {scheme}://...: unknown database driver {scheme!r}; use sqlite:///PATH, "
                "postgresql://USER@HOST/DB or mysql://USER@HOST/DB"
            ) from None
        if kind == "ArgumentError":
            raise ValueError(
                f"--storage: cannot parse {url!r} as a database URL such as sqlite:///runs/study.db "
                "or postgresql://USER@HOST/DB"
            ) from None
        if kind == "OperationalError":
            detail = str(getattr(e, "orig", e)).splitlines()[0]
            raise ValueError(
                f"--storage {_safe(url)}: cannot open the database ({detail}); check that it exists "
                "and is reachable (for SQLite, that its folder exists)"
            ) from None
        raise


def _safe(url: str) -> str:
    """``url`` without a password."""
    head, sep, rest = url.partition("://")
    if "@" in rest and ":" in rest.split("@", 1)[0]:
        user = rest.split("@", 1)[0].split(":", 1)[0]
        rest = f"{user}:***@" + rest.split("@", 1)[1]
    return head + sep + rest


def check_storage_url(url: str) -> None:
    """A database URL (``driver://...``), and for SQLite a file whose folder exists."""
    scheme, sep, rest = str(url).partition("://")
    if not sep or not scheme or not all(c.isalnum() or c in "+-_." for c in scheme):
        raise ValueError(
            f"--storage: cannot parse {url!r} as a database URL such as sqlite:///runs/study.db "
            "or postgresql://USER@HOST/DB"
        )
    if scheme.split("+")[0] == "sqlite":
        path = rest[1:] if rest.startswith("/") else rest
        if path and path != ":memory:":
            folder = Path(path).parent
            if not folder.is_dir():
                raise ValueError(f"--storage {url}: folder {folder} does not exist; create it or give another path")


def _with_driver(url: str) -> str:
    """``postgresql://`` with whichever PostgreSQL driver is installed (SQLAlchemy 2.1 assumes
    psycopg 3; psycopg2 is the one the test extra installs)."""
    import importlib.util

    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            rest = url[len(prefix) :]
            if importlib.util.find_spec("psycopg") is not None:
                return "postgresql+psycopg://" + rest
            if importlib.util.find_spec("psycopg2") is not None:
                return "postgresql+psycopg2://" + rest
            raise ValueError(f"--storage {prefix}...: no PostgreSQL driver installed (pip install psycopg2-binary)")
    return url


class DirLock:
    """A non-blocking exclusive lock on ``<out>/.lock`` held for the life of a master process."""

    def __init__(self, out):
        self.path = Path(out) / ".lock"
        self._fd = None

    def acquire(self) -> bool:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            return False
        self._fd = fd
        return True

    def release(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None


def finished(t) -> bool:
    """A trial that counts towards the total: completed, or failed by its own error (a retry
    would fail the same way). Trials failed because their worker vanished do not count."""
    from optuna.trial import TrialState

    return t.state == TrialState.COMPLETE or (t.state == TrialState.FAIL and "error" in t.user_attrs)


def reclaim(study, all_running: bool = False) -> list[int]:
    """Fail trials whose worker is gone and queue their parameters again; returns the numbers.

    ``all_running``: treat every RUNNING trial as abandoned (only when no worker can be alive).
    """
    optuna = _optuna()
    from optuna.trial import TrialState

    storage = study._storage
    if all_running:
        for t in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
            try:
                storage.set_trial_state_values(t._trial_id, state=TrialState.FAIL)
            except optuna.exceptions.UpdateFinishedTrialError:
                pass
    else:
        try:
            optuna.storages.fail_stale_trials(study)
        except Exception:  # noqa: BLE001 - heartbeat bookkeeping must never stop a worker
            pass
    trials = study.get_trials(deepcopy=False)
    retried = {t.user_attrs.get("retry_of") for t in trials}
    out = []
    for t in trials:
        if t.state == TrialState.FAIL and "error" not in t.user_attrs and t.number not in retried:
            attrs = {k: v for k, v in t.user_attrs.items() if k not in ("dir", "worker")}
            attrs["retry_of"] = t.number
            study.enqueue_trial(dict(t.params), user_attrs=attrs, skip_if_exists=False)
            out.append(t.number)
    return out
