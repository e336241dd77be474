"""Diagnostics: tools that tell whether training code is right (gradient checks, ...)."""
from nnlab.diagnostics.gradcheck import GradcheckReport, gradcheck

__all__ = ["gradcheck", "GradcheckReport"]
