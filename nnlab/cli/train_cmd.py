"""`nnlab train`, `nnlab evaluate` and `nnlab predict`."""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np

from nnlab.cli.argtypes import (
    nonneg_float as _nonneg_float,
    nonneg_int as _nonneg_int,
    positive as _positive,
    probability as _probability,
)
from nnlab.cli.main import UsageError, register

CHECKPOINT = "checkpoint.npz"
EXIT_DIVERGED = 3  # the loss became NaN/Inf: training stopped; metrics and report cover what was trained


# ------------------------------------------------------------------------------------------
# Argument helpers
# ------------------------------------------------------------------------------------------
def _int_list(text: str) -> list[int]:
    try:
        values = [int(v) for v in text.replace("x", ",").split(",") if v.strip()]
    except ValueError:
        raise UsageError(f"--hidden/--channels expects comma-separated sizes such as 512,256, got {text!r}") from None
    if not values or min(values) < 1:
        raise UsageError(f"--hidden/--channels expects positive sizes such as 512,256, got {text!r}")
    return values


def _image_size(text: str) -> list[int]:
    """``--image-size``: "N" (square) or "HxW", positive integers."""
    try:
        values = [int(v) for v in text.lower().split("x")]
    except ValueError:
        values = []
    if len(values) not in (1, 2) or min(values) < 1:
        raise argparse.ArgumentTypeError(f"expected a size such as 28 or 32x24 (H x W pixels), got {text!r}")
    return values * 2 if len(values) == 1 else values


def _configure_train(p):
    from nnlab.train.models import ACTIVATIONS, DEFAULT_MODEL, OPTIMIZERS, model_names, recipe_settings

    g = p.add_argument_group("model")
    g.add_argument(
        "--model",
        default=None,
        metavar="NAME",
        help=f"network: {', '.join(model_names())} (default {DEFAULT_MODEL} for images, "
        "mlp for feature vectors and images under 16x16)",
    )
    g.add_argument(
        "--hidden", type=str, default=None, metavar="SIZES", help="hidden layer sizes for mlp/digit16, e.g. 512,256"
    )
    g.add_argument(
        "--channels", type=str, default=None, metavar="SIZES", help="conv channels per stage for cnn, e.g. 16,32"
    )
    g.add_argument("--activation", choices=sorted(ACTIVATIONS), default=None, help="hidden-unit nonlinearity")
    g.add_argument(
        "--dropout", type=_probability, default=None, metavar="P", help="drop probability in [0, 1) (0 = off)"
    )
    g.add_argument("--batchnorm", action=argparse_bool(), default=None, help="batch normalization after each layer")
    g.add_argument(
        "--init",
        default=None,
        choices=["he", "xavier", "small", "xavier_uniform", "xavier_normal", "sparse"],
        help="weight initialization",
    )
    d = recipe_settings(DEFAULT_MODEL)
    g = p.add_argument_group(
        "training",
        f"defaults: the recipe each --model was tuned with; for {DEFAULT_MODEL}: "
        f"{d['optimizer']}, lr {d['lr']:g}, {d['schedule']} schedule,\n"
        f"{d['epochs']} epochs, batch {d['batch_size']}, L2 {d['l2']:g}",
    )
    g.add_argument("--optimizer", choices=OPTIMIZERS, default=None, help="update rule")
    g.add_argument("--lr", type=_positive(float), default=None, help="learning rate")
    g.add_argument("--schedule", choices=["cosine", "step", "none"], default=None, help="learning-rate schedule")
    g.add_argument("--epochs", type=_positive(int), default=None, help="passes over the training set")
    g.add_argument("--batch-size", type=_positive(int), default=None, metavar="N", help="examples per step")
    g.add_argument(
        "--l2",
        type=_nonneg_float,
        default=None,
        metavar="LAMBDA",
        help="L2 regularization strength (loss + lambda/2 * sum w^2)",
    )
    g.add_argument(
        "--seed", type=_nonneg_int, default=None, help="one seed for init, shuffling and dropout (default 0)"
    )
    # default: all CPUs, as PyTorch. The default run on a quiet 2-core machine took 12.3-12.5 s
    # wall on one thread and 10.2-10.5 s on two, the same losses to the bit (one BLAS thread was
    # the default before; under load 15-20 it was slower too: 159-195 s against 80-87 s)
    g.add_argument(
        "--threads",
        type=_positive(int),
        default=None,
        metavar="N",
        help="threads for NumPy's BLAS and nnlab's split passes (default: every CPU this process may use, as PyTorch)",
    )
    g = p.add_argument_group("data and output")
    g.add_argument(
        "--data",
        default=None,
        metavar="NAME|PATH",
        help="bundled (mnist5k, digits8x8), synthetic (spiral, circles, moons, xor, blobs), "
        "or a path: .npz (X, y), .csv, or a folder with one sub-folder per class (default mnist5k)",
    )
    g.add_argument(
        "--label-column",
        default=None,
        metavar="NAME|INDEX",
        help="the label column of a .csv (default: the column its header names label/class/target/y, else the last)",
    )
    g.add_argument(
        "--image-size",
        type=_image_size,
        default=None,
        metavar="HxW",
        help="resize the images of an image folder to H x W pixels (e.g. 28 or 32x24); needed when their sizes differ",
    )
    g.add_argument(
        "--limit",
        type=_positive(int),
        default=None,
        metavar="N",
        help="train on the first N training examples only (quick experiments)",
    )
    g.add_argument("--out", default=None, metavar="DIR", help="run folder (default runs/<model>-<time>)")
    g.add_argument(
        "--resume", default=None, metavar="RUN", help="continue an interrupted run (its folder or checkpoint file)"
    )
    g.add_argument("--no-report", action="store_true", help="skip the HTML report")
    g.add_argument(
        "--no-monitors",
        action="store_true",
        help="skip the training monitors (update ratios, activation statistics, advice, "
        "figures/, tensorboard/): about 3%% per step plus ~1 s of pictures at the end",
    )
    g.add_argument("--quiet", action="store_true", help="no progress output, only the final table")


