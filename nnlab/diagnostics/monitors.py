"""Training monitors: callbacks that watch the quantities the notes say to babysit, and read them.

- ``UpdateRatioMonitor``: ||update|| / ||parameter|| per parameter tensor (about 1e-3 is healthy;
  far below: learning rate too low; far above: too high).
- ``ActivationMonitor``: every ``every`` steps, per-layer activation and gradient statistics and
  histograms: dead ReLU fraction, saturated tanh/sigmoid fraction, activations collapsing to zero,
  gradient norms by depth (vanishing / exploding gradients).
- ``LossCurveMonitor``: reads the per-iteration loss: noise against batch size, a slow linear
  decrease (learning rate too low), an early plateau at a high loss or a rising loss (too high);
  a NaN/Inf loss stops training at once, restores the last good weights, keeps the last good
  checkpoint and says to lower the learning rate.
- ``BiasVarianceMonitor``: the train/dev error gap read as the notes' four cases (004) with advice.

Each monitor collects ``findings`` (``Finding(kind, message, advice)``); ``diagnose(monitors)``
gathers them. The monitors are cheap: per step at most a copy and two norms per parameter tensor
(update ratios, sampled every ``every`` steps) and a finiteness test of the loss; the histogram
work happens on sampled steps only.
"""

from __future__ import annotations

import numpy as np

from nnlab.diagnostics.activations import ActivationMonitor, activation_stats, gradient_stats
from nnlab.diagnostics.bias_variance import BiasVarianceMonitor, read_bias_variance
from nnlab.diagnostics.findings import Finding, TrainingDiverged
from nnlab.diagnostics.loss_curve import LossCurveMonitor, read_initial_loss, read_loss_curve
from nnlab.diagnostics.update_ratio import UpdateRatioMonitor

__all__ = [
    "Finding",
    "TrainingDiverged",
    "UpdateRatioMonitor",
    "ActivationMonitor",
    "LossCurveMonitor",
    "BiasVarianceMonitor",
    "read_loss_curve",
    "read_initial_loss",
    "read_bias_variance",
    "diagnose",
    "activation_stats",
    "gradient_stats",
]


def diagnose(monitors) -> list:
    """All findings of the given monitors (callbacks without ``diagnose`` are skipped).

    One cross-reading: a slowly falling loss says "learning rate too low" only if the updates are
    small too. When the update/parameter ratio is on the high side (above 3e-3) the loss-curve
    finding becomes ``slow_progress``: a larger learning rate would not help."""
    out = []
    for m in monitors:
        if hasattr(m, "diagnose"):
            out.extend(m.diagnose())
    upd = next((m for m in monitors if isinstance(m, UpdateRatioMonitor)), None)
    ratio = upd.median() if upd is not None else float("nan")
    if np.isfinite(ratio) and ratio > 3e-3:
        for i, f in enumerate(out):
            if f.kind == "lr_too_low" and f.source == "loss curve":
                out[i] = Finding(
                    "slow_progress",
                    f"{f.message}, although the updates are large (update/parameter ratio {ratio:.1e})",
                    "a higher learning rate is unlikely to help: the network may "
                    "be too small for the data (see bias/variance) or its gradients vanish (see the "
                    "activations)",
                    f.source,
                )
    return out
