"""`nnlab tune`: hyperparameter search from the command line.

    nnlab tune --trials 20                          lr, L2 and dropout for the default model on the digits
    nnlab tune --trials 40 --stages 1,5 --keep 0.25 --narrow
    nnlab tune --param lr=log:1e-4,1e-1 --param hidden=int:32,256 --param optimizer=choice:sgd,adam --model mlp
    nnlab tune --trials 50 --workers 2              two processes on this machine
    nnlab tune --storage postgresql://user@host/db  workers on several machines join one study

Re-running the same command resumes: ``--trials`` is the number of completed trials, finished
trials are kept (failed ones do not count). A search folder holds one task (model, data, subset or
objective); another task needs another --out folder.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from nnlab.cli.argtypes import fraction as _fraction, nonneg_int, positive
from nnlab.cli.main import UsageError, register as _register

__all__ = ["configure", "run"]

EXAMPLES = __doc__.split("\n\n", 1)[1]


_positive_int = positive(int)


def _range(kind):
    def parse(text):
        parts = [p for p in text.replace(":", ",").split(",") if p.strip()]
        if len(parts) != 2:
            raise argparse.ArgumentTypeError(f"expected LOW,HIGH such as 1e-4,1e-1, got {text!r}")
        return f"{kind}:{parts[0]},{parts[1]}"

    return parse


def configure(p) -> None:
    g = p.add_argument_group("search")
    g.add_argument(
        "--trials",
        type=_positive_int,
        default=20,
        metavar="N",
        help="total trials of the first stage; a re-run continues up to it (default 20)",
    )
    g.add_argument(
        "--sampler",
        choices=["random", "grid", "tpe"],
        default="random",
        help="random (default), grid (for comparison) or tpe (Bayesian)",
    )
    g.add_argument(
        "--grid-points",
        type=_positive_int,
        default=None,
        metavar="K",
        help="grid values per numeric parameter (default: the largest grid within --trials)",
    )
    g.add_argument(
        "--stages",
        default=None,
        metavar="E1,E2,...",
        help="epochs per stage, coarse to fine, e.g. 1,5,20 or 1:0.25,5 (epochs:keep); default 1,3",
    )
    g.add_argument(
        "--keep",
        type=_fraction,
        default=0.25,
        metavar="F",
        help="fraction of a stage's best trials that go on to the next (default 0.25)",
    )
    g.add_argument(
        "--narrow",
        action="store_true",
        help="later stages also try as many fresh settings in ranges narrowed around the kept ones",
    )
    g.add_argument("--metric", default="val_accuracy", help="validation metric to optimize (default val_accuracy)")
    g.add_argument(
        "--direction",
        choices=["maximize", "minimize"],
        default=None,
        help="default: maximize accuracies, minimize losses",
    )
    g.add_argument(
        "--seed",
        type=nonneg_int,
        default=0,
        help="seed of the sampler and of each trial's training; with one worker, a killed and re-run "
        "search trains the same configurations with the same seeds as an uninterrupted one",
    )
    g = p.add_argument_group("search space (default: --lr 1e-4,1e-1 --l2 1e-6,1e-2 --dropout 0,0.6)")
    g.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="NAME=KIND:ARGS",
        help="a parameter: lr=log:1e-4,1e-1  dropout=uniform:0,0.5  hidden=int:32,256  "
        "optimizer=choice:sgd,adam  batch_size=pow2:16,128 (repeatable)",
    )
    g.add_argument(
        "--config",
        default=None,
        metavar="FILE.json",
        help='space as JSON: {"lr": "log:1e-4,1e-1", "dropout": "uniform:0,0.5"}',
    )
    g.add_argument("--lr", type=_range("log"), default=None, metavar="LOW,HIGH", help="learning-rate range (log scale)")
    g.add_argument("--l2", type=_range("log"), default=None, metavar="LOW,HIGH", help="L2 strength range (log scale)")
    g.add_argument("--dropout", type=_range("uniform"), default=None, metavar="LOW,HIGH", help="dropout range")
    g = p.add_argument_group("what to train")
    g.add_argument("--model", default=None, help="an `nnlab train` model (default: the main job's cnn)")
    g.add_argument("--data", default="mnist5k", help="dataset name or path (default: the bundled digits)")
    g.add_argument(
        "--subset",
        type=_positive_int,
        default=None,
        metavar="N",
        help="train on the first N training examples only (quick searches)",
    )
    g.add_argument(
        "--objective",
        default=None,
        metavar="MODULE:FUNC",
        help="train something else: f(params, epochs=, trial_dir=, seed=) -> metric or dict",
    )
    g = p.add_argument_group("workers and storage")
    g.add_argument(
        "--out",
        default="runs/tune",
        metavar="DIR",
        help="search folder: study, results.csv, best.json, report, trials/ (default runs/tune)",
    )
    g.add_argument("--workers", type=_positive_int, default=1, metavar="W", help="processes on this machine")
    g.add_argument(
        "--storage",
        default=None,
        metavar="URL",
        help="database URL shared by workers on several machines (default: DIR/study.db, SQLite)",
    )
    g.add_argument("--study", default="nnlab-tune", metavar="NAME", help="study name inside the storage")
    g.add_argument("--quiet", action="store_true", help="print only the summary")
    g.add_argument(
        "--ensemble",
        type=_positive_int,
        default=None,
        metavar="K",
        help="after the search, average the top K trials' checkpoints and report the ensemble's "
        "validation accuracy against the number of members",
    )


def _space(args):
    from nnlab.tune.space import SearchSpace, default_space, parse_param

    items = []
    if args.config:
        items += [str(p) for p in _config_space(args.config)]
    items += list(args.param)
    short = {n: getattr(args, n) for n in ("lr", "l2", "dropout") if getattr(args, n)}
    if not items and not short:
        return None  # the study's recorded space when resuming or joining, else the default
    base = SearchSpace.parse(items) if items else (default_space() if short else SearchSpace())
    params = dict(base.params)
    for n, spec in short.items():
        params[n] = parse_param(f"{n}={spec}")
    return SearchSpace(params.values())


def _config_space(path):
    """The space of a --config file, with errors that name the option and the file."""
    import json
    from nnlab.tune.space import SearchSpace

    if not str(path).endswith(".json"):
        raise UsageError(
            f'--config {path}: expected a .json file such as {{"lr": "log:1e-4,1e-1", "dropout": "uniform:0,0.5"}}'
        )
    try:
        return SearchSpace.from_config(path)
    except FileNotFoundError:
        raise UsageError(f"--config {path}: no such file") from None
    except json.JSONDecodeError as e:
        raise UsageError(f"--config {path}: not valid JSON ({e.msg} at line {e.lineno}, column {e.colno})") from None
    except (OSError, ValueError, TypeError, AttributeError) as e:
        raise UsageError(
            f'--config {path}: {e}; expected an object such as {{"lr": "log:1e-4,1e-1", "dropout": "uniform:0,0.5"}}'
        ) from None


def run(args) -> int:
    from nnlab.tune.search import Search

    direction = args.direction or ("minimize" if "loss" in args.metric or "error" in args.metric else "maximize")
    task = {"model": args.model, "data": args.data, "subset": args.subset} if args.objective is None else {}
    search = Search(
        args.out,
        space=_space(args),
        objective=args.objective,
        trials=args.trials,
        stages=args.stages,
        default_stages="1,3",
        keep=args.keep,
        narrow=args.narrow,
        sampler=args.sampler,
        grid_points=args.grid_points,
        storage=args.storage,
        study_name=args.study,
        workers=args.workers,
        metric=args.metric,
        direction=direction,
        seed=args.seed,
        task=task,
        verbose=not args.quiet,
    )
    result = search.run()
    print(result.table(limit=10))
    for w in result.warnings:
        print(f"warning: {w}")
    if result.best:
        params = " ".join(
            f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in result.best["params"].items()
        )
        print(
            f"best {result.best['metric']}={result.best['value']:.4f} (stage {result.best['stage']}, "
            f"{result.best['epochs']} epochs): {params}"
        )
    if args.ensemble and args.objective is None and result.best:
        line = _ensemble_line(args, args.ensemble)
        print(line)
        with open(Path(args.out) / "report.md", "a", encoding="utf-8") as f:
            f.write(f"\n{line}\n")
    print(f"search folder: {args.out} (results.csv, best.json, report.md)")
    failed = [r for r in result.rows if r["status"] == "fail"]
    if result.stopped:
        print(f"warning: {result.stopped}; first error: {failed[0]['error'] if failed else '-'}")
    if failed and not result.best:
        print(f"all {len(failed)} trials failed; first error: {failed[0]['error']}")
        return 1
    return 0


def _ensemble_line(args, k: int) -> str:
    """The top-k trials of the last stage as one ensemble, measured on the validation split."""
    from nnlab.data import load_dataset
    from nnlab.ensemble import from_search

    ens = from_search(args.out, k=k)
    dev = load_dataset(args.data, seed=0).dev
    return f"top-{len(ens)} {ens.report_line(dev)} (validation split)"


_register(
    "tune",
    run,
    configure,
    help="hyperparameter search (random/grid/TPE, stages, workers)",
    description="Hyperparameter search: random (default), grid or TPE sampling on log scales, coarse-to-fine "
    "stages, a warning when the best value sits at a range's edge, workers sharing one study.\n\n" + EXAMPLES,
)
