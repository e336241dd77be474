"""Export to ONNX (needs the ``onnx`` extra: ``pip install 'nnlab[onnx]'``)."""

from nnlab.onnx.export import export, ExportError

__all__ = ["export", "ExportError"]
