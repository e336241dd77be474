"""`nnlab check`: the notes' checks before training, on the network `nnlab train` would train.

Builds the model with the same recipe options as `nnlab train` (--model, --hidden, --l2, ...),
loads and standardizes the data the same way, then runs the sanity checks (chance-level initial
loss, regularization raises the loss, overfitting 20 examples) and a whole-model gradient check.
Exit code 0 when everything passes, 1 otherwise.
"""

from __future__ import annotations

import argparse
import json
import sys

import numpy as np

from nnlab.cli.main import register

__all__ = ["configure", "check"]


def _sizes(text: str) -> list[int]:
    try:
        v = [int(s) for s in text.replace("x", ",").split(",") if s.strip()]
    except ValueError:
        v = []
    if not v or min(v) < 1:
        raise argparse.ArgumentTypeError(f"expected comma-separated positive sizes such as 512,256, got {text!r}")
    return v


def _positive(kind):
    def parse(text):
        try:
            v = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a positive {kind.__name__}, got {text!r}") from None
        if not v > 0:
            raise argparse.ArgumentTypeError(f"expected a positive {kind.__name__}, got {text!r}")
        return v

    return parse


def configure(p) -> None:
    from nnlab.train.models import ACTIVATIONS, DEFAULT_MODEL, model_names

    g = p.add_argument_group("model (as in nnlab train)")
    g.add_argument(
        "--model",
        default=DEFAULT_MODEL,
        metavar="NAME",
        help=f"network: {', '.join(model_names())} (default {DEFAULT_MODEL})",
    )
    g.add_argument("--hidden", type=_sizes, default=None, metavar="SIZES", help="hidden sizes for mlp/digit16")
    g.add_argument("--channels", type=_sizes, default=None, metavar="SIZES", help="conv channels for cnn")
    g.add_argument("--activation", choices=sorted(ACTIVATIONS), default=None, help="hidden-unit nonlinearity")
    g.add_argument("--dropout", type=float, default=None, metavar="P", help="drop probability")
    g.add_argument("--batchnorm", action=argparse.BooleanOptionalAction, default=None, help="batch normalization")
    g.add_argument("--init", default=None, help="weight initialization (he, xavier, small, ...)")
    g.add_argument("--l2", type=float, default=None, metavar="LAMBDA", help="L2 strength (the regularization check)")
    g.add_argument(
        "--loss",
        choices=["recipe", "softmax", "svm"],
        default="recipe",
        help="data loss: the model's recipe (default), softmax cross-entropy, or the multiclass SVM "
        "(margin 1; expected initial loss C - 1)",
    )
    g.add_argument(
        "--weight-scale",
        type=_positive(float),
        default=1.0,
        metavar="F",
        help="multiply the initial weights by F (e.g. 30 to see the initial-loss check fail)",
    )
    g.add_argument("--seed", type=int, default=0, help="seed for init, data sampling and the checks")
    g = p.add_argument_group("data")
    g.add_argument("--data", default="mnist5k", metavar="NAME|PATH", help="dataset, as in nnlab train")
    g.add_argument("--limit", type=_positive(int), default=None, metavar="N", help="use the first N training examples")
    g = p.add_argument_group("checks")
    g.add_argument("--subset", type=_positive(int), default=20, metavar="N", help="examples to overfit (default 20)")
    g.add_argument("--steps", type=_positive(int), default=300, help="max full-batch steps of the overfit test")
    g.add_argument(
        "--gradcheck",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="also run the whole-model gradient check (default on)",
    )
    g.add_argument("--points", type=_positive(int), default=3, help="data points for the gradient check")
    g.add_argument("--json", action="store_true", help="print the results as JSON")


def _dropped_rows(model, x) -> list:
    """The conv/pool calls of one forward pass that floor away input rows/columns (nn.geometry)."""
    from nnlab.engine.autograd import no_grad
    from nnlab.engine.tensor import Tensor
    from nnlab.nn import geometry

    was = model.training
    model.eval()
    try:
        with geometry.recording() as notes, no_grad():
            model(Tensor(x))
    finally:
        model.train(was)
    return notes


