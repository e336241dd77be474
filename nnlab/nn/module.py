"""Module: the container of parameters, buffers and sub-modules, registered by attribute assignment."""

from __future__ import annotations

import functools
import importlib
from collections import OrderedDict
from typing import Iterator, NamedTuple

import numpy as np

from nnlab.engine._args import check_dtype
from nnlab.engine.tensor import Tensor
from nnlab.nn.parameter import Parameter


class LoadResult(NamedTuple):
    """What ``Module.load_state_dict`` did not match: model keys absent from the state, and state
    keys the model does not have (both empty after a strict load)."""

    missing_keys: list
    unexpected_keys: list


class Module:
    """Base class of every layer and model.

    Assigning a ``Parameter`` or a ``Module`` to an attribute registers it; ``register_buffer`` keeps
    non-learnable state (e.g. batch-norm running statistics) that still goes into ``state_dict``.
    Subclasses implement ``forward``; calling the module runs it.
    """

    def __init_subclass__(cls, **kwargs):
        """Wrap each subclass's ``__init__`` so that the outermost call records its arguments:
        ``get_config`` can then describe the architecture and ``module_from_config`` rebuild it."""
        super().__init_subclass__(**kwargs)
        init = cls.__dict__.get("__init__")
        if init is None:
            return

        @functools.wraps(init)
        def recording_init(self, *args, **kw):
            if "_init_args" not in self.__dict__:
                object.__setattr__(self, "_init_args", (args, kw))
            init(self, *args, **kw)

        cls.__init__ = recording_init

    def __init__(self):
        object.__setattr__(self, "_parameters", OrderedDict())
        object.__setattr__(self, "_buffers", OrderedDict())
        object.__setattr__(self, "_modules", OrderedDict())
        object.__setattr__(self, "training", True)

    # ---- registration ---------------------------------------------------------------
    def __setattr__(self, name, value):
        if "_parameters" not in self.__dict__:
            raise AttributeError(f"{type(self).__name__}: call super().__init__() before assigning attributes")
        params, buffers, modules = self._parameters, self._buffers, self._modules
        if isinstance(value, Parameter):
            buffers.pop(name, None), modules.pop(name, None)
            self.__dict__.pop(name, None)
            params[name] = value
        elif isinstance(value, Module):
            params.pop(name, None), buffers.pop(name, None)
            self.__dict__.pop(name, None)
            modules[name] = value
        elif name in buffers:
            buffers[name] = None if value is None else np.asarray(value)
        elif name in params or name in modules:
            if value is not None:
                kind = "Parameter" if name in params else "Module"
                raise TypeError(
                    f"{type(self).__name__}.{name} holds a {kind}; cannot assign a "
                    f"{type(value).__name__} (wrap arrays in nn.Parameter)"
                )
            (params if name in params else modules)[name] = None
        else:
            object.__setattr__(self, name, value)

    def __getattr__(self, name):
        d = self.__dict__
        for key in ("_parameters", "_buffers", "_modules"):
            store = d.get(key)
            if store is not None and name in store:
                return store[name]
        raise AttributeError(f"'{type(self).__name__}' has no attribute '{name}'")

    def __delattr__(self, name):
        for key in ("_parameters", "_buffers", "_modules"):
            if name in self.__dict__[key]:
                del self.__dict__[key][name]
                return
        object.__delattr__(self, name)

    def _check_name(self, what: str, name) -> None:
        """Dotted names address nested entries in state_dict and named_parameters, so a name
        must be a non-empty string without dots."""
        if not isinstance(name, str) or not name or "." in name:
            raise KeyError(f"{type(self).__name__}: a {what} name must be a non-empty string without '.', got {name!r}")

    def register_buffer(self, name: str, value) -> None:
        """Keep an array that is state but not learned (saved, loaded, moved with the module)."""
        self._check_name("buffer", name)
        self._buffers[name] = None if value is None else np.asarray(value)

    def register_parameter(self, name: str, param: Parameter | None) -> None:
        self._check_name("parameter", name)
        if param is None:
            self._parameters[name] = None
        elif not isinstance(param, Parameter):
            raise TypeError(
                f"{type(self).__name__}.register_parameter: {name!r} must be a Parameter "
                f"or None, got {type(param).__name__} (wrap arrays in nn.Parameter)"
            )
        else:
            setattr(self, name, param)

    def add_module(self, name: str, module: "Module") -> None:
        self._check_name("module", name)
        if not isinstance(module, Module):
            raise TypeError(f"{type(self).__name__}.add_module: {name!r} must be a Module, got {type(module).__name__}")
        setattr(self, name, module)

    # ---- traversal -------------------------------------------------------------------
    def named_modules(self, prefix: str = "") -> Iterator[tuple[str, "Module"]]:
        yield prefix, self
        for name, m in self._modules.items():
            if m is not None:
                yield from m.named_modules(f"{prefix}.{name}" if prefix else name)

    def modules(self) -> Iterator["Module"]:
        for _, m in self.named_modules():
            yield m

    def children(self) -> Iterator["Module"]:
        return iter(m for m in self._modules.values() if m is not None)

    def named_children(self):
        return iter((n, m) for n, m in self._modules.items() if m is not None)

    def named_parameters(self, prefix: str = "") -> Iterator[tuple[str, Parameter]]:
        """(dotted name, parameter) pairs, each parameter once even when shared."""
        seen = set()
        for mname, m in self.named_modules(prefix):
            for pname, p in m._parameters.items():
                if p is None or id(p) in seen:
                    continue
                seen.add(id(p))
                yield (f"{mname}.{pname}" if mname else pname), p

    def parameters(self) -> Iterator[Parameter]:
        for _, p in self.named_parameters():
            yield p

    def named_buffers(self, prefix: str = ""):
        for mname, m in self.named_modules(prefix):
            for bname, b in m._buffers.items():
                if b is not None:
                    yield (f"{mname}.{bname}" if mname else bname), b

    def buffers(self):
        for _, b in self.named_buffers():
            yield b

    def num_parameters(self, trainable_only: bool = False) -> int:
        """Count of learnable numbers (weights and biases), as the notes count them."""
        return int(sum(p.data.size for p in self.parameters() if p.requires_grad or not trainable_only))

    # ---- modes -------------------------------------------------------------------------
    def train(self, mode: bool = True) -> "Module":
        if not isinstance(mode, (bool, np.bool_)):
            raise ValueError(f"{type(self).__name__}.train: mode must be True or False, got {mode!r}")
        mode = bool(mode)
        for m in self.modules():
            object.__setattr__(m, "training", mode)
        return self

    def eval(self) -> "Module":
        return self.train(False)

    def zero_grad(self) -> None:
        for p in self.parameters():
            p.grad = None

    def requires_grad_(self, flag: bool = True) -> "Module":
        """Freeze (False) or unfreeze (True) every parameter: frozen ones get no gradient."""
        for p in self.parameters():
            p.requires_grad = flag
        return self

    def freeze(self) -> "Module":
        return self.requires_grad_(False)

    def unfreeze(self) -> "Module":
        return self.requires_grad_(True)

    def to_dtype(self, dtype) -> "Module":
        """Cast every parameter and floating buffer (e.g. float64 for gradient checks)."""
        dtype = check_dtype(f"{type(self).__name__}.to_dtype", dtype)
        for m in self.modules():
            for p in m._parameters.values():
                if p is not None:
                    p.data = p.data.astype(dtype)
                    p.grad = None
            for k, b in m._buffers.items():
                if b is not None and b.dtype.kind == "f":
                    m._buffers[k] = b.astype(dtype)
        return self

    def double(self) -> "Module":
        return self.to_dtype(np.float64)

    def float(self) -> "Module":
        return self.to_dtype(np.float32)

    # ---- devices (nnlab runs on the CPU; see nnlab.engine.device) ----------------------------
    def to(self, *args, **kwargs) -> "Module":
        """``model.to(device)``: a no-op for the CPU (an error naming what is missing otherwise);
        ``model.to(dtype)`` casts like ``to_dtype``."""
        from nnlab.engine.device import parse_to

        dtype = parse_to(f"{type(self).__name__}.to", args, kwargs)
        return self if dtype is None else self.to_dtype(dtype)

    def cpu(self) -> "Module":
        return self

    def cuda(self, *args, **kwargs) -> "Module":
        from nnlab.engine.device import no_cuda

        raise no_cuda(f"{type(self).__name__}.cuda()")

    def apply(self, fn) -> "Module":
        for m in self.modules():
            fn(m)
        return self

    # ---- state ---------------------------------------------------------------------------
    def state_dict(self) -> "OrderedDict[str, np.ndarray]":
        """Copies of every parameter and buffer, by dotted name."""
        out = OrderedDict()
        for mname, m in self.named_modules():
            pre = f"{mname}." if mname else ""
            for k, p in m._parameters.items():
                if p is not None:
                    out[pre + k] = p.data.copy()
            for k, b in m._buffers.items():
                if b is not None:
                    out[pre + k] = np.array(b, copy=True)
        return out

    def load_state_dict(self, state: dict, strict: bool = True) -> "LoadResult":
        """Copy arrays into the parameters and buffers; shapes must match, names too when strict.

        Every entry is checked before any is copied, so a bad state leaves the model unchanged.
        Returns ``(missing_keys, unexpected_keys)``, both empty when strict.
        """
        if not isinstance(state, dict):
            raise TypeError(
                f"load_state_dict: expected a dict of arrays (from state_dict()), got {type(state).__name__}"
            )
        own = {}
        for mname, m in self.named_modules():
            pre = f"{mname}." if mname else ""
            for k in m._parameters:
                if m._parameters[k] is not None:
                    own[pre + k] = (m, k, "p")
            for k in m._buffers:
                if m._buffers[k] is not None:
                    own[pre + k] = (m, k, "b")
        missing = [k for k in own if k not in state]
        unexpected = [k for k in state if k not in own]
        if strict and (missing or unexpected):
            raise KeyError(f"load_state_dict: missing keys {missing}, unexpected keys {unexpected}")
        staged = []
        for key, (m, k, kind) in own.items():
            if key not in state:
                continue
            value = state[key]
            value = np.asarray(value.data if isinstance(value, Tensor) else value)
            cur = m._parameters[k].data if kind == "p" else m._buffers[k]
            if value.shape != cur.shape:
                raise ValueError(
                    f"load_state_dict: '{key}' has shape {value.shape} in the state, {cur.shape} in the model"
                )
            if value.dtype.kind not in "fiub" or (cur.dtype.kind in "iub" and value.dtype.kind == "f"):
                raise TypeError(
                    f"load_state_dict: '{key}' has dtype {value.dtype} in the state, {cur.dtype} in the model"
                )
            staged.append((m, k, kind, value.astype(cur.dtype, copy=True)))
        for m, k, kind, value in staged:
            if kind == "p":
                m._parameters[k].data = value
            else:
                m._buffers[k] = value
        return LoadResult(missing, unexpected)

    # ---- architecture as data ---------------------------------------------------------
    def get_config(self) -> dict:
        """The class and constructor arguments, as JSON-compatible data (sub-modules nested).

        Enough to rebuild the architecture without the script that made it; weights come from
        ``state_dict``. Arguments must be numbers, strings, None, lists/tuples/dicts of those, or
        Modules.
        """
        args, kw = self.__dict__.get("_init_args", ((), {}))
        cls = type(self)
        where = f"{cls.__name__}(...)"
        return {
            "class": f"{cls.__module__}:{cls.__qualname__}",
            "args": [_encode(a, where) for a in args],
            "kwargs": {k: _encode(v, where) for k, v in kw.items()},
        }

    # ---- calling and printing ------------------------------------------------------------
    def forward(self, *args, **kwargs):  # pragma: no cover - interface
        raise NotImplementedError(f"{type(self).__name__} does not define forward()")

    def __call__(self, *args, **kwargs):
        return self.forward(*args, **kwargs)

    def extra_repr(self) -> str:
        return ""

    def __repr__(self) -> str:
        lines = []
        for name, m in self._modules.items():
            sub = repr(m).replace("\n", "\n  ")
            lines.append(f"  ({name}): {sub}")
        head = f"{type(self).__name__}({self.extra_repr()}"
        if not lines:
            return head + ")"
        return head + "\n" + "\n".join(lines) + "\n)"

    def summary(self, input_shape, **kwargs):
        """Per-layer output shapes, activations and parameters (see ``nnlab.summary``)."""
        from nnlab.nn.summary import summary

        return summary(self, input_shape, **kwargs)


