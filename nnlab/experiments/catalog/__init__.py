"""The experiments, one module per topic of the notes; importing a module registers its experiments
(in the order the lab report lists them)."""

from nnlab.experiments.catalog import initialization  # noqa: F401
from nnlab.experiments.catalog import training  # noqa: F401
from nnlab.experiments.catalog import regularization  # noqa: F401
from nnlab.experiments.catalog import optimization  # noqa: F401
from nnlab.experiments.catalog import search_ensembles  # noqa: F401
from nnlab.experiments.catalog import convnets  # noqa: F401
from nnlab.experiments.catalog import data_practice  # noqa: F401
from nnlab.experiments.catalog import capacity  # noqa: F401
from nnlab.experiments.catalog import representations  # noqa: F401
from nnlab.experiments.catalog import other_networks  # noqa: F401
