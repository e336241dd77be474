"""``nnlab.onnx.export(model, example_input, path)``: an ONNX graph of a model in eval mode.

The model runs once on the example input with the graph recorded. Each leaf layer called in that
pass (Linear, Conv2d, pooling, batch norm with its running statistics, activations, dropout as an
identity, Flatten, LRN) becomes the ONNX node of the same meaning, with its parameters as
initializers; what a forward computes between layers (a residual ``+``, an Inception block's
concatenation, ``F.relu``, ``view``/``flatten``, ``F.max_pool2d``...) is read from the recorded
gates. The batch axis stays symbolic. Anything else is refused with an error naming the layer or
op, instead of an exported graph that computes something different.
"""

from __future__ import annotations

import numpy as np

from nnlab.engine.autograd import enable_grad
from nnlab.engine.tensor import Tensor

__all__ = ["export", "ExportError"]

OPSET = 17


class ExportError(ValueError):
    """A layer or op that has no ONNX counterpart here."""


def _onnx():
    try:
        import onnx
        from onnx import TensorProto, helper, numpy_helper
    except ImportError:
        raise ImportError("nnlab.onnx.export needs the onnx package: pip install 'nnlab[onnx]'") from None
    return onnx, TensorProto, helper, numpy_helper


class _Graph:
    def __init__(self, helper, numpy_helper):
        self.h, self.nh = helper, numpy_helper
        self.nodes, self.inits, self.names = [], [], {}
        self.count = 0

    def fresh(self, base):
        self.count += 1
        return f"{base}_{self.count}"

    def const(self, arr, base="const"):
        name = self.fresh(base)
        self.inits.append(self.nh.from_array(np.asarray(arr), name))
        return name

    def node(self, op, inputs, base, **attrs):
        out = self.fresh(base)
        self.nodes.append(self.h.make_node(op, list(inputs), [out], name=out, **attrs))
        return out


def _pads(p):
    return [int(p[0]), int(p[1]), int(p[0]), int(p[1])]


_LAYERS = {
    "Linear",
    "Conv2d",
    "MaxPool2d",
    "AvgPool2d",
    "GlobalAvgPool2d",
    "AdaptiveAvgPool2d",
    "BatchNorm1d",
    "BatchNorm2d",
    "ReLU",
    "Sigmoid",
    "Tanh",
    "LeakyReLU",
    "Softmax",
    "LogSoftmax",
    "Dropout",
    "Dropout2d",
    "Identity",
    "Flatten",
    "LocalResponseNorm",
}


