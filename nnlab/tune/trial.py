"""One trial of a search: which trials count towards a stage's total, withdrawing a surplus one,
and running one (training, statistics, the metric reported back)."""

from __future__ import annotations

import inspect
import math
import time

from nnlab.tune.processes import Heartbeat
from nnlab.tune.results import write_json

__all__ = ["counts", "withdraw_surplus", "run_trial", "metric_value", "trial_seed"]


def counts(t, failures_count: bool) -> bool:
    """Whether trial ``t`` counts towards its stage's total.

    Completed trials always do. Trials that failed by their own error count only where a retry
    would ask for the same configuration again (``failures_count``: the grid, whose points are
    each tried once, and later stages, which re-train given configurations); in a first stage
    that samples, a failed trial does not count, so ``--trials`` completed trials are the goal and
    a re-run after failures trains new configurations. Trials lost with their worker never count
    (they are queued again).
    """
    from optuna.trial import TrialState

    return t.state == TrialState.COMPLETE or (failures_count and t.state == TrialState.FAIL and "error" in t.user_attrs)


def withdraw_surplus(study, trial, target: int, failures_count: bool) -> bool:
    """Withdraw ``trial`` if it would go beyond the stage's total.

    Two workers that both saw one trial missing may both have asked for one. Every worker
    ranks the trials in flight the same way (queued ones first, then by number) and the one
    whose trial ranks beyond the total marks it PRUNED with ``surplus`` before training it
    (a queued configuration goes back to the queue), so a stage completes exactly its total.
    Withdrawn trials never ran and are left out of the results.
    """
    from optuna.trial import TrialState

    trials = study.get_trials(deepcopy=False)
    done = sum(counts(t, failures_count) for t in trials)
    running = sorted(
        (t for t in trials if t.state == TrialState.RUNNING),
        key=lambda t: ("fixed_params" not in t.system_attrs, t.number),
    )
    numbers = [t.number for t in running]
    rank = done + (numbers.index(trial.number) if trial.number in numbers else len(numbers))
    if rank < target:
        return False
    mine = next((t for t in running if t.number == trial.number), None)
    if mine is not None and "fixed_params" in mine.system_attrs:
        study.enqueue_trial(
            dict(mine.system_attrs["fixed_params"]), user_attrs=dict(mine.user_attrs), skip_if_exists=False
        )
    trial.set_user_attr("surplus", True)
    study.tell(trial, state=TrialState.PRUNED)
    return True


def trial_seed(search_seed: int, trial) -> int:
    """The seed a trial trains with: a retry keeps the seed of the trial it repeats; a freshly
    sampled trial's seed follows its position among the stage's fresh trials (not its number,
    which retries shift), a queued one's its number (fixed when the stage was planned)."""
    attrs = trial.user_attrs
    if "seed" in attrs:
        return int(attrs["seed"])
    return int(search_seed) * 1000 + int(attrs.get("fresh", trial.number))


def metric_value(result, metric: str) -> tuple[float, dict]:
    if isinstance(result, dict):
        if metric not in result:
            raise ValueError(
                f"objective: returned no {metric!r} (keys: {', '.join(result)}); return it or pass --metric"
            )
        return float(result[metric]), result
    return float(result), {metric: float(result)}


def _lost_checkpoint(out, study, trial):
    """The checkpoint a lost trial left (written at each epoch end), when ``trial`` re-runs it
    with the same parameters and epochs: the retry continues from there."""
    lost = trial.user_attrs.get("retry_of") if hasattr(trial, "user_attrs") else None
    if lost is None:
        return None
    old = next((t for t in study.get_trials(deepcopy=False) if t.number == lost), None)
    if old is None:
        return None
    path = out / old.user_attrs.get("dir", "-") / "checkpoint.npz"
    return path if path.exists() and old.params == trial.params else None


def _accepts(fn, name: str) -> bool:
    try:
        return name in inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return False


def _fmt(v):
    return f"{v:.3g}" if isinstance(v, float) else str(v)


def run_trial(search, k, study, trial, params, epochs, objective, parent) -> bool:
    """Train ``trial`` of stage ``k`` and report its metric; False when it failed by its own error
    (the exception or a non-finite metric is recorded as the trial's ``error``)."""
    from optuna.trial import TrialState

    out = search.out
    tdir = out / "trials" / f"s{k + 1}-{trial.number:04d}"
    tdir.mkdir(parents=True, exist_ok=True)
    trial.set_user_attr("dir", str(tdir.relative_to(out)))
    trial.set_user_attr("epochs", int(epochs))
    seed = trial_seed(search.seed, trial)
    trial.set_user_attr("seed", seed)
    t0 = time.perf_counter()
    stats = {"trial": trial.number, "stage": k, "epochs": int(epochs), "params": params, "seed": seed}
    with Heartbeat(study._storage, trial._trial_id, parent):
        try:
            extra = {}
            resume = _lost_checkpoint(out, study, trial)
            if resume is not None and _accepts(objective, "resume"):
                extra["resume"] = str(resume)
                stats["resumed_from"] = str(resume.relative_to(out))
            result = objective(dict(params), epochs=int(epochs), trial_dir=str(tdir), seed=seed, **extra)
            value, metrics = metric_value(result, search.metric)
        except KeyboardInterrupt:
            study.tell(trial, state=TrialState.FAIL)  # no "error": queued again on resume
            raise
        except Exception as e:  # noqa: BLE001 - one bad configuration must not stop the search
            msg = f"{type(e).__name__}: {e}"
            trial.set_user_attr("error", msg[:500])
            stats.update(status="fail", error=msg, seconds=time.perf_counter() - t0)
            write_json(tdir / "stats.json", stats)
            study.tell(trial, state=TrialState.FAIL)
            search._log(f"trial {trial.number} (stage {k + 1}) failed: {msg}")
            return False
    stats.update(
        status="complete" if math.isfinite(value) else "fail", metrics=metrics, seconds=time.perf_counter() - t0
    )
    write_json(tdir / "stats.json", stats)
    if math.isfinite(value):
        study.tell(trial, value)
    else:
        trial.set_user_attr("error", f"{search.metric} is {value} (diverged)")
        study.tell(trial, state=TrialState.FAIL)
    search._log(
        f"trial {trial.number} (stage {k + 1}, {epochs} ep): {search.metric}={value:.4f} "
        + " ".join(f"{n}={_fmt(v)}" for n, v in params.items())
    )
    return math.isfinite(value)
