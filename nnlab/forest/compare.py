"""The comparison behind docs/forest.md: the cascade against a plain random forest with the same
number of trees and against nnlab's MLP, with seed spreads, on scikit-learn's 8x8 digits (the
deep-forest README's split, ``train_test_split(random_state=1)``) and on the bundled MNIST
digits; plus the depth the cascade picks as the training set grows, and scanning on 8x8 images.

    python -m nnlab.forest.compare --out docs/figures/forest                 # everything
    python -m nnlab.forest.compare --parts digits depth --seeds 3            # a subset
    python -m nnlab.forest.compare --redraw                                  # summary + figures again

Results go to ``<out>/results.json`` (one record per run) and the figures to ``<out>/*.png``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

__all__ = ["digits_split", "mnist_split", "run_cascade", "run_forest", "run_mlp", "main"]

DF21_README_DIGITS = 0.98667  # deep-forest README: CascadeForestClassifier(random_state=1) on this split


def digits_split():
    """sklearn's 1,797 8x8 digits (pixels 0-16), split as in the deep-forest README."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    X, y = load_digits(return_X_y=True)
    return train_test_split(X, y, random_state=1)  # 1,347 train / 450 test


def mnist_split():
    """The bundled MNIST digits with nnlab's default split: 4,000 train, 500 test (dev unused)."""
    from nnlab.data import load_dataset

    s = load_dataset("mnist5k", seed=0)
    return (s.train.X.reshape(len(s.train.X), -1), s.test.X.reshape(len(s.test.X), -1), s.train.y, s.test.y)


def _timed(fn):
    t0, c0 = time.perf_counter(), time.process_time()
    out = fn()
    return out, time.perf_counter() - t0, time.process_time() - c0


def run_cascade(Xtr, ytr, Xte, yte, seed, n_jobs=2, **kw) -> dict:
    from nnlab.forest import CascadeForest

    m, wall, cpu = _timed(lambda: CascadeForest(random_state=seed, n_jobs=n_jobs, **kw).fit(Xtr, ytr))
    return {
        "model": "cascade",
        "seed": seed,
        "accuracy": float(m.score(Xte, yte)),
        "layers": m.n_layers_,
        "levels_grown": len(m.layers_),
        "trees": m.n_trees_,
        "wall": wall,
        "cpu": cpu,
        "level_accuracy": [r["train_accuracy"] for r in m.layers_],
        **{k: v for k, v in kw.items()},
    }


def run_forest(Xtr, ytr, Xte, yte, seed, n_trees, n_jobs=2) -> dict:
    from sklearn.ensemble import RandomForestClassifier

    m, wall, cpu = _timed(lambda: RandomForestClassifier(n_trees, random_state=seed, n_jobs=n_jobs).fit(Xtr, ytr))
    return {
        "model": "random forest",
        "seed": seed,
        "accuracy": float(m.score(Xte, yte)),
        "trees": n_trees,
        "wall": wall,
        "cpu": cpu,
    }


def run_mlp(Xtr, ytr, Xte, yte, seed) -> dict:
    """nnlab's ``mlp`` recipe (784-512-256-10 style ReLU net with batch norm and dropout, SGD +
    Nesterov, cosine schedule, 30 epochs), standardized inputs, as ``nnlab train --model mlp``."""
    from nnlab.data import ArrayDataset, Standardize
    from nnlab.engine.random import manual_seed
    from nnlab.train import callbacks as C
    from nnlab.train.models import recipe
    from nnlab.train.trainer import Trainer

    manual_seed(seed)
    Xtr, Xte = np.asarray(Xtr, np.float32), np.asarray(Xte, np.float32)
    r = recipe("mlp", (Xtr.shape[1],), int(max(ytr.max(), yte.max())) + 1)
    cbs = [C.LearningRateScheduler(r.schedule, interval="epoch")] if r.schedule is not None else []
    t = Trainer(
        r.model,
        r.loss,
        r.optimizer,
        regularizer=r.regularizer,
        callbacks=cbs,
        seed=seed,
        preprocessor=Standardize(per="global"),
    )
    _, wall, cpu = _timed(
        lambda: t.fit(ArrayDataset(Xtr, np.asarray(ytr)), None, epochs=r.epochs, batch_size=r.batch_size)
    )
    acc = t.evaluate(ArrayDataset(Xte, np.asarray(yte)))["accuracy"]
    return {"model": "nnlab mlp", "seed": seed, "accuracy": float(acc), "wall": wall, "cpu": cpu, "epochs": r.epochs}


def _summary(rows, key="accuracy"):
    v = np.array([r[key] for r in rows], float)
    return f"{100 * v.mean():.2f} +- {100 * v.std():.2f} (min {100 * v.min():.2f}, max {100 * v.max():.2f})"