def argparse_bool():
    return argparse.BooleanOptionalAction


_ARCH_FLAGS = ("hidden", "channels", "activation", "dropout", "batchnorm", "init")
_TRAIN_FLAGS = ("optimizer", "lr", "schedule", "epochs", "batch_size", "l2")


# ------------------------------------------------------------------------------------------
# train
# ------------------------------------------------------------------------------------------
def _load_data(name, seed_split: int = 0, limit=None, image_size=None, label_column=None):
    """The run's train/dev/test splits; a data problem is a usage error naming --data."""
    from nnlab.data import DataError, load_dataset

    try:
        splits = load_dataset(name, seed=seed_split, image_size=image_size, label_column=label_column)
    except DataError as e:
        raise UsageError(f"--data {name}: {_cli_hint(e)}") from None
    empty = [s for s, d in zip(("train", "dev", "test"), splits) if len(d) == 0]
    if empty:
        raise UsageError(
            f"--data {name}: {sum(splits.sizes())} samples leave the {' and '.join(empty)} "
            f"split{'s' if len(empty) > 1 else ''} empty (split {'/'.join(map(str, splits.sizes()))}); "
            "give at least 10 samples per class"
        )
    if limit is not None and limit < len(splits.train):
        splits.train = splits.train.subset(np.arange(limit), role="train")
    return splits


def _cli_hint(e: Exception) -> str:
    """A data error's text with the Python keyword it suggests replaced by the CLI option."""
    return (
        str(e)
        .replace("pass image_size=(H, W)", "pass --image-size HxW")
        .replace("set label_column=", "set --label-column")
        .replace("pass label_column=", "pass --label-column")
    )


