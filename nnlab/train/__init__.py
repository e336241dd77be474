"""Training: Trainer with Keras-style callbacks, metrics, checkpoints, LR finder, CLI model recipes."""

from nnlab.train.trainer import Trainer, TrainingInterrupted, predict
from nnlab.train.callbacks import (
    Callback,
    CallbackList,
    History,
    EarlyStopping,
    ModelCheckpoint,
    LearningRateScheduler,
    ReduceLROnPlateau,
    ProgressBar,
    CSVLogger,
    JSONLogger,
    LambdaCallback,
)
from nnlab.train.checkpoint import Checkpoint, CheckpointError, save, load
from nnlab.train.metrics import accuracy, confusion_matrix, ema_smooth
from nnlab.train.lr_finder import LRFinderResult, lr_find

__all__ = [
    "Trainer",
    "TrainingInterrupted",
    "predict",
    "Callback",
    "CallbackList",
    "History",
    "EarlyStopping",
    "ModelCheckpoint",
    "LearningRateScheduler",
    "ReduceLROnPlateau",
    "ProgressBar",
    "CSVLogger",
    "JSONLogger",
    "LambdaCallback",
    "Checkpoint",
    "CheckpointError",
    "save",
    "load",
    "accuracy",
    "confusion_matrix",
    "ema_smooth",
    "LRFinderResult",
    "lr_find",
]
