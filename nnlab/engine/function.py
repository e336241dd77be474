"""The gate: one op's forward on raw arrays and its hand-written vector-Jacobian product.

A subclass implements ``forward(*arrays, **options)`` (returns an ndarray and keeps on ``self``
whatever backward needs) and ``backward(grad_out)`` (returns one gradient per positional input,
``None`` where an input needs none). ``Function.apply`` wires it into the graph.
"""
from __future__ import annotations

import numpy as np

from nnlab.engine import autograd
from nnlab.engine.tensor import Tensor


class Function:
    """Base class of every op. Instances are graph nodes: they remember their inputs."""

    __slots__ = ("inputs", "needs_input_grad", "__dict__")

    def forward(self, *args, **kwargs) -> np.ndarray:  # pragma: no cover - interface
        raise NotImplementedError

    def backward(self, grad_out: np.ndarray):  # pragma: no cover - interface
        raise NotImplementedError

    @classmethod
    def apply(cls, *inputs, **kwargs) -> Tensor:
        """Run the forward on the inputs' arrays and, if any input needs a gradient, record the node.

        Positional inputs are Tensors (or None for an absent optional input such as a bias);
        keyword arguments are non-differentiable options.
        """
        fn = cls()
        arrays = [t.data if t is not None else None for t in inputs]
        track = autograd.grad_enabled() and any(t is not None and t.requires_grad for t in inputs)
        if track:
            fn.needs_input_grad = tuple(t is not None and t.requires_grad for t in inputs)
        else:
            fn.needs_input_grad = (False,) * len(inputs)
        out = fn.forward(*arrays, **kwargs)
        if track:
            fn.inputs = inputs
            return Tensor._from_op(out, fn)
        return Tensor._from_op(out, None)

    @property
    def name(self) -> str:
        return type(self).__name__

    def __repr__(self) -> str:
        return f"<{self.name} gate>"
