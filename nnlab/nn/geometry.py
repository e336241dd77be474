"""How convolution and pooling treat sizes that do not fit, and who gets told.

The notes insist that (W - F + 2P)/S + 1 be a whole number: otherwise the last rows/columns of the
input are never seen by any window, silently. PyTorch floors the output size instead (or rounds
it up with ``ceil_mode=True``), and torch programs rely on that (``F.max_pool2d(x, 3, 2)`` on an
8x8 input). nnlab follows PyTorch by default and keeps the notes' lesson in two places:

- every conv/pool call whose windows drop input rows or columns is recorded while a
  ``recording()`` block is open; ``nnlab.summary`` and ``nnlab check`` open one and list them;
- strict geometry (``nnlab.set_strict_geometry(True)``, or ``strict=True`` on a layer, or
  ``rounding="exact"``) turns those sizes back into the notes' ValueError with suggestions.

``resolve`` turns a layer's or function's (rounding, ceil_mode, strict) into the rounding mode the
engine's output-size formula takes: "exact", "floor" or "ceil".
"""

from __future__ import annotations

import contextlib
import threading

__all__ = ["set_strict_geometry", "strict_geometry", "resolve", "recording", "dropped"]

_STRICT = [False]
_local = threading.local()


def set_strict_geometry(flag: bool = True) -> None:
    """Make every conv/pool size that does not fit exactly an error (the notes' rule), unless a
    layer or call asks for ``rounding="floor"`` or ``ceil_mode=True`` itself."""
    _STRICT[0] = bool(flag)


def strict_geometry() -> bool:
    return _STRICT[0]


def resolve(rounding, ceil_mode: bool = False, strict=None, name: str = "layer") -> str:
    """The rounding mode for one call: an explicit ``rounding`` wins, then ``ceil_mode``, then
    strictness (per layer, else global): "exact" when strict, PyTorch's "floor" otherwise."""
    if rounding is not None:
        if rounding not in ("exact", "floor", "ceil"):
            raise ValueError(f"{name}: rounding must be 'exact', 'floor' or 'ceil', got {rounding!r}")
        return rounding
    if ceil_mode:
        return "ceil"
    if strict is None:
        strict = _STRICT[0]
    return "exact" if strict else "floor"


def ceil_size(size: int, k_eff: int, s: int, p: int) -> int:
    """PyTorch's ceil_mode output size: round up, but the last window must start inside the input
    or its left padding."""
    span = size - k_eff + 2 * p
    out = -(-span // s) + 1
    if (out - 1) * s >= size + p:
        out -= 1
    return out


@contextlib.contextmanager
def recording():
    """Collect ``dropped`` notes of the conv/pool calls inside the block (a list, yielded)."""
    prev = getattr(_local, "notes", None)
    _local.notes = notes = []
    try:
        yield notes
    finally:
        _local.notes = prev


def dropped(name: str, in_hw, k, s, p, d=(1, 1), rounding="floor") -> None:
    """Record that ``name`` (floor rounding) leaves input rows/columns unseen, if it does and a
    ``recording()`` block is open."""
    notes = getattr(_local, "notes", None)
    if notes is None or rounding != "floor":
        return
    lost = []
    for axis, size, kk, ss, pp, dd in zip(("rows", "columns"), in_hw, k, s, p, d):
        k_eff = dd * (kk - 1) + 1
        span = size - k_eff + 2 * pp
        if span >= 0 and span % ss:
            lost.append(f"the last {span % ss} input {axis if span % ss > 1 else axis[:-1]}")
    if lost:
        notes.append(
            f"{name}: input {in_hw[0]}x{in_hw[1]} with kernel {k}, stride {s}, padding {p}: "
            f"no window reaches {' and '.join(lost)} ((W - F + 2P)/S + 1 is not whole; "
            f"floored as PyTorch does)"
        )
