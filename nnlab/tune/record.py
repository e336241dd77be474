"""What a study records about its search (space, stages, metric, task) so that a re-run or a
joining worker continues the same search, and a different one is refused instead of being
ranked together with it."""

from __future__ import annotations

from nnlab.tune.space import SearchSpace
from nnlab.tune.stages import Stage, stages_config

__all__ = ["adopt_or_check_record"]


def _mine(search) -> dict:
    return {
        "space": search.space.to_config(),
        "stages": stages_config(search.stages),
        "narrow": search.narrow,
        "metric": search.metric,
    }


def _task_words(task: dict) -> str:
    return ", ".join(f"{k} {v}" for k, v in task.items() if v is not None) or "none"


def adopt_or_check_record(study0, search) -> None:
    """The first worker records the search; later ones adopt what they were not given (space,
    stages) and must agree on the rest. A different task (objective, model, data, subset) is
    refused: its trials would be ranked with the old ones in results.csv and best.json."""
    saved = study0.user_attrs.get("search")
    task = search.task_record()
    if saved is not None and not (search._space_given and search._stages_given):
        if not search._space_given:
            search.space = SearchSpace.from_config(saved["space"])
        if not search._stages_given:
            search.stages = [Stage(int(e), float(kp)) for e, kp in saved["stages"]]
            search.narrow = bool(saved["narrow"])
        search._space_given = search._stages_given = True
    mine = _mine(search)
    where = f"{search.out}" if search.storage_is_local else f"study {search.study_name!r} in {search.storage_url}"
    if saved is None:
        study0.set_user_attr("search", mine)
        study0.set_user_attr("task", task)
        return
    saved_task = study0.user_attrs.get("task")
    if saved_task is None:  # a study from before tasks were recorded
        study0.set_user_attr("task", task)
    elif saved_task != task:
        raise ValueError(
            f"{where} holds a search of another task ({_task_words(saved_task)}); this run asks for "
            f"{_task_words(task)}: start a new search folder with --out DIR (or another --study name)"
        )
    if {k: saved.get(k) for k in mine} != mine:
        raise ValueError(
            f"study {search.study_name!r} in {search.storage_url} was started with "
            f"space {saved['space']} and stages {saved['stages']}; this run asks for "
            f"space {mine['space']} and stages {mine['stages']}: use the same options or "
            "another --out/--study"
        )
