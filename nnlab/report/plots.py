"""The report's pictures, drawn with matplotlib's object API on the Agg canvas (headless: no
display, no pyplot global state)."""

from __future__ import annotations

import numpy as np

from nnlab.train.metrics import ema_smooth

__all__ = [
    "new_figure",
    "plot_loss",
    "plot_accuracy",
    "plot_confusion",
    "plot_misclassified",
    "plot_first_layer",
    "image_grid",
]


def new_figure(figsize=(6.4, 4.0)):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=figsize, dpi=100)
    FigureCanvasAgg(fig)
    return fig


def _save(fig, path) -> str:
    fig.tight_layout()
    fig.savefig(path, format="png")
    return str(path)


def plot_loss(history, path, beta: float | None = None) -> str:
    """Data loss per iteration (faint) with its bias-corrected moving average, the regularization
    loss if any, and the per-epoch dev loss at the epoch boundaries."""
    fig = new_figure()
    ax = fig.subplots()
    loss = np.asarray(history.iterations.get("loss", []), dtype=np.float64)
    it = np.arange(1, len(loss) + 1)
    if beta is None:  # an averaging window of about 1/25 of the run, between 3 and 50 steps
        beta = 1.0 - 1.0 / float(np.clip(len(loss) / 25, 3, 50))
    if len(loss):
        ax.plot(it, loss, color="tab:blue", alpha=0.25, lw=0.7, label="data loss (per iteration)")
        ax.plot(it, ema_smooth(loss, beta), color="tab:blue", lw=1.8, label="data loss (smoothed)")
    reg = np.asarray(history.iterations.get("reg_loss", []), dtype=np.float64)
    if len(reg) and np.any(reg > 0):
        ax.plot(np.arange(1, len(reg) + 1), reg, color="tab:green", lw=1.2, label="regularization loss")
    val = history.history.get("val_loss")
    if val and len(loss) and history.epoch:
        steps = len(loss) / max(len(history.epoch), 1)
        ax.plot(
            [(i + 1) * steps for i in range(len(val))],
            val,
            "o-",
            color="tab:orange",
            ms=3,
            lw=1.2,
            label="dev loss (per epoch)",
        )
    ax.set_xlabel("iteration")
    ax.set_ylabel("loss")
    if len(loss) and np.all(loss > 0) and loss.max() / max(loss.min(), 1e-12) > 30:
        ax.set_yscale("log")
    ax.grid(alpha=0.3)
    if ax.get_lines():
        ax.legend(fontsize=8)
    else:
        ax.text(0.5, 0.5, "no training step recorded", ha="center", va="center", transform=ax.transAxes)
    ax.set_title("Loss")
    return _save(fig, path)


def plot_accuracy(history, path) -> str:
    """Train and dev accuracy per epoch: the gap between them is the overfitting the notes watch."""
    fig = new_figure()
    ax = fig.subplots()
    epochs = [e + 1 for e in history.epoch]
    for key, label, color in (
        ("accuracy", "train (running, during the epoch)", "tab:blue"),
        ("val_accuracy", "dev", "tab:orange"),
    ):
        values = history.history.get(key)
        if values and any(v is not None for v in values):
            ax.plot(epochs, [np.nan if v is None else v * 100 for v in values], "o-", ms=3, color=color, label=label)
    ax.set_xlabel("epoch")
    ax.set_ylabel("accuracy (%)")
    ax.grid(alpha=0.3)
    if ax.get_lines():
        ax.legend(fontsize=8)
    else:  # no epoch finished (e.g. diverged in the first one) or no accuracy (a regression loss)
        ax.text(0.5, 0.5, "no per-epoch accuracy recorded", ha="center", va="center", transform=ax.transAxes)
    ax.set_title("Accuracy per epoch")
    return _save(fig, path)


def plot_confusion(cm: np.ndarray, path, class_names=None, title="Confusion matrix (test)") -> str:
    k = cm.shape[0]
    fig = new_figure((5.2, 4.6) if k <= 12 else (8, 7))
    ax = fig.subplots()
    im = ax.imshow(cm, cmap="Blues")
    fig.colorbar(im, ax=ax, fraction=0.046)
    names = class_names or [str(i) for i in range(k)]
    ax.set_xticks(range(k), names, fontsize=7 if k > 12 else 9)
    ax.set_yticks(range(k), names, fontsize=7 if k > 12 else 9)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    if k <= 20:
        hi = cm.max() if cm.size else 0
        for i, j in zip(*np.nonzero(cm)):
            ax.text(
                j,
                i,
                str(cm[i, j]),
                ha="center",
                va="center",
                fontsize=7,
                color="white" if cm[i, j] > hi / 2 else "black",
            )
    ax.set_title(title)
    return _save(fig, path)


def _as_image(x: np.ndarray) -> np.ndarray:
    """(C, H, W) or (H, W) -> something imshow draws ((H, W) gray or (H, W, 3) RGB in [0, 1])."""
    x = np.asarray(x, dtype=np.float64)
    if x.ndim == 3:
        x = x[0] if x.shape[0] == 1 else x[:3].transpose(1, 2, 0)
    return x


