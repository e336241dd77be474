"""Reproductions of the notes' classic experiments (``python -m nnlab.experiments.<name>``)."""
