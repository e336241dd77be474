"""The monitors switched on by default in ``nnlab train``, and what they leave in the run folder.

``default_monitors(run_dir)`` returns the callbacks; at the end of training (or when it diverges)
they write into ``run_dir``:

- ``figures/*.png``: loss per iteration + smoothed, train/dev accuracy, update ratios, activation
  and gradient histograms per layer, first-layer filters / hidden-unit weight images (the first
  three drawn by ``nnlab.report.plots``; the run's report shows these files instead of redrawing);
- ``diagnostics.json`` (findings, per-layer statistics, update ratios, figure paths) and
  ``diagnostics.txt`` (the findings as text);
- ``tensorboard/``: TensorBoard event files (scalars, histograms, images), written with
  tensorboardX: ``tensorboard --logdir runs/``.
"""

from __future__ import annotations

import json
import os
import sys
import warnings
from pathlib import Path

import numpy as np

from nnlab.diagnostics import figures as F
from nnlab.diagnostics.monitors import (
    ActivationMonitor,
    BiasVarianceMonitor,
    Finding,
    LossCurveMonitor,
    TrainingDiverged,
    UpdateRatioMonitor,
    diagnose,
)
from nnlab.train.callbacks import Callback, atomic_write_text

__all__ = ["default_monitors", "default_train_callbacks", "TensorBoardLogger", "RunDiagnostics", "write_figures"]


def _find(monitors, cls):
    return next((m for m in monitors if isinstance(m, cls)), None)


def write_figures(out_dir, trainer=None, monitors=(), image_shape=None) -> dict:
    """Write every picture the monitors and the trainer's history allow; returns {name: path}."""
    out_dir = Path(out_dir)
    figs = {}
    act = _find(monitors, ActivationMonitor)
    upd = _find(monitors, UpdateRatioMonitor)
    if trainer is not None:  # the report's pictures: one drawing of each, reused by write_report
        from nnlab.report import plots

        out_dir.mkdir(parents=True, exist_ok=True)
        figs["loss"] = plots.plot_loss(trainer.history, out_dir / "loss.png")
        figs["accuracy"] = plots.plot_accuracy(trainer.history, out_dir / "accuracy.png")
        figs["first_layer"] = plots.plot_first_layer(
            trainer.model, tuple(image_shape or ()), out_dir / "first_layer.png"
        )
    figs["update_ratios"] = F.plot_update_ratios(upd, out_dir / "update_ratios.png")
    if act is not None:
        figs["activations"] = F.plot_histograms(act.last(), out_dir / "activations.png", "act")
        figs["gradients"] = F.plot_histograms(act.last(), out_dir / "gradients.png", "grad")
    return {k: v for k, v in figs.items() if v}


def _summary_writer_class():
    """tensorboardX's SummaryWriter, imported without PyTorch.

    tensorboardX.writer tries ``import torch`` only to accept torch tensors as well as arrays; where
    PyTorch is installed that import costs about 1 s of CPU per ``nnlab train`` (more than all the
    per-step monitoring of a default run). nnlab passes NumPy arrays only, so while tensorboardX is
    first imported, ``import torch`` is made to fail (tensorboardX catches the ImportError); the
    block is lifted at once, so a later ``import torch`` elsewhere works as usual."""
    import sys

    if "tensorboardX.writer" in sys.modules or "torch" in sys.modules:
        from tensorboardX import SummaryWriter

        return SummaryWriter
    sys.modules["torch"] = None  # type: ignore[assignment]  # None in sys.modules: ImportError
    try:
        from tensorboardX import SummaryWriter
    finally:
        if sys.modules.get("torch", 0) is None:
            del sys.modules["torch"]
    return SummaryWriter