def _encode(value, where: str):
    if isinstance(value, Module):
        return {"__module__": value.get_config()}
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, tuple):
        return {"__tuple__": [_encode(v, where) for v in value]}
    if isinstance(value, list):
        return [_encode(v, where) for v in value]
    if isinstance(value, dict) and all(isinstance(k, str) for k in value):
        return {"__dict__": {k: _encode(v, where) for k, v in value.items()}}
    raise TypeError(
        f"get_config: {where} was built with an argument of type {type(value).__name__} "
        f"({value!r:.60}), which cannot be stored as data; override get_config() for it"
    )


def _decode(value, custom_objects=None):
    if isinstance(value, list):
        return [_decode(v, custom_objects) for v in value]
    if isinstance(value, dict):
        if "__module__" in value:
            return module_from_config(value["__module__"], custom_objects)
        if "__tuple__" in value:
            return tuple(_decode(v, custom_objects) for v in value["__tuple__"])
        if "__dict__" in value:
            return {k: _decode(v, custom_objects) for k, v in value["__dict__"].items()}
    return value


# Module classes defined outside nnlab that configs and checkpoints may rebuild, by "module:Qualname".
_REGISTERED: dict = {}


def _class_name(cls) -> str:
    return f"{cls.__module__}:{cls.__qualname__}"


