"""Worker processes of a search on one machine: starting helpers, noticing a dead one, stopping
with a killed master, and the heartbeat that tells other workers a trial is still alive."""

from __future__ import annotations

import os
import socket
import sys
import threading

__all__ = ["Heartbeat", "worker_tag", "start_helpers", "fail_trials_of_dead_helpers", "exit_if_orphaned"]


def worker_tag(pid: int | None = None) -> str:
    """How a trial names the process that runs it (host and pid)."""
    return f"{socket.gethostname()}:{os.getpid() if pid is None else pid}"


def exit_if_orphaned(parent: int | None) -> None:
    """In a helper process: exit when the master that started it is gone (killed)."""
    if parent is not None and os.getppid() != parent:
        os._exit(3)


class Heartbeat:
    """Records the trial's heartbeat; in a helper process, exits when the master is gone."""

    def __init__(self, storage, trial_id: int, parent: int | None):
        self.storage, self.trial_id, self.parent = storage, trial_id, parent
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()

    def _run(self):
        rdb = hasattr(self.storage, "record_heartbeat") and self.storage.get_heartbeat_interval()
        interval = self.storage.get_heartbeat_interval() if rdb else 1.0
        while True:
            if self.parent is not None and os.getppid() != self.parent:
                os._exit(3)  # the master was killed: drop the trial; its heartbeat stops and it is re-queued
            if rdb:
                try:
                    self.storage.record_heartbeat(self.trial_id)
                except Exception:  # noqa: BLE001 - a missed beat is retried at the next interval
                    pass
            if self._stop.wait(timeout=min(interval, 1.0) if self.parent is not None else interval):
                return


def start_helpers(config: dict, workers: int) -> list:
    """Start ``workers - 1`` helper processes (spawned) that work on the same search."""
    if workers <= 1:
        return []
    import multiprocessing as mp

    ctx = mp.get_context("spawn")
    helpers = []
    for i in range(1, workers):
        p = ctx.Process(target=_helper_main, args=(config, os.getpid(), i), daemon=False)
        p.start()
        helpers.append(p)
    return helpers


def _helper_main(cfg: dict, parent: int, worker_id: int) -> None:
    from nnlab.tune.search import Search

    search = Search.from_config(cfg)
    try:
        search.work(parent=parent, worker_id=worker_id)
    except KeyboardInterrupt:  # Ctrl-C reaches the whole process group; the master reports it
        sys.exit(130)


def fail_trials_of_dead_helpers(helpers, reaped: set, studies) -> None:
    """A helper process died (killed, out of memory): fail its trial in flight at once, without
    waiting for the heartbeat's grace period, so that it is queued again."""
    from optuna.trial import TrialState

    for p in helpers:
        if p.pid in reaped or p.exitcode is None or p.exitcode == 0:
            continue
        reaped.add(p.pid)
        tag = worker_tag(p.pid)
        lost = []
        for study in studies:
            for t in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
                if t.user_attrs.get("worker") == tag:
                    try:
                        study._storage.set_trial_state_values(t._trial_id, state=TrialState.FAIL)
                        lost.append(t.number)
                    except Exception:  # noqa: BLE001 - it finished meanwhile
                        pass
        print(
            f"nnlab tune: worker process {p.pid} died (exit code {p.exitcode})"
            + (f"; its trial {lost[0]} is queued again" if lost else ""),
            file=sys.stderr,
            flush=True,
        )
