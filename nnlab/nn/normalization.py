"""Batch normalization layers."""

from __future__ import annotations

import numpy as np

from nnlab.engine._args import check_bool, check_dtype
from nnlab.nn import functional as F
from nnlab.nn._checks import is_number, positive_ints
from nnlab.nn.module import Module
from nnlab.nn.parameter import Parameter


class _BatchNorm(Module):
    """Shared body of BatchNorm1d/2d.

    Training: normalize each channel with the batch's mean and variance, then scale and shift by
    learnable gamma (``weight``, init 1) and beta (``bias``, init 0), so the layer can undo the
    normalization if that is what the loss wants. The running mean/variance buffers follow an
    exponentially weighted average, running = (1 - momentum) running + momentum batch_stat
    (PyTorch's convention; the notes' beta = 1 - momentum). Evaluation: normalize with the running
    statistics, so a prediction does not depend on the rest of its batch.
    """

    _expected_ndim: tuple = ()

    def __init__(
        self,
        num_features: int,
        eps: float = 1e-5,
        momentum: float = 0.1,
        affine: bool = True,
        track_running_stats: bool = True,
        dtype=np.float32,
    ):
        super().__init__()
        name = type(self).__name__
        (num_features,) = positive_ints(name, num_features=num_features)
        if not (is_number(momentum) and 0.0 <= momentum <= 1.0):
            raise ValueError(f"{name}: momentum must lie in [0, 1], got {momentum!r}")
        if not (is_number(eps) and eps > 0):
            raise ValueError(f"{name}: eps must be a finite number > 0, got {eps!r}")
        affine, track_running_stats = (
            check_bool(name, "affine", affine),
            check_bool(name, "track_running_stats", track_running_stats),
        )
        dtype = check_dtype(name, dtype)
        self.num_features, self.eps, self.momentum = num_features, float(eps), float(momentum)
        self.affine, self.track_running_stats = affine, track_running_stats
        if affine:
            self.weight = Parameter(np.ones(self.num_features, dtype=dtype))
            self.bias = Parameter(np.zeros(self.num_features, dtype=dtype))
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)
        if track_running_stats:
            self.register_buffer("running_mean", np.zeros(self.num_features, dtype=dtype))
            self.register_buffer("running_var", np.ones(self.num_features, dtype=dtype))
        else:
            self.register_buffer("running_mean", None)
            self.register_buffer("running_var", None)

    def reset_running_stats(self) -> None:
        if self.track_running_stats:
            self.running_mean = np.zeros_like(self.running_mean)
            self.running_var = np.ones_like(self.running_var)

    @property
    def label(self) -> str:
        return f"{type(self).__name__}({self.num_features})"

    def forward(self, x):
        nd = getattr(x, "ndim", np.ndim(x))
        if nd not in self._expected_ndim:
            shapes = " or ".join({2: "(N, C)", 3: "(N, C, L)", 4: "(N, C, H, W)"}[d] for d in self._expected_ndim)
            raise ValueError(
                f"{self.label}: expected input of shape {shapes} with C={self.num_features}, "
                f"got shape {tuple(np.shape(getattr(x, 'data', x)))}"
            )
        if x.shape[1] != self.num_features:
            raise ValueError(
                f"{self.label}: expected {self.num_features} channels on axis 1, got shape {tuple(x.shape)}"
            )
        use_batch = self.training or not self.track_running_stats
        return F.batch_norm(
            x,
            self.running_mean,
            self.running_var,
            self.weight,
            self.bias,
            training=use_batch,
            momentum=self.momentum,
            eps=self.eps,
            name=self.label,
        )

    def extra_repr(self) -> str:
        return (
            f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, affine={self.affine}, "
            f"track_running_stats={self.track_running_stats}"
        )


class BatchNorm1d(_BatchNorm):
    """Batch normalization of fully connected activations, per feature.

    Shape:
        input (N, C) or (N, C, L); output the same. Statistics over N (and L).
    """

    _expected_ndim = (2, 3)


class BatchNorm2d(_BatchNorm):
    """Batch normalization of conv feature maps, per channel (the "spatial" batch norm).

    Shape:
        input (N, C, H, W); output the same. Statistics over N, H and W.
    """

    _expected_ndim = (4,)
