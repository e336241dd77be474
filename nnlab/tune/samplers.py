"""Optuna samplers for a search (random, grid, TPE), seeded so that a search is reproducible.

Every fresh trial gets a sampler seeded from the search's seed, the stage and the trial's
position among the stage's freshly sampled trials (``fresh_index``), not from how many trials the
study held when a process started. So a search that is killed and run again asks for the same
configurations, in the same order, as one that ran without interruption (with one worker; with
several, which worker takes which position depends on timing).
"""

from __future__ import annotations

import hashlib

__all__ = ["SAMPLERS", "make_sampler", "grid_points_for", "mixed_seed"]

SAMPLERS = ("random", "grid", "tpe")


def mixed_seed(*parts) -> int:
    """A 32-bit seed from several integers (a hash, so nearby inputs give unrelated seeds)."""
    text = ":".join(str(int(p)) for p in parts).encode()
    return int.from_bytes(hashlib.sha256(text).digest()[:4], "little")


def make_sampler(name: str, space, seed: int, grid_points: int | None = None, trials: int = 0):
    import optuna

    if name == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    if name == "tpe":
        return optuna.samplers.TPESampler(seed=seed, n_startup_trials=min(10, max(trials // 3, 2)))
    if name == "grid":
        return _grid_class()(space.grid(grid_points or grid_points_for(space, trials)), seed=seed)
    raise ValueError(f"sampler must be one of {', '.join(SAMPLERS)}, got {name!r}")


def _grid_class():
    import optuna

    class Grid(optuna.samplers.GridSampler):
        """GridSampler whose end of grid does not call ``study.stop()`` (only valid inside
        ``optimize``); each stage asks for at most the grid's size anyway."""

        def after_trial(self, study, trial, state, values):
            pass

    return Grid


def grid_points_for(space, trials: int) -> int:
    """The most points per numeric axis whose full grid fits in ``trials``."""
    n = 2
    while space.grid_size(n + 1) <= max(trials, 1) and n < 1000:
        n += 1
    return n
