"""Backpropagation you can see: the computational graph of an expression, gate by gate.

    import nnlab, nnlab.explain
    x, y, z = (nnlab.tensor(v, requires_grad=True) for v in (-2.0, 5.0, -4.0))
    c = nnlab.explain((x + y) * z, names={"x": x, "y": y, "z": z})
    print(c)                      # f = -12; dx = -4, dy = -4, dz = 3; "add distributes", "multiply swaps"
    c.save("circuit.html")        # the drawing (SVG inside HTML), as the notes draw circuits

``explain`` runs backward itself (call it before any backward of that output). The module is
callable: ``nnlab.explain(expr)`` is ``nnlab.explain.explain(expr)``.
"""

from __future__ import annotations

import sys
import types

from nnlab.explain.graph import PATTERNS, Circuit, Node, build_circuit
from nnlab.explain.render import fmt, to_html, to_svg, to_text

__all__ = ["explain", "Circuit", "Node", "PATTERNS", "build_circuit", "to_text", "to_svg", "to_html", "fmt"]


def explain(output, names: dict | None = None, backward: bool = True) -> Circuit:
    """The circuit behind ``output``: every gate with its forward value and its gradient.

    Args:
        output: a Tensor produced by nnlab ops from inputs with ``requires_grad=True``.
        names: labels for tensors in the graph, e.g. ``{"x": x, "w0": w0}``; others are labelled
            ``in1``, ``q1``, ... (constants by their value, the output ``f``).
        backward: run backward from ``output`` (the leaves' ``.grad`` is reset first and then holds
            d(output)/d(leaf)); False draws the forward values only.

    Returns a :class:`Circuit`: ``print(c)`` for text, ``c.to_svg()`` / ``c.to_html()`` / ``c.save(path)``
    for the drawing, ``c.grad("x")`` / ``c.value("q1")`` for the numbers.
    """
    return build_circuit(output, names, backward)


class _CallableModule(types.ModuleType):
    def __call__(self, output, names: dict | None = None, backward: bool = True) -> Circuit:
        return explain(output, names, backward)


sys.modules[__name__].__class__ = _CallableModule