def _mosaic(images, cols: int, normalize: bool, title_rows: int):
    """Tile images into one array (one imshow instead of an axes per image, which is what keeps a
    64-image grid fast). Each cell gets ``title_rows`` blank pixel rows above it for its caption."""
    imgs = [_as_image(i) for i in images]
    if normalize:  # weights: each image on its own symmetric scale, zero at the middle (white)
        out = []
        for im in imgs:
            m = np.abs(im).max()
            out.append(0.5 + 0.5 * im / m if m > 0 else np.zeros_like(im) + 0.5)
        imgs = out
    else:
        imgs = [np.clip(im, 0, 1) for im in imgs]
    h, w = imgs[0].shape[:2]
    rgb = imgs[0].ndim == 3
    pad = max(1, h // 14)
    ch, cw = h + title_rows + pad, w + pad
    rows = -(-len(imgs) // cols)
    canvas = np.ones((rows * ch + pad, cols * cw + pad) + ((3,) if rgb else ()), dtype=np.float64)
    canvas *= 0.5 if normalize else 1.0
    for i, im in enumerate(imgs):
        r, c = divmod(i, cols)
        y, x = r * ch + pad + title_rows, c * cw + pad
        canvas[y : y + h, x : x + w] = im
    return canvas, (ch, cw, pad, h, w)


def image_grid(images, titles, path, cols: int = 8, suptitle=None, cmap="gray", normalize=False) -> str:
    n = len(images)
    cols = max(1, min(cols, n))
    rows = max(1, -(-n // cols))
    has_titles = any(titles)
    h = _as_image(images[0]).shape[0]
    canvas, (ch, cw, pad, h, w) = _mosaic(images, cols, normalize, title_rows=(h * 2) // 5 if has_titles else 0)
    scale = 1.25 if has_titles else 0.75
    fig = new_figure((scale * cols * cw / ch + 0.3, scale * rows + (0.45 if suptitle else 0.15)))
    ax = fig.add_axes((0.01, 0.01, 0.98, 0.98 - (0.4 / (scale * rows + 0.45) if suptitle else 0.0)))
    ax.imshow(canvas, cmap=cmap if canvas.ndim == 2 else None, vmin=0, vmax=1, interpolation="nearest", aspect="auto")
    ax.axis("off")
    for i, t in enumerate(titles):
        if t:
            r, c = divmod(i, cols)
            ax.text(c * cw + pad + w / 2, r * ch + pad + (ch - h - pad) / 2, t, ha="center", va="center", fontsize=7)
    if suptitle:
        fig.suptitle(suptitle, fontsize=10)
    fig.savefig(path, format="png")
    return str(path)


def plot_misclassified(X, y_true, y_pred, path, class_names=None, limit: int = 40) -> str | None:
    """Misclassified examples with "predicted / true" above each; None if there are none or the
    inputs are not images."""
    X = np.asarray(X)
    wrong = np.flatnonzero(y_true != y_pred)[:limit]
    if len(wrong) == 0 or X.ndim not in (3, 4):
        return None
    names = class_names or [str(i) for i in range(int(max(y_true.max(), y_pred.max())) + 1)]
    titles = [
        f"pred {names[y_pred[i]]} / true {names[y_true[i]]}"
        if len(names[0]) > 2
        else f"{names[y_pred[i]]} (true {names[y_true[i]]})"
        for i in wrong
    ]
    return image_grid(
        [X[i] for i in wrong],
        titles,
        path,
        cols=8,
        suptitle=f"Misclassified test examples ({int(np.sum(y_true != y_pred))} in all): predicted (true)",
    )


def first_layer_weights(model, input_shape):
    """(images, title) for the first layer: a Linear's rows reshaped to the input image (each
    hidden unit's template; square gray images when ``input_shape`` is not (C, H, W)), or a Conv2d's
    filters; None if the first layer is neither."""
    from nnlab.nn import Conv2d, Linear

    for _, m in model.named_modules():
        if isinstance(m, Linear):
            W = m.weight.data
            side = int(round(np.sqrt(W.shape[1])))
            if len(input_shape) != 3 and side * side == W.shape[1]:  # shape unknown: square gray images
                input_shape = (1, side, side)
            if len(input_shape) == 3 and W.shape[1] == int(np.prod(input_shape)):
                return W.reshape((-1,) + tuple(input_shape)), "First-layer weights: each hidden unit as an image"
            return None
        if isinstance(m, Conv2d):
            W = m.weight.data
            if W.shape[1] == 3:
                return W, "First-layer filters (RGB)"
            return W[:, :1], "First-layer filters (input channel 0)"
    return None


def plot_first_layer(model, input_shape, path, limit: int = 64) -> str | None:
    found = first_layer_weights(model, input_shape)
    if found is None:
        return None
    W, title = found
    W = W[:limit]
    return image_grid(list(W), [""] * len(W), path, cols=min(16, len(W)), suptitle=title, cmap="RdBu_r", normalize=True)
