"""Containers: Sequential and ModuleList."""

from __future__ import annotations

from collections import OrderedDict

from nnlab.nn.module import Module

_module_call = Module.__call__


class _ModuleSequence(Module):
    """What Sequential and ModuleList share: children named "0", "1", ..., len, iteration, indexing
    (an int or a child's name gives the module, a slice a new container sharing the modules)."""

    def _add(self, name: str, m) -> None:
        if not isinstance(m, Module):
            raise TypeError(f"{type(self).__name__}: entry {name!r} is a {type(m).__name__}, not a Module")
        self.add_module(name, m)

    def append(self, module: Module):
        self._add(str(len(self._modules)), module)
        return self

    def _from_items(self, items):
        raise NotImplementedError

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules.values())

    def __getitem__(self, idx):
        items = list(self._modules.items())
        if isinstance(idx, slice):
            return self._from_items(items[idx])
        if isinstance(idx, str):
            return self._modules[idx]
        n = len(items)
        if not -n <= idx < n:
            raise IndexError(f"{type(self).__name__}: index {idx} out of range for {n} modules")
        return items[idx][1]


class Sequential(_ModuleSequence):
    """Modules applied in order; ``Sequential(a, b, c)(x) == c(b(a(x)))``.

    Children are named "0", "1", ... (or by the keys of an OrderedDict), so parameters read
    "0.weight", "2.bias" as in PyTorch. Supports indexing (an int gives the module, a slice a new
    Sequential sharing the modules), len, iteration and append.
    """

    def __init__(self, *modules):
        super().__init__()
        if len(modules) == 1 and isinstance(modules[0], (OrderedDict, dict)):
            for name, m in modules[0].items():
                self._add(str(name), m)
        else:
            for i, m in enumerate(modules):
                self._add(str(i), m)

    def _from_items(self, items):
        return type(self)(OrderedDict(items))

    def forward(self, x):
        for m in self._modules.values():
            # Module.__call__ only calls forward, so forward is called directly (one Python call
            # less per layer: 1.7% of workload 2's step with its six layers) unless the class
            # defines a __call__ of its own.
            x = m.forward(x) if type(m).__call__ is _module_call else m(x)
        return x


class ModuleList(_ModuleSequence):
    """A list of sub-modules whose parameters are registered (a plain list would hide them)."""

    def __init__(self, modules=()):
        super().__init__()
        self.extend(modules)

    def extend(self, modules) -> "ModuleList":
        for m in modules:
            self.append(m)
        return self

    def _from_items(self, items):
        return ModuleList(m for _, m in items)

    def forward(self, *args, **kwargs):
        raise NotImplementedError("ModuleList has no forward; iterate over it in your own forward")


class Flatten(Module):
    """Merge every axis from ``start_dim`` (default 1, keeping the batch axis).

    Shape:
        input (N, C, H, W); output (N, C*H*W).
    """

    def __init__(self, start_dim: int = 1, end_dim: int = -1):
        super().__init__()
        self.start_dim, self.end_dim = start_dim, end_dim

    def forward(self, x):
        from nnlab.nn import functional as F

        if self.end_dim != -1:
            return x.flatten(self.start_dim, self.end_dim)
        return F.flatten(x, self.start_dim)

    def extra_repr(self) -> str:
        return f"start_dim={self.start_dim}" + (f", end_dim={self.end_dim}" if self.end_dim != -1 else "")
