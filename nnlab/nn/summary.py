"""Model summaries in the style of the notes' VGGNet table, memory estimates, receptive fields.

``summary`` runs one forward pass of a single image under ``no_grad`` (in eval mode, so dropout
and batch norm behave deterministically) and records, for every leaf layer in call order, its
output shape, its activation count and memory, and its parameter count.

How activations are counted, and the notes' VGG-16 discrepancy
---------------------------------------------------------------
The notes' table counts one activation volume per CONV/POOL/FC layer plus the input image: the
ReLU after a convolution is not a separate volume (it can be applied in place). ``summary`` does
the same by default: elementwise layers (ReLU and friends, Dropout) and views (Flatten,
Identity) are *folded* into the layer before them and shown with "-" in the activation column
(``fold_elementwise=False`` counts every layer's output). With that rule VGG-16 at 3x224x224 gives
exactly the notes' per-layer column:

    150,528 (input) + 2 x 3,211,264 + 802,816 + 2 x 1,605,632 + 401,408 + 3 x 802,816 + 200,704
    + 3 x 401,408 + 100,352 + 3 x 100,352 + 25,088 + 4,096 + 4,096 + 1,000 = 15,237,608 values,

i.e. 60.95 MB (58.1 MiB) per image in float32 for the forward pass, about twice that with the
gradients of backward. The notes' "TOTAL memory: 24M * 4 bytes ~= 93MB / image" does not follow
from their own column (whose entries sum to 15.2M); the summary prints the exact count. Likewise
their first-layer example (64 3x3 filters on 224x224x3, "about 10 million activations, 72MB")
is one 224x224x64 volume: 3,211,264 values, 12.8 MB, 25.7 MB with its gradient. Ops that
are not modules (the addition of a residual block, the concatenation of an Inception module) make
volumes that are not counted, so for branching networks the total is a lower bound.

Units: MB = 10**6 bytes and MiB = 2**20 bytes; the notes convert by dividing by 1024 (MiB/GiB).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from nnlab.engine._args import check_instance, check_shape
from nnlab.engine.autograd import no_grad
from nnlab.engine.tensor import Tensor
from nnlab.nn import geometry

__all__ = [
    "summary",
    "SummaryTable",
    "LayerRow",
    "memory_estimate",
    "MemoryEstimate",
    "receptive_field",
    "ReceptiveField",
    "OPTIMIZER_CACHES",
]

# Layers that produce no new activation volume in the notes' accounting (applied in place or views).
FOLDED_TYPES = ("ReLU", "LeakyReLU", "Sigmoid", "Tanh", "ELU", "GELU", "Dropout", "Dropout2d", "Flatten", "Identity")

# Per-parameter optimizer caches (arrays the size of the parameters), besides the gradient.
OPTIMIZER_CACHES = {"sgd": 0, "momentum": 1, "nesterov": 1, "adagrad": 1, "rmsprop": 1, "adam": 2}

MB, MIB = 10**6, 2**20


@dataclass
class LayerRow:
    """One line of the table: a leaf layer as called during the forward pass."""

    name: str
    type: str
    output_shape: tuple
    activations: int  # values per batch counted for this layer (0 when folded)
    params: int
    folded: bool = False
    trainable: int = 0
    biases: int = 0  # of ``params``, how many are biases (the notes' table lists weights only)

    @property
    def weights(self) -> int:
        return self.params - self.biases


def _fmt_int(n: int) -> str:
    return f"{n:,}"


def _fmt_bytes(nbytes: float) -> str:
    for unit, size in (("GB", 10**9), ("MB", MB), ("KB", 10**3)):
        if nbytes >= size:
            return f"{nbytes / size:.2f} {unit}"
    return f"{int(nbytes)} B"


@dataclass
class SummaryTable:
    """Result of ``summary``: rows plus totals. ``str(table)`` renders it.

    ``total_activations`` is for ``batch_size`` images (per image when batch_size=1, the notes'
    figure); ``activation_bytes`` is the forward-pass memory of those values in ``dtype``;
    ``activation_bytes_with_backward`` doubles it (each activation has a gradient of its size).
    """

    model_name: str
    input_shape: tuple
    batch_size: int
    dtype: np.dtype
    rows: list = field(default_factory=list)
    total_params: int = 0
    trainable_params: int = 0
    dropped: list = field(default_factory=list)  # conv/pool calls whose windows miss input rows/columns

    @property
    def total_activations(self) -> int:
        return int(sum(r.activations for r in self.rows))

    @property
    def activation_bytes(self) -> int:
        return self.total_activations * self.dtype.itemsize

    @property
    def activation_bytes_with_backward(self) -> int:
        return 2 * self.activation_bytes

    @property
    def param_bytes(self) -> int:
        return self.total_params * self.dtype.itemsize

    def row(self, name: str) -> LayerRow:
        for r in self.rows:
            if r.name == name:
                return r
        raise KeyError(f"SummaryTable: no layer named {name!r}; layers: {[r.name for r in self.rows]}")

    def __str__(self) -> str:
        item = self.dtype.itemsize
        head = ("layer", "type", "output shape", "activations", "memory", "weights + biases")
        body = []
        for r in self.rows:
            shape = "x".join(str(d) for d in r.output_shape[1:]) or "-"
            acts = "-" if r.folded else _fmt_int(r.activations)
            mem = "-" if r.folded else _fmt_bytes(r.activations * item)
            par = _fmt_int(r.weights) + (f" + {_fmt_int(r.biases)}" if r.biases else "") if r.params else "0"
            body.append((r.name, r.type, shape, acts, mem, par))
        widths = [max(len(h), *(len(b[i]) for b in body)) if body else len(h) for i, h in enumerate(head)]

        def line(cells):
            return "  ".join(c.ljust(w) if i < 3 else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths)))

        rule = "-" * len(line(head))
        per = "per image" if self.batch_size == 1 else f"batch of {self.batch_size}"
        nbytes = self.activation_bytes
        out = [
            f"{self.model_name} on input {'x'.join(map(str, self.input_shape))} ({per}, {self.dtype})",
            rule,
            line(head),
            rule,
            *map(line, body),
            rule,
            f"TOTAL activations: {_fmt_int(self.total_activations)} values = {nbytes / MB:.2f} MB "
            f"({nbytes / MIB:.2f} MiB) forward, ~{2 * nbytes / MB:.2f} MB with backward",
            f"TOTAL params: {_fmt_int(self.total_params)} ({_fmt_int(self.trainable_params)} trainable) "
            f"= {self.param_bytes / MB:.2f} MB",
        ]
        out += [f"WARNING {note}" for note in self.dropped]
        return "\n".join(out)

    __repr__ = __str__


def _leaf_modules(model):
    return [(name, m) for name, m in model.named_modules() if not any(True for _ in m.children())]


def _check_shape(input_shape, where: str) -> tuple:
    if isinstance(input_shape, int):
        input_shape = (input_shape,)
    try:
        if isinstance(input_shape, (str, bytes)):
            raise TypeError
        shape = check_shape(where, tuple(input_shape), "input_shape", allow_infer=False)
    except (TypeError, ValueError):
        raise TypeError(
            f"{where}: input_shape must be a tuple of ints such as (3, 224, 224) "
            f"(one image, no batch axis), got {input_shape!r}"
        ) from None
    if not shape or min(shape) < 1:
        raise ValueError(f"{where}: input_shape must be positive sizes such as (3, 224, 224), got {input_shape!r}")
    return shape


def _param_dtype(model):
    for p in model.parameters():
        return p.data.dtype
    return np.dtype(np.float32)


def trace_leaves(model, x, graph: bool = False):
    """Run ``model`` on ``x`` in eval mode; return (output, calls) where calls is a list of
    (name, module, input, output) for every leaf-module call, in call order. Under no_grad unless
    ``graph`` (then ``x`` should be a Tensor requiring grad, and the outputs keep their graph)."""
    from nnlab.engine.autograd import enable_grad

    calls = []
    patched = []
    for name, m in _leaf_modules(model):

        def wrapped(*args, __orig=m.forward, __name=name, __m=m, **kw):
            out = __orig(*args, **kw)
            calls.append((__name, __m, args[0] if args else None, out))
            return out

        object.__setattr__(m, "forward", wrapped)
        patched.append(m)
    modes = [(m, m.training) for m in model.modules()]
    model.eval()
    try:
        with enable_grad() if graph else no_grad():
            out = model(x if isinstance(x, Tensor) else Tensor(x))
    finally:
        for m in patched:
            m.__dict__.pop("forward", None)
        for m, mode in modes:
            object.__setattr__(m, "training", mode)
    return out, calls


def summary(
    model, input_shape, batch_size: int = 1, dtype=np.float32, fold_elementwise: bool = True, print_fn=print
) -> SummaryTable:
    """Per-layer output shape, activations (count and memory) and parameters, with totals.

    Args:
        model: an ``nnlab.nn.Module``.
        input_shape: one example's shape without the batch axis, e.g. (3, 224, 224).
        batch_size: activations are reported for this many examples (the pass itself runs one).
        dtype: the element type used for the memory columns (float32: 4 bytes a value).
        fold_elementwise: count ReLU/Dropout/Flatten outputs as part of the layer before them
            (the notes' convention; see the module docstring).
        print_fn: called with the rendered table; None to stay silent.

    Returns:
        A ``SummaryTable`` with ``.rows``, ``.total_params`` and ``.total_activations``.
    """
    from nnlab.nn.module import Module

    check_instance("summary", "model", model, Module, "an nnlab.nn.Module")
    shape = _check_shape(input_shape, "summary")
    if not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise ValueError(f"summary: batch_size must be a positive int, got {batch_size!r}")
    dtype = np.dtype(dtype)
    x = np.zeros((1, *shape), dtype=_param_dtype(model))
    with geometry.recording() as dropped:
        _, calls = trace_leaves(model, x)
    table = SummaryTable(
        type(model).__name__,
        shape,
        int(batch_size),
        dtype,
        total_params=model.num_parameters(),
        trainable_params=model.num_parameters(trainable_only=True),
        dropped=dropped,
    )
    table.rows.append(LayerRow("input", "Input", (1, *shape), int(np.prod(shape)) * batch_size, 0))
    seen_params = set()
    for name, m, _, out in calls:
        arr = out.data if isinstance(out, Tensor) else np.asarray(out)
        own = [(k, p) for k, p in m._parameters.items() if p is not None and id(p) not in seen_params]
        seen_params.update(id(p) for _, p in own)
        folded = fold_elementwise and type(m).__name__ in FOLDED_TYPES
        per_image = int(arr.size // arr.shape[0]) if arr.ndim else int(arr.size)
        table.rows.append(
            LayerRow(
                name,
                type(m).__name__,
                tuple(arr.shape),
                0 if folded else per_image * batch_size,
                int(sum(p.data.size for _, p in own)),
                folded,
                int(sum(p.data.size for _, p in own if p.requires_grad)),
                int(sum(p.data.size for k, p in own if k == "bias")),
            )
        )
    if print_fn is not None:
        print_fn(str(table))
    return table


# ---------------------------------------------------------------------------------------------
# Memory estimate
# ---------------------------------------------------------------------------------------------
@dataclass
class MemoryEstimate:
    """Memory, in bytes, split as the notes' "computational considerations" section does.

    Training: every activation value and its gradient (2x the forward volumes) for the batch, and
    the weights, their gradients and the optimizer's caches ((1 + 1 + caches) x params: 3x for
    momentum, 4x for Adam). Inference (``training=False``): only the live volumes, the largest
    input + output pair of one layer, and the weights once.
    """

    batch_size: int
    optimizer: str
    activation_values: int
    param_values: int
    itemsize: int
    training: bool = True

    @property
    def activation_bytes(self) -> int:
        return (2 if self.training else 1) * self.activation_values * self.itemsize

    @property
    def param_copies(self) -> int:
        return 2 + OPTIMIZER_CACHES[self.optimizer] if self.training else 1

    @property
    def param_bytes(self) -> int:
        return self.param_copies * self.param_values * self.itemsize

    @property
    def total_bytes(self) -> int:
        return self.activation_bytes + self.param_bytes

    @property
    def mb(self) -> float:
        return self.total_bytes / MB

    @property
    def gb(self) -> float:
        return self.total_bytes / 10**9

    @property
    def mib(self) -> float:
        return self.total_bytes / MIB

    @property
    def gib(self) -> float:
        return self.total_bytes / 2**30

    def __str__(self) -> str:
        if not self.training:
            return (
                f"inference, batch {self.batch_size}: live activations {self.activation_values:,} values "
                f"+ {self.param_values:,} parameters = {self.mib:,.1f} MiB ({self.mb:,.1f} MB)"
            )
        k = self.param_copies
        return (
            f"activations + gradients: 2 x {self.activation_values:,} values = "
            f"{self.activation_bytes / MIB:,.1f} MiB\n"
            f"parameters x {k} (weights, gradients, {k - 2} {self.optimizer} cache(s)): "
            f"{k} x {self.param_values:,} = {self.param_bytes / MIB:,.1f} MiB\n"
            f"total ({self.optimizer}, batch {self.batch_size}): {self.mib:,.1f} MiB = {self.gib:.3f} GiB "
            f"({self.mb:,.1f} MB)"
        )

    __repr__ = __str__


def _optimizer_kind(optimizer) -> str:
    """A key of OPTIMIZER_CACHES from a name or an optimizer object (SGD counts as "momentum"
    when any group has momentum > 0)."""
    from nnlab.optim.optimizer import Optimizer

    if isinstance(optimizer, Optimizer):
        kind = type(optimizer).__name__.lower()
        if kind == "sgd" and any(float(g.get("momentum", 0)) > 0 for g in optimizer.param_groups):
            kind = "momentum"
        if kind in OPTIMIZER_CACHES:
            return kind
        raise ValueError(
            f"memory_estimate: no cache count known for {type(optimizer).__name__}; "
            f"pass one of {sorted(OPTIMIZER_CACHES)} by name"
        )
    if optimizer not in OPTIMIZER_CACHES:
        raise ValueError(
            f"memory_estimate: optimizer must be one of {sorted(OPTIMIZER_CACHES)} "
            f"(or an optimizer object), got {optimizer!r}"
        )
    return optimizer


def memory_estimate(
    model, input_shape=None, batch_size: int = 1, optimizer: str = "sgd", dtype=np.float32, training: bool = True
) -> MemoryEstimate:
    """Training-time memory: activations and their gradients for the batch, plus the parameters
    times (1 + gradients + optimizer caches). With ``training=False``, the inference figure the
    notes suggest: keep only the current layer's input and output, drop earlier activations.
    Miscellaneous buffers (the data pipeline, im2col scratch) are not included.

    ``model`` may also be a ``SummaryTable`` already computed (``input_shape`` is then not needed
    and no forward pass runs); its dtype is used. ``optimizer`` is a name (a key of
    ``OPTIMIZER_CACHES``) or the optimizer object itself.
    """
    optimizer = _optimizer_kind(optimizer)
    if not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise ValueError(f"memory_estimate: batch_size must be a positive int, got {batch_size!r}")
    if isinstance(model, SummaryTable):
        table = model
    else:
        if input_shape is None:
            raise TypeError(
                "memory_estimate: input_shape is required (e.g. (3, 224, 224)) unless a SummaryTable is given"
            )
        table = summary(model, input_shape, dtype=dtype, print_fn=None)
    per_image = [r.activations // table.batch_size for r in table.rows if not r.folded]
    if training:
        acts = sum(per_image)
    else:
        acts = max(a + b for a, b in zip(per_image, per_image[1:])) if len(per_image) > 1 else sum(per_image)
    return MemoryEstimate(
        int(batch_size),
        optimizer,
        int(acts) * int(batch_size),
        table.total_params,
        table.dtype.itemsize,
        bool(training),
    )


# ---------------------------------------------------------------------------------------------
# Receptive field
# ---------------------------------------------------------------------------------------------
@dataclass
class ReceptiveField:
    """Receptive field of the last layer of a chain on the input, with the per-layer trace.

    ``size``: input pixels (per side) one output unit sees; ``stride``: input pixels between
    neighbouring output units (the product of the strides); ``params``: learnable numbers of the
    layers up to that map (not the classifier after it); ``trace``: (layer, kernel, stride, dilation, size after it, stride after it).
    """

    size: int
    stride: int
    params: int
    trace: list

    def __str__(self) -> str:
        lines = [f"{'layer':<24}{'kernel':>7}{'stride':>7}{'dil':>5}{'field':>7}{'jump':>6}"]
        for name, k, s, d, r, j in self.trace:
            lines.append(f"{name:<24}{k:>7}{s:>7}{d:>5}{r:>7}{j:>6}")
        lines.append(f"receptive field {self.size}x{self.size}, total stride {self.stride}, {self.params:,} parameters")
        return "\n".join(lines)


def _first(v):
    if isinstance(v, (tuple, list)):
        if len(set(v)) != 1:
            raise ValueError(f"receptive_field: only square windows are supported, got {v!r}")
        return int(v[0])
    return int(v)


_GLOBAL_TYPES = ("GlobalAvgPool2d", "AdaptiveAvgPool2d", "Flatten", "Linear")


def _geometry(layer, name):
    """(kernel, stride, dilation) of a layer with a window, (1, stride, 1) for a parameter-free
    subsampler (an option-A shortcut), None for a position-wise layer."""
    if hasattr(layer, "kernel_size"):
        k = _first(layer.kernel_size)
        return k, _first(getattr(layer, "stride", None) or k), _first(getattr(layer, "dilation", 1) or 1)
    s = getattr(layer, "stride", None)
    if isinstance(s, (int, np.integer, tuple, list)) and not isinstance(s, bool):
        return 1, _first(s), 1
    return None


def _check_parallel_free(model):
    from nnlab.nn.container import Sequential

    for name, m in model.named_modules():
        if name and not isinstance(m, Sequential) and any(True for _ in m.children()):
            raise ValueError(
                f"receptive_field: {type(m).__name__} at {name!r} is a block whose layers may run in "
                f"parallel (residual or Inception branches), so the chain of its layers would overstate the "
                f"field; pass input_shape=(C, H, W) to trace the real graph"
            )


def receptive_field(layers, input_shape=None) -> ReceptiveField:
    """Receptive field of a chain of layers: r_l = r_{l-1} + (F_eff - 1) * j_{l-1}, j_l = j_{l-1} * S.

    ``layers`` is a Module, a list of Modules, or a list of (kernel, stride[, dilation]) tuples.
    Three stacked 3x3 stride-1 convolutions see 7x7, as one 7x7 convolution does, with 27C^2
    weights instead of 49C^2 (C channels in and out, no bias).

    A Module without ``input_shape`` is read as the chain of its leaf layers in registration order
    (the root is taken to apply its children in order, as the zoo models do); a model with blocks
    (a non-Sequential container below the root, e.g. residual or Inception blocks) is refused
    then, since parallel branches would be added up. With ``input_shape`` (one
    example, e.g. (3, 224, 224)) the model runs once and the field is followed through the
    recorded graph: where branches meet (a residual sum, a concatenation) the field is the widest
    of them. The result is that of the last layer whose output is still a spatial map (before
    global pooling / Flatten / Linear). Ops written inline in a ``forward`` (additions,
    concatenations, activations) are taken as position-wise; windows come from the layers.
    """
    from nnlab.nn.module import Module

    if input_shape is not None:
        if not isinstance(layers, Module):
            raise TypeError(f"receptive_field: input_shape needs a Module to run, got {type(layers).__name__}")
        return _traced_receptive_field(layers, _check_shape(input_shape, "receptive_field"))
    if isinstance(layers, Module):
        _check_parallel_free(layers)
        items = [(n, m) for n, m in _leaf_modules(layers)]
    else:
        try:
            items = [(f"{i}", l) for i, l in enumerate(layers)]
        except TypeError:
            raise TypeError(
                f"receptive_field: expected a Module, a list of Modules or of (kernel, stride) "
                f"tuples, got {type(layers).__name__}"
            ) from None
    r, j, params, trace = 1, 1, 0, []
    for name, layer in items:
        if isinstance(layer, Module):
            if type(layer).__name__ in _GLOBAL_TYPES:
                break  # from here on every unit sees the whole input
            params += sum(p.data.size for p in layer._parameters.values() if p is not None)
            geom = _geometry(layer, name)
            if geom is None:
                continue
            k, s, d = geom
            name = f"{name} {type(layer).__name__}"
        elif isinstance(layer, (tuple, list)) and 2 <= len(layer) <= 3:
            k, s, d = (int(v) for v in (*layer, 1)[:3])
        else:
            raise TypeError(
                f"receptive_field: item {name} must be a Module or a (kernel, stride[, dilation]) tuple, got {layer!r}"
            )
        if k < 1 or s < 1 or d < 1:
            raise ValueError(f"receptive_field: item {name} needs kernel, stride, dilation >= 1, got {k}, {s}, {d}")
        r += d * (k - 1) * j
        j *= s
        trace.append((name, k, s, d, r, j))
    return ReceptiveField(int(r), int(j), int(params), trace)


def _traced_receptive_field(model, shape) -> ReceptiveField:
    """Run ``model`` once with a graph and follow (field, jump) from the input through every op."""
    x = Tensor(np.zeros((1, *shape), dtype=_param_dtype(model)), requires_grad=True)
    y, calls = trace_leaves(model, x, graph=True)
    # (eval-mode Dropout and Identity return their input: no new tensor, nothing to follow)
    calls = [c for c in calls if isinstance(c[2], Tensor) and isinstance(c[3], Tensor) and c[3] is not c[2]]
    by_output = {id(out): (name, m, inp) for name, m, inp, out in calls}
    field = {id(x): (1, 1)}  # id(tensor) -> (r, j); None: sees the whole input

    def resolve(t):
        # iterative post-order over the graph (deep residual nets would overflow a recursion)
        stack = [t]
        while stack:
            u = stack[-1]
            if id(u) in field:
                stack.pop()
                continue
            if id(u) in by_output:
                parents = [by_output[id(u)][2]]
            else:
                fn = u.grad_fn
                parents = [p for p in (fn.inputs if fn is not None else ()) if isinstance(p, Tensor)]
            todo = [p for p in parents if id(p) not in field]
            if todo:
                stack.extend(todo)
                continue
            stack.pop()
            if id(u) in by_output:
                name, m, _ = by_output[id(u)]
                rj = field[id(parents[0])]
                geom = _geometry(m, name)
                if rj is None or type(m).__name__ in _GLOBAL_TYPES:
                    field[id(u)] = None
                elif geom is None:
                    field[id(u)] = rj
                else:
                    k, s, d = geom
                    field[id(u)] = (rj[0] + d * (k - 1) * rj[1], rj[1] * s)
            else:
                seen = [field[id(p)] for p in parents if id(p) in field and field[id(p)] != "const"]
                if not seen:
                    field[id(u)] = "const"  # does not depend on the input (a weight)
                elif any(v is None for v in seen):
                    field[id(u)] = None
                else:
                    field[id(u)] = (max(v[0] for v in seen), max(v[1] for v in seen))
        return field[id(t)]

    # the answer: the field of the map that global pooling / Flatten / Linear first consumes, or of
    # the output of a fully convolutional model
    result = resolve(y) if isinstance(y, Tensor) else None
    for name, m, inp, out in calls:
        if type(m).__name__ in _GLOBAL_TYPES and isinstance(resolve(inp), tuple):
            result = resolve(inp)
            break
    if not isinstance(result, tuple):
        raise ValueError(f"receptive_field: {type(model).__name__}'s output does not depend on positions of the input")
    trace, params, seen_params = [], 0, set()
    for name, m, inp, out in calls:
        rj = resolve(out)
        if not isinstance(rj, tuple):
            continue
        own = [p for p in m._parameters.values() if p is not None and id(p) not in seen_params]
        seen_params.update(id(p) for p in own)
        params += sum(p.data.size for p in own)
        geom = _geometry(m, name)
        if geom is not None:
            k, s, d = geom
            trace.append((f"{name} {type(m).__name__}", k, s, d, int(rj[0]), int(rj[1])))
    return ReceptiveField(int(result[0]), int(result[1]), int(params), trace)