class TensorBoardLogger(Callback):
    """TensorBoard event files: per-iteration loss, epoch metrics, update ratios, activation and
    gradient histograms (scalars written in bulk at epoch ends), and the run's figures as images at
    the end. Needs tensorboardX; without it a warning is given once and nothing is written."""

    def __init__(self, log_dir, monitors=(), figures_dir=None):
        self.log_dir = os.fspath(log_dir)
        self.monitors = list(monitors)
        self.figures_dir = figures_dir
        self.writer = None
        self._it = 0
        self._ratio_i = 0
        self._sample_i = 0

    def on_train_begin(self, logs=None):
        try:
            SummaryWriter = _summary_writer_class()
        except ImportError:
            warnings.warn(
                "TensorBoardLogger: tensorboardX is not installed (pip install tensorboardX); "
                "no TensorBoard log is written",
                RuntimeWarning,
                stacklevel=2,
            )
            self.writer = None
            return
        self.writer = SummaryWriter(self.log_dir)
        self._it = self._ratio_i = self._sample_i = 0

    def on_epoch_end(self, epoch, logs=None):
        if self.writer is None:
            return
        w = self.writer
        it = self.trainer.history.iterations
        losses = it["loss"]
        for i in range(self._it, len(losses)):
            if np.isfinite(losses[i]):
                w.add_scalar("iteration/loss", losses[i], i + 1)
        self._it = len(losses)
        for k, v in (logs or {}).items():
            if isinstance(v, (int, float)) and np.isfinite(v):
                w.add_scalar(f"epoch/{k}", v, epoch + 1)
        upd = _find(self.monitors, UpdateRatioMonitor)
        if upd is not None:  # weight tensors only: a bias's ratio says little (they start at 0), and
            # each scalar costs ~0.1 ms of CPU here and in tensorboardX's writer thread
            dims = {n: p.data.ndim for n, p in getattr(upd, "_params", [])}
            names = [n for n in upd.ratios if dims.get(n, 2) >= 2]
            for j in range(self._ratio_i, len(upd.steps)):
                for name in names:
                    r = upd.ratios[name]
                    if j < len(r) and np.isfinite(r[j]) and r[j] > 0:
                        w.add_scalar(f"update_ratio/{name}", r[j], upd.steps[j])
            self._ratio_i = len(upd.steps)
        act = _find(self.monitors, ActivationMonitor)
        if act is not None:
            for s in act.samples[self._sample_i :]:
                step = s["step"]
                for kind in ("act", "grad"):
                    for name, st in s[kind].items():
                        self._histogram(f"{'activations' if kind == 'act' else 'gradients'}/{name}", st, step)
                for name, st in s["act"].items():
                    for key in ("dead", "saturated", "std"):
                        if st.get(key) is not None:
                            w.add_scalar(f"layers/{name}/{key}", st[key], step)
            self._sample_i = len(act.samples)
        w.flush()

    def _histogram(self, tag, st, step):
        counts, edges = st["hist"]
        num = float(counts.sum())
        if num <= 0:
            return
        mean = st.get("mean", 0.0)
        std = st.get("std", 0.0)
        lo = st.get("min", float(edges[0]))
        hi = st.get("max", float(edges[-1]))
        self.writer.add_histogram_raw(
            tag,
            min=lo,
            max=hi,
            num=num,
            sum=mean * num,
            sum_squares=(std * std + mean * mean) * num,
            bucket_limits=edges[1:].tolist(),
            bucket_counts=counts.tolist(),
            global_step=step,
        )

    def finish(self, figures: dict | None = None):
        if self.writer is None:
            return
        step = self.trainer.global_step if self.trainer is not None else 0
        for name, path in (figures or {}).items():
            try:
                from PIL import Image

                with Image.open(path) as im:
                    img = np.asarray(im.convert("RGB"))
                self.writer.add_image(f"figures/{name}", img, step, dataformats="HWC")
            except Exception as e:  # noqa: BLE001 - a missing picture must not fail training
                warnings.warn(f"TensorBoardLogger: could not add {path}: {e}", RuntimeWarning, stacklevel=2)
        self.writer.flush()
        self.writer.close()
        self.writer = None


