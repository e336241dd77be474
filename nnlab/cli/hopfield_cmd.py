"""`nnlab hopfield demo`: store a few binarized digits (or random patterns) in a Hopfield network,
corrupt them, recall with each storage rule, write the before/after pattern grid and print the
overlaps. A thin layer over ``nnlab.hopfield.figures.demo``."""

from __future__ import annotations

from pathlib import Path

from nnlab.cli.argtypes import fraction, number, positive
from nnlab.cli.main import register

__all__ = ["configure", "run"]


def configure(p) -> None:
    p.add_argument("action", choices=["demo"], help="demo: store, corrupt, recall, draw the pattern grid")
    p.add_argument(
        "--out", default="runs/hopfield", metavar="DIR", help="folder for recall_grid.png (default runs/hopfield)"
    )
    p.add_argument(
        "--patterns",
        choices=["digits", "random"],
        default="digits",
        help="binarized bundled digits (correlated; default) or random +-1 patterns",
    )
    p.add_argument("--n-patterns", type=positive(int), default=5, metavar="P", help="patterns to store (default 5)")
    p.add_argument(
        "--size",
        type=number(int, lambda v: v in (4, 7, 14, 28), "one of 4, 7, 14, 28"),
        default=28,
        help="images are SIZE x SIZE neurons (default 28)",
    )
    p.add_argument(
        "--noise", type=fraction, default=0.2, metavar="F", help="fraction of bits flipped in the cue (default 0.2)"
    )
    p.add_argument(
        "--rule",
        action="append",
        choices=["hebb", "storkey", "pinv"],
        default=None,
        help="storage rule (repeat for several; default all three)",
    )
    p.add_argument("--mode", choices=["async", "sync"], default="async", help="update mode (default async)")
    p.add_argument("--seed", type=int, default=0, help="seed for the patterns, the corruption and the update order")


def run(args) -> int:
    from nnlab.hopfield.figures import demo

    rules = tuple(dict.fromkeys(args.rule)) if args.rule else ("hebb", "storkey", "pinv")
    res = demo(
        Path(args.out),
        n_patterns=args.n_patterns,
        noise=args.noise,
        size=args.size,
        rules=rules,
        seed=args.seed,
        mode=args.mode,
        patterns=args.patterns,
    )
    kind = "digit" if args.patterns == "digits" else "random"
    print(
        f"{args.n_patterns} {kind} patterns of {args.size}x{args.size} neurons, {args.noise:.0%} of the "
        f"bits flipped: overlap of the cues with their patterns " + " ".join(f"{m:.2f}" for m in res["cue_overlap"])
    )
    for rule, m in res["overlaps"].items():
        print(
            f"{rule:8s} overlap after {args.mode} recall: "
            + " ".join(f"{v:.2f}" for v in m)
            + f"  (mean {m.mean():.3f})"
        )
    print(f"pattern grid: {res['path']}")
    return 0


register(
    "hopfield",
    run,
    configure,
    help="Hopfield network demo: store, corrupt, recall, draw",
    description=__doc__,
    epilog="examples:\n  nnlab hopfield demo\n  nnlab hopfield demo --patterns random --n-patterns 40 "
    "--size 14 --rule hebb --noise 0.1",
)