def compare(dataset: str, seeds, n_jobs: int, log) -> list[dict]:
    Xtr, Xte, ytr, yte = digits_split() if dataset == "digits" else mnist_split()
    rows = []
    for seed in seeds:
        c = run_cascade(Xtr, ytr, Xte, yte, seed, n_jobs)
        f1 = run_forest(Xtr, ytr, Xte, yte, seed, c["trees"], n_jobs)  # same trees as the cascade
        f2 = run_forest(Xtr, ytr, Xte, yte, seed, 400, n_jobs)  # one level's worth
        m = run_mlp(Xtr, ytr, Xte, yte, seed)
        for r in (c, f1, f2, m):
            r["dataset"] = dataset
            rows.append(r)
        log(
            f"{dataset} seed {seed}: cascade {c['accuracy']:.4f} ({c['layers']} levels, {c['trees']} trees, "
            f"{c['wall']:.0f} s), RF {c['trees']} trees {f1['accuracy']:.4f}, RF 400 {f2['accuracy']:.4f}, "
            f"MLP {m['accuracy']:.4f}"
        )
    return rows


def depth_vs_size(sizes, seeds, n_jobs, log, dataset="digits") -> list[dict]:
    Xtr, Xte, ytr, yte = digits_split() if dataset == "digits" else mnist_split()
    rows = []
    for n in sizes:
        for seed in seeds:
            idx = np.random.default_rng(seed).permutation(len(Xtr))[:n]
            c = run_cascade(Xtr[idx], ytr[idx], Xte, yte, seed, n_jobs)
            f = run_forest(Xtr[idx], ytr[idx], Xte, yte, seed, 400, n_jobs)
            rows.append(
                {
                    "dataset": dataset,
                    "n_train": int(n),
                    "seed": seed,
                    "layers": c["layers"],
                    "cascade": c["accuracy"],
                    "forest400": f["accuracy"],
                    "level_accuracy": c["level_accuracy"],
                }
            )
            log(
                f"depth {dataset} n={n} seed {seed}: {c['layers']} levels "
                f"(estimates {' '.join(f'{a:.3f}' for a in c['level_accuracy'])}), cascade {c['accuracy']:.4f}, "
                f"RF400 {f['accuracy']:.4f}"
            )
    return rows


def scanning(seeds, n_jobs, log, windows=(2, 4, 6)) -> list[dict]:
    Xtr, Xte, ytr, yte = digits_split()
    itr, ite = Xtr.reshape(-1, 8, 8) / 16.0, Xte.reshape(-1, 8, 8) / 16.0
    rows = []
    for seed in seeds:
        c = run_cascade(itr, ytr, ite, yte, seed, n_jobs, scanning=list(windows))
        c.update(dataset="digits", model="cascade + scanning")
        rows.append(c)
        log(
            f"scanning {list(windows)} seed {seed}: {c['accuracy']:.4f} ({c['layers']} levels, {c['trees']} trees, "
            f"{c['wall']:.0f} s)"
        )
    return rows


def _figures(out: Path, results: dict) -> list[str]:
    from nnlab.report.plots import new_figure

    paths = []
    comp = [r for r in results.get("compare", [])]
    if comp:
        fig = new_figure((7.5, 3.8))
        axes = fig.subplots(1, 2)
        for ax, ds in zip(axes, ("digits", "mnist")):
            rows = [r for r in comp if r["dataset"] == ds]
            if not rows:
                ax.axis("off")
                continue
            labels, vals = [], []
            for name in ("cascade", "random forest same trees", "random forest 400", "nnlab mlp"):
                if name == "cascade":
                    v = [r["accuracy"] for r in rows if r["model"] == "cascade"]
                elif name == "nnlab mlp":
                    v = [r["accuracy"] for r in rows if r["model"] == "nnlab mlp"]
                else:
                    same = name.endswith("same trees")
                    v = [r["accuracy"] for r in rows if r["model"] == "random forest" and (r["trees"] != 400) == same]
                labels.append(
                    name.replace("random forest", "RF")
                    .replace(" same trees", "\n(same trees)")
                    .replace(" 400", "\n400 trees")
                )
                vals.append(100 * np.array(v))
            ax.boxplot(vals, showmeans=True)
            ax.set_xticks(range(1, len(labels) + 1), labels, fontsize=7)
            for i, v in enumerate(vals, 1):
                ax.scatter(np.full(len(v), i), v, s=10, color="k", zorder=3)
            if ds == "digits":
                ax.axhline(100 * DF21_README_DIGITS, color="tab:red", ls="--", lw=1, label="DF21 README 98.667%")
                ax.legend(fontsize=7, loc="upper right")
            n = len({r["seed"] for r in rows})
            ax.set_title(
                ("sklearn 8x8 digits (450 test)" if ds == "digits" else "bundled MNIST (500 test)")
                + f", {n} seed{'s' if n != 1 else ''}",
                fontsize=9,
            )
            ax.set_ylabel("test accuracy (%)")
            ax.grid(alpha=0.3)
        fig.tight_layout()
        p = out / "compare.png"
        fig.savefig(p, format="png")
        paths.append(str(p))
    depth = results.get("depth", [])
    if depth:
        fig = new_figure((7.5, 3.6))
        ax1, ax2 = fig.subplots(1, 2)
        sizes = sorted({r["n_train"] for r in depth})
        lay = [[r["layers"] for r in depth if r["n_train"] == n] for n in sizes]
        ax1.plot(sizes, [np.mean(v) for v in lay], "o-")
        for n, v in zip(sizes, lay):
            ax1.scatter(
                [n] * len(v),
                np.array(v) + np.random.default_rng(0).uniform(-0.08, 0.08, len(v)),
                s=10,
                color="k",
                zorder=3,
            )
        ax1.set_xscale("log"), ax1.set_xlabel("training digits"), ax1.set_ylabel("levels kept")
        ax1.set_title("depth the cascade picks (8x8 digits)", fontsize=9)
        ax1.grid(alpha=0.3)
        for key, label in (("cascade", "cascade"), ("forest400", "RF 400 trees")):
            ax2.plot(
                sizes, [100 * np.mean([r[key] for r in depth if r["n_train"] == n]) for n in sizes], "o-", label=label
            )
        ax2.set_xscale("log"), ax2.set_xlabel("training digits"), ax2.set_ylabel("test accuracy (%)")
        ax2.legend(fontsize=8), ax2.grid(alpha=0.3)
        ax2.set_title("accuracy on the 450 test digits", fontsize=9)
        fig.tight_layout()
        p = out / "depth.png"
        fig.savefig(p, format="png")
        paths.append(str(p))
    return paths