def _layer(g: _Graph, m, x: str, out: Tensor, label: str) -> str:
    """ONNX node(s) for one leaf layer applied to value ``x``."""
    kind = type(m).__name__
    f32 = lambda a: np.asarray(a.data if isinstance(a, Tensor) else a)  # noqa: E731
    if kind == "Linear":
        w = g.const(f32(m.weight), f"{label}.weight")
        ins = [x, w] + ([g.const(f32(m.bias), f"{label}.bias")] if m.bias is not None else [])
        if out.ndim == 2:
            return g.node("Gemm", ins, label, transB=1)
        y = g.node("MatMul", [x, g.const(f32(m.weight).T.copy(), f"{label}.weightT")], label)
        return g.node("Add", [y, ins[2]], label) if m.bias is not None else y
    if kind == "Conv2d":
        ins = [x, g.const(f32(m.weight), f"{label}.weight")]
        if m.bias is not None:
            ins.append(g.const(f32(m.bias), f"{label}.bias"))
        return g.node(
            "Conv",
            ins,
            label,
            kernel_shape=list(m.kernel_size),
            strides=list(m.stride),
            pads=_pads(m.padding),
            dilations=list(m.dilation),
            group=int(m.groups),
        )
    if kind in ("MaxPool2d", "AvgPool2d"):
        if kind == "AvgPool2d" and m.divisor_override is not None:
            raise ExportError(f"{label} ({m.label}): divisor_override has no ONNX counterpart")
        attrs = dict(
            kernel_shape=list(m.kernel_size), strides=list(m.stride), pads=_pads(m.padding), ceil_mode=int(m.ceil_mode)
        )
        if kind == "AvgPool2d":
            attrs["count_include_pad"] = int(m.count_include_pad)
        return g.node("MaxPool" if kind == "MaxPool2d" else "AveragePool", [x], label, **attrs)
    if kind in ("GlobalAvgPool2d", "AdaptiveAvgPool2d"):
        return g.node("GlobalAveragePool", [x], label)
    if kind in ("BatchNorm1d", "BatchNorm2d"):
        c = m.num_features
        dt = m.running_mean.dtype
        scale = f32(m.weight) if getattr(m, "weight", None) is not None else np.ones(c, dt)
        bias = f32(m.bias) if getattr(m, "bias", None) is not None else np.zeros(c, dt)
        ins = [x] + [
            g.const(a, f"{label}.{n}")
            for a, n in (
                (scale, "weight"),
                (bias, "bias"),
                (m.running_mean, "running_mean"),
                (m.running_var, "running_var"),
            )
        ]
        return g.node("BatchNormalization", ins, label, epsilon=float(m.eps))
    if kind == "ReLU":
        return g.node("Relu", [x], label)
    if kind == "Sigmoid":
        return g.node("Sigmoid", [x], label)
    if kind == "Tanh":
        return g.node("Tanh", [x], label)
    if kind == "LeakyReLU":
        return g.node("LeakyRelu", [x], label, alpha=float(m.negative_slope))
    if kind in ("Softmax", "LogSoftmax"):
        return g.node(kind, [x], label, axis=int(m.dim))
    if kind in ("Dropout", "Dropout2d", "Identity"):
        return g.node("Identity", [x], label)
    if kind == "Flatten":
        if m.end_dim not in (-1, out.ndim + m.start_dim - 1) and m.end_dim != -1:
            raise ExportError(f"{label}: Flatten with end_dim={m.end_dim} is not exported")
        return g.node("Flatten", [x], label, axis=int(m.start_dim) % max(out.ndim + 1, 1))
    if kind == "LocalResponseNorm":
        if m.size % 2 == 0:
            raise ExportError(f"{label}: LocalResponseNorm with an even size windows differently in ONNX")
        return g.node("LRN", [x], label, size=int(m.size), alpha=float(m.alpha), beta=float(m.beta), bias=float(m.k))
    raise ExportError(f"{label} ({kind}): this layer cannot be exported to ONNX")


def _gate(g: _Graph, t: Tensor, ins: list, where: str) -> str:
    """ONNX node(s) for the gate that made ``t`` (glue between layers)."""
    ctx = t._ctx
    kind = type(ctx).__name__
    simple = {
        "Add": "Add",
        "Sub": "Sub",
        "Mul": "Mul",
        "Div": "Div",
        "ReLU": "Relu",
        "Sigmoid": "Sigmoid",
        "Tanh": "Tanh",
        "Exp": "Exp",
        "Log": "Log",
        "Sqrt": "Sqrt",
        "Neg": "Neg",
        "Abs": "Abs",
        "Maximum": "Max",
        "Minimum": "Min",
        "MatMul": "MatMul",
        "GlobalAvgPool2d": "GlobalAveragePool",
    }
    if kind in simple:
        return g.node(simple[kind], ins, kind.lower())
    if kind == "LeakyReLU":
        return g.node("LeakyRelu", ins, "leaky_relu", alpha=float(getattr(ctx, "slope", 0.01)))
    if kind == "Concatenate":
        return g.node("Concat", ins, "concat", axis=int(ctx.axis))
    if kind == "Reshape":
        shape = (-1,) + tuple(t.shape[1:]) if t.ndim else ()
        return g.node("Reshape", [ins[0], g.const(np.asarray(shape, np.int64), "shape")], "reshape")
    if kind in ("Softmax", "LogSoftmax"):
        return g.node(kind, ins, kind.lower(), axis=int(ctx.axis))
    if kind in ("MaxPool2d", "AvgPool2d"):
        kernel, stride, padding, out_hw, _ = ctx.geom
        attrs = dict(kernel_shape=list(kernel), strides=list(stride), pads=_pads(padding))
        if kind == "AvgPool2d":
            attrs["count_include_pad"] = 1
        return g.node("MaxPool" if kind == "MaxPool2d" else "AveragePool", ins, kind.lower(), **attrs)
    if kind == "Linear":
        return g.node("Gemm", [i for i in ins if i is not None], "linear", transB=1)
    if kind == "Conv2d":
        _, kh, kw, _, _, stride, padding, dilation = ctx.geom
        return g.node(
            "Conv",
            [i for i in ins if i is not None],
            "conv",
            kernel_shape=[kh, kw],
            strides=list(stride),
            pads=_pads(padding),
            dilations=list(dilation),
            group=int(ctx.groups),
        )
    if kind == "GetItem" and isinstance(ctx.index, tuple) and all(isinstance(i, slice) for i in ctx.index):
        starts, ends, axes, steps = [], [], [], []
        for axis, (sl, n) in enumerate(zip(ctx.index, ctx.shape)):
            a, b, c = sl.indices(n)
            if (a, b, c) != (0, n, 1):
                starts.append(a), ends.append(b), axes.append(axis), steps.append(c)
        consts = [
            g.const(np.asarray(v, np.int64), nm)
            for v, nm in ((starts, "starts"), (ends, "ends"), (axes, "axes"), (steps, "steps"))
        ]
        return g.node("Slice", [ins[0]] + consts, "slice")
    if kind == "Pad":
        before = [sl.start for sl in ctx.slices]
        after = [t.shape[i] - sl.stop for i, sl in enumerate(ctx.slices)]
        return g.node("Pad", [ins[0], g.const(np.asarray(before + after, np.int64), "pads")], "pad")
    raise ExportError(f"the {kind} op{where} cannot be exported to ONNX")


