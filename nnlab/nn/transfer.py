"""Transfer learning: reuse a trained trunk on a new task.

The notes' recipe: take a network trained on a large dataset, remove its last layer and put in a
classifier for the new classes, freeze the other layers (they keep their weights during gradient
descent) and train. The lower layers detect generic features (edges, curves) that transfer;
the more the new data differ, the more of the upper layers should be trained too, usually with a
smaller learning rate than the new head (per-layer learning rates through optimizer parameter
groups). With very little data, run the frozen trunk once and train only a classifier on the
extracted features.

Frozen parameters (``requires_grad = False``) receive no gradient in backward and the optimizers
skip parameters whose gradient is None, so they are not updated (no weight decay either).
"""

from __future__ import annotations

import numpy as np

from nnlab.engine.autograd import no_grad
from nnlab.engine.tensor import Tensor

__all__ = [
    "find_head",
    "replace_head",
    "freeze",
    "unfreeze",
    "freeze_trunk",
    "trainable_parameters",
    "param_groups",
    "extract_features",
    "split_trunk_head",
]


def _parent(model, dotted: str):
    parent = model
    *path, leaf = dotted.split(".")
    for p in path:
        parent = getattr(parent, p)
    return parent, leaf


def find_head(model, kind: str | None = None) -> tuple[str, object]:
    """(dotted name, module) of the model's last ``kind`` layer in registration order: the classifier
    head of the zoo models. By default the last Linear layer, or the last Conv2d when the model has
    no Linear layer (NIN, whose classifier is a 1x1 convolution giving one map per class)."""
    kinds = [kind] if kind is not None else ["Linear", "Conv2d"]
    for k in kinds:
        found = [(n, m) for n, m in model.named_modules() if n and type(m).__name__ == k]
        if found:
            return found[-1]
    raise ValueError(f"find_head: {type(model).__name__} has no {' or '.join(kinds)} layer")


def replace_head(model, num_classes: int, name: str | None = None):
    """Swap the head (``find_head``'s layer, or the layer at dotted ``name``) for a freshly
    initialised one with ``num_classes`` outputs: a Linear(in_features, num_classes), or for a
    convolutional head a Conv2d with the same geometry and ``num_classes`` filters. Returns the
    new layer; the rest of the model is unchanged."""
    from nnlab.nn.conv import Conv2d
    from nnlab.nn.linear import Linear

    if isinstance(num_classes, bool) or not isinstance(num_classes, (int, np.integer)) or num_classes < 1:
        raise ValueError(f"replace_head: num_classes must be a positive int, got {num_classes!r}")
    if name is None:
        name, old = find_head(model)
    else:
        old = dict(model.named_modules()).get(name)
        if old is None or not name:
            raise ValueError(f"replace_head: {type(model).__name__} has no layer {name!r}")
    dtype = old.weight.data.dtype if hasattr(old, "weight") else None
    if isinstance(old, Linear):
        new = Linear(old.in_features, int(num_classes), bias=old.bias is not None, dtype=dtype)
    elif isinstance(old, Conv2d):
        if old.groups != 1:
            raise TypeError(f"replace_head: layer {name!r} is a grouped convolution; name an ungrouped head")
        new = Conv2d(
            old.in_channels,
            int(num_classes),
            old.kernel_size,
            stride=old.stride,
            padding=old.padding,
            dilation=old.dilation,
            bias=old.bias is not None,
            rounding=old.rounding,
            dtype=dtype,
        )
    else:
        raise TypeError(f"replace_head: layer {name!r} is a {type(old).__name__}; expected a Linear or Conv2d layer")
    parent, leaf = _parent(model, name)
    setattr(parent, leaf, new)  # re-registering an existing name keeps its place in a Sequential
    return new


def _modules_of(model, names):
    if names is None:
        return [model]
    if isinstance(names, str):
        names = [names]
    table = dict(model.named_modules())
    missing = [n for n in names if n not in table]
    if missing:
        raise ValueError(
            f"{type(model).__name__} has no sub-module(s) {missing}; top-level ones: "
            f"{[n for n, _ in model.named_children()]}"
        )
    return [table[n] for n in names]


