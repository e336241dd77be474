"""Diagnostics: tools that tell whether training code is right (gradient checks, ...)."""

from nnlab.diagnostics.gradcheck import GradcheckReport, gradcheck

__all__ = ["gradcheck", "GradcheckReport"]
from nnlab.diagnostics.model_check import gradcheck_model, ModelGradcheckReport
from nnlab.diagnostics.hooks import register_forward_hook, tap

__all__ += ["gradcheck_model", "ModelGradcheckReport", "register_forward_hook", "tap"]
from nnlab.diagnostics.sanity import sanity_check, SanityReport

__all__ += ["sanity_check", "SanityReport"]
from nnlab.diagnostics.monitors import (
    UpdateRatioMonitor,
    ActivationMonitor,
    LossCurveMonitor,
    BiasVarianceMonitor,
    TrainingDiverged,
    Finding,
    diagnose,
)

__all__ += [
    "UpdateRatioMonitor",
    "ActivationMonitor",
    "LossCurveMonitor",
    "BiasVarianceMonitor",
    "TrainingDiverged",
    "Finding",
    "diagnose",
]
from nnlab.diagnostics.run import default_monitors, default_train_callbacks, TensorBoardLogger, RunDiagnostics

__all__ += ["default_monitors", "default_train_callbacks", "TensorBoardLogger", "RunDiagnostics"]
