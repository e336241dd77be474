"""HTML report of a training run: a metrics table, the settings, and PNG pictures (headless).

``write_report(run_dir, trainer=..., splits=..., metrics=..., config=...)`` writes report.html and
the PNGs next to it. Other parts add sections with ``register_section(fn)``, where
``fn(run_dir, trainer, splits) -> list[Section]`` (e.g. monitors' histograms).
"""

from __future__ import annotations

import html
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

__all__ = ["Section", "register_section", "write_report", "SECTION_PROVIDERS"]


@dataclass
class Section:
    title: str
    images: list = field(default_factory=list)  # PNG file names relative to the run folder
    text: str = ""  # plain text (escaped) shown above the images
    html: str = ""  # trusted extra HTML


SECTION_PROVIDERS: list = []


def register_section(fn) -> None:
    """Add ``fn(run_dir, trainer, splits) -> list[Section]`` to every report."""
    SECTION_PROVIDERS.append(fn)


_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Helvetica,Arial,sans-serif;margin:2em auto;max-width:1000px;
color:#222;padding:0 1em} h1{font-size:1.5em} h2{font-size:1.15em;margin-top:2em;border-bottom:1px solid #ddd}
table{border-collapse:collapse;margin:.5em 0} td,th{padding:.25em .8em;border-bottom:1px solid #eee;text-align:right}
th:first-child,td:first-child{text-align:left} img{max-width:100%;margin:.5em 0;border:1px solid #eee}
.muted{color:#777;font-size:.9em} pre{background:#f7f7f7;padding:.6em;overflow-x:auto;font-size:.85em}
"""


def _fmt(v):
    if isinstance(v, float):
        return f"{v:.4f}"
    return html.escape(str(v))


def _drawn(trainer, run_dir: Path) -> dict:
    """{name: path relative to run_dir} of pictures this trainer's callbacks already drew for this
    run (the monitors' ``figure_paths``), so that the report does not draw them a second time."""
    out = {}
    last_fit = getattr(getattr(trainer, "_cbs", None), "callbacks", [])  # callbacks given to fit() too
    for cb in list(getattr(trainer, "callbacks", []) or []) + list(last_fit):
        for name, path in (getattr(cb, "figure_paths", None) or {}).items():
            if path and os.path.exists(path):
                out[name] = os.path.relpath(path, run_dir)
    return out


def _builtin_sections(run_dir: Path, trainer, splits) -> list[Section]:
    from nnlab.report import plots
    from nnlab.train.metrics import confusion_matrix

    h = trainer.history
    drawn = _drawn(trainer, run_dir)

    def picture(name, draw, filename):
        if name in drawn:
            return drawn[name]
        path = draw(run_dir / filename)
        return os.path.basename(path) if path else None

    out = [
        Section(
            "Loss",
            [picture("loss", lambda p: plots.plot_loss(h, p), "loss.png")],
            "Data loss per iteration with its moving average; the regularization loss is logged separately.",
        ),
        Section(
            "Accuracy",
            [picture("accuracy", lambda p: plots.plot_accuracy(h, p), "accuracy.png")],
            "Training accuracy is the running value over each epoch (dropout on); dev accuracy is "
            "measured at the end of the epoch.",
        ),
    ]
    if splits is not None and len(splits.test):
        probs = trainer.predict(splits.test.X)
        y_pred = probs.argmax(axis=1) if probs.ndim == 2 and probs.shape[1] > 1 else (probs.ravel() > 0).astype(int)
        y_true = splits.test.y
        k = max(splits.num_classes, int(y_pred.max()) + 1)
        cm = confusion_matrix(y_true, y_pred, k)
        names = splits.class_names
        out.append(
            Section(
                "Confusion matrix",
                [os.path.basename(plots.plot_confusion(cm, run_dir / "confusion.png", names))],
                f"Rows: true class; columns: predicted class (test split: {len(y_true)} examples, "
                f"{int(np.trace(cm))} correct, accuracy {np.trace(cm) / len(y_true) * 100:.2f}%).",
            )
        )
        mis = plots.plot_misclassified(splits.test.X, y_true, y_pred, run_dir / "misclassified.png", names)
        if mis:
            out.append(Section("Misclassified test examples", [os.path.basename(mis)]))
    input_shape = tuple(splits.input_shape) if splits is not None else ()
    w = picture("first_layer", lambda p: plots.plot_first_layer(trainer.model, input_shape, p), "weights.png")
    if w:
        out.append(
            Section("First-layer weights", [w], "What the first layer looks for: positive weights red, negative blue.")
        )
    return out


def write_report(
    run_dir, trainer, splits=None, metrics: dict | None = None, config: dict | None = None, title: str | None = None
) -> str:
    """Draw the pictures and write ``run_dir/report.html``; returns its path."""
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    sections = _builtin_sections(run_dir, trainer, splits)
    for fn in SECTION_PROVIDERS:
        sections += list(fn(run_dir, trainer, splits) or [])
    metrics = metrics or {}
    title = title or f"nnlab run: {metrics.get('model', type(trainer.model).__name__)} on {metrics.get('data', '')}"
    parts = [
        f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
        f"<style>{_CSS}</style></head><body><h1>{html.escape(title)}</h1>"
    ]
    rows = []
    for split in ("train", "dev", "test"):
        acc, loss = metrics.get(f"{split}_accuracy"), metrics.get(f"{split}_loss")
        if acc is not None or loss is not None:
            rows.append(
                f"<tr><td>{split}</td><td>{'-' if acc is None else f'{acc * 100:.2f}%'}</td>"
                f"<td>{'-' if loss is None else f'{loss:.4f}'}</td></tr>"
            )
    if rows:
        parts.append(
            "<h2>Results</h2><table><tr><th>split</th><th>accuracy</th><th>data loss</th></tr>"
            + "".join(rows)
            + "</table>"
        )
    facts = [
        (k, metrics[k])
        for k in ("num_parameters", "epochs", "steps", "wall_seconds", "train_seconds", "seed")
        if k in metrics
    ]
    if facts:
        parts.append(
            "<table>"
            + "".join(f"<tr><td>{html.escape(k.replace('_', ' '))}</td><td>{_fmt(v)}</td></tr>" for k, v in facts)
            + "</table>"
        )
    for s in sections:
        parts.append(f"<h2>{html.escape(s.title)}</h2>")
        if s.text:
            parts.append(f"<p class='muted'>{html.escape(s.text)}</p>")
        if s.html:
            parts.append(s.html)
        for img in s.images:
            parts.append(f"<img src='{html.escape(str(img))}' alt='{html.escape(s.title)}'>")
    parts.append("<h2>Model</h2><pre>" + html.escape(repr(trainer.model)) + "</pre>")
    if config:
        parts.append("<h2>Settings</h2><pre>" + html.escape(json.dumps(config, indent=1, default=str)) + "</pre>")
    parts.append("</body></html>")
    from nnlab.train.callbacks import atomic_write_text

    path = run_dir / "report.html"
    atomic_write_text(path, "\n".join(parts))
    return str(path)