def _run_dir(args, model_name) -> Path:
    if args.out:
        return Path(args.out)
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    base = Path("runs") / f"{model_name}-{stamp}"
    path, i = base, 1
    while path.exists():
        i += 1
        path = Path(f"{base}-{i}")
    return path


def _options_from(args) -> dict:
    opts = {}
    for k in _ARCH_FLAGS + _TRAIN_FLAGS:
        v = getattr(args, k, None)
        if v is not None:
            opts[k] = _int_list(v) if k in ("hidden", "channels") else v
    return opts


def _threads(n):
    """Run the command on ``n`` threads (NumPy's BLAS and nnlab's split passes); None leaves the
    process's count (all the CPUs it may use, as PyTorch)."""
    import contextlib

    from nnlab.engine import parallel

    return contextlib.nullcontext() if n is None else parallel.limit_threads(int(n))


def train(args) -> int:
    threads = args.threads
    if args.resume:  # the run's own thread count: summation order, hence the bits, depend on it
        from nnlab.train.checkpoint import read_checkpoint

        threads = (read_checkpoint(args.resume).get("config", {}).get("cli") or {}).get("threads", threads)
    with _threads(threads):
        from nnlab.engine import parallel

        return _train(args, parallel.get_num_threads())


@dataclass
class _RunSettings:
    """What a run trains on, from the command line or from the checkpoint it resumes."""

    model_name: str | None
    data_name: str
    seed: int
    limit: int | None
    image_size: list | None
    label_column: str | int | None
    options: dict
    out: Path | None = None
    resume_path: str | None = None
    checkpoint: dict | None = None  # the resumed checkpoint's payload
    done: int = 0  # epochs already trained


def _train(args, threads) -> int:
    """A run in steps: settings, data, recipe, run folder, trainer, fit, final measurements."""
    from nnlab.data import Standardize
    from nnlab.engine.random import manual_seed
    from nnlab.train.trainer import Trainer

    run = _settings_from_checkpoint(args) if args.resume else _settings_from_args(args)
    t_start = time.perf_counter()
    splits = _load_data(run.data_name, 0, run.limit, run.image_size, run.label_column)
    manual_seed(run.seed)
    r = _recipe(run, splits, quiet=args.quiet)
    out = _run_folder(args, run, r)
    config = _write_config(out, run, r, splits, threads)
    trainer = Trainer(
        r.model,
        r.loss,
        r.optimizer,
        regularizer=r.regularizer,
        callbacks=_callbacks(args, r, out),
        seed=run.seed,
        preprocessor=Standardize(per="global"),
        config=config,
        builder=r.builder,
    )
    if not args.quiet:
        what = "resuming" if run.resume_path else "training"
        print(
            f"{what} {run.model_name} ({r.model.num_parameters():,} parameters) on {splits.name or run.data_name}: "
            f"{len(splits.train)}/{len(splits.dev)}/{len(splits.test)} train/dev/test, "
            f"{r.epochs} epoch{'s' if r.epochs != 1 else ''}, batch {r.batch_size}, "
            f"{r.settings['optimizer']} lr {r.settings['lr']:g} -> {out}",
            file=sys.stderr,
        )
    interrupted, diverged = _fit(trainer, splits, r, run.resume_path, out)
    if interrupted:
        return 130
    train_seconds = time.perf_counter() - t_start
    results = _finish_run(args, trainer, splits, r, run, out, config, diverged, t_start, train_seconds)
    _print_table(results, out)
    if diverged is not None:
        print(
            f"training diverged at step {diverged.step}: the table shows the last good weights; "
            f"lower --lr (now {r.settings['lr']:g}) 3-10x",
            file=sys.stderr,
        )
        return EXIT_DIVERGED
    return 0


def _settings_from_args(args) -> _RunSettings:
    return _RunSettings(
        model_name=args.model,
        data_name=args.data or "mnist5k",
        seed=0 if args.seed is None else args.seed,
        limit=args.limit,
        image_size=args.image_size,
        label_column=args.label_column,
        options=_options_from(args),
    )


