"""Successive halving: the best fraction of a stage goes on to the next with more epochs."""

from __future__ import annotations

import math
import time

from nnlab.tune.processes import exit_if_orphaned

__all__ = ["plan_stage"]


def plan_stage(search, k: int):
    """Stage ``k`` > 0: its study, the space it samples from and its number of trials; the process
    that creates the stage's study queues the promoted configurations (exactly once)."""
    import optuna
    from optuna.trial import TrialState

    prev = search._study(k - 1)
    done = sorted((t for t in prev.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))), key=search._sort_key)
    n_keep = max(1, math.ceil(search.stages[k - 1].keep * len(done))) if done else 0
    kept = done[:n_keep]
    space = search.space.narrowed([t.params for t in kept]) if (search.narrow and kept) else search.space
    target = len(kept) * (2 if search.narrow else 1)
    try:
        study = search._study(k, create_only=True)
    except optuna.exceptions.DuplicatedStudyError:
        study = search._study(k)
        t0 = time.time()
        while not study.user_attrs.get("planned"):  # another worker is queueing
            exit_if_orphaned(search._parent)
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
    search._log(
        f"stage {k + 1}: {len(kept)} of {len(done)} trials go on with {search.stages[k].epochs} epochs"
        + (f", {len(kept)} fresh ones in {space}" if search.narrow else "")
    )
    return study, space, target