def export(model, example_input, path, *, input_name: str = "input", output_name: str = "output", opset: int = OPSET):
    """Write ``model`` (in eval mode) as an ONNX file at ``path``; returns the ModelProto.

    ``example_input`` fixes every axis but the first (the batch), which stays symbolic.
    """
    onnx, TensorProto, helper, numpy_helper = _onnx()
    from nnlab.nn.summary import trace_leaves

    x = Tensor(np.asarray(getattr(example_input, "data", example_input), dtype=np.float32), requires_grad=True)
    dtype = next((p.dtype for p in model.parameters()), np.dtype(np.float32))
    if dtype != np.float32:
        raise ExportError(f"export: the model's parameters are {dtype}; export a float32 model (model.float())")
    with enable_grad():
        out, calls = trace_leaves(model, x, graph=True)
    made_by, composite = {}, []
    for name, m, inp, o in calls:
        if isinstance(o, Tensor) and o is not inp:
            if type(m).__name__ in _LAYERS:
                made_by[id(o)] = (name, m, inp)
            else:  # exported through the ops its forward recorded, or refused naming the layer
                composite.append((name, m, o))
    g = _Graph(helper, numpy_helper)
    values = {id(x): input_name}
    keep = []  # hold the tensors whose ids are keys

    def emit(t):
        """The ONNX value name of tensor ``t`` (iterative post-order over the recorded graph)."""
        stack = [t]
        while stack:
            cur = stack[-1]
            if id(cur) in values:
                stack.pop()
                continue
            if id(cur) in made_by:
                name, m, inp = made_by[id(cur)]
                deps = [inp]
            elif cur._ctx is None:
                values[id(cur)] = g.const(cur.data, "const")
                keep.append(cur)
                stack.pop()
                continue
            else:
                deps = [p for p in cur._ctx.inputs if p is not None]
            todo = [d for d in deps if id(d) not in values]
            if todo:
                stack.extend(todo)
                continue
            stack.pop()
            if id(cur) in made_by:
                name, m, inp = made_by[id(cur)]
                values[id(cur)] = _layer(g, m, values[id(inp)], cur, name or type(m).__name__)
            else:
                ins = [values[id(p)] if p is not None else None for p in cur._ctx.inputs]
                values[id(cur)] = _gate(g, cur, ins, "")
            keep.append(cur)
        return values[id(t)]

    if not isinstance(out, Tensor):
        raise ExportError(f"export: the model returned {type(out).__name__}; one output tensor is exported")
    for name, m, o in composite:
        try:
            emit(o)
        except ExportError as e:
            raise ExportError(f"{name} ({type(m).__name__}): this layer cannot be exported to ONNX ({e})") from None
    result = emit(out)
    g.nodes.append(helper.make_node("Identity", [result], [output_name], name=output_name))
    batch = ["N"]
    graph = helper.make_graph(
        g.nodes,
        type(model).__name__,
        [helper.make_tensor_value_info(input_name, TensorProto.FLOAT, batch + list(x.shape[1:]))],
        [helper.make_tensor_value_info(output_name, TensorProto.FLOAT, batch + list(out.shape[1:]))],
        g.inits,
    )
    proto = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)], producer_name="nnlab")
    proto.ir_version = min(proto.ir_version, 9)
    onnx.checker.check_model(proto)
    if path is not None:
        onnx.save(proto, str(path))
    return proto
