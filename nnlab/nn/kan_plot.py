"""Pictures of KAN layers: one small panel per edge showing its learned function phi_ji.

Drawn with matplotlib's object API on the Agg canvas (no display, no pyplot state); a file is
written only when a path is given.
"""

from __future__ import annotations

import numpy as np


def plot_layers(layers, path=None, inputs=None, title: str | None = None, n_points: int = 200):
    """A block of panels per layer (rows: outputs j, columns: inputs i), each the curve of
    phi_ji over the grid range or over the range of ``inputs[l]`` (samples of layer l's input).
    The panel title gives the edge's score (mean |phi| on the samples, or on the sweep) and its
    symbolic fit if it has one (drawn dashed). Each panel has its own y scale, so a curve's opacity
    shows its score against the layer's largest (as pykan does); pruned edges are drawn grey."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    widths = [max(layer.in_features, 1) for layer in layers]
    heights = [layer.out_features for layer in layers]
    cols = max(widths)
    rows = sum(heights)
    fig = Figure(
        figsize=(2.1 * cols + 0.6, 1.7 * rows + 0.5 * len(layers) + (0.4 if title else 0)),
        dpi=100,
        layout="constrained",
    )
    FigureCanvasAgg(fig)
    subfigs = fig.subfigures(len(layers), 1, height_ratios=[h + 0.5 for h in heights], squeeze=False)[:, 0]
    for l, (layer, sf) in enumerate(zip(layers, subfigs)):
        if inputs is not None and inputs[l] is not None:
            x = np.asarray(getattr(inputs[l], "data", inputs[l]), dtype=np.float64)
            lo, hi = x.min(axis=0), x.max(axis=0)
            scores = layer.edge_scores(x)
        else:
            pts = layer.grid_points.astype(np.float64)
            lo, hi = pts[:, 0], pts[:, -1]
            scores = None
        xs = np.linspace(lo, hi, n_points)  # (n, in)
        phi = layer.edge_values(xs)
        if scores is None:
            scores = np.abs(phi).mean(axis=0)
        top = max(float(scores.max()), 1e-300)
        axes = sf.subplots(layer.out_features, cols, squeeze=False)
        sf.suptitle(f"layer {l}: {layer.label}, grid {layer.grid_size}, k={layer.k}", fontsize=9)
        for j in range(layer.out_features):
            for i in range(cols):
                ax = axes[j, i]
                if i >= layer.in_features:
                    ax.set_axis_off()
                    continue
                live = bool(layer.mask[j, i])
                # faint = small: each panel has its own y scale, so the colour carries the size
                alpha = max(0.12, float(np.tanh(3 * scores[j, i] / top))) if live else 1.0
                ax.plot(xs[:, i], phi[:, j, i], color="tab:blue" if live else "0.7", lw=1.4, alpha=alpha)
                fit = layer.symbolic.get((j, i)) if live else None
                label = f"{i}->{j}  |phi| {scores[j, i]:.2g}"
                if fit is not None:
                    ax.plot(xs[:, i], fit(xs[:, i]), color="tab:red", lw=1.0, ls="--")
                    label += f"\n{fit.name}, r2 {fit.r2:.5f}"
                elif not live:
                    label += " (pruned)"
                ax.set_title(label, fontsize=7)
                ax.tick_params(labelsize=6)
    if title:
        fig.suptitle(title, fontsize=10)
    if path is not None:
        fig.savefig(path, format="png")
    return fig
