"""What the default monitors cost: ``python -m nnlab.diagnostics.overhead [--model cnn] [--limit N]``.

Two measurements of the same training run (bundled digits, the model's `nnlab train` recipe),
in CPU seconds of this process (``time.process_time``) with one BLAS thread, so that other programs
on the machine do not enter the figures:

- A/B: alternating runs without and with ``default_monitors`` (figures and TensorBoard included),
  median CPU time of each;
- instrumented: inside the monitored runs, the CPU seconds spent in the monitors' own code (every
  callback hook, the forward-hook statistics and gradient taps), split into per-step work and the
  one-off writing at the end (figures, TensorBoard images, diagnostics.json), as a fraction of the
  rest of the training time.
"""

from __future__ import annotations

import argparse
import functools
import tempfile
import time

import numpy as np

__all__ = ["measure_overhead", "main"]


def _timed(obj, name, acc, key):
    fn = getattr(obj, name)

    @functools.wraps(fn)
    def wrapper(*a, **k):
        t0 = time.process_time()
        try:
            return fn(*a, **k)
        finally:
            acc[key] += time.process_time() - t0

    setattr(obj, name, wrapper)


_STEP_HOOKS = ("on_train_begin", "on_epoch_begin", "on_epoch_end", "on_train_batch_begin", "on_train_batch_end")
_END_HOOKS = ("on_train_end",)


def _fit(model_name, splits, train, epochs, monitored, acc=None):
    """One training run as ``nnlab train`` does it (recipe, schedule, standardization); returns
    (CPU seconds of fit, steps). With ``acc``, the monitors' own CPU time is added to it."""
    import nnlab
    from nnlab.data import Standardize
    from nnlab.diagnostics import monitors as M
    from nnlab.diagnostics.run import RunDiagnostics, default_monitors
    from nnlab.train import LearningRateScheduler, Trainer
    from nnlab.train.models import recipe

    nnlab.manual_seed(0)
    r = recipe(model_name, splits.input_shape, splits.num_classes)
    cbs = [LearningRateScheduler(r.schedule, interval="epoch")] if r.schedule is not None else []
    tmp = None
    if monitored:
        tmp = tempfile.TemporaryDirectory()
        mons = default_monitors(tmp.name, verbose=False)
        if acc is not None:
            for cb in mons:
                if isinstance(cb, RunDiagnostics):
                    _timed(cb, "finish", acc, "end")
                    continue
                for hook in _STEP_HOOKS + _END_HOOKS:
                    if type(cb).__dict__.get(hook) is not None or hook in cb.__dict__:
                        _timed(cb, hook, acc, "end" if hook in _END_HOOKS else "step")
        cbs += mons
    t = Trainer(
        r.model, r.loss, r.optimizer, regularizer=r.regularizer, callbacks=cbs, preprocessor=Standardize(per="global")
    )
    if monitored and acc is not None:  # forward-hook statistics and gradient taps
        orig_a, orig_g = M.activation_stats, M.gradient_stats

        def a_stats(*a, **k):
            t0 = time.process_time()
            try:
                return orig_a(*a, **k)
            finally:
                acc["step"] += time.process_time() - t0

        def g_stats(*a, **k):
            t0 = time.process_time()
            try:
                return orig_g(*a, **k)
            finally:
                acc["step"] += time.process_time() - t0

        M.activation_stats, M.gradient_stats = a_stats, g_stats
    t0 = time.process_time()
    try:
        t.fit(train, splits.dev, epochs=epochs or r.epochs, batch_size=r.batch_size)
    finally:
        if monitored and acc is not None:
            M.activation_stats, M.gradient_stats = orig_a, orig_g
    dt = time.process_time() - t0
    if tmp is not None:
        tmp.cleanup()
    return dt, t.global_step


def measure_overhead(
    model: str = "cnn", data: str = "mnist5k", limit: int | None = None, epochs: int | None = None, repeats: int = 3
) -> dict:
    """A/B and instrumented overhead of ``default_monitors`` on one training run (see module doc).

    The defaults are the run ``nnlab train --model MODEL`` makes (all training examples, the
    recipe's epochs): the one-off end-of-run work weighs far more in a short run."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1):
        return _measure(model, data, limit, epochs, repeats)


def _measure(model, data, limit, epochs, repeats) -> dict:
    from nnlab.data import load_dataset

    splits = load_dataset(data)
    train = splits.train
    if limit is not None and limit < len(train):
        train = train.subset(np.arange(limit), role="train")
    plain, mon, fractions, end, total = [], [], [], [], []
    steps = 0
    for _ in range(repeats):
        plain.append(_fit(model, splits, train, epochs, False)[0])
        acc = {"step": 0.0, "end": 0.0}
        dt, steps = _fit(model, splits, train, epochs, True, acc)
        mon.append(dt)
        base = dt - acc["step"] - acc["end"]
        fractions.append(acc["step"] / base)
        total.append((acc["step"] + acc["end"]) / base)
        end.append(acc["end"])
    p, m = float(np.median(plain)), float(np.median(mon))
    return {
        "model": model,
        "steps": steps,
        "plain_seconds": p,
        "monitored_seconds": m,
        "ab_overhead": m / p - 1.0,
        "per_step_overhead": float(np.median(fractions)),
        "total_overhead": float(np.median(total)),
        "end_of_run_seconds": float(np.median(end)),
        "repeats": repeats,
    }


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m nnlab.diagnostics.overhead",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    ap.add_argument("--model", action="append", help="model recipe(s) (default: cnn and mlp)")
    ap.add_argument("--data", default="mnist5k")
    ap.add_argument("--limit", type=int, default=None, help="training examples (default: all, as nnlab train)")
    ap.add_argument("--epochs", type=int, default=None, help="epochs (default: the recipe's, as nnlab train)")
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args(argv)
    print("CPU seconds of training (1 BLAS thread), medians of the repeats")
    print(
        f"{'model':<8} {'steps':>5} {'plain s':>8} {'monitored s':>11} {'A/B':>7} {'per-step (instr.)':>17} "
        f"{'end-of-run s':>12} {'total (instr.)':>14}"
    )
    for name in args.model or ["cnn", "mlp"]:
        r = measure_overhead(name, args.data, args.limit, args.epochs, args.repeats)
        print(
            f"{name:<8} {r['steps']:>5} {r['plain_seconds']:>8.2f} {r['monitored_seconds']:>11.2f} "
            f"{r['ab_overhead'] * 100:>6.1f}% {r['per_step_overhead'] * 100:>16.2f}% {r['end_of_run_seconds']:>12.2f} "
            f"{r['total_overhead'] * 100:>13.2f}%"
        )
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
