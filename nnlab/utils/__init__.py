"""Small helpers shared across nnlab's parts (file writing)."""
from nnlab.utils.io import atomic_savez, atomic_write, atomic_write_text, file_mode, remove_stale_temps

__all__ = ["atomic_write", "atomic_write_text", "atomic_savez", "file_mode", "remove_stale_temps"]