def freeze(model, names=None):
    """Stop gradients for the whole model or the named sub-modules (dotted names); returns model."""
    for m in _modules_of(model, names):
        for p in m.parameters():
            p.requires_grad = False
            p.grad = None
    return model


def unfreeze(model, names=None):
    """Let gradients flow again into the whole model or the named sub-modules; returns model."""
    for m in _modules_of(model, names):
        for p in m.parameters():
            p.requires_grad = True
    return model


def split_trunk_head(model, head: str | None = None):
    """(trunk parameter names, head parameter names); the head is ``head`` (a dotted module name)
    or ``find_head``'s layer."""
    head = head if head is not None else find_head(model)[0]
    names = [n for n, _ in model.named_parameters()]
    in_head = [n for n in names if n == head or n.startswith(head + ".")]
    if not in_head:
        raise ValueError(f"split_trunk_head: no parameters under {head!r}")
    return [n for n in names if n not in in_head], in_head


def freeze_trunk(model, head: str | None = None):
    """Freeze everything except the head (default: ``find_head``'s layer); returns model."""
    trunk, head_names = split_trunk_head(model, head)
    params = dict(model.named_parameters())
    for n in trunk:
        params[n].requires_grad = False
        params[n].grad = None
    for n in head_names:
        params[n].requires_grad = True
    return model


def trainable_parameters(model):
    """The parameters that still require gradients (what to give the optimizer after freezing)."""
    return [p for p in model.parameters() if p.requires_grad]


def param_groups(model, lrs: dict, default_lr: float | None = None, skip_frozen: bool = True) -> list[dict]:
    """Optimizer parameter groups with one learning rate per sub-module.

    ``lrs`` maps dotted module names (prefixes of parameter names) to learning rates; the longest
    matching prefix wins. Parameters matched by no prefix get ``default_lr`` (an error when None,
    so that nothing is silently left untrained). Frozen parameters are left out unless
    ``skip_frozen=False``. Example, fine-tuning a small trunk rate and a larger head rate:
    ``SGD(param_groups(net, {"features": 1e-3, "classifier": 1e-2}), lr=1e-2)``.
    """
    if not isinstance(lrs, dict) or not lrs:
        raise TypeError(f"param_groups: lrs must be a non-empty dict of module name -> lr, got {lrs!r}")
    table = dict(model.named_modules())
    unknown = [k for k in lrs if k not in table]
    if unknown:
        raise ValueError(f"param_groups: {type(model).__name__} has no sub-module(s) {unknown}")
    prefixes = sorted(lrs, key=len, reverse=True)
    groups: dict = {}
    for name, p in model.named_parameters():
        if skip_frozen and not p.requires_grad:
            continue
        key = next((k for k in prefixes if name == k or name.startswith(k + ".") or k == ""), None)
        if key is None:
            if default_lr is None:
                raise ValueError(
                    f"param_groups: parameter {name!r} matches none of {list(lrs)}; pass default_lr or name its module"
                )
            key = None
        groups.setdefault(key, []).append(p)
    out = []
    for key, params in groups.items():
        lr = default_lr if key is None else lrs[key]
        out.append({"params": params, "lr": float(lr), "name": key if key is not None else "(default)"})
    return out


def extract_features(trunk, X, batch_size: int = 256) -> np.ndarray:
    """Run a (frozen) trunk once over X in eval mode without recording a graph; returns an
    (N, features) array (each output flattened), ready to train a classifier on."""
    X = X.data if isinstance(X, Tensor) else np.asarray(X)
    if X.ndim < 2 or len(X) == 0:
        raise ValueError(f"extract_features: X must be a non-empty batch (N, ...), got shape {X.shape}")
    if not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise ValueError(f"extract_features: batch_size must be a positive int, got {batch_size!r}")
    dtype = next((p.data.dtype for p in trunk.parameters()), np.float32)
    modes = [(m, m.training) for m in trunk.modules()]
    trunk.eval()
    outs = []
    try:
        with no_grad():
            for i in range(0, len(X), batch_size):
                out = trunk(Tensor(np.asarray(X[i : i + batch_size], dtype=dtype)))
                outs.append(out.data.reshape(len(out.data), -1))
    finally:
        for m, mode in modes:
            object.__setattr__(m, "training", mode)
    return np.concatenate(outs)
