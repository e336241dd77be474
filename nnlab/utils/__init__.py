"""Small helpers shared across nnlab's parts (file writing)."""
from nnlab.utils.io import atomic_savez, atomic_write, atomic_write_text, file_mode

__all__ = ["atomic_write", "atomic_write_text", "atomic_savez", "file_mode"]
