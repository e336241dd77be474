"""Small helpers shared across nnlab's parts (file writing)."""

from nnlab.utils.io import atomic_savez, atomic_write, atomic_write_text, file_mode, remove_stale_temps

__all__ = ["atomic_write", "atomic_write_text", "atomic_savez", "file_mode", "remove_stale_temps"]


def __getattr__(name):
    """``nnlab.utils.data`` (as ``torch.utils.data``) loads on first use: it pulls in nnlab.data."""
    if name == "data":
        import importlib

        return importlib.import_module("nnlab.utils.data")
    raise AttributeError(f"module 'nnlab.utils' has no attribute {name!r}")