def _settings_from_checkpoint(args) -> _RunSettings:
    """A resumed run continues exactly as it started; only --epochs (and --out) may change."""
    from nnlab.train.checkpoint import read_checkpoint

    fixed = [
        f
        for f in ("model", "data", "seed", "limit", "image_size", "label_column") + _ARCH_FLAGS + _TRAIN_FLAGS
        if f != "epochs" and getattr(args, f, None) is not None
    ]
    if fixed:
        flags = ", ".join("--" + f.replace("_", "-") for f in fixed)
        raise UsageError(
            f"--resume continues the run with its own settings; {flags} cannot change "
            "(only --epochs can; start a new run with --out for other settings)"
        )
    payload = read_checkpoint(args.resume)
    cfg = payload.get("config", {}).get("cli")
    if not cfg:
        raise UsageError(
            f"{payload['path']}: not a checkpoint written by `nnlab train`; resume it from Python "
            "with Trainer.fit(..., resume=path)"
        )
    done = int((payload.get("train_state") or {}).get("epoch", 0))
    if args.epochs is not None and args.epochs < done:
        raise UsageError(
            f"--epochs {args.epochs}: the run already trained {done} epochs; "
            f"give --epochs above {done} to train further"
        )
    if args.epochs is not None:
        cfg["options"]["epochs"] = args.epochs
    resume_path = payload["path"]
    return _RunSettings(
        model_name=cfg["model"],
        data_name=cfg["data"],
        seed=cfg["seed"],
        limit=cfg.get("limit"),
        image_size=cfg.get("image_size"),
        label_column=cfg.get("label_column"),
        options=cfg["options"],
        out=Path(args.out) if args.out else Path(resume_path).parent,
        resume_path=resume_path,
        checkpoint=payload,
        done=done,
    )


def _recipe(run: _RunSettings, splits, quiet: bool):
    """The model, loss, optimizer and schedule; fills in run.model_name when --model was not given."""
    from nnlab.train.models import DEFAULT_MODEL, recipe

    if run.model_name is None:  # the CNN for images, the MLP for feature vectors and tiny images
        shape = splits.input_shape
        run.model_name = DEFAULT_MODEL if len(shape) == 3 and min(shape[1:]) >= 16 else "mlp"
    model = None
    if run.resume_path:  # the architecture the run was started with, even if the defaults changed since
        from nnlab.train.checkpoint import build_model, state_values

        model = build_model(run.checkpoint["architecture"], max_values=state_values(run.checkpoint.get("model_state")))
    r = recipe(run.model_name, splits.input_shape, splits.num_classes, model=model, **run.options)
    if run.resume_path and run.done >= r.epochs and not quiet:
        print(
            f"note: the run already finished its {run.done} epochs; re-measuring it "
            f"(pass --epochs above {run.done} to train further)",
            file=sys.stderr,
        )
    if r.ignored and not quiet:
        verb = "does" if len(r.ignored) == 1 else "do"
        flags = ", ".join("--" + k.replace("_", "-") for k in r.ignored)
        print(f"note: {flags} {verb} not apply to --model {run.model_name}; ignored", file=sys.stderr)
    return r


def _run_folder(args, run: _RunSettings, r) -> Path:
    out = run.out or _run_dir(args, run.model_name)
    if not run.resume_path and not args.quiet and (out / CHECKPOINT).exists():
        print(
            f"note: {out} already holds a run; this one replaces its files "
            f"(nnlab train --resume {out} would have continued it)",
            file=sys.stderr,
        )
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise UsageError(
            f"--out {out}: cannot create the run folder ({e.strerror or e}); give a writable folder"
        ) from None
    return out


