"""Circuits drawn as the notes draw them: wires carry the forward value (green, above) and the
gradient (red, below); gates are circles with their operation; each gate is listed with the
pattern its backward flow follows."""

from __future__ import annotations

import html

import numpy as np

__all__ = ["to_text", "to_svg", "to_html", "fmt"]

_SYMBOL = {
    "Add": "+",
    "Sub": "−",
    "Mul": "×",
    "Div": "÷",
    "Neg": "×(−1)",
    "Exp": "exp",
    "Log": "log",
    "Maximum": "max",
    "Minimum": "min",
    "ReLU": "relu",
    "Sigmoid": "σ",
    "Tanh": "tanh",
    "Sum": "Σ",
    "Mean": "mean",
    "MatMul": "@",
    "Linear": "Wx+b",
    "Pow": "pow",
    "Sqrt": "√",
    "Abs": "|·|",
    "Max": "max",
    "SoftmaxCrossEntropy": "CE",
    "LogSoftmax": "logσ",
    "Softmax": "softmax",
    "Reshape": "reshape",
}


def _symbol(op: str) -> str:
    """The gate's symbol; an unknown long name becomes its capitals (BatchNorm -> BN)."""
    if op in _SYMBOL:
        return _SYMBOL[op]
    sym = op
    return sym if len(sym) <= 6 else "".join(ch for ch in sym if ch.isupper())[:5] or sym[:5]


#: the pattern's short name, written under the gate
_SHORT = {
    "Add": "add: distributes",
    "Sub": "sub: distributes",
    "Mul": "mul: swaps",
    "Maximum": "max: routes",
    "Minimum": "min: routes",
    "ReLU": "max: routes",
    "Max": "max: routes",
    "Sum": "sum: distributes",
}


def fmt(a, precision: int = 4) -> str:
    """A scalar as a short number; an array as its values when small, else its shape and range."""
    if a is None:
        return "—"
    a = np.asarray(a)
    if a.size == 1:
        return f"{a.item():.{precision}g}"
    if a.size <= 6:
        return np.array2string(a.ravel() if a.ndim > 1 else a, precision=precision, separator=", ", suppress_small=True)
    return f"[{'x'.join(map(str, a.shape))}: {a.min():.{precision}g}..{a.max():.{precision}g}]"


def _gate_line(c, n, precision) -> str:
    ins = [c.nodes[j] for j in n.inputs]
    flow = ", ".join(f"d{i.label} = {fmt(i.grad, precision)}" for i in ins)
    return (
        f"{n.label} = {n.op}({', '.join(i.label for i in ins)}) = {fmt(n.value, precision)}, "
        f"upstream d{n.label} = {fmt(n.grad, precision)} -> {flow}\n      {n.pattern}"
    )


def to_text(c, precision: int = 4) -> str:
    """Leaves, then the gates in forward order, each with its value, its upstream gradient, the
    gradients it hands to its inputs and the pattern it follows."""
    lines = ["inputs:"]
    for n in c.nodes:
        if not n.is_gate:
            kind = "constant" if n.constant else "input"
            lines.append(
                f"  {n.label:>8} = {fmt(n.value, precision):>10}   grad {fmt(n.grad, precision):>10}   ({kind})"
            )
    lines.append("gates (forward order; backward runs bottom-up):")
    for n in c.gates():
        lines.append("  " + _gate_line(c, n, precision))
    out = c.nodes[c.output]
    lines.append(f"output: {out.label} = {fmt(out.value, precision)}")
    return "\n".join(lines)


# ---- SVG ------------------------------------------------------------------------------------
_COL, _ROW, _R, _PAD_L, _PAD_T = 190, 88, 24, 60, 40


def _col_width(c, precision) -> int:
    """Wide enough for the longest wire label (about 7 px per character)."""
    longest = max((len(fmt(x, precision)) for n in c.nodes for x in (n.value, n.grad)), default=4)
    return max(_COL, 7 * longest + 70)


