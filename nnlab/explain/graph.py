"""The computational graph behind a Tensor, read gate by gate, with forward values and gradients.

The walk uses only the Tensor's public graph attributes: ``tensor.grad_fn`` (the gate that made it,
None for a leaf), the gate's ``inputs`` and ``name``, and ``retain_grad()`` to keep the gradient of
every intermediate after ``backward``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

__all__ = ["Node", "Circuit", "build_circuit", "PATTERNS"]

#: the notes' patterns of backward flow, by gate name ("回传流中的模式")
PATTERNS = {
    "Add": "add distributes: every input gets the upstream gradient unchanged",
    "Sub": "add distributes (negated for the subtracted input)",
    "Mul": "multiply swaps: each input's gradient is the upstream gradient times the other input's value",
    "Maximum": "max routes: the whole gradient goes to the larger input, the other gets 0",
    "Minimum": "min routes: the whole gradient goes to the smaller input, the other gets 0",
    "ReLU": "max routes: max(0, x) passes the gradient where x > 0 and blocks it elsewhere",
    "Max": "max routes: the gradient goes to the largest entry only",
    "Div": "divide: d(a/b)/da = 1/b, d(a/b)/db = -a/b^2",
    "Neg": "negate: the gradient changes sign",
    "Exp": "exp: the local gradient is the output itself, e^x",
    "Log": "log: the local gradient is 1/x",
    "Pow": "power: d(x^p)/dx = p x^(p-1)",
    "Sigmoid": "sigmoid: the local gradient is (1 - s) s of the output s",
    "Tanh": "tanh: the local gradient is 1 - t^2 of the output t",
    "Sum": "sum distributes: every entry gets the upstream gradient",
    "Mean": "mean distributes 1/n of the upstream gradient to every entry",
    "MatMul": "matrix multiply swaps: dW = dY X^T-style products with the other operand",
    "Linear": "linear layer: dW = dY^T X, db = sum of dY, dX = dY W",
    "SoftmaxCrossEntropy": "softmax cross-entropy: d(scores) = (softmax(scores) - one-hot(label)) / N",
}


@dataclass
class Node:
    """A value in the circuit: a leaf (input, parameter or constant) or the output of a gate."""

    id: int
    label: str  # the name given by the caller, or a derived one (q1, ...)
    value: np.ndarray
    grad: np.ndarray | None  # d(output)/d(this value); None where no gradient flows
    op: str | None = None  # gate name; None for leaves
    inputs: list = field(default_factory=list)  # ids of the input nodes (gates only)
    constant: bool = False  # a leaf that needs no gradient (e.g. the 1 in 1 + e^x)
    depth: int = 0  # longest path from a leaf

    @property
    def is_gate(self) -> bool:
        return self.op is not None

    @property
    def pattern(self) -> str:
        return PATTERNS.get(self.op or "", f"{self.op}: local gradient times upstream gradient" if self.op else "")


@dataclass
class Circuit:
    """The nodes in topological order (inputs first) and the id of the output."""

    nodes: list
    output: int

    def node(self, label_or_id) -> Node:
        for n in self.nodes:
            if n.id == label_or_id or n.label == label_or_id:
                return n
        raise KeyError(f"no node {label_or_id!r} in the circuit; labels are {[n.label for n in self.nodes]}")

    def gates(self) -> list:
        return [n for n in self.nodes if n.is_gate]

    def grad(self, label):
        g = self.node(label).grad
        return None if g is None else (g.item() if g.size == 1 else g)

    def value(self, label):
        v = self.node(label).value
        return v.item() if v.size == 1 else v

    def to_text(self, precision: int = 4) -> str:
        from nnlab.explain.render import to_text

        return to_text(self, precision)

    def to_svg(self, precision: int = 3) -> str:
        from nnlab.explain.render import to_svg

        return to_svg(self, precision)

    def to_html(self, title: str = "computational graph", precision: int = 3) -> str:
        from nnlab.explain.render import to_html

        return to_html(self, title, precision)

    def save(self, path, title: str = "computational graph") -> str:
        """Write ``.svg``, ``.html`` or ``.txt`` by the file's suffix; returns the path."""
        path = str(path)
        if path.endswith(".svg"):
            text = self.to_svg()
        elif path.endswith((".html", ".htm")):
            text = self.to_html(title)
        elif path.endswith(".txt"):
            text = self.to_text()
        else:
            raise ValueError(f"Circuit.save: use a .svg, .html or .txt file name, got {path!r}")
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
        return path

    def __str__(self) -> str:
        return self.to_text()

    def _repr_html_(self) -> str:  # notebooks
        return self.to_svg()


