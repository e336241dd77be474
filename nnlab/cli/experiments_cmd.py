"""`nnlab experiments list` and `nnlab experiments run NAME|--all`: the notes' claims as seeded
experiments with verdicts, figures and a lab report."""

from __future__ import annotations

import argparse

from nnlab.cli.main import UsageError, register


def _positive_int(text):
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if v < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return v


def _configure(p):
    sub = p.add_subparsers(dest="action", metavar="ACTION", title="actions")
    sub.add_parser("list", help="the experiments: name, note and section, claim")
    r = sub.add_parser(
        "run",
        help="run experiments, judge their claims, draw figures",
        description="Run one or more experiments (or --all) on seeds 0..K-1; writes "
        "DIR/results.json, DIR/report.html and DIR/<name>/*.png.",
    )
    r.add_argument("names", nargs="*", metavar="NAME", help="experiments to run (see nnlab experiments list)")
    r.add_argument("--all", action="store_true", help="run every experiment")
    r.add_argument("--quick", action="store_true", help="small, fast variants (check the machinery, not verdicts)")
    r.add_argument(
        "--seeds",
        type=_positive_int,
        default=None,
        metavar="K",
        help="seeds per experiment (default: each experiment's own, usually 3)",
    )
    r.add_argument("--out", default="runs/experiments", metavar="DIR", help="output folder (default runs/experiments)")
    r.add_argument(
        "--jobs",
        type=_positive_int,
        default=1,
        metavar="N",
        help="experiments run at once in separate processes (default 1; 2 fills a 2-core machine)",
    )
    r.add_argument(
        "--update",
        action="store_true",
        help="keep the other experiments' results already in DIR/results.json, replace these",
    )
    r.add_argument(
        "--markdown",
        default=None,
        metavar="PATH",
        help="also write the results as Markdown (figures copied next to it), e.g. docs/experiments.md",
    )
    r.add_argument("--no-progress", action="store_true", help="no progress bar")


def experiments(args) -> int:
    from nnlab.experiments import registry

    action = getattr(args, "action", None)
    if action in (None, "list"):
        for name in registry.names():
            e = registry.get(name)
            print(f"{name:22s} {e.source_file} | {e.heading}\n{'':22s} {e.claim}")
        return 0
    if args.all and args.names:
        raise UsageError("nnlab experiments run: give experiment names or --all, not both")
    if not args.all and not args.names:
        raise UsageError("nnlab experiments run: name an experiment (nnlab experiments list) or pass --all")
    selected = None if args.all else list(dict.fromkeys(args.names))
    for n in selected or []:
        try:
            registry.get(n)
        except KeyError as e:
            raise UsageError(str(e.args[0])) from None
    from nnlab.experiments.lab import run_many, write_markdown

    doc = run_many(
        selected,
        seeds=args.seeds,
        quick=args.quick,
        out_dir=args.out,
        progress=not args.no_progress,
        jobs=args.jobs,
        update=args.update,
    )
    if args.markdown:
        cmd = "nnlab experiments run " + ("--all" if args.all else " ".join(selected))
        cmd += (" --quick" if args.quick else "") + (f" --seeds {args.seeds}" if args.seeds else "")
        print(f"markdown: {write_markdown(doc, args.out, args.markdown, cmd)}")
    ran = set(selected or registry.names())
    for r in (r for r in doc["experiments"] if r["name"] in ran):
        v = r["verdict"]
        med = "-" if v["median"] is None else f"{v['median']:.4g}"
        print(
            f"{r['name']:22s} {v['status']:14s} {v['statistic']} {v['threshold']} (median {med}, "
            f"{len(r['seeds'])} seeds, {r['cpu_seconds']:.1f} s CPU)"
        )
    print(f"report: {args.out}/report.html  results: {args.out}/results.json")
    return 0


register(
    "experiments",
    experiments,
    _configure,
    help="the notes' claims as experiments with verdicts",
    description="Each claim of the notes as a seeded experiment with a figure and a verdict "
    "(holds / does not hold / inconclusive, with the spread over seeds).",
    epilog="examples:\n  nnlab experiments list\n  nnlab experiments run init --quick\n"
    "  nnlab experiments run --all --out runs/lab",
)
