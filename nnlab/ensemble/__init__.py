"""Ensembles (probability averaging, majority vote) and parameter averaging during training."""

from nnlab.ensemble.ensemble import Ensemble, train_members, from_checkpoints, from_search, Snapshots
from nnlab.ensemble.averaging import PolyakAveraging, update_bn

__all__ = ["Ensemble", "train_members", "from_checkpoints", "from_search", "Snapshots", "PolyakAveraging", "update_bn"]