def register_module(cls):
    """Let configs and checkpoints rebuild ``cls``, a Module subclass defined outside nnlab
    (a decorator, as Keras's ``register_keras_serializable``)::

        @nn.register_module
        class Net(nn.Module): ...

    A file only names the classes to build; nnlab builds its own classes, registered ones and those
    passed to ``nnlab.load(..., custom_objects=...)``, and refuses any other name before importing
    anything (an import runs the module's code).
    """
    if not (isinstance(cls, type) and issubclass(cls, Module)):
        raise TypeError(f"register_module: expected a Module subclass, got {cls!r:.60}")
    _REGISTERED[_class_name(cls)] = cls
    return cls


def _custom_class(name: str, custom_objects):
    """The class ``custom_objects`` gives for ``name`` ("module:Qualname"), by full name or by
    qualified/bare class name; ``custom_objects`` is a dict of names to classes or a list of classes."""
    if not custom_objects:
        return None
    if isinstance(custom_objects, dict):
        items = list(custom_objects.items())
    else:
        items = [(_class_name(c) if isinstance(c, type) else repr(c), c) for c in custom_objects]
    qualname = name.partition(":")[2]
    for key, cls in items:
        full = _class_name(cls) if isinstance(cls, type) else None
        if key in (name, qualname, qualname.rpartition(".")[2]) or full == name:
            if not (isinstance(cls, type) and issubclass(cls, Module)):
                raise ValueError(f"module_from_config: custom_objects[{key!r}] is not a Module subclass")
            return cls
    return None


