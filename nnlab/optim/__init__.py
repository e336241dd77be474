"""Optimizers (stateful, PyTorch-shaped) and learning-rate schedules."""

from nnlab.optim.optimizer import Optimizer
from nnlab.optim.sgd import SGD, sgd_update, sgd_momentum_update, sgd_nesterov_update
from nnlab.optim.adagrad import Adagrad, adagrad_update
from nnlab.optim.rmsprop import RMSprop, rmsprop_update
from nnlab.optim.adam import Adam, adam_update
from nnlab.optim.lbfgs import LBFGS
from nnlab.optim import schedules
from nnlab.optim.schedules import Scheduler, ReduceLROnPlateau

__all__ = [
    "Optimizer",
    "SGD",
    "Adagrad",
    "RMSprop",
    "Adam",
    "LBFGS",
    "schedules",
    "Scheduler",
    "ReduceLROnPlateau",
    "sgd_update",
    "sgd_momentum_update",
    "sgd_nesterov_update",
    "adagrad_update",
    "rmsprop_update",
    "adam_update",
]
# PyTorch names: optim.Adadelta, optim.AdamW, optim.lr_scheduler
from nnlab.optim.adadelta import Adadelta  # noqa: E402
from nnlab.optim.adamw import AdamW  # noqa: E402
from nnlab.optim import lr_scheduler  # noqa: E402

__all__ += ["Adadelta", "AdamW", "lr_scheduler"]
