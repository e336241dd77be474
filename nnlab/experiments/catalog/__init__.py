"""The experiments, one module per topic of the notes; importing a module registers its experiments
(in the order the lab report lists them)."""
from nnlab.experiments.catalog import initialization  # noqa: F401
