"""Spatial-size arithmetic the builders use to size their first fully connected layer."""

from __future__ import annotations


def conv_out(size: int, kernel: int, stride: int = 1, padding: int = 0, dilation: int = 1, where: str = "layer") -> int:
    """Output width of a convolution or pooling window: (W - F_eff + 2P) / S + 1.

    The division must be exact: the layers refuse windows that do not tile the input, so a
    builder checks its geometry before creating weights and names the size that does not fit.
    """
    span = dilation * (kernel - 1) + 1
    num = size - span + 2 * padding
    if num < 0 or num % stride:
        raise ValueError(
            f"{where}: (W - F + 2P)/S + 1 = ({size} - {span} + 2*{padding})/{stride} + 1 "
            f"= {num / stride + 1:g} is not a whole positive number; choose another input_size"
        )
    return num // stride + 1


def chain_out(size: int, steps, model: str) -> int:
    """The output side after ``steps`` ((name, kernel, stride, padding) windows in order); when a
    step does not fit, the error also names the nearest input sizes for which every step fits."""

    def run(s):
        for name, k, st, p in steps:
            s = conv_out(s, k, st, p, where=f"{model} {name}")
        return s

    try:
        return run(size)
    except ValueError as e:
        fits = []
        for c in sorted(range(max(1, size - 64), size + 65), key=lambda c: (abs(c - size), c)):
            try:
                run(c)
            except ValueError:
                continue
            fits.append(c)
            if len(fits) == 2:
                break
        hint = f" (input sizes that fit: {', '.join(map(str, sorted(fits)))})" if fits else ""
        raise ValueError(f"{e}{hint}") from None


def check_size(input_size, name: str) -> int:
    """Accept an int or a square (H, W) pair; return the side."""
    if isinstance(input_size, (tuple, list)):
        if len(input_size) != 2 or input_size[0] != input_size[1]:
            raise ValueError(f"{name}: input_size must be an int or a square (H, W) pair, got {input_size!r}")
        input_size = input_size[0]
    if not isinstance(input_size, int) or input_size < 1:
        raise ValueError(f"{name}: input_size must be a positive int, got {input_size!r}")
    return input_size
