"""The ``nnlab`` command line (``python -m nnlab`` / ``python -m nnlab.cli``)."""

from nnlab.cli.main import main, register

__all__ = ["main", "register"]