def _write_config(out: Path, run: _RunSettings, r, splits, threads) -> dict:
    """The run's config (what --resume and the report read), also written to config.json."""
    cli_cfg = {
        "model": run.model_name,
        "data": run.data_name,
        "seed": run.seed,
        "limit": run.limit,
        "image_size": run.image_size,
        "label_column": run.label_column,
        "options": run.options,
        "threads": threads,
    }
    config = {
        "cli": cli_cfg,
        "settings": r.settings,
        "num_classes": splits.num_classes,
        "input_shape": list(splits.input_shape),
        "class_names": splits.class_names,
        "data_name": splits.name or run.data_name,
    }
    json_dump(out / "config.json", {**config, "command": " ".join(sys.argv[1:]) if sys.argv else ""})
    return config


def _callbacks(args, r, out: Path) -> list:
    from nnlab.train import callbacks as C

    callbacks = [
        C.CSVLogger(out / "metrics.csv"),
        C.JSONLogger(out / "history.json", iterations=True),
        C.ModelCheckpoint(out / CHECKPOINT),
    ]
    if r.schedule is not None:
        callbacks.insert(0, C.LearningRateScheduler(r.schedule, interval="epoch"))
    if not args.quiet:
        callbacks.append(C.ProgressBar())
    if not args.no_monitors:
        callbacks += _extra_callbacks(out, verbose=not args.quiet)
    return callbacks


def _fit(trainer, splits, r, resume_path, out: Path):
    """Train; returns (interrupted, the divergence error or None). After a divergence the weights
    are back to the last good ones, which the rest of the run measures and reports."""
    from nnlab.train.trainer import TrainingInterrupted

    TrainingDiverged = _diverged_error()
    try:
        trainer.fit(splits.train, splits.dev, epochs=r.epochs, batch_size=r.batch_size, resume=resume_path)
    except TrainingInterrupted as e:
        where = e.checkpoint_path or (out / CHECKPOINT)
        print(
            f"\ninterrupted at epoch {e.epoch + 1}, step {e.step}; checkpoint saved to {where}\n"
            f"resume with: nnlab train --resume {out}",
            file=sys.stderr,
        )
        return True, None
    except TrainingDiverged as e:
        print(f"\n{e}", file=sys.stderr)
        return False, e
    return False, None


def _finish_run(
    args, trainer, splits, r, run: _RunSettings, out: Path, config, diverged, t_start, train_seconds
) -> dict:
    """Measure every split, save the checkpoint (unless diverged), write the report and metrics.json."""
    results = _final_metrics(trainer, splits)
    results.update(
        {
            "wall_seconds": round(time.perf_counter() - t_start, 3),
            "train_seconds": round(train_seconds, 3),
            "num_parameters": int(r.model.num_parameters()),
            "epochs": len(trainer.history.epoch),
            "steps": trainer.global_step,
            "model": run.model_name,
            "data": splits.name or run.data_name,
            "seed": run.seed,
        }
    )
    if diverged is None:
        trainer.save_checkpoint(out / CHECKPOINT)
    else:  # the resumable checkpoint.npz (if any) stays the last good one
        results.update(
            {
                "diverged": str(diverged),
                "diverged_step": diverged.step,
                "last_good_checkpoint": None if diverged.checkpoint_path is None else str(diverged.checkpoint_path),
            }
        )
    if not args.no_report:
        t0 = time.perf_counter()
        from nnlab.report import write_report

        write_report(out, trainer=trainer, splits=splits, metrics=results, config=config)
        results["report_seconds"] = round(time.perf_counter() - t0, 3)
    results["wall_seconds"] = round(time.perf_counter() - t_start, 3)
    json_dump(out / "metrics.json", results)
    return results


def _diverged_error():
    try:
        from nnlab.diagnostics import TrainingDiverged
    except ImportError:  # without the diagnostics nothing raises it
        return type("TrainingDiverged", (RuntimeError,), {})
    return TrainingDiverged


