"""Data augmentation for NCHW float image batches.

Every transform is a callable ``t(x, rng) -> x`` on a whole batch x of shape (N, C, H, W): the
random choices (one per image) are drawn from ``rng`` (a ``np.random.Generator``) in a few
vectorized calls, and the work is done by whole-batch array operations, never a loop over images
or pixels. The same rng state gives the same output. Inputs are never modified in place.
Use them on training batches only (``DataLoader(train, transform=...)``).
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

__all__ = [
    "Transform",
    "Compose",
    "RandomHorizontalFlip",
    "RandomVerticalFlip",
    "RandomCrop",
    "RandomTranslate",
    "RandomRotation",
    "ColorJitter",
    "Grayscale",
    "RandomGrayscale",
    "rotate",
]

_LUMA = np.array([0.299, 0.587, 0.114])  # ITU-R 601 luma weights for RGB -> gray


def _check_batch(x, who: str) -> np.ndarray:
    x = np.asarray(x)
    if x.ndim != 4:
        raise ValueError(f"{who}: expected an image batch of shape (N, C, H, W), got shape {x.shape}")
    if x.dtype.kind != "f":
        x = x.astype(np.float32)
    return x


def _check_rng(rng, who: str) -> np.random.Generator:
    if not isinstance(rng, np.random.Generator):
        raise TypeError(
            f"{who}: rng must be a numpy.random.Generator (np.random.default_rng(seed)), got {type(rng).__name__}"
        )
    return rng


def _check_p(p, who: str) -> float:
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"{who}: p must be a probability in [0, 1], got {p!r}")
    return float(p)


def _pair(v, name: str, who: str) -> tuple[int, int]:
    def is_int(a):
        return isinstance(a, (int, np.integer)) and not isinstance(a, bool)

    if is_int(v):
        return int(v), int(v)
    if not isinstance(v, (tuple, list)) or len(v) != 2 or not all(is_int(a) for a in v):
        # (2.5 or (3.7, 4) would be truncated by int(): refuse rather than crop a different size)
        raise ValueError(f"{who}: {name} must be an int or a (height, width) pair of ints, got {v!r}")
    return int(v[0]), int(v[1])


class Transform:
    """Base: subclasses implement ``__call__(x, rng)``."""

    def __call__(self, x, rng):
        raise NotImplementedError

    def _args(self) -> str:
        return ""

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._args()})"


class Compose(Transform):
    """Apply transforms in order, all drawing from the same rng."""

    def __init__(self, transforms: Sequence):
        transforms = list(transforms)
        for i, t in enumerate(transforms):
            if not callable(t):
                raise TypeError(f"Compose: item {i} is not callable t(x, rng): {t!r}")
        self.transforms = transforms

    def __call__(self, x, rng):
        for t in self.transforms:
            x = t(x, rng)
        return x

    def __repr__(self) -> str:
        inner = "".join(f"\n    {t!r}," for t in self.transforms)
        return f"Compose([{inner}\n])" if inner else "Compose([])"


class _RandomFlip(Transform):
    axis = -1

    def __init__(self, p: float = 0.5):
        self.p = _check_p(p, type(self).__name__)

    def __call__(self, x, rng):
        who = type(self).__name__
        x = _check_batch(x, who)
        flip = _check_rng(rng, who).random(len(x)) < self.p
        return np.where(flip[:, None, None, None], np.flip(x, axis=self.axis), x)

    def _args(self):
        return f"p={self.p}"


class RandomHorizontalFlip(_RandomFlip):
    """Mirror each image left-right with probability p."""

    axis = -1


class RandomVerticalFlip(_RandomFlip):
    """Mirror each image top-bottom with probability p."""

    axis = -2


class RandomCrop(Transform):
    """Zero-pad by ``padding`` on every side, then cut a random ``size`` window per image.

    The batch is padded once and every window is gathered in one fancy-indexing step from a
    sliding-window view (no copies of the windows until the gather).
    """

    def __init__(self, size: int | tuple[int, int], padding: int | tuple[int, int] = 0):
        self.size = _pair(size, "size", "RandomCrop")
        self.padding = _pair(padding, "padding", "RandomCrop")
        if min(self.size) < 1 or min(self.padding) < 0:
            raise ValueError(
                f"RandomCrop: size must be positive and padding >= 0, got size={self.size}, padding={self.padding}"
            )

    def __call__(self, x, rng):
        who = type(self).__name__
        x = _check_batch(x, who)
        return _random_crop(x, _check_rng(rng, who), self.size, self.padding, who)

    def _args(self):
        return f"size={self.size}, padding={self.padding}"


def _random_crop(x, rng, size, padding, who):
    n, _, h, w = x.shape
    (ch, cw), (ph, pw) = size, padding
    if ch > h + 2 * ph or cw > w + 2 * pw:
        raise ValueError(f"{who}: a {ch}x{cw} window does not fit a {h}x{w} image padded by ({ph}, {pw})")
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw))) if ph or pw else x
    top = rng.integers(0, xp.shape[2] - ch + 1, size=n)
    left = rng.integers(0, xp.shape[3] - cw + 1, size=n)
    windows = sliding_window_view(xp, (ch, cw), axis=(2, 3))  # (N, C, H', W', ch, cw), a view
    return windows[np.arange(n), :, top, left]  # advanced axes go first: (N, C, ch, cw)


class RandomTranslate(Transform):
    """Shift each image by up to ``max_shift`` pixels in each direction, filling with zeros
    (a same-size random crop of the zero-padded image)."""

    def __init__(self, max_shift: int | tuple[int, int]):
        self.max_shift = _pair(max_shift, "max_shift", "RandomTranslate")
        if min(self.max_shift) < 0:
            raise ValueError(f"RandomTranslate: max_shift must be >= 0, got {max_shift!r}")

    def __call__(self, x, rng):
        who = type(self).__name__
        x = _check_batch(x, who)
        return _random_crop(x, _check_rng(rng, who), x.shape[2:], self.max_shift, who)

    def _args(self):
        return f"max_shift={self.max_shift}"


class RandomRotation(Transform):
    """Rotate each image about its centre by an angle uniform in [-degrees, degrees].

    Inverse mapping: every output pixel looks up the input at its back-rotated coordinates, for
    the whole batch at once; bilinear (or nearest) sampling, zeros outside the image.
    """

    def __init__(self, degrees: float | tuple[float, float], interpolation: str = "bilinear"):
        lo, hi = (-abs(degrees), abs(degrees)) if np.isscalar(degrees) else tuple(degrees)
        if not lo <= hi:
            raise ValueError(f"RandomRotation: degrees range must have min <= max, got {degrees!r}")
        if interpolation not in ("bilinear", "nearest"):
            raise ValueError(f"RandomRotation: interpolation must be 'bilinear' or 'nearest', got {interpolation!r}")
        self.degrees = (float(lo), float(hi))
        self.interpolation = interpolation

    def __call__(self, x, rng):
        who = type(self).__name__
        x = _check_batch(x, who)
        theta = np.deg2rad(_check_rng(rng, who).uniform(*self.degrees, size=len(x)))
        return rotate(x, theta, self.interpolation)

    def _args(self):
        return f"degrees={self.degrees}, interpolation={self.interpolation!r}"


def rotate(x: np.ndarray, theta: np.ndarray, interpolation: str = "bilinear") -> np.ndarray:
    """Rotate image i of x (N, C, H, W) counter-clockwise by theta[i] radians about its centre."""
    n, c, h, w = x.shape
    cy, cx = (h - 1) / 2.0, (w - 1) / 2.0
    ft = x.dtype  # coordinates in the image dtype: float32 batches stay float32 throughout
    yy, xx = np.meshgrid(np.arange(h, dtype=ft) - ft.type(cy), np.arange(w, dtype=ft) - ft.type(cx), indexing="ij")
    theta = np.asarray(theta, dtype=ft)
    cos, sin = np.cos(theta)[:, None, None], np.sin(theta)[:, None, None]
    # Back-rotate output coordinates (row axis points down, so the signs below give a visual
    # counter-clockwise turn for positive theta).
    sx = cos * xx - sin * yy + ft.type(cx)
    sy = sin * xx + cos * yy + ft.type(cy)
    # Two rows/columns of zeros around every image, and coordinates clamped into that border:
    # any read outside the image then lands on zeros. One flat index per output pixel (top-left
    # neighbour) serves all four corners (+1, +row, +row+1) through 1-D takes, the fastest gather.
    hp, wp = h + 4, w + 4
    flat = np.pad(x, ((0, 0), (0, 0), (2, 2), (2, 2))).reshape(-1)
    sy = np.clip(sy, -2, h)
    sx = np.clip(sx, -2, w)
    base = ((np.arange(n)[:, None] * c + np.arange(c)) * (hp * wp))[:, :, None]  # (N, C, 1)

    def index(iy, ix):  # (N, H, W) coordinates in the padded image -> (N, C, H*W) flat indices
        return (iy * wp + ix).reshape(n, 1, h * w) + base

    if interpolation == "nearest":
        i = index(np.rint(sy).astype(np.intp) + 2, np.rint(sx).astype(np.intp) + 2)
        out = flat.take(i)
    else:
        y0, x0 = np.floor(sy), np.floor(sx)
        fy, fx = (sy - y0).reshape(n, 1, h * w), (sx - x0).reshape(n, 1, h * w)
        i = index(y0.astype(np.intp) + 2, x0.astype(np.intp) + 2)
        top_left, top_right = flat.take(i), flat.take(i + 1)
        bottom_left, bottom_right = flat.take(i + wp), flat.take(i + wp + 1)
        top = top_left + fx * (top_right - top_left)
        bottom = bottom_left + fx * (bottom_right - bottom_left)
        out = top + fy * (bottom - top)
    return out.reshape(n, c, h, w).astype(x.dtype, copy=False)


class ColorJitter(Transform):
    """Random brightness, contrast and saturation, one factor per image and property, each
    uniform in [max(0, 1 - s), 1 + s]:

    brightness: x * f;  contrast: mean + f * (x - mean), mean = the image's mean gray level;
    saturation (RGB only): gray + f * (x - gray). Results are clipped to ``clip`` (default
    [0, 1], the range of loaded images; None to disable); an input outside that range is an error
    rather than silently flattened.
    """

    def __init__(
        self,
        brightness: float = 0.0,
        contrast: float = 0.0,
        saturation: float = 0.0,
        clip: tuple[float, float] | None = (0.0, 1.0),
    ):
        for name, v in (("brightness", brightness), ("contrast", contrast), ("saturation", saturation)):
            if not v >= 0:
                raise ValueError(f"ColorJitter: {name} must be >= 0, got {v!r}")
        self.brightness, self.contrast, self.saturation = float(brightness), float(contrast), float(saturation)
        self.clip = None if clip is None else (float(clip[0]), float(clip[1]))

    @staticmethod
    def _factors(rng, strength, n):
        return rng.uniform(max(0.0, 1.0 - strength), 1.0 + strength, size=n)[:, None, None, None]

    def __call__(self, x, rng):
        who = type(self).__name__
        x = _check_batch(x, who)
        rng = _check_rng(rng, who)
        if self.clip is not None and x.size:
            lo, hi = float(x.min()), float(x.max())
            if lo < self.clip[0] or hi > self.clip[1]:
                # clipping would silently flatten everything outside the range (0-255 pixels,
                # standardized data): the caller must state the range
                raise ValueError(
                    f"{who}: input values span [{lo:g}, {hi:g}], outside clip={self.clip}; "
                    f"pass the data's range as clip=(lo, hi), or clip=None"
                )
        n, c = x.shape[:2]
        out = x
        if self.brightness:
            out = out * self._factors(rng, self.brightness, n)
        if self.contrast:
            mean = _gray(out).mean(axis=(1, 2, 3), keepdims=True)
            out = mean + self._factors(rng, self.contrast, n) * (out - mean)
        if self.saturation and c == 3:
            gray = _gray(out)
            out = gray + self._factors(rng, self.saturation, n) * (out - gray)
        if self.clip is not None:
            out = np.clip(out, *self.clip)
        return out.astype(x.dtype, copy=False)

    def _args(self):
        return f"brightness={self.brightness}, contrast={self.contrast}, saturation={self.saturation}, clip={self.clip}"


def _gray(x: np.ndarray) -> np.ndarray:
    """(N, 1, H, W) luma of RGB images (or the image itself when it has one channel)."""
    if x.shape[1] == 3:
        return np.tensordot(_LUMA.astype(x.dtype), x, axes=([0], [1]))[:, None]
    if x.shape[1] == 1:
        return x
    return x.mean(axis=1, keepdims=True)


class Grayscale(Transform):
    """RGB -> gray (0.299 R + 0.587 G + 0.114 B), with 1 or 3 (repeated) output channels.
    One-channel input passes through (repeated if 3 channels are asked for)."""

    def __init__(self, num_output_channels: int = 1):
        if num_output_channels not in (1, 3):
            raise ValueError(f"Grayscale: num_output_channels must be 1 or 3, got {num_output_channels!r}")
        self.num_output_channels = num_output_channels

    def __call__(self, x, rng=None):
        x = _check_batch(x, type(self).__name__)
        g = _gray(x).astype(x.dtype, copy=False)
        return np.repeat(g, 3, axis=1) if self.num_output_channels == 3 else g

    def _args(self):
        return f"num_output_channels={self.num_output_channels}"


class RandomGrayscale(Transform):
    """Turn each image gray with probability p, keeping the channel count."""

    def __init__(self, p: float = 0.1):
        self.p = _check_p(p, "RandomGrayscale")

    def __call__(self, x, rng):
        who = type(self).__name__
        x = _check_batch(x, who)
        pick = _check_rng(rng, who).random(len(x)) < self.p
        gray = np.broadcast_to(_gray(x), x.shape)
        return np.where(pick[:, None, None, None], gray, x).astype(x.dtype, copy=False)

    def _args(self):
        return f"p={self.p}"
