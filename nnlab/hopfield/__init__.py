"""Hopfield networks: the classic binary associative memory (Hebb / Storkey / pseudo-inverse
storage, asynchronous and synchronous recall, energy) and the modern continuous one whose update
is softmax attention."""

from .modern import ModernHopfield
from .network import MODES, RULES, HopfieldNetwork, RecallResult
from .patterns import digit_patterns, flip_bits, mixture, random_patterns, to_bipolar

__all__ = [
    "HopfieldNetwork",
    "RecallResult",
    "ModernHopfield",
    "RULES",
    "MODES",
    "random_patterns",
    "flip_bits",
    "digit_patterns",
    "mixture",
    "to_bipolar",
]