def check(args) -> int:
    from nnlab.data import Standardize, load_dataset
    from nnlab.diagnostics.model_check import gradcheck_model
    from nnlab.diagnostics.sanity import sanity_check
    from nnlab.engine.random import manual_seed
    from nnlab.train.models import recipe

    splits = load_dataset(args.data, seed=0)
    train = splits.train
    X, y = train.X, train.y
    if args.limit is not None:
        X, y = X[: args.limit], y[: args.limit]
    pre = Standardize(per="global")
    pre.fit(X)
    X = pre.transform(X)
    manual_seed(args.seed)
    opts = {
        k: getattr(args, k)
        for k in ("hidden", "channels", "activation", "dropout", "batchnorm", "init", "l2")
        if getattr(args, k) is not None
    }
    r = recipe(args.model, splits.input_shape, splits.num_classes, **opts)
    if args.loss != "recipe":
        from nnlab import nn

        r.loss = nn.CrossEntropyLoss() if args.loss == "softmax" else nn.MultiClassSVMLoss(delta=1.0)
    if args.weight_scale != 1.0:
        for p in r.model.parameters():
            if p.data.ndim >= 2:
                p.data = (p.data * args.weight_scale).astype(p.data.dtype)
    quiet = args.json
    if not quiet:
        print(
            f"checking {args.model} ({r.model.num_parameters():,} parameters) on {splits.name or args.data}, "
            f"loss {type(r.loss).__name__}" + (f", weights x{args.weight_scale:g}" if args.weight_scale != 1 else "")
        )
    dropped = _dropped_rows(r.model, X[:1])
    report = sanity_check(
        r.model, r.loss, X, y, regularizer=r.regularizer, subset=args.subset, steps=args.steps, seed=args.seed
    )
    if not quiet:
        print(report)
        print(
            "geometry: every conv/pool window grid covers its whole input"
            if not dropped
            else "geometry: layers whose windows miss input rows/columns (set strict=True to refuse):\n  "
            + "\n  ".join(dropped)
        )
    grad = None
    if args.gradcheck:
        grad = gradcheck_model(r.model, r.loss, X, y, num_points=args.points, seed=args.seed, regularizer=r.regularizer)
        if not quiet:
            print()
            print(grad)
    ok = report.ok and (grad is None or grad.ok)
    if quiet:
        doc = {
            "ok": ok,
            "geometry_dropped": dropped,
            "sanity": [
                {
                    "name": c.name,
                    "status": c.status,
                    "numbers": c.numbers,
                    "meaning": c.meaning if c.status != "pass" else "",
                    "values": c.values,
                }
                for c in report.checks
            ],
            "gradcheck": None
            if grad is None
            else {
                "ok": grad.ok,
                "depth": grad.depth,
                "rows": [
                    {
                        "name": g.name,
                        "check": g.check,
                        "max_rel_error": g.max_rel_error,
                        "grade": g.grade,
                        "kinks": g.kinks,
                    }
                    for g in grad.rows
                ],
            },
        }
        print(json.dumps(doc, indent=1, default=lambda o: o.item() if isinstance(o, np.generic) else str(o)))
    else:
        print("\nall checks passed" if ok else "\nsome checks FAILED (see the explanations above)", file=sys.stderr)
    return 0 if ok else 1


HELP = "sanity checks and a whole-model gradient check before training"
DESCRIPTION = (
    "Run the notes' checks on the network `nnlab train` would train (same --model and options):\n"
    "  1. the initial loss is its chance value (ln C for softmax, (C - 1) delta for the SVM),\n"
    "     with small weights and as initialized;\n"
    "  2. raising the regularization raises the loss;\n"
    "  3. the network overfits 20 examples (100% accuracy, loss near zero);\n"
    "  4. the analytic gradient of every parameter tensor matches centered differences.\n"
    "Each prints pass/fail, the numbers and what a failure usually means. Exit code 1 if any fails."
)


register("check", check, configure, help=HELP, description=DESCRIPTION)
