"""Hyperparameter search: spaces on the right scales, random/grid/TPE sampling through Optuna,
coarse-to-fine stages, boundary warnings, workers sharing one study, and the search's report."""
from nnlab.tune.space import (SearchSpace, Param, LogUniform, Uniform, IntRange, Choice, PowerOfTwo, parse_param,
                              default_space)
from nnlab.tune.search import Search, SearchResult, Stage, parse_stages, boundary_warnings, load_results
from nnlab.tune.worker import DigitsTask, resolve_objective

__all__ = ["SearchSpace", "Param", "LogUniform", "Uniform", "IntRange", "Choice", "PowerOfTwo", "parse_param",
           "default_space", "Search", "SearchResult", "Stage", "parse_stages", "boundary_warnings", "load_results",
           "DigitsTask", "resolve_objective"]