def _layout(c, col_w: int = _COL) -> dict:
    """(x, y) of every node: columns by depth (leaves at 0), gates at the mean height of their
    inputs, then each column pushed apart to one row of spacing. A constant (the 1 in 1 + e^x) sits
    just before the gate that uses it instead of in the inputs' column."""
    consumer = {}
    for n in c.gates():
        for j in n.inputs:
            consumer.setdefault(j, n.id)
    const = {n.id for n in c.nodes if not n.is_gate and n.constant and n.id in consumer}
    y, row = {}, 0
    for n in c.nodes:
        if not n.is_gate and n.id not in const:
            y[n.id] = float(row)
            row += 1
    for n in c.nodes:
        if n.is_gate:
            ys = [y[j] for j in n.inputs if j not in const]
            y[n.id] = sum(ys) / len(ys) if ys else 0.0
    col = {n.id: n.depth for n in c.nodes}
    for j in const:
        g = c.nodes[consumer[j]]
        col[j] = g.depth - 1
        y[j] = y[g.id] - 0.75
    cols = {}
    for n in c.nodes:
        cols.setdefault(col[n.id], []).append(n.id)
    for ids in cols.values():
        ids.sort(key=lambda i: y[i])
        for a, b in zip(ids, ids[1:]):
            if y[b] < y[a] + 0.75:
                y[b] = y[a] + 0.75
    top = min(y.values())
    return {
        n.id: (_PAD_L + col[n.id] * col_w + (col_w * 0.45 if n.id in const else 0), _PAD_T + (y[n.id] - top) * _ROW)
        for n in c.nodes
    }


def _wire(x1, y1, x2, y2, value, grad, tip, at: float = 0.5) -> str:
    mx, my = x1 + at * (x2 - x1), y1 + at * (y2 - y1)
    return (
        f"<g><title>{html.escape(tip)}</title>"
        f"<line x1='{x1:.1f}' y1='{y1:.1f}' x2='{x2:.1f}' y2='{y2:.1f}' stroke='#555' stroke-width='1.4' "
        f"marker-end='url(#arrow)'/>"
        f"<text x='{mx:.1f}' y='{my - 7:.1f}' class='val'>{html.escape(value)}</text>"
        f"<text x='{mx:.1f}' y='{my + 16:.1f}' class='grad'>{html.escape(grad)}</text></g>"
    )


