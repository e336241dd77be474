"""Devices: nnlab computes on the CPU with NumPy, so ``nnlab.device("cpu")``, ``.to(device)`` and
``.cpu()`` are accepted and do nothing; anything else (``"cuda"``, ``"mps"``...) is refused with an
error naming what is missing, instead of silently running somewhere the user did not ask for."""

from __future__ import annotations

import numpy as np


class device:
    """torch.device's counterpart; only ``"cpu"`` (optionally ``"cpu:0"``) exists."""

    __slots__ = ("type", "index")

    def __init__(self, type="cpu", index=None):
        if isinstance(type, device):
            type, index = type.type, type.index
        if not isinstance(type, str):
            raise TypeError(f"device: expected a string such as 'cpu', got {type!r}")
        kind, _, num = type.partition(":")
        if kind != "cpu":
            raise RuntimeError(
                f"device {type!r}: nnlab runs on the CPU only (NumPy arrays); there is no {kind} "
                f"backend. Use nnlab.device('cpu') (or drop .to(device)) to run on the CPU."
            )
        if num and num != "0" or index not in (None, 0):
            raise RuntimeError(f"device {type!r}: there is one CPU device, 'cpu' (or 'cpu:0')")
        self.type, self.index = "cpu", None

    def __repr__(self):
        return "device(type='cpu')"

    def __str__(self):
        return "cpu"

    def __eq__(self, other):
        return isinstance(other, (device, str)) and str(other).split(":")[0] == "cpu"

    def __hash__(self):
        return hash("cpu")


CPU = device("cpu")


def no_cuda(what: str) -> RuntimeError:
    return RuntimeError(
        f"{what}: nnlab has no CUDA backend (it computes with NumPy on the CPU); "
        f"remove the call, or use .to('cpu') / .cpu(), which are no-ops"
    )


def parse_to(what: str, args, kwargs):
    """The dtype a ``.to(...)`` call asks for (None for none), after checking any device in it."""
    dtype = kwargs.pop("dtype", None)
    dev = kwargs.pop("device", None)
    kwargs.pop("non_blocking", None)
    kwargs.pop("copy", None)
    if kwargs:
        raise TypeError(f"{what}: unexpected keyword arguments {sorted(kwargs)}")
    for a in args:
        if isinstance(a, (str, device)):
            dev = a
        elif hasattr(a, "_ctx") and hasattr(a, "dtype"):  # .to(other_tensor)
            dtype = a.dtype
        else:
            try:
                dtype = np.dtype(a)
            except TypeError:
                raise TypeError(f"{what}: expected a device, a dtype or a tensor, got {a!r}") from None
    if dev is not None:
        device(dev)
    return dtype


class _NoAccelerator:
    """``nnlab.cuda`` / ``nnlab.accelerator``: report that none is available."""

    def __init__(self, name):
        self._name = name

    def is_available(self) -> bool:
        return False

    def device_count(self) -> int:
        return 0

    def current_accelerator(self):
        raise no_cuda(f"nnlab.{self._name}.current_accelerator()")

    def manual_seed(self, seed) -> None:
        """Nothing to seed: there is no accelerator (``nnlab.manual_seed`` seeds the CPU)."""

    manual_seed_all = manual_seed


cuda = _NoAccelerator("cuda")
accelerator = _NoAccelerator("accelerator")


def set_default_device(dev) -> None:
    """torch.set_default_device: only the CPU exists, so this checks ``dev`` and changes nothing."""
    if dev is not None:
        device(dev)


def get_default_device():
    return CPU
