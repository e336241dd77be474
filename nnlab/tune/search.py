"""Hyperparameter search: random (default), grid or TPE sampling, coarse-to-fine stages.

The notes' recipe: sample on log scales at random (Bergstra and Bengio: with a few parameters
that matter and many that do not, random search tries more distinct values of the ones that
matter than a grid of the same size), train briefly first (one epoch weeds out settings that do
not learn at all), then give the best fraction more epochs (successive halving), optionally in
ranges narrowed around them, and warn when the best value sits on the edge of its range.

One search = one folder and one Optuna study per stage (``<name>.stage0``, ``.stage1``...). The
study lives in ``<out>/study.db`` (SQLite) unless ``storage`` names a database server; every
worker, on this machine (``workers``) or on others (the same command with the same ``storage``),
asks the study for the next trial, trains it, writes the trial's checkpoint and statistics under
``<out>/trials/`` and reports the metric back. ``trials`` is the total of the first stage: a
re-run counts what is already done and only runs the rest.
"""
from __future__ import annotations

import json
import math
import os
import socket
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from nnlab.tune import storage as st
from nnlab.tune.space import SearchSpace, default_space

__all__ = ["Stage", "parse_stages", "Search", "SearchResult", "make_sampler", "boundary_warnings",
           "load_results", "SAMPLERS"]

SAMPLERS = ("random", "grid", "tpe")


@dataclass
class Stage:
    """A stage trains each of its trials for ``epochs``; the best ``keep`` fraction goes on."""

    epochs: int
    keep: float = 1 / 3

    def __post_init__(self):
        if int(self.epochs) != self.epochs or self.epochs < 1:
            raise ValueError(f"stages: epochs must be a positive integer, got {self.epochs!r}")
        if not 0 < self.keep <= 1:
            raise ValueError(f"stages: keep fraction must be in (0, 1], got {self.keep!r}")
        self.epochs = int(self.epochs)


def parse_stages(text, keep: float = 1 / 3) -> list[Stage]:
    """``"1,5,20"`` (epochs per stage) or ``"1:0.25,5:0.5,20"`` (epochs:keep fraction)."""
    if isinstance(text, (list, tuple)):
        return [s if isinstance(s, Stage) else Stage(int(s), keep) for s in text]
    stages = []
    for item in str(text).replace(" ", "").split(","):
        if not item:
            continue
        e, _, k = item.partition(":")
        try:
            stages.append(Stage(int(e), float(k) if k else keep))
        except ValueError as err:
            if "stages:" in str(err):
                raise
            raise ValueError(f"--stages expects epochs per stage such as 1,5,20 or 1:0.25,5, got {text!r}") from None
    if not stages:
        raise ValueError(f"--stages expects at least one stage, got {text!r}")
    return stages