def to_svg(c, precision: int = 3) -> str:
    col_w = _col_width(c, precision)
    pos = _layout(c, col_w)
    width = max(x for x, _ in pos.values()) + col_w + 40
    height = max(y for _, y in pos.values()) + _PAD_T + 40
    parts = [
        f"<svg xmlns='http://www.w3.org/2000/svg' width='{width:.0f}' height='{height:.0f}' "
        f"viewBox='0 0 {width:.0f} {height:.0f}' font-family='Helvetica, Arial, sans-serif' font-size='13'>",
        "<defs><marker id='arrow' viewBox='0 0 10 10' refX='9' refY='5' markerWidth='7' markerHeight='7' "
        "orient='auto-start-reverse'><path d='M 0 0 L 10 5 L 0 10 z' fill='#555'/></marker></defs>",
        "<style>.val{fill:#1a7f37;text-anchor:middle;font-weight:600}"
        ".grad{fill:#c62828;text-anchor:middle;font-weight:600}"
        ".lbl{text-anchor:end;font-style:italic} .op{text-anchor:middle;dominant-baseline:central;font-size:14px}"
        ".name{text-anchor:middle;fill:#666;font-size:11px}</style>",
    ]
    # wires: from each node to each gate that consumes it. A value feeding several gates gets the
    # sum of their gradients (fan-out); its wires show that total, marked with a sigma.
    uses = {}
    for n in c.gates():
        for j in n.inputs:
            uses[j] = uses.get(j, 0) + 1
    for n in c.gates():
        gx, gy = pos[n.id]
        for j in n.inputs:
            src = c.nodes[j]
            sx, sy = pos[j]
            x1 = sx + (_R if src.is_gate else 4)
            tip = (
                f"{src.label} = {fmt(src.value, 6)} (forward), d{c.nodes[c.output].label}/d{src.label} = "
                f"{fmt(src.grad, 6)} (backward)"
            )
            g = fmt(src.grad, precision)
            if uses.get(j, 0) > 1 and src.grad is not None:
                g, tip = f"Σ {g}", tip + f"; {src.label} feeds {uses[j]} gates, its gradient is the sum over them"
            # labels nearer the source where several wires converge on one gate, so they do not collide
            at = 0.5 if len(n.inputs) < 3 and abs(sy - gy) < 1.5 * _ROW else 0.3
            parts.append(_wire(x1, sy, gx - _R - 2, gy, fmt(src.value, precision), g, tip, at))
    # the output wire
    out = c.nodes[c.output]
    ox, oy = pos[out.id]
    parts.append(
        _wire(
            ox + _R,
            oy,
            ox + col_w - 40,
            oy,
            fmt(out.value, precision),
            fmt(out.grad, precision),
            f"output {out.label} = {fmt(out.value, 6)}",
        )
    )
    parts.append(f"<text x='{ox + col_w - 34}' y='{oy + 5}' font-style='italic'>{html.escape(out.label)}</text>")
    for n in c.nodes:
        x, y = pos[n.id]
        if n.is_gate:
            sym = _symbol(n.op)
            parts.append(
                f"<g><title>{html.escape(n.pattern)}</title><circle cx='{x}' cy='{y}' r='{_R}' "
                f"fill='#fff' stroke='#333' stroke-width='1.5'/>"
                f"<text x='{x}' y='{y}' class='op'>{html.escape(sym)}</text></g>"
            )
            if n.id != c.output:
                parts.append(f"<text x='{x}' y='{y - _R - 5}' class='name'>{html.escape(n.label)}</text>")
            if n.op in _SHORT:
                parts.append(
                    f"<text x='{x}' y='{y + _R + 30}' class='name' font-style='italic'>"
                    f"{html.escape(_SHORT[n.op])}</text>"
                )
        else:
            parts.append(f"<text x='{x}' y='{y + 5}' class='lbl'>{html.escape(n.label)}</text>")
    parts.append("</svg>")
    return "\n".join(parts)


def to_html(c, title: str = "computational graph", precision: int = 3) -> str:
    rows = []
    for n in c.gates():
        ins = [c.nodes[j] for j in n.inputs]
        rows.append(
            f"<tr><td>{html.escape(n.label)}</td><td>{html.escape(n.op)}"
            f"({html.escape(', '.join(i.label for i in ins))})</td><td>{fmt(n.value, 4)}</td>"
            f"<td>{fmt(n.grad, 4)}</td><td>{html.escape(', '.join(f'd{i.label} = {fmt(i.grad, 4)}' for i in ins))}"
            f"</td><td class='p'>{html.escape(n.pattern)}</td></tr>"
        )
    return (
        "<!doctype html><html><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)}</title><style>body{{font-family:system-ui,Helvetica,Arial,sans-serif;"
        "margin:2em;color:#222}} table{border-collapse:collapse} td,th{padding:.25em .7em;border-bottom:1px solid #eee;"
        "text-align:left} .p{color:#555;font-size:.9em} .key span{font-weight:600}</style></head><body>"
        f"<h1>{html.escape(title)}</h1><p class='key'>On each wire: <span style='color:#1a7f37'>forward value"
        "</span> above, <span style='color:#c62828'>gradient of the output</span> below (Σ: a value used by "
        f"several gates receives the sum of their gradients). Hover a gate for its pattern.</p>"
        f"{to_svg(c, precision)}<h2>Gates</h2><table><tr><th>node</th><th>gate</th>"
        "<th>value</th><th>upstream gradient</th><th>gradients to inputs</th><th>pattern</th></tr>"
        + "".join(rows)
        + f"</table><h2>As text</h2><pre>{html.escape(to_text(c))}</pre></body></html>"
    )