def _extra_callbacks(out: Path, verbose: bool = True) -> list:
    """Callbacks other parts of nnlab switch on by default in `nnlab train` (monitors)."""
    try:
        from nnlab.diagnostics import default_train_callbacks
    except ImportError:
        return []
    return list(default_train_callbacks(out, verbose=verbose))


def _final_metrics(trainer, splits) -> dict:
    out = {}
    for name, ds in (("train", splits.train), ("dev", splits.dev), ("test", splits.test)):
        m = trainer.evaluate(ds)
        out[f"{name}_loss"] = m["loss"]
        if "accuracy" in m:
            out[f"{name}_accuracy"] = m["accuracy"]
    if trainer.regularizer is not None:
        out["reg_loss"] = float(trainer._reg_loss().data)
    return out


def _print_table(results: dict, out: Path) -> None:
    rows = [("", "accuracy", "loss")]
    for s in ("train", "dev", "test"):
        acc = results.get(f"{s}_accuracy")
        rows.append((s, "-" if acc is None else f"{acc * 100:.2f}%", f"{results[f'{s}_loss']:.4f}"))
    w = [max(len(r[i]) for r in rows) for i in range(3)]
    lines = ["  ".join(c.rjust(w[i]) if i else c.ljust(w[i]) for i, c in enumerate(r)) for r in rows]
    lines.append(
        f"parameters {results['num_parameters']:,}   epochs {results['epochs']}   "
        f"time {results['wall_seconds']:.1f}s (training {results['train_seconds']:.1f}s)"
    )
    lines.append(f"run folder: {out}" + ("  (report.html)" if (out / "report.html").exists() else ""))
    print("\n".join(lines))


def json_dump(path, obj) -> None:
    from nnlab.train.callbacks import atomic_write_text

    atomic_write_text(path, json.dumps(obj, indent=2, default=_json_default) + "\n")


def _json_default(o):
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, Path):
        return str(o)
    raise TypeError(f"not JSON serializable: {type(o).__name__}")


register(
    "train",
    train,
    _configure_train,
    help="train a network (no options: the main job on the bundled digits)",
    description="Train a network and write a run folder with checkpoint.npz, metrics.csv, metrics.json,\n"
    "config.json and report.html. With no options: the default network on the bundled\n"
    "handwritten digits (4,000/500/500 train/dev/test). Ctrl-C saves a checkpoint that\n"
    "--resume continues exactly.",
    epilog="exit codes:\n"
    f"  0    trained; the run folder is complete\n"
    f"  2    bad command line or input (one-line error)\n"
    f"  {EXIT_DIVERGED}    training diverged (the loss became NaN/Inf): it stopped at once, the weights\n"
    f"       went back to the last good ones (named in the message, kept in checkpoint.npz or\n"
    f"       last_good.npz); metrics.json and report.html describe them; lower --lr 3-10x\n"
    f"  130  interrupted (Ctrl-C); checkpoint.npz resumes it with --resume",
)


# ------------------------------------------------------------------------------------------
# evaluate / predict
# ------------------------------------------------------------------------------------------
def _load_run(run):
    from nnlab.train.checkpoint import load

    ck = load(run)
    if ck.model is None:
        raise UsageError(f"{ck.path}: the checkpoint has no model architecture")
    return ck


def _configure_evaluate(p):
    p.add_argument("run", metavar="RUN", help="run folder or checkpoint file")
    p.add_argument(
        "--data",
        default=None,
        metavar="NAME|PATH",
        help="data to evaluate on (default: the run's data, all three splits)",
    )


def _check_labels(ck, ds, where):
    k = ck.config.get("num_classes")
    if k is not None and ds.num_classes > k:
        raise UsageError(
            f"{where}: labels go up to {ds.num_classes - 1} but the model has {k} classes; "
            "evaluate on data with the model's classes"
        )
    shape = ck.config.get("input_shape")
    if shape is not None and tuple(ds.input_shape) != tuple(shape):
        raise UsageError(
            f"{where}: samples have shape {tuple(ds.input_shape)}, the model expects {tuple(shape)}; "
            "resize the data to the model's input"
        )


