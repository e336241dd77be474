"""The monitors' own pictures (matplotlib, headless Agg backend); each function writes one PNG and
returns its path (or None when there is nothing to draw). Loss, accuracy and first-layer pictures
are ``nnlab.report.plots``'s, drawn once per run.

- ``plot_histograms``: activation or gradient histograms per layer (ActivationMonitor's last sample);
- ``plot_update_ratios``: update/parameter ratios over time, with the ~1e-3 guide line.
"""

from __future__ import annotations

import os

import numpy as np

__all__ = ["plot_histograms", "plot_update_ratios"]


def _plt():
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    return plt


def _save(fig, path) -> str:
    path = os.fspath(path)
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    fig.savefig(path, dpi=90, bbox_inches="tight")
    _plt().close(fig)
    return path


def plot_histograms(sample: dict | None, path, which: str = "act", title: str | None = None):
    """Histograms per layer from an ActivationMonitor sample (``which``: "act" or "grad")."""
    if not sample or not sample.get(which):
        return None
    layers = [n for n in sample["act"] if n in sample[which]] if which == "grad" else list(sample[which])
    if not layers:
        return None
    plt = _plt()
    k = len(layers)
    fig, axes = plt.subplots(1, k, figsize=(min(2.6 * k, 20), 2.6), squeeze=False)
    for ax, name in zip(axes[0], layers):
        st = sample[which][name]
        counts, edges = st["hist"]
        ax.stairs(
            counts, edges, fill=True, color="tab:blue" if which == "act" else "tab:red"
        )  # one artist, not a bar per bin
        label = f"{name} ({st.get('kind', '')})" if which == "act" else name
        sub = f"mean {st['mean']:.2f} std {st['std']:.2f}" if which == "act" else f"norm {st['norm']:.1e}"
        ax.set_title(f"{label}\n{sub}", fontsize=8)
        ax.tick_params(labelsize=6)
        ax.set_yticks([])
    what = "activations" if which == "act" else "gradients dL/d(activation)"
    fig.suptitle(title or f"{what} per layer (step {sample.get('step', '?')})", fontsize=10)
    fig.tight_layout()
    return _save(fig, path)


def plot_update_ratios(monitor, path):
    """Update/parameter norm ratios over time per parameter tensor (UpdateRatioMonitor)."""
    if monitor is None or not monitor.steps:
        return None
    plt = _plt()
    fig, ax = plt.subplots(figsize=(7, 3.5))
    steps = np.asarray(monitor.steps)
    for name, r in monitor.ratios.items():
        r = np.asarray(r, dtype=np.float64)
        ok = np.isfinite(r) & (r > 0)
        if ok.any():
            ax.plot(steps[: len(r)][ok], r[ok], lw=0.8, label=name)
    ax.axhline(1e-3, color="k", ls="--", lw=1, label="~1e-3 (healthy)")
    ax.set_yscale("log")
    ax.set_xlabel("iteration")
    ax.set_ylabel("||update|| / ||parameter||")
    ax.set_title("update/parameter ratio per parameter")
    ax.legend(fontsize=6, ncol=2)
    return _save(fig, path)