class RunDiagnostics(Callback):
    """At the end of training (or on divergence): findings, figures, diagnostics.json/.txt, the
    TensorBoard images; prints the findings."""

    def __init__(
        self,
        run_dir,
        monitors,
        tensorboard: TensorBoardLogger | None = None,
        figures: bool = True,
        verbose: bool = True,
        image_shape=None,
    ):
        self.run_dir = Path(run_dir)
        self.monitors, self.tensorboard = list(monitors), tensorboard
        self.figures, self.verbose, self.image_shape = figures, verbose, image_shape
        self.findings = []
        self.figure_paths = {}
        self._done = False
        self._abort = None

    def on_train_begin(self, logs=None):
        self._done = False
        self._abort = None

    def on_train_end(self, logs=None):
        self.finish()

    def on_train_abort(self, exc, logs=None):
        """fit ended by an exception (e.g. a float32 overflow raising inside the loss before any
        monitor saw a NaN): still write the findings and figures of what was trained."""
        if not isinstance(exc, TrainingDiverged):  # a divergence has its own finding already
            self._abort = Finding(
                "aborted",
                f"training stopped at step {getattr(self.trainer, 'global_step', '?')} by {type(exc).__name__}: {exc}",
                "an overflow or invalid value here usually means the weights diverged: lower the learning rate 3-10x",
                "trainer",
            )
        self.finish()

    def finish(self) -> dict:
        if self._done:
            return self.figure_paths
        self._done = True
        t = self.trainer
        act = _find(self.monitors, ActivationMonitor)
        if act is not None:  # training may have stopped without on_train_end (divergence)
            act._active = False
            act.detach()
        self.findings = diagnose(self.monitors) + ([self._abort] if self._abort is not None else [])
        if self.figures:
            try:
                self.figure_paths = write_figures(self.run_dir / "figures", t, self.monitors, self.image_shape)
            except Exception as e:  # noqa: BLE001 - pictures must not cost the run
                warnings.warn(f"diagnostics: could not draw the figures: {e}", RuntimeWarning, stacklevel=2)
                self.figure_paths = {}
        if self.tensorboard is not None:
            if t is not None and self.tensorboard.writer is not None:
                self.tensorboard.on_epoch_end(t.epoch, {})
            self.tensorboard.finish(self.figure_paths)
        upd = _find(self.monitors, UpdateRatioMonitor)
        act = _find(self.monitors, ActivationMonitor)
        doc = {
            "findings": [
                {"kind": f.kind, "source": f.source, "message": f.message, "advice": f.advice} for f in self.findings
            ],
            "update_ratios": upd.summary() if upd is not None else {},
            "layers": act.layer_table() if act is not None else [],
            "figures": {k: os.path.relpath(v, self.run_dir) for k, v in self.figure_paths.items()},
        }
        atomic_write_text(self.run_dir / "diagnostics.json", json.dumps(doc, indent=1, default=_json))
        atomic_write_text(self.run_dir / "diagnostics.txt", self.text() + "\n")
        if self.verbose:
            print(self.text(), file=sys.stderr)
        return self.figure_paths

    def text(self) -> str:
        lines = ["diagnostics:"]
        for f in self.findings:
            mark = "ok  " if f.kind == "ok" else "WARN"
            lines.append(f"  [{mark}] {f.source}: {f.message}" + (f"\n         -> {f.advice}" if f.advice else ""))
        return "\n".join(lines)


def _json(o):
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    return str(o)


