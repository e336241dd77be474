"""Argument types shared by the subcommands: parse a number and check its range, so that a bad
value is a one-line usage error naming what was expected and what came."""

from __future__ import annotations

import argparse

__all__ = ["number", "positive", "nonneg_int", "nonneg_float", "fraction", "probability"]


def number(kind, ok, expected: str):
    """An argparse ``type``: ``kind(text)`` that must satisfy ``ok(value)``; else
    "expected <expected>, got '<text>'"."""

    def parse(text):
        try:
            v = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}") from None
        if not ok(v):  # also rejects NaN
            raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}")
        return v

    return parse


def positive(kind):
    """A positive int or float (``--epochs``, ``--lr``, ``--trials``)."""
    return number(kind, lambda v: v > 0, "a positive integer" if kind is int else "a positive number")


nonneg_int = number(int, lambda v: v >= 0, "a non-negative integer")
nonneg_float = number(float, lambda v: v >= 0, "a number >= 0")
probability = number(float, lambda v: 0 <= v < 1, "a drop probability in [0, 1)")
fraction = number(float, lambda v: 0 < v <= 1, "a fraction in (0, 1]")