def main(argv=None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m nnlab.forest.compare", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--out", default="docs/figures/forest", help="folder for results.json and the figures")
    p.add_argument(
        "--parts",
        nargs="+",
        default=["digits", "mnist", "depth", "scanning"],
        choices=["digits", "mnist", "depth", "scanning"],
    )
    p.add_argument("--seeds", type=int, default=5, help="seeds for the digits comparison (default 5)")
    p.add_argument("--mnist-seeds", type=int, default=3, help="seeds for the MNIST comparison (default 3)")
    p.add_argument("--sizes", type=int, nargs="+", default=[100, 200, 400, 800, 1347])
    p.add_argument("--n-jobs", type=int, default=2)
    p.add_argument(
        "--redraw", action="store_true", help="only print the summary and redraw the figures from results.json"
    )
    args = p.parse_args(argv)
    if args.redraw:
        args.parts = []
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    path = out / "results.json"
    results = json.loads(path.read_text()) if path.is_file() else {}

    def log(msg):
        print(msg, flush=True)

    t0 = time.perf_counter()
    if "digits" in args.parts or "mnist" in args.parts:
        keep = [r for r in results.get("compare", []) if r["dataset"] not in args.parts]
        results["compare"] = keep

    def save():  # after every part, so a long run interrupted later keeps what it measured
        path.write_text(json.dumps(results, indent=1))

    if "digits" in args.parts:
        results["compare"] += compare("digits", range(args.seeds), args.n_jobs, log)
        save()
    if "mnist" in args.parts:
        results["compare"] += compare("mnist", range(args.mnist_seeds), args.n_jobs, log)
        save()
    if "depth" in args.parts:
        results["depth"] = depth_vs_size(args.sizes, range(3), args.n_jobs, log)
        save()
    if "scanning" in args.parts:
        results["scanning"] = scanning(range(3), args.n_jobs, log)
        save()
    for ds in ("digits", "mnist"):
        rows = [r for r in results.get("compare", []) if r["dataset"] == ds]
        if not rows:
            continue
        log(f"\n{ds}:")
        for name, sel in (
            ("cascade", lambda r: r["model"] == "cascade"),
            ("RF, same trees", lambda r: r["model"] == "random forest" and r["trees"] != 400),
            ("RF, 400 trees", lambda r: r["model"] == "random forest" and r["trees"] == 400),
            ("nnlab mlp", lambda r: r["model"] == "nnlab mlp"),
        ):
            sub = [r for r in rows if sel(r)]
            extra = f", levels {[r['layers'] for r in sub]}" if name == "cascade" else ""
            walls = [r.get("wall", float("nan")) for r in sub]
            wall = f"  wall {np.median(walls):.1f} s" if sub and np.all(np.isfinite(walls)) else ""
            log(f"  {name:15s} {_summary(sub)}{wall}{extra}")
    if results.get("scanning"):
        log(f"\nscanning: {_summary(results['scanning'])}")
    for pth in _figures(out, results):
        log(f"figure: {pth}")
    log(f"done in {time.perf_counter() - t0:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