def evaluate(args) -> int:
    from nnlab.train.trainer import Trainer
    from nnlab.train.models import OneHotMSELoss
    from nnlab import nn

    ck = _load_run(args.run)
    settings = ck.config.get("settings", {})
    loss = OneHotMSELoss(ck.config.get("num_classes", 10)) if settings.get("loss") == "mse" else nn.CrossEntropyLoss()
    from nnlab.optim import SGD

    t = Trainer(ck.model, loss, SGD(ck.model.parameters(), lr=0.0), preprocessor=ck.preprocessor)
    if args.data is None:
        cli = ck.config.get("cli") or {}
        data = cli.get("data", "mnist5k")
        splits = _load_data(data, 0, cli.get("limit"), cli.get("image_size"), cli.get("label_column"))
        parts = [("train", splits.train), ("dev", splits.dev), ("test", splits.test)]
    else:
        data = args.data
        from nnlab.data import DataError, load_dataset

        shape = tuple(ck.config.get("input_shape") or ())
        images = {}  # an image folder is read at the model's input size and channels
        if len(shape) == 3:
            images = {"image_size": shape[1:], "color": "grayscale" if shape[0] == 1 else "rgb"}
        try:
            splits = load_dataset(
                data,
                seed=0,
                splits=(0.0, 0.0, 1.0),
                label_column=(ck.config.get("cli") or {}).get("label_column"),
                **images,
            )
        except DataError as e:
            raise UsageError(f"--data {data}: {_cli_hint(e)}") from None
        parts = [("all", splits.test)]
    rows = []
    for name, ds in parts:
        _check_labels(ck, ds, data if args.data is None else f"--data {data}")
        m = t.evaluate(ds)
        rows.append((name, len(ds), m.get("accuracy"), m["loss"]))
    print(f"{ck.path}: {type(ck.model).__name__}, {ck.model.num_parameters():,} parameters, data {data}")
    print(f"{'split':<6} {'n':>6} {'accuracy':>9} {'loss':>8}")
    for name, n, acc, loss_v in rows:
        print(f"{name:<6} {n:>6} {'-' if acc is None else f'{acc * 100:.2f}%':>9} {loss_v:>8.4f}")
    return 0


register("evaluate", evaluate, _configure_evaluate, help="measure a trained run on its data (or other data)")


def _configure_predict(p):
    p.add_argument("run", metavar="RUN", help="run folder or checkpoint file")
    p.add_argument(
        "files",
        metavar="FILE",
        nargs="+",
        help="images (PNG/JPEG) or .npz files with an X array (a batch, one sample, or flattened images)",
    )
    p.add_argument("--resize", action="store_true", help="resize images to the model's input size")
    p.add_argument("--invert", action="store_true", help="invert gray levels (dark digits on a light background)")
    p.add_argument("--top", type=_positive(int), default=1, help="show the K most likely classes")


def _read_image(path: Path, shape, resize: bool, invert: bool) -> np.ndarray:
    try:
        from PIL import Image
    except ModuleNotFoundError:
        raise UsageError("reading images needs Pillow: pip install pillow") from None
    from nnlab.data.datasets import image_array

    c, h, w = shape
    try:
        with Image.open(path) as im:
            from PIL import ImageOps

            im = ImageOps.exif_transpose(im)  # the size as displayed (image_array keeps it upright)
            if im.size != (w, h) and not resize:
                raise UsageError(
                    f"{path}: image is {im.size[0]}x{im.size[1]}, the model expects {w}x{h}; resize it or pass --resize"
                )
            a = image_array(im, "L" if c == 1 else "RGB", (h, w))
    except UsageError:
        raise
    except Exception as e:
        raise UsageError(f"{path}: cannot read the image ({type(e).__name__}); give a PNG or JPEG file") from None
    if invert:
        a = 1.0 - a
    return a[None] if a.ndim == 2 else a.transpose(2, 0, 1)