def _resolve_class(name, custom_objects=None):
    """The Module class a config names, imported only when it is nnlab's own."""
    if not isinstance(name, str) or name.count(":") != 1:
        raise ValueError(f"module_from_config: expected {{'class': 'pkg.mod:Class', ...}}, got class {name!r:.80}")
    cls = _custom_class(name, custom_objects) or _REGISTERED.get(name)
    if cls is not None:
        return cls
    modname, qualname = name.split(":")
    if modname != "nnlab" and not modname.startswith("nnlab."):
        raise ValueError(
            f"module_from_config: the file asks for class {name}, which is not part of nnlab; "
            "it was not imported. If you trust the file, pass the class: "
            f"nnlab.load(path, custom_objects={{{qualname.rpartition('.')[2]!r}: {qualname}}}), "
            "or decorate it with @nnlab.nn.register_module"
        )
    try:
        obj = importlib.import_module(modname)
        for part in qualname.split("."):
            obj = getattr(obj, part)
    except (ImportError, AttributeError):
        raise ValueError(
            f"module_from_config: cannot find class {name}: is the module that defines it importable?"
        ) from None
    if not (isinstance(obj, type) and issubclass(obj, Module)):
        raise ValueError(f"module_from_config: {name} is not an nnlab Module")
    return obj


def module_from_config(config: dict, custom_objects=None) -> Module:
    """Rebuild a module from ``get_config()`` output (fresh weights: load a state_dict after).

    Only ``Module`` subclasses are constructed: nnlab's own, those registered with
    ``register_module`` and those in ``custom_objects`` (a dict of names to classes, or a list of
    classes). Any other class name is refused before anything is imported, so a crafted config
    cannot run an installed module's import-time code.
    """
    if not isinstance(config, dict) or "class" not in config:
        raise ValueError(f"module_from_config: expected {{'class': 'pkg.mod:Class', ...}}, got {config!r:.80}")
    cls = _resolve_class(config["class"], custom_objects)
    args, kwargs = config.get("args", []), config.get("kwargs", {})
    if not isinstance(args, list) or not isinstance(kwargs, dict):
        raise ValueError(f"module_from_config: {config['class']}: args must be a list and kwargs a dict")
    return cls(*_decode(args, custom_objects), **{k: _decode(v, custom_objects) for k, v in kwargs.items()})
