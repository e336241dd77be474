"""Hyperparameter search: spaces on the right scales, random/grid/TPE sampling through Optuna,
coarse-to-fine stages, boundary warnings, workers sharing one study, and the search's report."""

from nnlab.tune.space import (
    SearchSpace,
    Param,
    LogUniform,
    Uniform,
    IntRange,
    Choice,
    PowerOfTwo,
    parse_param,
    default_space,
)
from nnlab.tune.stages import Stage, parse_stages
from nnlab.tune.boundary import boundary_warnings
from nnlab.tune.results import SearchResult, load_results
from nnlab.tune.search import Search
from nnlab.tune.worker import DigitsTask, resolve_objective

__all__ = [
    "SearchSpace",
    "Param",
    "LogUniform",
    "Uniform",
    "IntRange",
    "Choice",
    "PowerOfTwo",
    "parse_param",
    "default_space",
    "Search",
    "SearchResult",
    "Stage",
    "parse_stages",
    "boundary_warnings",
    "load_results",
    "DigitsTask",
    "resolve_objective",
]
