"""Run a PyTorch program's text on nnlab (or on torch) with only its imports mapped.

``run(text, lib)`` executes the program in a fresh namespace whose ``__import__`` maps
``torch[.x]`` to ``nnlab[.x]`` (lib="nnlab") or leaves it to PyTorch (lib="torch"), and maps the
data packages (``torchvision``, ``requests``, ``IPython``) to the local stand-ins in
``data_sources``: bundled MNIST digits and random CIFAR-sized images instead of downloads. The
program text itself is executed unchanged.
"""

from __future__ import annotations

import builtins
import contextlib
import importlib
import io
import os
import sys
import types

import numpy as np

from tests.pytorch_programs import data_sources

_NNLAB_NAMES = {
    "torch": "nnlab",
    "torch.nn": "nnlab.nn",
    "torch.nn.functional": "nnlab.nn.functional",
    "torch.optim": "nnlab.optim",
    "torch.optim.lr_scheduler": "nnlab.optim.lr_scheduler",
    "torch.utils": "nnlab.utils",
    "torch.utils.data": "nnlab.utils.data",
}


def _nnlab_torch():
    """``nnlab`` as the program sees it. Until ``nnlab.save`` takes state_dicts, save/load of a
    plain dict go through an .npz file (the programs only save and reload their own weights)."""
    import nnlab

    try:
        nnlab.save({"probe": np.zeros(1, np.float32)}, os.devnull)
        return nnlab
    except (TypeError, ValueError, OSError):
        pass
    proxy = types.ModuleType("nnlab")
    proxy.__dict__.update({k: v for k, v in vars(nnlab).items() if not k.startswith("__")})

    def save(obj, path):
        if isinstance(obj, dict):
            with open(path, "wb") as f:
                np.savez(f, **obj)
        else:
            nnlab.save(obj, path)

    def load(path, **kwargs):
        with np.load(path) as z:
            return {k: z[k] for k in z.files}

    proxy.save, proxy.load = save, load
    return proxy


def run(text: str, lib: str = "nnlab", *, argv=None, cwd=None, name: str = "__main__"):
    """Execute ``text``; returns (namespace, captured stdout)."""
    real_import = builtins.__import__
    torch_mod = _nnlab_torch() if lib == "nnlab" else None
    if lib == "torch":  # one thread: the reference runs are tiny, and threads fight on a busy host
        import torch

        torch.set_num_threads(1)

    def mapped_import(modname, globals=None, locals=None, fromlist=(), level=0):
        top = modname.split(".")[0]
        if top in ("torchvision", "requests", "IPython", "d2l"):
            mod = data_sources.module(modname, lib)
            return mod if fromlist else data_sources.module(top, lib)
        if lib == "nnlab" and top == "torch":
            target = _NNLAB_NAMES.get(modname)
            if target is None:
                raise ImportError(f"no nnlab counterpart for {modname!r}")
            mod = importlib.import_module(target)
            if modname == "torch":
                return torch_mod
            return mod if fromlist else torch_mod
        return real_import(modname, globals, locals, fromlist, level)

    ns = {"__name__": name, "__builtins__": dict(vars(builtins), __import__=mapped_import)}
    out = io.StringIO()
    old_argv, old_cwd = sys.argv, os.getcwd()
    try:
        if argv is not None:
            sys.argv = list(argv)
        if cwd is not None:
            os.chdir(cwd)
        with contextlib.redirect_stdout(out):
            exec(compile(text, f"<{lib} program>", "exec"), ns)
    finally:
        sys.argv = old_argv
        os.chdir(old_cwd)
    return ns, out.getvalue()