def _is_tensor(x) -> bool:
    return hasattr(x, "grad_fn") and hasattr(x, "data")


def build_circuit(output, names: dict | None = None, backward: bool = True) -> Circuit:
    """Walk the graph that made ``output`` and (with ``backward``) run backward through it.

    ``names`` maps labels to the tensors they name ({"x": x, ...}); unnamed leaves are labelled by
    their value (constants) or ``in1, in2, ...``, gate outputs by ``q1, q2, ...`` and the output
    ``f``. The leaves' ``.grad`` is reset and then holds d(output)/d(leaf), as after
    ``output.backward()``. A non-scalar output is backpropagated from a gradient of ones.
    """
    if not _is_tensor(output):
        raise TypeError(f"explain: expected the Tensor an expression produced, got {type(output).__name__}")
    names = dict(names or {})
    for k, t in names.items():
        if not _is_tensor(t):
            raise TypeError(f"explain: names[{k!r}] must be a Tensor, got {type(t).__name__}")
    label_of = {id(t): k for k, t in names.items()}
    root_fn = output.grad_fn
    if root_fn is not None and root_fn.name == "FreedGraph":
        raise RuntimeError(
            "explain: backward already ran through this output and freed its graph; "
            "call explain on the output before backward (or build it again)"
        )
    if backward and not output.requires_grad:
        raise ValueError(
            "explain: the output does not depend on any tensor with requires_grad=True, so there "
            "are no gradients to draw; create the inputs with requires_grad=True "
            "(or pass backward=False for values only)"
        )

    # Depth-first walk, inputs before outputs; tensors are keyed by id() (== compares values).
    order, seen, stack = [], set(), [(output, False)]
    while stack:
        t, expanded = stack.pop()
        if expanded:
            order.append(t)
            continue
        if id(t) in seen:
            continue
        seen.add(id(t))
        stack.append((t, True))
        fn = t.grad_fn
        if fn is not None:
            for p in reversed(list(fn.inputs)):
                if p is not None and id(p) not in seen:
                    stack.append((p, False))

    ids = {id(t): i for i, t in enumerate(order)}
    # The gates' names and inputs, read before backward frees the graph.
    gates = {}
    for t in order:
        fn = t.grad_fn
        if fn is not None:
            gates[id(t)] = (fn.name, [ids[id(p)] for p in fn.inputs if p is not None])
    if backward:
        for t in order:
            if t.grad_fn is not None:
                t.retain_grad()
            elif t.requires_grad:
                t.grad = None
        grad = None if output.data.size == 1 else np.ones_like(output.data)
        output.backward(grad) if grad is not None else output.backward()

    nodes, n_gate, n_in = [], 0, 0
    for i, t in enumerate(order):
        fn = gates.get(id(t))
        g = t.grad if (backward and t.requires_grad and t.grad is not None) else None
        if t is output and backward and g is None:
            g = np.ones_like(t.data)
        if fn is None:
            const = not t.requires_grad
            if id(t) in label_of:
                label = label_of[id(t)]
            elif const and t.data.size == 1:
                label = _short(t.data.item())
            else:
                n_in += 1
                label = f"in{n_in}"
            nodes.append(
                Node(i, label, np.array(t.data, copy=True), None if g is None else np.array(g), constant=const)
            )
        else:
            op, inputs = fn
            depth = 1 + max((nodes[j].depth for j in inputs), default=0)
            if id(t) in label_of:
                label = label_of[id(t)]
            elif t is output:
                label = "f"
            else:
                n_gate += 1
                label = f"q{n_gate}"
            nodes.append(
                Node(
                    i,
                    label,
                    np.array(t.data, copy=True),
                    None if g is None else np.array(g),
                    op=op,
                    inputs=inputs,
                    depth=depth,
                )
            )
    return Circuit(nodes, ids[id(output)])


def _short(x) -> str:
    return f"{x:.6g}"
