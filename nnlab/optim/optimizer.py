"""Optimizer: parameter groups, per-parameter state, zero_grad/step, and a portable state_dict."""

from __future__ import annotations

import copy
import math

import numpy as np

from nnlab.engine._args import check_float, describe
from nnlab.engine.autograd import enable_grad
from nnlab.engine.tensor import Tensor


class _Required:
    """Marks a hyperparameter that has no default (e.g. SGD's lr)."""

    def __repr__(self) -> str:
        return "<required>"


required = _Required()


class Optimizer:
    """Base of every optimizer: owns the parameters and the per-parameter state.

    ``params`` is an iterable of parameters, or of dicts (parameter groups) such as
    ``[{"params": body.parameters()}, {"params": head.parameters(), "lr": 1e-3}]``; keys missing from a
    group take ``defaults``. ``param_groups[i]["lr"]`` (and any other hyperparameter) may be changed
    between steps, which is how schedules and ReduceLROnPlateau act.

    ``state`` is keyed by a parameter's position in the flattened list of all groups' parameters (not
    by object identity), so ``state_dict()`` loads into a fresh optimizer built over a fresh model of
    the same architecture. Parameters whose ``grad`` is None or whose ``requires_grad`` is False are
    skipped by ``step`` (frozen layers stay untouched and get no state).
    """

    coupled_weight_decay = True  # weight_decay enters the gradient (AdamW decays the weights itself)

    def __init__(self, params, defaults: dict):
        self.defaults = dict(defaults)
        self.param_groups: list[dict] = []
        self.state: dict[int, dict] = {}
        self._params: list[Tensor] = []  # flat list, position = state key
        self._group_index: list[list[int]] = []  # per group, the flat positions of its params
        self._scratch: list[np.ndarray | None] = []  # per param, a shared work array of its shape
        self._scratch_pool: dict = {}
        name = type(self).__name__
        if isinstance(params, (Tensor, np.ndarray)):
            raise TypeError(
                f"{name}: params must be an iterable of Parameters or of dicts, got a single {type(params).__name__}"
            )
        if isinstance(params, dict):
            params = [params]
        params = list(params)
        if not params:
            raise ValueError(f"{name}: got an empty parameter list")
        if not isinstance(params[0], dict):
            params = [{"params": params}]
        for group in params:
            self.add_param_group(group)

    # ---- groups ------------------------------------------------------------------------
    def add_param_group(self, param_group: dict) -> None:
        """Append a group; its missing hyperparameters take the optimizer's defaults."""
        name = type(self).__name__
        if not isinstance(param_group, dict):
            raise TypeError(
                f"{name}.add_param_group: expected a dict with a 'params' key, got {type(param_group).__name__}"
            )
        if "params" not in param_group:
            raise ValueError(f"{name}.add_param_group: the group has no 'params' key")
        group = dict(param_group)
        ps = group["params"]
        ps = [ps] if isinstance(ps, Tensor) else list(ps)
        seen = {id(p) for p in self._params}
        for p in ps:
            if not isinstance(p, Tensor):
                raise TypeError(f"{name}: can only optimize Tensors/Parameters, got {type(p).__name__}")
            if p.data.dtype.kind != "f":
                raise TypeError(f"{name}: parameters must be floating point, got dtype {p.data.dtype}")
            if id(p) in seen:
                raise ValueError(f"{name}: a parameter appears twice (in one group or in two groups)")
            seen.add(id(p))
        group["params"] = ps
        for key, default in self.defaults.items():
            if default is required and key not in group:
                raise TypeError(f"{name}: parameter group is missing the required hyperparameter '{key}'")
            group.setdefault(key, default)
        self._check_group(group)
        start = len(self._params)
        self._params.extend(ps)
        self._scratch.extend([None] * len(ps))
        self._group_index.append(list(range(start, start + len(ps))))
        self.param_groups.append(group)

    def _check_group(self, group: dict) -> None:
        """Validate a group's hyperparameters (subclasses name what is wrong)."""
        name = type(self).__name__
        if "lr" in group:  # None too: refused here, not at the first step()
            check_float(name, "lr", group["lr"], min=0.0)
        check_float(name, "weight_decay", group.get("weight_decay", 0.0), min=0.0)

    def _work(self, i: int, w: np.ndarray) -> np.ndarray:
        """A scratch array shaped like ``w`` (shared by same-shape parameters; never state)."""
        buf = self._scratch[i]
        if buf is None or buf.shape != w.shape or buf.dtype != w.dtype:
            key = (w.shape, w.dtype.str)
            buf = self._scratch_pool.get(key)
            if buf is None:
                buf = self._scratch_pool[key] = np.empty_like(w)
            self._scratch[i] = buf
        return buf

    def _decay_buffer(self, i: int, w: np.ndarray) -> np.ndarray:
        """A second scratch array for ``dx + weight_decay * x`` (the first holds update temporaries)."""
        key = ("wd", w.shape, w.dtype.str)
        buf = self._scratch_pool.get(key)
        if buf is None:
            buf = self._scratch_pool[key] = np.empty_like(w)
        return buf

    # ---- the training-loop API ---------------------------------------------------------
    def zero_grad(self, set_to_none: bool = True) -> None:
        """Forget the gradients: None (the default, so the next backward writes fresh arrays) or zeros."""
        for p in self._params:
            if set_to_none:
                p.grad = None
            elif p.grad is not None:
                p.grad.fill(0)

    def step(self, closure=None):
        """One update of every parameter that has a gradient; returns closure()'s loss if given.

        Subclasses override ``step``, or give the three pieces of the usual per-parameter loop:
        ``_hyper(group)`` (the group's settings as floats, read once per group and step),
        ``_init_state(w, group)`` (a parameter's state at its first update; None for none) and
        ``_update(w, dw, state, hyper, tmp)`` (the in-place update; ``tmp`` is scratch). The loop
        skips parameters without a gradient and adds ``weight_decay * x`` to the gradient.
        """
        update = getattr(self, "_update", None)
        if update is None:
            raise NotImplementedError(f"{type(self).__name__}: define step() or _hyper/_init_state/_update")
        loss = self._eval_closure(closure)
        state = self.state
        scratch = self._scratch
        for group, idx in zip(self.param_groups, self._group_index):
            hyper = self._hyper(group)
            wd = float(group["weight_decay"]) if self.coupled_weight_decay else 0.0
            new_state = self._makes_state(group)
            for p, i in zip(group["params"], idx):
                dw = p.grad
                if dw is None or not p.requires_grad:
                    continue
                w = p.data
                if type(dw) is not np.ndarray or dw.shape != w.shape or dw.dtype.kind != "f":
                    self._bad_grad(i, w, dw)
                if wd:
                    dw = _with_weight_decay(w, dw, wd, self._decay_buffer(i, w))
                st = state.get(i)
                if st is None and new_state:
                    st = self._init_state(w, group)
                    if st is not None:  # None: a rule without state (vanilla SGD)
                        state[i] = st
                # The scratch array is checked inline: with _makes_state, this saves three of the
                # four Python calls per parameter on vanilla SGD (see _makes_state).
                tmp = scratch[i]
                if tmp is None or tmp.shape != w.shape or tmp.dtype != w.dtype:
                    tmp = self._work(i, w)
                update(w, dw, st, hyper, tmp)
        return loss

    def _makes_state(self, group: dict) -> bool:
        """Whether the rule keeps per-parameter state for this group (``_init_state`` then runs at a
        parameter's first update). False lets ``step`` skip asking ``_init_state`` for every
        parameter at every step; a state made earlier is still used."""
        return True

    def _bad_grad(self, i: int, w, dw) -> None:
        """A gradient set by hand with another shape would broadcast into a wrong update; an
        integer one would truncate it."""
        if type(dw) is not np.ndarray or dw.dtype.kind != "f":
            raise TypeError(
                f"{type(self).__name__}.step: parameter {i}'s grad must be a floating-point "
                f"ndarray like the parameter ({w.dtype}), got {describe(dw)}"
            )
        raise ValueError(
            f"{type(self).__name__}.step: parameter {i} has shape {w.shape} but its grad has shape {np.shape(dw)}"
        )

    @staticmethod
    def _eval_closure(closure):
        if closure is None:
            return None
        with enable_grad():
            return closure()

    # ---- checkpoints ------------------------------------------------------------------
    def state_dict(self) -> dict:
        """{"state": {flat index: {name: array or number}}, "param_groups": [hyperparameters + indices]}.

        Arrays are deep copies: training on after saving does not change the saved dict.
        """
        groups = []
        for group, idx in zip(self.param_groups, self._group_index):
            g = {k: copy.deepcopy(v) for k, v in group.items() if k != "params"}
            g["params"] = list(idx)
            groups.append(g)
        return {"state": copy.deepcopy(self.state), "param_groups": groups}

    def load_state_dict(self, state_dict: dict) -> None:
        """Restore hyperparameters and state saved by ``state_dict`` (deep-copied in).

        Everything is checked before anything changes, so a bad dict leaves the optimizer as it
        was: the group and parameter counts, each hyperparameter's range, and each parameter's
        state (the keys this optimizer keeps, e.g. no Adam moments loaded into SGD, and arrays of
        the parameter's shape, converted to its dtype).
        """
        name = type(self).__name__
        if not isinstance(state_dict, dict) or "state" not in state_dict or "param_groups" not in state_dict:
            raise ValueError(f"{name}.load_state_dict: expected a dict with 'state' and 'param_groups'")
        saved_groups, saved_state = state_dict["param_groups"], state_dict["state"]
        if not isinstance(saved_groups, (list, tuple)) or not isinstance(saved_state, dict):
            raise ValueError(
                f"{name}.load_state_dict: 'param_groups' must be a list and 'state' a dict, "
                f"got {type(saved_groups).__name__} and {type(saved_state).__name__}"
            )
        if len(saved_groups) != len(self.param_groups):
            raise ValueError(
                f"{name}.load_state_dict: the saved state has {len(saved_groups)} parameter "
                f"groups, this optimizer has {len(self.param_groups)}"
            )
        new_groups = []
        for gi, (group, sg, idx) in enumerate(zip(self.param_groups, saved_groups, self._group_index)):
            if not isinstance(sg, dict) or "params" not in sg:
                raise ValueError(f"{name}.load_state_dict: saved group {gi} is not a dict with a 'params' key")
            if len(sg["params"]) != len(idx):
                raise ValueError(
                    f"{name}.load_state_dict: group {gi} has {len(sg['params'])} parameters "
                    f"in the saved state, {len(idx)} here"
                )
            g = dict(group)
            g.update((k, copy.deepcopy(v)) for k, v in sg.items() if k != "params")
            self._check_group(g)  # raises naming the hyperparameter out of range
            new_groups.append(g)
        n = len(self._params)
        state = {}
        for key, st in saved_state.items():
            try:
                k = int(key)
            except (TypeError, ValueError):
                raise ValueError(f"{name}.load_state_dict: state keys are parameter positions, got {key!r}") from None
            if not 0 <= k < n:
                # Optimizers with global state (LBFGS) keep it under key 0; any other key must be a parameter.
                raise ValueError(f"{name}.load_state_dict: state for parameter {k}, but there are {n}")
            if not isinstance(st, dict):
                raise ValueError(
                    f"{name}.load_state_dict: state of parameter {k} must be a dict, got {type(st).__name__}"
                )
            state[k] = self._load_param_state(k, copy.deepcopy(st))
        for group, g in zip(self.param_groups, new_groups):
            group.update(g)
        self.state = state

    def _group_of(self, k: int) -> dict:
        for group, idx in zip(self.param_groups, self._group_index):
            if idx and idx[0] <= k <= idx[-1]:
                return group
        raise IndexError(k)

    def _load_param_state(self, k: int, st: dict) -> dict:
        """Check a loaded state of parameter ``k`` against the one ``_init_state`` would make: the
        same keys, arrays of the parameter's shape (cast to its dtype), counters non-negative ints."""
        name = type(self).__name__
        p = self._params[k].data
        init = getattr(self, "_init_state", None)
        fresh = init(p, self._group_of(k)) if init is not None else None
        if fresh is not None and set(st) != set(fresh):
            raise ValueError(
                f"{name}.load_state_dict: state of parameter {k} has keys {sorted(st)}, "
                f"{name} keeps {sorted(fresh)} (a state saved by another optimizer?)"
            )
        for key, v in st.items():
            want = None if fresh is None else fresh[key]
            if isinstance(v, np.ndarray) or isinstance(want, np.ndarray):
                v = np.asarray(v)
                if v.shape != p.shape:
                    raise ValueError(
                        f"{name}.load_state_dict: state '{key}' of parameter {k} "
                        f"has shape {v.shape}, the parameter has shape {p.shape}"
                    )
                if v.dtype.kind not in "fiu":
                    raise ValueError(
                        f"{name}.load_state_dict: state '{key}' of parameter {k} has dtype {v.dtype}, expected numbers"
                    )
                st[key] = v.astype(p.dtype, copy=False)
            elif isinstance(want, int) and not (
                isinstance(v, (int, np.integer)) and not isinstance(v, bool) and v >= 0
            ):
                raise ValueError(
                    f"{name}.load_state_dict: state '{key}' of parameter {k} must be an integer >= 0, got {v!r}"
                )
        return st

    def __repr__(self) -> str:
        lines = [f"{type(self).__name__} ("]
        for i, g in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            for k in sorted(k for k in g if k != "params"):
                lines.append(f"    {k}: {g[k]}")
        lines.append(")")
        return "\n".join(lines)


def _num(name: str, key: str, value, lo: float, hi: float | None = None, hi_open: bool = True) -> None:
    """Range check for a hyperparameter with a message naming it."""
    check_float(name, key, value)  # a number: not a bool, a string or None (TypeError)
    ok = isinstance(value, (int, float, np.floating, np.integer)) and math.isfinite(value) and value >= lo
    if ok and hi is not None:
        ok = value < hi if hi_open else value <= hi
    if not ok:
        rng = (
            f"in [{lo}, {hi})" if hi is not None and hi_open else (f"in [{lo}, {hi}]" if hi is not None else f">= {lo}")
        )
        raise ValueError(f"{name}: {key} must be a number {rng}, got {value!r}")


def _with_weight_decay(w, dw, wd: float, out):
    """dx + wd * x (the gradient of an added 1/2 wd |x|^2), written into ``out``."""
    np.multiply(w, wd, out=out)
    out += dw
    return out
