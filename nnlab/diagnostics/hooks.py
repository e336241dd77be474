"""Forward hooks and gradient taps, for looking inside a network without changing its code.

``register_forward_hook(module, fn)`` wraps the module *instance's* ``forward`` (an instance
attribute shadows the class method, and ``Module.__call__`` calls ``self.forward``), so nothing in
the engine or in ``Module`` is touched and other instances of the class are unaffected. ``fn(module,
inputs, output)`` may return a replacement output (used to insert a gradient tap).

``tap(x, fn)`` inserts an identity gate whose backward calls ``fn(grad)`` with dL/dx: the gradient
that flows into a layer's output, which the parameter gradients alone do not show.
"""

from __future__ import annotations

from nnlab.engine.function import Function
from nnlab.engine.tensor import Tensor

__all__ = ["register_forward_hook", "HookHandle", "tap", "remove_all_hooks"]

_ATTR = "_diag_forward_hooks"


class HookHandle:
    """Returned by ``register_forward_hook``; ``remove()`` takes the hook off again."""

    def __init__(self, module, fn):
        self.module, self.fn = module, fn

    def remove(self) -> None:
        m = self.module
        hooks = m.__dict__.get(_ATTR)
        if hooks is None:
            return
        if self.fn in hooks:
            hooks.remove(self.fn)
        if not hooks:  # restore the class forward
            del m.__dict__[_ATTR]
            m.__dict__.pop("forward", None)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.remove()


def register_forward_hook(module, fn) -> HookHandle:
    """Call ``fn(module, inputs, output)`` after each forward of this module instance.

    If ``fn`` returns something other than None, it replaces the output. Hooks run in the order
    they were registered. Returns a handle whose ``remove()`` undoes the registration.
    """
    if not callable(fn):
        raise TypeError(
            f"register_forward_hook: fn must be callable fn(module, inputs, output), got {type(fn).__name__}"
        )
    if not hasattr(module, "forward"):
        raise TypeError(f"register_forward_hook: expected an nnlab Module, got {type(module).__name__}")
    d = module.__dict__
    hooks = d.get(_ATTR)
    if hooks is None:
        hooks = []
        d[_ATTR] = hooks
        d["forward"] = _HookedForward(module, hooks)
    hooks.append(fn)
    return HookHandle(module, fn)


class _HookedForward:
    """The instance-level ``forward``: the class's forward, then the hooks. An object rather than a
    closure so that ``copy.deepcopy`` of the module gives a copy whose forward runs the copy."""

    def __init__(self, module, hooks):
        self.module, self.hooks = module, hooks

    def __call__(self, *args, **kwargs):
        m = self.module
        out = type(m).forward(m, *args, **kwargs)
        for h in list(self.hooks):
            r = h(m, args, out)
            if r is not None:
                out = r
        return out


def remove_all_hooks(module) -> None:
    """Take every diagnostics hook off ``module`` and its sub-modules."""
    for m in module.modules():
        m.__dict__.pop(_ATTR, None)
        m.__dict__.pop("forward", None)


class _Tap(Function):
    """y = x; dL/dx = dL/dy (identity), with dL/dy handed to a callback on the way back."""

    def forward(self, x, *, fn):
        self.fn = fn
        return x

    def backward(self, g):
        self.fn(g)
        return (g,)


def tap(x: Tensor, fn) -> Tensor:
    """Identity on ``x``; during backward, ``fn(grad)`` receives dL/dx (an ndarray)."""
    if not isinstance(x, Tensor) or not x.requires_grad:
        return x
    return _Tap.apply(x, fn=fn)