def _read_npz_inputs(path: Path, shape: tuple) -> np.ndarray:
    """The X array of an .npz as a batch of the model's input ``shape``: (N, *shape), one sample
    (*shape), grayscale images without the channel axis ((N,) H, W), or flattened images (N, C*H*W)."""
    try:
        with np.load(path, allow_pickle=False) as z:
            if "X" not in z.files:
                raise UsageError(
                    f"{path}: the .npz has no array named X (found {', '.join(z.files) or 'nothing'}); "
                    "save inputs with np.savez(path, X=images)"
                )
            X = z["X"]
    except UsageError:
        raise
    except Exception:
        raise UsageError(f"{path}: cannot read as .npz; save inputs with np.savez(path, X=images)") from None
    if X.dtype.kind not in "iufb":
        raise UsageError(f"{path}: X must be numeric, got dtype {X.dtype}")
    X = X.astype(np.float32)
    if shape:
        if X.shape == shape or (len(shape) == 3 and shape[0] == 1 and X.shape == shape[1:]):
            X = X.reshape((1,) + shape)  # a single sample
        elif len(shape) == 3 and shape[0] == 1 and X.shape[1:] == shape[1:]:
            X = X[:, None]  # grayscale images without the channel axis
        elif len(shape) == 3 and X.ndim == 2 and X.shape[1] == int(np.prod(shape)):
            X = X.reshape((len(X),) + shape)  # flattened images, one per row
        if tuple(X.shape[1:]) != shape:
            raise UsageError(f"{path}: samples have shape {tuple(X.shape[1:])}, the model expects {shape}")
    if len(X) == 0:
        raise UsageError(f"{path}: X holds no samples")
    if not np.all(np.isfinite(X)):
        raise UsageError(f"{path}: X holds NaN or infinite values; inputs must be finite numbers")
    if X.max() > 1.5 and len(shape) == 3:
        X = X / np.float32(255.0)  # 0-255 images, as the training images were scaled to [0, 1]
    return X


def predict(args) -> int:
    from nnlab.train.trainer import predict as run_model

    ck = _load_run(args.run)
    shape = tuple(ck.config.get("input_shape") or ())
    names = ck.config.get("class_names") or None
    softmax = ck.config.get("settings", {}).get("loss", "cross_entropy") != "mse"
    items = []  # (label, sample)
    for f in args.files:
        path = Path(f)
        if not path.exists():
            raise UsageError(f"{path}: no such file; give images (PNG/JPEG) or .npz files")
        if path.is_dir():
            raise UsageError(f"{path}: is a folder; give image files (e.g. {path}/*.png) or .npz files")
        if path.suffix.lower() == ".npz":
            X = _read_npz_inputs(path, shape)
            items += [(f"{path}[{i}]", x) for i, x in enumerate(X)]
        else:
            if len(shape) != 3:
                raise UsageError(f"{path}: this model takes feature vectors of shape {shape}, not images; give an .npz")
            items.append((str(path), _read_image(path, shape, args.resize, args.invert)))
    X = np.stack([x for _, x in items])
    if ck.preprocessor is not None:
        X = ck.preprocessor.transform(X)
    probs = run_model(ck.model, X, softmax=softmax)
    if not softmax:
        probs = probs / np.maximum(probs.sum(axis=1, keepdims=True), 1e-12)
    top = min(args.top, probs.shape[1])
    order = np.argsort(-probs, axis=1)[:, :top]
    for (label, _), idx, p in zip(items, order, probs):
        guesses = "  ".join(f"{names[j] if names else j} ({p[j] * 100:.1f}%)" for j in idx)
        print(f"{label}: {guesses}")
    return 0


register("predict", predict, _configure_predict, help="classify images or .npz inputs with a trained run")
