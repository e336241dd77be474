"""Pictures of a training run (matplotlib, headless Agg backend); each function writes one PNG and
returns its path (or None when there is nothing to draw).

- ``plot_first_layer``: the first layer's filters as an image grid (CNN), or each hidden unit's
  incoming weights of an MLP on images as a small image (the 28x28 "what a unit looks for" picture);
  noisy filters hint at an unconverged net, a bad learning rate or too little regularization;
- ``plot_histograms``: activation or gradient histograms per layer (ActivationMonitor's last sample);
- ``plot_loss``: loss per iteration with its smoothed curve;
- ``plot_accuracy``: train/dev accuracy per epoch;
- ``plot_update_ratios``: update/parameter ratios over time, with the ~1e-3 guide line.
"""
from __future__ import annotations

import os

import numpy as np

__all__ = ["plot_first_layer", "plot_histograms", "plot_loss", "plot_accuracy", "plot_update_ratios",
           "filter_grid", "first_layer_images"]


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


def first_layer_images(model, image_shape=None, max_units: int = 64):
    """(images (K, H, W) or (K, H, W, 3) scaled to [0, 1], title) for the first weighted layer, or None.

    Conv2d: its filters (1 or 3 input channels). Linear: each unit's weights reshaped to the input
    image (``image_shape`` (C, H, W); square gray images are guessed from in_features).
    """
    for name, m in model.named_modules():
        w = getattr(m, "_parameters", {}).get("weight")
        if w is None or w.data.ndim < 2:
            continue
        W = np.asarray(w.data, dtype=np.float64)
        if W.ndim == 4:  # conv (O, C, kh, kw)
            c = W.shape[1]
            if c == 3:
                imgs = W.transpose(0, 2, 3, 1)
            else:
                imgs = W.mean(axis=1) if c != 1 else W[:, 0]
            title = f"first-layer filters ({name}: {W.shape[0]} of {W.shape[2]}x{W.shape[3]})"
        elif W.ndim == 2:
            n_in = W.shape[1]
            if image_shape is not None and int(np.prod(image_shape)) == n_in:
                c, h, wd = image_shape if len(image_shape) == 3 else (1,) + tuple(image_shape)
            else:
                side = int(round(np.sqrt(n_in)))
                if side * side != n_in:
                    return None
                c, h, wd = 1, side, side
            imgs = W.reshape(W.shape[0], c, h, wd)
            imgs = imgs[:, 0] if c == 1 else imgs.transpose(0, 2, 3, 1)
            title = f"hidden-unit weights ({name}: {W.shape[0]} units as {h}x{wd} images)"
        else:
            return None
        imgs = imgs[:max_units]
        lo = imgs.reshape(len(imgs), -1).min(axis=1)
        hi = imgs.reshape(len(imgs), -1).max(axis=1)
        shape = (-1,) + (1,) * (imgs.ndim - 1)
        imgs = (imgs - lo.reshape(shape)) / np.maximum(hi - lo, 1e-12).reshape(shape)
        return imgs, title
    return None


def filter_grid(images: np.ndarray, pad: int = 1) -> np.ndarray:
    """Tile (K, H, W[, 3]) images into one grid image with ``pad`` pixels of gap."""
    k = len(images)
    cols = int(np.ceil(np.sqrt(k)))
    rows = int(np.ceil(k / cols))
    h, w = images.shape[1:3]
    extra = images.shape[3:]
    grid = np.ones((rows * (h + pad) + pad, cols * (w + pad) + pad) + extra)
    for i in range(k):
        r, c = divmod(i, cols)
        grid[pad + r * (h + pad): pad + r * (h + pad) + h, pad + c * (w + pad): pad + c * (w + pad) + w] = images[i]
    return grid


def plot_first_layer(model, path, image_shape=None, max_units: int = 64):
    got = first_layer_images(model, image_shape, max_units)
    if got is None:
        return None
    imgs, title = got
    plt = _plt()
    grid = filter_grid(imgs)
    fig, ax = plt.subplots(figsize=(6, 6))
    ax.imshow(grid, cmap="gray" if grid.ndim == 2 else None, interpolation="nearest")
    ax.set_title(title, fontsize=9)
    ax.axis("off")
    return _save(fig, path)


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
        ax.bar(edges[:-1], counts, width=np.diff(edges), align="edge", color="tab:blue" if which == "act" else "tab:red")
        label = f"{name} ({st.get('kind', '')})" if which == "act" else name
        sub = f"mean {st['mean']:.2f} std {st['std']:.2f}" if which == "act" else f"norm {st['norm']:.1e}"
        ax.set_title(f"{label}\n{sub}", fontsize=8)
        ax.tick_params(labelsize=6)
        ax.set_yticks([])
    what = "activations" if which == "act" else "gradients dL/d(activation)"
    fig.suptitle(title or f"{what} per layer (step {sample.get('step', '?')})", fontsize=10)
    fig.tight_layout()
    return _save(fig, path)


def plot_loss(losses, path, reg_losses=None, steps_per_epoch: int | None = None):
    v = np.asarray(losses, dtype=np.float64)
    if v.size == 0:
        return None
    from nnlab.train.metrics import ema_smooth
    plt = _plt()
    fig, ax = plt.subplots(figsize=(7, 3.5))
    x = np.arange(1, v.size + 1)
    ok = np.isfinite(v)
    ax.plot(x[ok], v[ok], lw=0.6, alpha=0.45, label="loss per iteration")
    if ok.any():
        ax.plot(x[ok], ema_smooth(v[ok], 0.98 if v.size > 200 else 0.9), lw=1.8, label="smoothed (EMA)")
    if reg_losses is not None and np.any(np.asarray(reg_losses)):
        ax.plot(x, np.asarray(reg_losses)[:v.size], lw=1, label="regularization loss")
    if steps_per_epoch:
        for e in range(steps_per_epoch, v.size, steps_per_epoch):
            ax.axvline(e, color="0.85", lw=0.6, zorder=0)
    if ok.any() and v[ok].max() / max(v[ok].min(), 1e-12) > 30:
        ax.set_yscale("log")
    ax.set_xlabel("iteration")
    ax.set_ylabel("data loss")
    ax.set_title("loss per iteration")
    ax.legend(fontsize=8)
    return _save(fig, path)


def plot_accuracy(history, path):
    """Train and dev accuracy per epoch (``history``: a History or its ``.history`` dict)."""
    h = getattr(history, "history", history)
    tr, dv = h.get("accuracy"), h.get("val_accuracy")
    if not tr and not dv:
        return None
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6, 3.5))
    for vals, label in ((tr, "train"), (dv, "dev")):
        if vals:
            y = [np.nan if a is None else a for a in vals]
            ax.plot(np.arange(1, len(y) + 1), y, marker="o", ms=3, label=label)
    ax.set_xlabel("epoch")
    ax.set_ylabel("accuracy")
    ax.set_title("train/dev accuracy (the gap is the overfitting)")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
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
            ax.plot(steps[:len(r)][ok], r[ok], lw=0.8, label=name)
    ax.axhline(1e-3, color="k", ls="--", lw=1, label="~1e-3 (healthy)")
    ax.set_yscale("log")
    ax.set_xlabel("iteration")
    ax.set_ylabel("||update|| / ||parameter||")
    ax.set_title("update/parameter ratio per parameter")
    ax.legend(fontsize=6, ncol=2)
    return _save(fig, path)