def default_monitors(
    run_dir,
    *,
    update_every: int = 10,
    activation_every: int = 100,
    tensorboard: bool = True,
    figures: bool = True,
    verbose: bool = True,
    image_shape=None,
) -> list:
    """The monitors ``nnlab train`` runs by default, writing into ``run_dir`` (see the module doc).

    Sampling keeps them cheap: update ratios every ``update_every`` steps (a copy and two norms per
    parameter tensor: done every step, about 10% of the mlp recipe's 4.4 ms step in CPU time),
    activation/gradient statistics every ``activation_every`` steps; the divergence check (one norm
    per weight tensor) every step. ``python -m nnlab.diagnostics.overhead`` measures the total.

    Order matters only for the divergence stop: the LossCurveMonitor comes first so that a
    diverging step is caught before anything else looks at it.
    """
    run_dir = Path(run_dir)
    guard = LossCurveMonitor(checkpoint=run_dir / "last_good.npz", verbose=False)  # RunDiagnostics prints
    mons = [
        guard,
        UpdateRatioMonitor(every=update_every),
        ActivationMonitor(every=activation_every),
        BiasVarianceMonitor(),
    ]
    tb = TensorBoardLogger(run_dir / "tensorboard", mons) if tensorboard else None
    diag = RunDiagnostics(run_dir, mons, tb, figures=figures, verbose=verbose, image_shape=image_shape)
    guard.on_diverge = diag.finish
    return mons + ([tb] if tb is not None else []) + [diag]


def default_train_callbacks(run_dir, **kwargs) -> list:
    """What ``nnlab train`` asks for (its ``_extra_callbacks``): ``default_monitors``."""
    return default_monitors(run_dir, **kwargs)


# ------------------------------------------------------------------------------------------
# The run's HTML report: a "Diagnostics" section (nnlab.report's section hook)
# ------------------------------------------------------------------------------------------
def report_sections(run_dir, trainer, splits=None) -> list:
    """Report sections from the RunDiagnostics callback of ``trainer`` (none if it had no monitors).

    Loss, accuracy and first-layer pictures are drawn by the report itself; this adds the findings,
    the update ratios and the activation/gradient histograms.
    """
    from nnlab.report import Section

    diag = next(
        (
            cb
            for cb in list(getattr(trainer, "callbacks", [])) + list(getattr(trainer, "_cbs", []))
            if isinstance(cb, RunDiagnostics)
        ),
        None,
    )
    if diag is None:
        return []
    if not diag._done:
        diag.finish()
    import html

    items = "".join(
        f"<li><b>{html.escape(f.source)}</b>: {html.escape(f.message)}"
        + (f"<br><i>&rarr; {html.escape(f.advice)}</i>" if f.advice else "")
        + "</li>"
        for f in diag.findings
    )
    run_dir = Path(run_dir)
    rel = {k: os.path.relpath(v, run_dir) for k, v in diag.figure_paths.items()}
    out = [
        Section(
            "Diagnostics",
            [],
            "What the training monitors read from this run (notes: babysitting the learning process; bias/variance).",
            f"<ul>{items}</ul>" if items else "",
        )
    ]
    if "update_ratios" in rel:
        out.append(
            Section(
                "Update/parameter ratios",
                [rel["update_ratios"]],
                "||update|| / ||parameter|| per parameter tensor and step; about 1e-3 is healthy, "
                "far lower means the learning rate is too low, far higher too high.",
            )
        )
    imgs = [rel[k] for k in ("activations", "gradients") if k in rel]
    if imgs:
        out.append(
            Section(
                "Activations and gradients per layer",
                imgs,
                "Histograms at the last sampled step. Dead ReLUs show as a spike at 0; saturated "
                "tanh/sigmoid units pile up at the ends; gradients shrinking layer by layer toward "
                "the input mean vanishing gradients.",
            )
        )
    if diag.tensorboard is not None:
        out.append(Section("TensorBoard", [], f"tensorboard --logdir {run_dir / 'tensorboard'}"))
    return out


try:
    from nnlab.report import SECTION_PROVIDERS, register_section

    if report_sections not in SECTION_PROVIDERS:
        register_section(report_sections)
except ImportError:  # pragma: no cover - the report is optional
    pass
