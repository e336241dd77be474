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
``<out>/trials/`` and reports the metric back. ``trials`` is the number of completed trials of the
first stage: a re-run counts what is already done and only runs the rest.

The parts: ``stages`` (Stage, parse_stages), ``samplers`` (seeded samplers), ``record`` (what a
study remembers of its search), ``promotion`` (planning a later stage), ``trial`` (running and
counting one trial), ``processes`` (helper workers, heartbeats), ``results`` (rows, files) and
``boundary`` (the edge-of-range warning).
"""

from __future__ import annotations

import math
import time
from pathlib import Path

from nnlab.tune import storage as st
from nnlab.tune.boundary import boundary_warnings
from nnlab.tune.processes import exit_if_orphaned, fail_trials_of_dead_helpers, start_helpers, worker_tag
from nnlab.tune.promotion import plan_stage
from nnlab.tune.record import adopt_or_check_record
from nnlab.tune.results import SearchResult, load_results, trial_rows, write_results
from nnlab.tune.samplers import SAMPLERS, grid_points_for, make_sampler, mixed_seed
from nnlab.tune.space import SearchSpace, default_space
from nnlab.tune.stages import Stage, parse_stages, stages_config
from nnlab.tune.trial import counts, run_trial, withdraw_surplus

__all__ = [
    "Stage",
    "parse_stages",
    "Search",
    "SearchResult",
    "make_sampler",
    "boundary_warnings",
    "load_results",
    "SAMPLERS",
]


class Search:
    """A search over ``space`` (default: lr, L2, dropout) of ``objective``.

    Args:
        out: the search folder (study, results.csv, best.json, trials/, report).
        space: a SearchSpace, a list of ``name=kind:args`` strings or a config dict/JSON path.
        objective: ``f(params, epochs=, trial_dir=, seed=) -> metric or dict of metrics``; or a
            ``"module:function"`` / ``"file.py:function"`` string; None = the digits task built
            from ``task`` (model, data, subset), checked before the search starts.
        trials: completed trials of the first stage (a re-run continues up to it); exactly this
            many complete, also with several workers (see ``trial.withdraw_surplus``). Trials
            that fail (an error, a diverged metric) do not count: others are sampled in their
            place, up to ``max_failures`` failures per run of a worker (default: ``trials``), after
            which the worker stops. Lost trials (their worker vanished) are run again. With the
            grid sampler, and in later stages, every configuration is tried once, failed or not.
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
        seed: seeds the sampler and each trial's training. With one worker, a search that is
            killed and run again with the same seed trains the same configurations with the same
            seeds as one that ran through (a lost trial is re-run with its configuration and
            seed); with several workers, or a shared database, which worker samples what depends
            on timing, so only the set of settings each worker draws from is fixed.
        plots: draw the report's plots (metric against each numeric parameter).
    """

    def __init__(
        self,
        out,
        space=None,
        objective=None,
        trials: int = 20,
        stages=None,
        default_stages="1",
        keep: float = 1 / 3,
        narrow: bool = False,
        sampler: str = "random",
        grid_points: int | None = None,
        storage: str | None = None,
        study_name: str = "nnlab-tune",
        workers: int = 1,
        metric: str = "val_accuracy",
        direction: str = "maximize",
        seed: int = 0,
        task: dict | None = None,
        verbose: bool = False,
        plots: bool = True,
        heartbeat: int = st.HEARTBEAT_SECONDS,
        grace: int = st.GRACE_SECONDS,
        max_failures: int | None = None,
    ):
        from nnlab.engine._args import check_int

        self.trials = check_int("Search", "trials", trials, min=1)
        self.workers = check_int("Search", "workers", workers, min=1)
        self.seed = check_int("Search", "seed", seed, min=0)
        self.max_failures = (
            self.trials if max_failures is None else check_int("Search", "max_failures", max_failures, min=1)
        )
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
        self.stages = parse_stages(default_stages if stages is None else stages, keep)
        self.narrow = bool(narrow)
        self.sampler = sampler
        self.grid_points = grid_points
        self.storage_url = st.storage_url(storage, self.out) if storage != st.MEMORY else st.MEMORY
        self.storage_is_local = storage in (None, st.MEMORY) or st.is_local_sqlite(self.storage_url, self.out)
        self.study_name = study_name
        self.metric, self.direction = metric, direction
        self.task = dict(task or {})
        self.verbose = verbose
        self.plots = plots
        self.heartbeat, self.grace = heartbeat, grace
        self._storage = None
        self._objective_fn = None
        self._helpers: list = []  # helper processes this master started (run)
        self._reaped: set = set()  # pids of helpers found dead
        self._studies: dict = {}  # stage -> study this process worked on
        self._parent = None  # pid of the master of a helper process
        self.stopped: str | None = None  # why this worker stopped early (too many failures)

    # ------------------------------------------------------------------------------------
    def config(self) -> dict:
        """What a worker needs to take part (picklable)."""
        return {
            "out": str(self.out),
            "space": self.space.to_config(),
            "objective": self.objective,
            "trials": self.trials,
            "stages": stages_config(self.stages),
            "narrow": self.narrow,
            "sampler": self.sampler,
            "grid_points": self.grid_points,
            "storage": self.storage_url,
            "study_name": self.study_name,
            "metric": self.metric,
            "direction": self.direction,
            "seed": self.seed,
            "task": self.task,
            "verbose": self.verbose,
            "plots": self.plots,
            "heartbeat": self.heartbeat,
            "grace": self.grace,
            "max_failures": self.max_failures,
        }

    @classmethod
    def from_config(cls, cfg: dict) -> "Search":
        cfg = dict(cfg)
        cfg["stages"] = [Stage(int(e), float(k)) for e, k in cfg["stages"]]
        return cls(**cfg)

    def task_record(self) -> dict:
        """What the study records as this search's task: the objective's name, or the digits
        task's model, data and subset."""
        if self.objective is None:
            from nnlab.tune.worker import DigitsTask

            t = DigitsTask(**self.task, check=False)
            return {"model": t.model, "data": str(t.data), "subset": t.subset}
        if isinstance(self.objective, str):
            return {"objective": self.objective}
        return {
            "objective": f"{getattr(self.objective, '__module__', '?')}:"
            f"{getattr(self.objective, '__qualname__', type(self.objective).__name__)}"
        }

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
        return optuna.create_study(storage=self.storage, study_name=name, direction=self.direction, load_if_exists=True)

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

    def _failures_count(self, k: int) -> bool:
        return k > 0 or self.sampler == "grid"

    def _surplus(self, study, trial, target, k: int = 0) -> bool:
        return withdraw_surplus(study, trial, target, self._failures_count(k))

    # ------------------------------------------------------------------------------------
    def run(self) -> SearchResult:
        """Run (or resume) the whole search with ``workers`` processes; write the results."""
        self._objective()  # a task or objective that cannot work fails here, before any trial
        self.out.mkdir(parents=True, exist_ok=True)
        lock = st.DirLock(self.out)
        alone = lock.acquire()
        try:
            # No other process on this machine works on this folder: a RUNNING trial in the
            # local study file is a leftover of a killed run.
            reclaim_all = alone and st.is_local_sqlite(self.storage_url, self.out)
            study0 = self._study(0)
            adopt_or_check_record(study0, self)  # adopt a recorded space before helpers copy the config
            if reclaim_all:
                names = set(st._optuna().get_all_study_names(self.storage))
                for k in range(len(self.stages)):
                    if f"{self.study_name}.stage{k}" in names:
                        st.reclaim(self._study(k), all_running=True)
            helpers = self._helpers = start_helpers(self.config(), self.workers)
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

    def work(self, parent: int | None = None, worker_id: int = 0) -> None:
        """Run trials of every stage until each stage has its total (what one worker does).

        ``parent``: the pid of the master that started this helper process; when the master is
        gone (killed), the helper exits too, between trials or in one (its trial is then lost
        and queued again), so that a re-run of the master does not compete with orphans.
        """
        self._parent = parent
        study0 = self._study(0)
        adopt_or_check_record(study0, self)
        for k, stage in enumerate(self.stages):
            if k == 0:
                study, space = study0, self.space
                target = self.trials
                if self.sampler == "grid":
                    target = min(target, space.grid_size(self.grid_points or grid_points_for(space, self.trials)))
            else:
                study, space, target = plan_stage(self, k)
            if not self._run_stage(k, study, space, target, stage.epochs, parent, worker_id):
                return  # stopped after too many failures: the later stages would have too few trials

    def _sampler(self, k: int, space, fresh: int, worker_id: int):
        """The sampler for the stage's ``fresh``-th freshly sampled trial (see ``samplers``)."""
        name = self.sampler if k == 0 else ("random" if self.sampler == "grid" else self.sampler)
        shared = self.workers > 1 or worker_id > 0 or not self.storage_is_local
        seed = mixed_seed(self.seed, k, fresh, worker_id, *((time.time_ns(),) if shared else ()))
        return make_sampler(name, space, seed=seed, grid_points=self.grid_points, trials=self.trials)

    def _run_stage(self, k, study, space, target, epochs, parent, worker_id) -> bool:
        """Work on stage ``k`` until it has ``target`` counted trials; False when this worker
        stopped after ``max_failures`` failed trials instead."""
        from optuna.trial import TrialState

        objective = self._objective()
        self._studies[k] = study
        failures_count = self._failures_count(k)
        failed = 0
        while True:
            exit_if_orphaned(parent)
            self._reap_helpers()
            st.reclaim(study)
            trials = study.get_trials(deepcopy=False)
            done = sum(counts(t, failures_count) for t in trials)
            running = sum(t.state == TrialState.RUNNING for t in trials)
            if done >= target:
                return True
            if failed >= self.max_failures:
                self.stopped = (
                    f"stage {k + 1}: stopped after {failed} failed trials in this run ({done} of {target} complete)"
                )
                self._log(self.stopped)
                return False
            if done + running >= target:
                time.sleep(0.5)  # the rest are in flight elsewhere; wait so the next stage sees them
                continue
            fresh = len({t.user_attrs["fresh"] for t in trials if "fresh" in t.user_attrs})
            if self.sampler != "grid" or k > 0 or study.sampler.__class__.__name__ != "Grid":
                # The grid keeps one sampler per stage: it tries each point once, in an order
                # that may differ after a kill; random and TPE get one per fresh trial.
                study.sampler = self._sampler(k, space, fresh, worker_id)
            trial = study.ask()
            # Tag the trial with its worker at once: a master whose helper dies fails its trials by this tag.
            trial.set_user_attr("worker", worker_tag())
            if self._surplus(study, trial, target, k):
                continue
            queued = "fixed_params" in study._storage.get_trial(trial._trial_id).system_attrs
            if not queued:
                trial.set_user_attr("fresh", fresh)
            params = space.sample(trial)
            if not run_trial(self, k, study, trial, params, epochs, objective, parent):
                failed += 1

    def _reap_helpers(self) -> None:
        fail_trials_of_dead_helpers(self._helpers, self._reaped, list(self._studies.values()))

    # ------------------------------------------------------------------------------------
    def results(self) -> list[dict]:
        """One row per trial of every stage (params, stage, epochs, metric, status)."""
        names = set(st._optuna().get_all_study_names(self.storage))
        # A stage not reached yet has no study; reading must not create it (its planner creates it).
        studies = []
        for k in range(len(self.stages)):
            if f"{self.study_name}.stage{k}" not in names:
                break
            studies.append(self._study(k))
        return trial_rows(studies, self.stages, self.metric, self.direction)

    def write_results(self) -> SearchResult:
        result = write_results(
            self.out, self.results(), self.space, self.stages, self.metric, self.direction, plots=self.plots
        )
        result.stopped = self.stopped
        return result
