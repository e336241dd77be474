"""FC-to-conv conversion: evaluate a classifier at every window position of a larger image in one pass.

A fully connected layer that sees a C x H x W volume is a convolution with H x W filters of depth C
(one filter per output unit); the FC layers after it are 1x1 convolutions. After the conversion
the network slides over a larger input: each output position holds the scores of one input
window, windows placed ``total stride`` pixels apart (the product of the trunk's strides; 32 for
the notes' 224-in-384 example, which gives 6x6 positions).

Exactness. The converted network computes, at each position, exactly what the original computes
on the cropped window when the trunk does not zero-pad (and the window offsets are multiples of
the total stride). With zero padding a cropped window's border sees zeros, while inside the larger
image the same positions see the neighbouring pixels, so the scores differ. Measured in
tests/nn/test_convert.py (6x6 windows of 16 on a 36 image, two padded 3x3 convolutions): the
largest difference is 3.4 on scores of magnitude 11 (about 30%), while the unpadded twin agrees
to 5e-6 (float32 rounding). Padded trunks give a useful dense map, not the crops' exact scores.
The dense pass shares the overlapping work that the crops repeat (timings in docs/benchmarks.md).
"""

from __future__ import annotations

import numpy as np

from nnlab.engine.autograd import no_grad
from nnlab.engine.tensor import Tensor

__all__ = ["to_fully_convolutional", "total_stride"]

_PASS_THROUGH = ("ReLU", "LeakyReLU", "Sigmoid", "Tanh", "ELU", "GELU", "Dropout", "Identity")


def _chain(module):
    """The module's layers in application order, expanding Sequentials (and the top-level model's
    children, which must be applied in registration order)."""
    from nnlab.nn.container import Sequential

    def expand(m):
        if isinstance(m, Sequential):
            for c in m.children():
                yield from expand(c)
        else:
            yield m

    if isinstance(module, Sequential):
        return list(expand(module))
    children = list(module.children())
    if not children:
        return [module]
    out = []
    for c in children:
        out.extend(expand(c))
    return out


def total_stride(model) -> int:
    """Input pixels between neighbouring window positions of the converted network: the product of
    the (horizontal) strides of the conv trunk's layers."""
    stride = 1
    for layer in _split(model)[0]:
        for m in layer.modules():
            s = getattr(m, "stride", None)
            if s is not None and hasattr(m, "kernel_size"):
                stride *= int(s[-1] if isinstance(s, (tuple, list)) else s)
    return stride


def _split(model):
    layers = _chain(model)
    names = [type(m).__name__ for m in layers]
    if "Linear" not in names:
        raise ValueError(
            f"to_fully_convolutional: {type(model).__name__} has no Linear layer to convert "
            f"(layers: {', '.join(names)})"
        )
    first_fc = names.index("Linear")
    cut = first_fc
    while cut > 0 and names[cut - 1] in ("Flatten",) + _PASS_THROUGH:
        cut -= 1
    if "Flatten" not in names[cut:first_fc]:
        raise ValueError(
            f"to_fully_convolutional: expected a Flatten between the conv trunk and the first "
            f"Linear layer, got {names[cut : first_fc + 1]}"
        )
    return layers[:cut], layers[cut:]


def _run(layers, x):
    for m in layers:
        x = m(x)
    return x


def _trunk_shape(trunk, input_shape, model):
    dtype = next((p.data.dtype for p in model.parameters()), np.float32)
    modes = [(m, m.training) for m in model.modules()]
    model.eval()
    try:
        with no_grad():
            out = _run(trunk, Tensor(np.zeros((1, *input_shape), dtype=dtype)))
    finally:
        for m, mode in modes:
            object.__setattr__(m, "training", mode)
    if out.ndim != 4:
        raise ValueError(
            f"to_fully_convolutional: the trunk must produce an (N, C, H, W) volume, got shape {out.shape}"
        )
    return out.shape[1:]


def to_fully_convolutional(model, input_shape, check: bool = True):
    """A Sequential that replaces the Flatten + Linear head of ``model`` by equivalent convolutions.

    Args:
        model: a Sequential, or a module whose children are applied in registration order (the zoo's
            features -> flatten -> classifier models); the layers after the trunk may be Linear,
            Flatten, activations, Dropout and Identity.
        input_shape: the (C, H, W) input the model was built for (the window size).
        check: run both networks on a random input of ``input_shape`` and raise if they disagree
            (catches models whose forward is not the chain of their children).

    Returns:
        ``nn.Sequential(*trunk, *converted head)``. The trunk layers are shared with ``model``; the new
        convolutions hold copies of the FC weights. On a (C, H', W') input it returns
        (N, classes, (H' - H) / stride + 1, (W' - W) / stride + 1) scores.
    """
    from nnlab.nn.container import Sequential
    from nnlab.nn.conv import Conv2d

    input_shape = tuple(int(d) for d in input_shape)
    if len(input_shape) != 3:
        raise ValueError(f"to_fully_convolutional: input_shape must be (C, H, W), got {input_shape}")
    trunk, head = _split(model)
    c, h, w = _trunk_shape(trunk, input_shape, model)
    converted, first = [], True
    for m in head:
        kind = type(m).__name__
        if kind == "Flatten":
            continue
        if kind in _PASS_THROUGH:
            converted.append(m)
            continue
        if kind != "Linear":
            raise TypeError(
                f"to_fully_convolutional: cannot convert a {kind} layer after the conv trunk "
                f"(supported: Linear, Flatten, {', '.join(_PASS_THROUGH)})"
            )
        W = m.weight.data
        out_f, in_f = W.shape
        if first:
            if in_f != c * h * w:
                raise ValueError(
                    f"to_fully_convolutional: the first Linear expects {in_f} inputs but the trunk "
                    f"gives {c}x{h}x{w} = {c * h * w} at input {input_shape}"
                )
            conv = Conv2d(c, out_f, (h, w), bias=m.bias is not None, dtype=W.dtype)
            conv.weight.data = W.reshape(out_f, c, h, w).astype(W.dtype, copy=True)
            first = False
        else:
            conv = Conv2d(in_f, out_f, 1, bias=m.bias is not None, dtype=W.dtype)
            conv.weight.data = W.reshape(out_f, in_f, 1, 1).astype(W.dtype, copy=True)
        conv.weight.requires_grad = m.weight.requires_grad  # a frozen head stays frozen
        if m.bias is not None:
            conv.bias.data = m.bias.data.astype(m.bias.data.dtype, copy=True)
            conv.bias.requires_grad = m.bias.requires_grad
        converted.append(conv)
    fcn = Sequential(*trunk, *converted)
    if check:
        _check(model, fcn, input_shape)
    return fcn


def _check(model, fcn, input_shape):
    dtype = next((p.data.dtype for p in model.parameters()), np.float32)
    x = np.random.default_rng(0).standard_normal((1, *input_shape)).astype(dtype)  # leaves nnlab's seed alone
    modes = [(m, m.training) for m in model.modules()]
    model.eval()
    fcn.eval()
    try:
        with no_grad():
            a = model(Tensor(x)).data
            b = fcn(Tensor(x)).data
    finally:
        for m, mode in modes:
            object.__setattr__(m, "training", mode)
    b = b.reshape(b.shape[0], -1)
    tol = 1e-4 if np.dtype(dtype) == np.float32 else 1e-9
    scale = max(1.0, float(np.abs(a).max()))
    if a.shape != b.shape or np.abs(a - b).max() > tol * scale:
        raise ValueError(
            f"to_fully_convolutional: the converted network disagrees with {type(model).__name__} "
            f"on a {input_shape} input (is its forward the chain of its children?)"
        )
