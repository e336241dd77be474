"""The gate: one op's forward on raw arrays and its hand-written vector-Jacobian product.

A subclass implements ``forward(*arrays, **options)`` (returns an ndarray and keeps on ``self``
whatever backward needs) and ``backward(grad_out)`` (returns one gradient per positional input,
``None`` where an input needs none). ``Function.apply`` wires it into the graph.
"""

from __future__ import annotations

import numpy as np

from nnlab.engine import autograd
from nnlab.engine.inplace import _clock as _inplace_clock
from nnlab.engine.tensor import Tensor, _set_fields

_grad_state = autograd._state  # the grad-mode flag object (per thread), read once per op
_new_tensor = object.__new__


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
        # Every op of every step passes through here, so it is written for speed: one plain loop
        # instead of a comprehension plus any() and tuple() generators (4x cheaper on 2-3 inputs),
        # the grad mode read as a plain attribute, and the output built without Tensor.__init__'s
        # conversion and checks (forward made the array already).
        fn = cls()
        arrays, needs = [], []
        for t in inputs:
            if t is None:
                arrays.append(None)
                needs.append(False)
            else:
                arrays.append(t.data)
                needs.append(t.requires_grad)
        track = _grad_state.enabled and True in needs
        fn.needs_input_grad = tuple(needs) if track else (False,) * len(needs)
        out = fn.forward(*arrays, **kwargs)
        if not track:
            return _set_fields(_new_tensor(Tensor), out, False, None)
        fn.inputs = inputs  # the graph's edges: this node remembers what fed it
        fn.clock = _inplace_clock[0]  # backward refuses inputs changed in place after this
        return _set_fields(_new_tensor(Tensor), out, True, fn)

    @property
    def name(self) -> str:
        return type(self).__name__

    def __repr__(self) -> str:
        return f"<{self.name} gate>"