def make_sampler(name: str, space: SearchSpace, seed: int, grid_points: int | None = None, trials: int = 0):
    import optuna
    if name == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    if name == "tpe":
        return optuna.samplers.TPESampler(seed=seed, n_startup_trials=min(10, max(trials // 3, 2)))
    if name == "grid":
        return _Grid(space.grid(grid_points or grid_points_for(space, trials)), seed=seed)
    raise ValueError(f"sampler must be one of {', '.join(SAMPLERS)}, got {name!r}")


def _grid_class():
    import optuna

    class Grid(optuna.samplers.GridSampler):
        """GridSampler whose end of grid does not call ``study.stop()`` (only valid inside
        ``optimize``); each stage asks for at most the grid's size anyway."""

        def after_trial(self, study, trial, state, values):
            pass
    return Grid


def _Grid(search_space, seed=None):
    return _grid_class()(search_space, seed=seed)


def grid_points_for(space: SearchSpace, trials: int) -> int:
    """The most points per numeric axis whose full grid fits in ``trials``."""
    n = 2
    while space.grid_size(n + 1) <= max(trials, 1) and n < 1000:
        n += 1
    return n


def _metric_value(result, metric: str) -> tuple[float, dict]:
    if isinstance(result, dict):
        if metric not in result:
            raise ValueError(f"objective: returned no {metric!r} (keys: {', '.join(result)}); "
                             "return it or pass --metric")
        return float(result[metric]), result
    return float(result), {metric: float(result)}


def _jsonable(x):
    if isinstance(x, dict):
        return {str(k): _jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_jsonable(v) for v in x]
    if isinstance(x, np.generic):
        return x.item()
    if isinstance(x, float) and not math.isfinite(x):
        return repr(x)
    return x


class _Heartbeat:
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


@dataclass
class SearchResult:
    out: Path
    rows: list
    best: dict | None
    warnings: list
    stages: list

    def table(self, limit: int | None = 20) -> str:
        from nnlab.tune.report import results_table
        return results_table(self.rows, limit=limit)


class Search:
    """A search over ``space`` (default: lr, L2, dropout) of ``objective``.

    Args:
        out: the search folder (study, results.csv, best.json, trials/, report).
        space: a SearchSpace, a list of ``name=kind:args`` strings or a config dict/JSON path.
        objective: ``f(params, epochs=, trial_dir=, seed=) -> metric or dict of metrics``; or a
            ``"module:function"`` / ``"file.py:function"`` string; None = the digits task built
            from ``task`` (model, data, subset).
        trials: total trials of the first stage (a re-run continues up to it); exactly this many
            finish, also with several workers (see ``_surplus``): completed ones and ones that
            failed by their own error count; lost ones (their worker vanished) are run again.
        stages: epochs per stage (``"1,5,20"`` or Stage list); each later stage re-trains the best
            ``keep`` fraction of the stage before with more epochs. None = as recorded in the study
            (when resuming or joining it), else ``default_stages``.
        narrow: later stages also sample as many fresh trials again, in ranges narrowed around
            the kept ones.
        sampler: random | grid | tpe; ``grid_points`` per numeric axis (default: the largest grid
            that fits in ``trials``).
        storage: database URL shared by workers on several machines; None = ``<out>/study.db``;
            ``":memory:"`` = in this process only.
        workers: processes on this machine (the calling one included). Helpers are started with
            ``spawn``, so a script that runs a search with ``workers > 1`` needs the usual
            ``if __name__ == "__main__":`` guard. A helper that dies loses only its trial in
            flight (re-queued at once); when the master dies, its helpers stop too.
        metric, direction: what the objective's result is judged by.
        plots: draw the report's plots (metric against each numeric parameter).
    """

    def __init__(self, out, space=None, objective=None, trials: int = 20, stages=None, default_stages="1", keep: float = 1 / 3,
                 narrow: bool = False, sampler: str = "random", grid_points: int | None = None,
                 storage: str | None = None, study_name: str = "nnlab-tune", workers: int = 1,
                 metric: str = "val_accuracy", direction: str = "maximize", seed: int = 0, task: dict | None = None,
                 verbose: bool = False, plots: bool = True, heartbeat: int = st.HEARTBEAT_SECONDS, grace: int = st.GRACE_SECONDS):
        if isinstance(trials, bool) or int(trials) != trials or trials < 1:
            raise ValueError(f"trials must be a positive integer, got {trials!r}")
        if int(workers) != workers or workers < 1:
            raise ValueError(f"workers must be a positive integer, got {workers!r}")
        if sampler not in SAMPLERS:
            raise ValueError(f"sampler must be one of {', '.join(SAMPLERS)}, got {sampler!r}")
        if direction not in ("maximize", "minimize"):
            raise ValueError(f"direction must be maximize or minimize, got {direction!r}")
        if storage == st.MEMORY and workers > 1:
            raise ValueError("storage ':memory:' lives in one process; use a file or database URL with workers > 1")
        self.out = Path(out)
        # None = what the study recorded when it was started (a worker joining it), else the default.
        self._space_given, self._stages_given = space is not None, stages is not None
        if space is None:
            space = default_space()
        elif not isinstance(space, SearchSpace):
            space = SearchSpace.from_config(space)
        if len(space) == 0:
            raise ValueError("search space is empty; give at least one parameter such as lr=log:1e-4,1e-1")
        self.space = space
        self.objective = objective
        self.trials = int(trials)
        self.stages = parse_stages(default_stages if stages is None else stages, keep)
        self.narrow = bool(narrow)
        self.sampler = sampler
        self.grid_points = grid_points
        self.storage_url = st.storage_url(storage, self.out) if storage != st.MEMORY else st.MEMORY
        self.study_name = study_name
        self.workers = int(workers)
        self.metric, self.direction = metric, direction
        self.seed = int(seed)
        self.task = dict(task or {})
        self.verbose = verbose
        self.plots = plots
        self.heartbeat, self.grace = heartbeat, grace
        self._storage = None
        self._objective_fn = None
        self._helpers: list = []      # helper processes this master started (run)
        self._reaped: set = set()     # pids of helpers found dead
        self._studies: dict = {}      # stage -> study this process worked on
        self._parent = None           # pid of the master of a helper process

    # ------------------------------------------------------------------------------------
    def config(self) -> dict:
        """What a worker needs to take part (picklable)."""
        return {"out": str(self.out), "space": self.space.to_config(), "objective": self.objective,
                "trials": self.trials, "stages": [[s.epochs, s.keep] for s in self.stages], "narrow": self.narrow,
                "sampler": self.sampler, "grid_points": self.grid_points, "storage": self.storage_url,
                "study_name": self.study_name, "metric": self.metric, "direction": self.direction,
                "seed": self.seed, "task": self.task, "verbose": self.verbose, "plots": self.plots, "heartbeat": self.heartbeat,
                "grace": self.grace}

    @classmethod
    def from_config(cls, cfg: dict) -> "Search":
        cfg = dict(cfg)
        cfg["stages"] = [Stage(int(e), float(k)) for e, k in cfg["stages"]]
        return cls(**cfg)

    @property
    def storage(self):
        if self._storage is None:
            self._storage = st.open_storage(self.storage_url, self.heartbeat, self.grace)
        return self._storage

    def _study(self, k: int, create_only: bool = False):
        optuna = st._optuna()
        name = f"{self.study_name}.stage{k}"
        if create_only:
            return optuna.create_study(storage=self.storage, study_name=name, direction=self.direction)
        return optuna.create_study(storage=self.storage, study_name=name, direction=self.direction,
                                   load_if_exists=True)

    def _objective(self):
        if self._objective_fn is None:
            from nnlab.tune.worker import resolve_objective
            self._objective_fn = resolve_objective(self.objective, self.task)
        return self._objective_fn

    def _sort_key(self, t):
        v = t.value if t.value is not None and math.isfinite(t.value) else -math.inf
        return -v if self.direction == "maximize" else (v if v != -math.inf else math.inf)

    def _log(self, msg: str) -> None:
        if self.verbose:
            print(msg, flush=True)

    # ------------------------------------------------------------------------------------
    def _check_space(self, study0) -> None:
        """The first worker records the space and stages; later ones must agree (or give none)."""
        mine = {"space": self.space.to_config(), "stages": [[s.epochs, s.keep] for s in self.stages],
                "narrow": self.narrow, "metric": self.metric}
        saved = study0.user_attrs.get("search")
        if saved is not None and not (self._space_given and self._stages_given):
            if not self._space_given:
                self.space = SearchSpace.from_config(saved["space"])
            if not self._stages_given:
                self.stages = [Stage(int(e), float(kp)) for e, kp in saved["stages"]]
                self.narrow = bool(saved["narrow"])
            self._space_given = self._stages_given = True
            mine = {"space": self.space.to_config(), "stages": [[s.epochs, s.keep] for s in self.stages],
                    "narrow": self.narrow, "metric": self.metric}
        if saved is None:
            study0.set_user_attr("search", mine)
        elif saved != mine:
            raise ValueError(f"study {self.study_name!r} in {self.storage_url} was started with "
                             f"space {saved['space']} and stages {saved['stages']}; this run asks for "
                             f"space {mine['space']} and stages {mine['stages']}: use the same options or "
                             "another --out/--study")

    def _plan(self, k: int):
        """Stage ``k`` > 0: the space it samples from and its number of trials; the process that
        creates the stage's study queues the promoted configurations (exactly once)."""
        import optuna
        from optuna.trial import TrialState
        prev = self._study(k - 1)
        done = sorted((t for t in prev.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))),
                      key=self._sort_key)
        n_keep = max(1, math.ceil(self.stages[k - 1].keep * len(done))) if done else 0
        kept = done[:n_keep]
        space = self.space.narrowed([t.params for t in kept]) if (self.narrow and kept) else self.space
        target = len(kept) * (2 if self.narrow else 1)
        try:
            study = self._study(k, create_only=True)
        except optuna.exceptions.DuplicatedStudyError:
            study = self._study(k)
            t0 = time.time()
            while not study.user_attrs.get("planned"):  # another worker is queueing
                _exit_if_orphaned(self._parent)
                if time.time() - t0 > 60:
                    break
                time.sleep(0.5)
            # A re-run with a larger total may keep more trials than were queued before.
            queued = {t.user_attrs.get("promoted_from") for t in study.get_trials(deepcopy=False)}
            for t in kept:
                if t.number not in queued:
                    study.enqueue_trial(dict(t.params), user_attrs={"promoted_from": t.number})
            return study, space, target
        for t in kept:
            study.enqueue_trial(dict(t.params), user_attrs={"promoted_from": t.number})
        study.set_user_attr("space", space.to_config())
        study.set_user_attr("planned", True)
        self._log(f"stage {k + 1}: {len(kept)} of {len(done)} trials go on with {self.stages[k].epochs} epochs"
                  + (f", {len(kept)} fresh ones in {space}" if self.narrow else ""))
        return study, space, target

    def work(self, parent: int | None = None, worker_id: int = 0) -> None:
        """Run trials of every stage until each stage has its total (what one worker does).

        ``parent``: the pid of the master that started this helper process; when the master is
        gone (killed), the helper exits too, between trials or in one (its trial is then lost
        and queued again), so that a re-run of the master does not compete with orphans.
        """
        self._parent = parent
        study0 = self._study(0)
        self._check_space(study0)
        for k, stage in enumerate(self.stages):
            if k == 0:
                study, space = study0, self.space
                target = self.trials
                if self.sampler == "grid":
                    target = min(target, space.grid_size(self.grid_points or grid_points_for(space, self.trials)))
            else:
                study, space, target = self._plan(k)
            self._run_stage(k, study, space, target, stage.epochs, parent, worker_id)

    def _run_stage(self, k, study, space, target, epochs, parent, worker_id) -> None:
        from optuna.trial import TrialState
        n0 = len(study.get_trials(deepcopy=False))
        sampler_name = self.sampler if k == 0 else ("random" if self.sampler == "grid" else self.sampler)
        study.sampler = make_sampler(sampler_name, space, seed=self.seed * 100003 + 7919 * worker_id + 131 * k + n0,
                                     grid_points=self.grid_points, trials=self.trials)
        objective = self._objective()
        self._studies[k] = study
        while True:
            _exit_if_orphaned(parent)
            self._reap_helpers()
            st.reclaim(study)
            trials = study.get_trials(deepcopy=False)
            done = sum(st.finished(t) for t in trials)
            running = sum(t.state == TrialState.RUNNING for t in trials)
            if done >= target:
                return
            if done + running >= target:
                time.sleep(0.5)  # the rest are in flight elsewhere; wait so the next stage sees them
                continue
            trial = study.ask()
            # Tag the trial with its worker at once: a master whose helper dies fails its trials by this tag.
            trial.set_user_attr("worker", f"{socket.gethostname()}:{os.getpid()}")
            if self._surplus(study, trial, target):
                continue
            params = space.sample(trial)
            self._run_trial(k, study, trial, params, epochs, objective, parent)

    def _reap_helpers(self) -> None:
        """A helper process of this master died (killed, out of memory): fail its trial in flight
        at once, without waiting for the heartbeat's grace period, so that it is queued again."""
        from optuna.trial import TrialState
        for p in self._helpers:
            if p.pid in self._reaped or p.exitcode is None or p.exitcode == 0:
                continue
            self._reaped.add(p.pid)
            tag = f"{socket.gethostname()}:{p.pid}"
            lost = []
            for study in self._studies.values():
                for t in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
                    if t.user_attrs.get("worker") == tag:
                        try:
                            study._storage.set_trial_state_values(t._trial_id, state=TrialState.FAIL)
                            lost.append(t.number)
                        except Exception:  # noqa: BLE001 - it finished meanwhile
                            pass
            print(f"nnlab tune: worker process {p.pid} died (exit code {p.exitcode})"
                  + (f"; its trial {lost[0]} is queued again" if lost else ""), file=sys.stderr, flush=True)

    def _surplus(self, study, trial, target) -> bool:
        """Withdraw ``trial`` if it would go beyond the stage's total.

        Two workers that both saw one trial missing may both have asked for one. Every worker
        ranks the trials in flight the same way (queued ones first, then by number) and the one
        whose trial ranks beyond the total marks it PRUNED with ``surplus`` before training it
        (a queued configuration goes back to the queue), so a stage completes exactly its total.
        Withdrawn trials never ran and are left out of the results.
        """
        from optuna.trial import TrialState
        trials = study.get_trials(deepcopy=False)
        done = sum(st.finished(t) for t in trials)
        running = sorted((t for t in trials if t.state == TrialState.RUNNING),
                         key=lambda t: ("fixed_params" not in t.system_attrs, t.number))
        numbers = [t.number for t in running]
        rank = done + (numbers.index(trial.number) if trial.number in numbers else len(numbers))
        if rank < target:
            return False
        mine = next((t for t in running if t.number == trial.number), None)
        if mine is not None and "fixed_params" in mine.system_attrs:
            study.enqueue_trial(dict(mine.system_attrs["fixed_params"]), user_attrs=dict(mine.user_attrs),
                                skip_if_exists=False)
        trial.set_user_attr("surplus", True)
        study.tell(trial, state=TrialState.PRUNED)
        return True

    def _lost_checkpoint(self, study, trial):
        """The checkpoint a lost trial left (written at each epoch end), when ``trial`` re-runs it
        with the same parameters and epochs: the retry continues from there."""
        lost = trial.user_attrs.get("retry_of") if hasattr(trial, "user_attrs") else None
        if lost is None:
            return None
        old = next((t for t in study.get_trials(deepcopy=False) if t.number == lost), None)
        if old is None:
            return None
        path = self.out / old.user_attrs.get("dir", "-") / "checkpoint.npz"
        return path if path.exists() and old.params == trial.params else None

    def _run_trial(self, k, study, trial, params, epochs, objective, parent) -> None:
        from optuna.trial import TrialState
        tdir = self.out / "trials" / f"s{k + 1}-{trial.number:04d}"
        tdir.mkdir(parents=True, exist_ok=True)
        trial.set_user_attr("dir", str(tdir.relative_to(self.out)))
        trial.set_user_attr("epochs", int(epochs))
        seed = self.seed * 1000 + trial.number
        t0 = time.perf_counter()
        stats = {"trial": trial.number, "stage": k, "epochs": int(epochs), "params": params, "seed": seed}
        with _Heartbeat(study._storage, trial._trial_id, parent):
            try:
                extra = {}
                resume = self._lost_checkpoint(study, trial)
                if resume is not None and _accepts(objective, "resume"):
                    extra["resume"] = str(resume)
                    stats["resumed_from"] = str(resume.relative_to(self.out))
                result = objective(dict(params), epochs=int(epochs), trial_dir=str(tdir), seed=seed, **extra)
                value, metrics = _metric_value(result, self.metric)
            except KeyboardInterrupt:
                study.tell(trial, state=TrialState.FAIL)  # no "error": queued again on resume
                raise
            except Exception as e:  # noqa: BLE001 - one bad configuration must not stop the search
                msg = f"{type(e).__name__}: {e}"
                trial.set_user_attr("error", msg[:500])
                stats.update(status="fail", error=msg, seconds=time.perf_counter() - t0)
                _write_json(tdir / "stats.json", stats)
                study.tell(trial, state=TrialState.FAIL)
                self._log(f"trial {trial.number} (stage {k + 1}) failed: {msg}")
                return
        stats.update(status="complete" if math.isfinite(value) else "fail", metrics=metrics,
                     seconds=time.perf_counter() - t0)
        _write_json(tdir / "stats.json", stats)
        if math.isfinite(value):
            study.tell(trial, value)
        else:
            trial.set_user_attr("error", f"{self.metric} is {value} (diverged)")
            study.tell(trial, state=TrialState.FAIL)
        self._log(f"trial {trial.number} (stage {k + 1}, {epochs} ep): {self.metric}={value:.4f} "
                  + " ".join(f"{n}={_fmt(v)}" for n, v in params.items()))

    # ------------------------------------------------------------------------------------
    def run(self) -> SearchResult:
        """Run (or resume) the whole search with ``workers`` processes; write the results."""
        self.out.mkdir(parents=True, exist_ok=True)
        lock = st.DirLock(self.out)
        alone = lock.acquire()
        try:
            # No other process on this machine works on this folder: a RUNNING trial in the
            # local study file is a leftover of a killed run.
            reclaim_all = alone and st.is_local_sqlite(self.storage_url, self.out)
            study0 = self._study(0)
            self._check_space(study0)  # adopt a recorded space before helpers copy the config
            if reclaim_all:
                names = set(st._optuna().get_all_study_names(self.storage))
                for k in range(len(self.stages)):
                    if f"{self.study_name}.stage{k}" in names:
                        st.reclaim(self._study(k), all_running=True)
            helpers = self._helpers = []
            if self.workers > 1:
                import multiprocessing as mp
                ctx = mp.get_context("spawn")
                for i in range(1, self.workers):
                    p = ctx.Process(target=_helper_main, args=(self.config(), os.getpid(), i), daemon=False)
                    p.start()
                    helpers.append(p)
            try:
                self.work()
            finally:
                for p in helpers:
                    p.join()
            # A helper that died lost only its trial in flight, which this process ran again
            # (_reap_helpers): the study is complete, so the results are written as usual.
            self._reap_helpers()
            return self.write_results()
        finally:
            lock.release()

    def results(self) -> list[dict]:
        """One row per trial of every stage (params, stage, epochs, metric, status)."""
        from optuna.trial import TrialState
        rows = []
        names = set(st._optuna().get_all_study_names(self.storage))
        for k, stage in enumerate(self.stages):
            if f"{self.study_name}.stage{k}" not in names:
                continue  # not reached yet; reading must not create it (its planner creates it)
            study = self._study(k)
            for t in study.get_trials(deepcopy=False):
                if t.user_attrs.get("surplus"):
                    continue  # withdrawn before it ran (see _surplus)
                status = {TrialState.COMPLETE: "complete", TrialState.FAIL: "fail", TrialState.RUNNING: "running",
                          TrialState.WAITING: "waiting", TrialState.PRUNED: "pruned"}[t.state]
                if t.state == TrialState.FAIL and "error" not in t.user_attrs:
                    status = "lost"  # its worker vanished; the parameters were queued again
                rows.append({"stage": k + 1, "trial": t.number, "epochs": t.user_attrs.get("epochs", stage.epochs),
                             "status": status, self.metric: t.value, **t.params,
                             "seconds": (t.duration.total_seconds() if t.duration else None),
                             "dir": t.user_attrs.get("dir", ""), "error": t.user_attrs.get("error", "")})
        sign = -1 if self.direction == "maximize" else 1

        def key(r):
            v = r[self.metric]
            return (-r["stage"], 0 if v is not None else 1, sign * v if v is not None else 0, r["trial"])
        rows.sort(key=key)
        return rows

    def write_results(self) -> SearchResult:
        from nnlab.tune.report import write_report, write_csv
        rows = self.results()
        names = list(self.space.params)
        write_csv(self.out / "results.csv", rows, names, self.metric)
        first = [r for r in rows if r["stage"] == 1 and r["status"] == "complete"]
        warnings = boundary_warnings(first, self.space, self.metric, self.direction)
        best = next((r for r in rows if r["status"] == "complete"), None)
        best_doc = None
        if best is not None:
            best_doc = {"metric": self.metric, "value": best[self.metric], "params": {n: best[n] for n in names},
                        "stage": best["stage"], "epochs": best["epochs"], "trial": best["trial"],
                        "checkpoint": (str(Path(best["dir"]) / "checkpoint.npz")
                                       if best["dir"] and (self.out / best["dir"] / "checkpoint.npz").exists() else None),
                        "warnings": warnings,
                        "narrowed_space": self.space.narrowed(
                            [{n: r[n] for n in names} for r in first[:max(1, math.ceil(len(first) * self.stages[0].keep))]]
                        ).to_config() if first else None,
                        "trials": {f"stage{k + 1}": sum(1 for r in rows if r["stage"] == k + 1 and r["status"] == "complete")
                                   for k in range(len(self.stages))}}
            _write_json(self.out / "best.json", best_doc)
        write_report(self.out, rows, self.space, self.metric, warnings, best_doc, plots=self.plots)
        return SearchResult(self.out, rows, best_doc, warnings, self.stages)


def _fmt(v):
    return f"{v:.3g}" if isinstance(v, float) else str(v)


def _write_json(path, doc) -> None:
    from nnlab.train.callbacks import atomic_write_text
    atomic_write_text(path, json.dumps(_jsonable(doc), indent=2) + "\n")


def _accepts(fn, name: str) -> bool:
    import inspect
    try:
        return name in inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return False


def _exit_if_orphaned(parent: int | None) -> None:
    if parent is not None and os.getppid() != parent:
        os._exit(3)  # the master was killed; see Search.work


def _helper_main(cfg: dict, parent: int, worker_id: int) -> None:
    search = Search.from_config(cfg)
    try:
        search.work(parent=parent, worker_id=worker_id)
    except KeyboardInterrupt:  # Ctrl-C reaches the whole process group; the master reports it
        sys.exit(130)


def boundary_warnings(rows, space: SearchSpace, metric: str = "val_accuracy", direction: str = "maximize",
                      top: int = 3, edge: float = 0.1) -> list[str]:
    """Numeric parameters whose best trials sit at an edge of the range.

    Positions are on the parameter's own scale (log for log ranges), 0 and 1 being the range's
    ends. Looks at the ``top`` best rows (dicts with the parameter values and ``metric``) and
    warns for a side when

    - the best one and the median of the top ones both lie within ``edge`` of that end, or
    - the best one is (within ``edge / 2``) the most extreme value tried on that side, the top
      ones lie in the outer ``2.5 * edge``, and over all rows (at least ``max(4 * top, 12)``) the metric
      improves towards that end (rank correlation beyond 0.5): random sampling merely left the
      last stretch untried. The trend keeps a parameter that does not matter quiet.

    Either way the range probably cuts off better values beyond that end. An optimum well inside
    the range has trials on both of its sides, so it stays quiet.
    """
    rows = [r for r in rows if r.get(metric) is not None and math.isfinite(r[metric])]
    if len(rows) < 2:
        return []
    ranked = sorted(rows, key=lambda r: -r[metric] if direction == "maximize" else r[metric])
    best_rows = ranked[:max(1, top)]
    out = []
    for p in space:
        if not p.numeric or p.name not in best_rows[0]:
            continue
        us = [p.unit(r[p.name]) for r in best_rows]
        if any(r.get(p.name) is None for r in rows):
            continue
        tried = [p.unit(r[p.name]) for r in rows]
        if not all(math.isfinite(u) for u in us + tried):
            continue
        # Rank correlation of position and metric (positive: better towards the upper end).
        trend = _rank_corr(tried, [r[metric] if direction == "maximize" else -r[metric] for r in rows])
        for side, dist, sign in (("lower", lambda u: u, -1), ("upper", lambda u: 1 - u, 1)):
            best, med = dist(us[0]), float(np.median([dist(u) for u in us]))
            at_edge = best <= edge and med <= edge
            extreme = (len(rows) >= max(4 * top, 12) and best - min(dist(u) for u in tried) <= edge / 2
                       and max(best, med) <= 2.5 * edge and sign * trend > 0.5)
            if at_edge or extreme:
                bound = p.low if side == "lower" else p.high
                out.append(f"{p.name}: the best trials lie at the {side} edge of its range "
                           f"[{_fmt(p.low)}, {_fmt(p.high)}] (best {p.name}={_fmt(best_rows[0][p.name])}, "
                           f"edge {_fmt(bound)}); better values may lie beyond {_fmt(bound)}: widen the range")
    return out


def _rank_corr(a, b) -> float:
    """Spearman's rank correlation (0 when either side is constant)."""
    ra = np.argsort(np.argsort(a, kind="stable"), kind="stable").astype(float)
    rb = np.argsort(np.argsort(b, kind="stable"), kind="stable").astype(float)
    ra, rb = ra - ra.mean(), rb - rb.mean()
    den = math.sqrt(float(ra @ ra) * float(rb @ rb))
    return float(ra @ rb) / den if den else 0.0


def load_results(out) -> list[dict]:
    """The rows of ``<out>/results.csv`` with numbers parsed."""
    import csv
    rows = []
    with open(Path(out) / "results.csv", newline="", encoding="utf-8") as f:
        for r in csv.DictReader(f):
            rows.append({k: _parse_cell(v) for k, v in r.items()})
    return rows


def _parse_cell(v):
    if v == "":
        return None
    for conv in (int, float):
        try:
            return conv(v)
        except ValueError:
            pass
    return v
