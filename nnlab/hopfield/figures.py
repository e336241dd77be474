"""The Hopfield figures of docs/hopfield.md, drawn on matplotlib's Agg canvas.

    python -m nnlab.hopfield.figures docs/figures/hopfield      # every figure + the numbers

``demo`` is what ``nnlab hopfield demo`` runs: store a few binarized digits, corrupt them, recall,
and draw the pattern grids before and after.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

from nnlab.report.plots import new_figure

from .experiments import CRITICAL_LOAD, beta_sweep, capacity_curve, correlated_vs_random
from .network import HopfieldNetwork
from .patterns import digit_patterns, flip_bits, mixture, random_patterns

__all__ = [
    "plot_pattern_grid",
    "demo",
    "plot_energy",
    "plot_capacity",
    "plot_rules",
    "plot_correlated",
    "plot_beta",
    "main",
]


def _save(fig, path) -> str:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, format="png", dpi=100)
    return str(path)


def plot_pattern_grid(rows, shape, path, title: str | None = None) -> str:
    """One row of +-1 images per (label, (k, N) patterns) entry; +1 black, -1 white."""
    n_cols = max(len(p) for _, p in rows)
    fig = new_figure((1.1 * n_cols + 1.6, 1.15 * len(rows) + (0.4 if title else 0.1)))
    axes = fig.subplots(len(rows), n_cols, squeeze=False)
    for r, (label, pats) in enumerate(rows):
        for c in range(n_cols):
            ax = axes[r, c]
            ax.set_xticks([]), ax.set_yticks([])
            if c < len(pats):
                ax.imshow(np.asarray(pats[c]).reshape(shape), cmap="gray_r", vmin=-1, vmax=1, interpolation="nearest")
            else:
                ax.axis("off")
        axes[r, 0].set_ylabel(label, rotation=0, ha="right", va="center", fontsize=9)
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return _save(fig, path)


def demo(
    out_dir,
    n_patterns: int = 5,
    noise: float = 0.2,
    size: int = 28,
    rules=("hebb", "storkey", "pinv"),
    seed: int = 0,
    mode: str = "async",
    patterns: str = "digits",
) -> dict:
    """Store ``n_patterns`` binarized digits (or random patterns), flip ``noise`` of each one's
    bits, recall with each rule and write ``recall_grid.png``. Returns the final overlaps per rule."""
    if patterns == "digits":
        if not 1 <= n_patterns <= 10:
            raise ValueError(f"demo: n_patterns must be 1-10 for digits (one per class), got {n_patterns}")
        X, _ = digit_patterns(size, 1, seed=seed)
        X = X[:n_patterns]
        shape = (size, size)
    elif patterns == "random":
        X = random_patterns(n_patterns, size * size, seed=seed)
        shape = (size, size)
    else:
        raise ValueError(f"demo: patterns must be 'digits' or 'random', got {patterns!r}")
    cues = flip_bits(X, noise, seed=seed + 1)
    rows = [("stored", X), (f"cue\n({noise:.0%} flipped)", cues)]
    overlaps = {}
    for rule in rules:
        net = HopfieldNetwork(X.shape[1]).store(X, rule=rule)
        rec = [net.recall(c, mode=mode, seed=seed + i) for i, c in enumerate(cues)]
        overlaps[rule] = np.array([r.state @ x / net.N for r, x in zip(rec, X)])
        rows.append((f"{rule}\nrecall", np.array([r.state for r in rec])))
    shown = min(len(X), 10)  # a readable grid: at most ten columns
    kind = "digit" if patterns == "digits" else "random"
    title = f"{len(X)} {kind} patterns, N = {X.shape[1]}, {mode} recall" + (
        f" (first {shown} shown)" if shown < len(X) else ""
    )
    path = plot_pattern_grid(
        [(label, p[:shown]) for label, p in rows], shape, Path(out_dir) / "recall_grid.png", title=title
    )
    return {"path": path, "overlaps": overlaps, "cue_overlap": (cues * X).sum(1) / X.shape[1]}


def plot_energy(path, N: int = 200, P: int = 10, seed: int = 0) -> dict:
    """Left: energy after every flip of an asynchronous recall (it never rises). Right: the
    synchronous dynamics from the same cue, which may end in a 2-cycle with flat energy."""
    X = random_patterns(P, N, seed=seed)
    net = HopfieldNetwork(N).store(X)
    rng = np.random.default_rng(seed)
    x = np.where(rng.random(N) < 0.5, 1.0, -1.0)  # a random start: a long descent
    a = net.recall(x, mode="async", seed=seed, record="flip")
    # a sync run that cycles: search a few random starts at a higher load
    Xs = random_patterns(int(0.3 * N), N, seed=seed + 1)
    net_s = HopfieldNetwork(N).store(Xs)
    s = None
    for k in range(50):
        x2 = np.where(np.random.default_rng(100 + k).random(N) < 0.5, 1.0, -1.0)
        s = net_s.recall(x2, mode="sync", max_sweeps=50)
        if s.cycle == 2:
            break
    fig = new_figure((9.5, 3.4))
    ax1, ax2 = fig.subplots(1, 2)
    ax1.plot(a.energies, lw=1.2)
    ax1.set_xlabel("single-unit flips"), ax1.set_ylabel("energy E = -1/2 s^T W s")
    ax1.set_title(f"async, N={N}, P={P}: {a.flips} flips, E never rises", fontsize=9)
    ax2.plot(s.energies, "o-", ms=3, color="tab:red")
    ax2.set_xlabel("synchronous steps"), ax2.set_ylabel("energy")
    ax2.set_title(
        f"sync, N={N}, P={len(Xs)}: " + ("2-cycle, E stops falling" if s.cycle == 2 else "fixed point"), fontsize=9
    )
    fig.tight_layout()
    return {
        "path": _save(fig, path),
        "async_max_rise": float(np.diff(a.energies).max(initial=-np.inf)),
        "sync_cycle": s.cycle,
    }


def plot_capacity(
    path,
    Ns=(100, 400, 1000),
    loads=(0.05, 0.08, 0.1, 0.12, 0.138, 0.16, 0.2, 0.25, 0.3),
    seeds=(0, 1, 2),
    probes: int = 20,
) -> dict:
    """Mean recall overlap from 10% flipped bits against the load P/N (Hebb, async), mean and
    spread over seeds, with the 0.138 line."""
    fig = new_figure((6.4, 4.0))
    ax = fig.subplots()
    out = {}
    for N in Ns:
        c = capacity_curve(N, loads, seeds, probes=probes)
        out[N] = c
        ax.errorbar(c["loads"], c["mean"], yerr=c["std"], marker="o", ms=3, capsize=2, label=f"N = {N}")
    ax.axvline(CRITICAL_LOAD, color="k", ls="--", lw=1, label="0.138 N (Amit et al.)")
    ax.set_xlabel("load P / N"), ax.set_ylabel("overlap after recall")
    ax.set_title(
        f"Hebbian capacity: recall from 10% flipped bits ({len(seeds)} seeds, {probes} probes each)", fontsize=9
    )
    ax.set_ylim(0, 1.05), ax.grid(alpha=0.3), ax.legend(fontsize=8)
    fig.tight_layout()
    return {"path": _save(fig, path), "curves": out}


def plot_rules(
    path, N: int = 200, loads=(0.05, 0.1, 0.138, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7), seeds=(0, 1, 2), probes: int = 20
) -> dict:
    """Hebb vs Storkey vs pseudo-inverse: the same capacity measurement for each rule."""
    fig = new_figure((6.4, 4.0))
    ax = fig.subplots()
    out = {}
    for rule in ("hebb", "storkey", "pinv"):
        c = capacity_curve(N, loads, seeds, rule=rule, probes=probes)
        out[rule] = c
        ax.errorbar(c["loads"], c["mean"], yerr=c["std"], marker="o", ms=3, capsize=2, label=rule)
    ax.axvline(CRITICAL_LOAD, color="k", ls="--", lw=1, label="0.138 N")
    ax.set_xlabel("load P / N"), ax.set_ylabel("overlap after recall")
    ax.set_title(f"storage rules, N = {N}, recall from 10% flipped bits", fontsize=9)
    ax.set_ylim(0, 1.05), ax.grid(alpha=0.3), ax.legend(fontsize=8)
    fig.tight_layout()
    return {"path": _save(fig, path), "curves": out}


def plot_correlated(path, sizes=(14, 28), seed: int = 0) -> dict:
    """Ten binarized digits (one per class) against ten random patterns of the same length,
    Hebbian storage: fraction of exact fixed points and mean recall overlap from 10% flipped bits."""
    rows = []
    for size in sizes:
        D, _ = digit_patterns(size, 1, seed=seed)
        rows.append((size, correlated_vs_random(D, seed=seed)))
    fig = new_figure((6.4, 3.6))
    ax = fig.subplots()
    w = 0.35
    xs = np.arange(len(rows))
    for j, (name, color) in enumerate((("correlated", "tab:red"), ("random", "tab:blue"))):
        vals = [r[name]["overlap"].mean() for _, r in rows]
        ax.bar(
            xs + (j - 0.5) * w,
            vals,
            w,
            color=color,
            label="binarized digits" if name == "correlated" else "random +-1 patterns",
        )
        for x, v in zip(xs + (j - 0.5) * w, vals):
            ax.text(x, v + 0.01, f"{v:.2f}", ha="center", fontsize=8)
    ax.set_xticks(xs, [f"N = {r['N']} ({s}x{s}), P = {r['P']}\nload {r['load']:.3f}" for s, r in rows], fontsize=8)
    ax.axhline(1.0, color="k", lw=0.5)
    ax.set_ylim(0, 1.15), ax.set_ylabel("overlap after recall")
    ax.set_title("correlated patterns fail far below 0.138 N (Hebb, 10% flipped bits)", fontsize=9)
    ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    return {"path": _save(fig, path), "results": rows}


def plot_beta(path, **kw) -> dict:
    """Modern Hopfield, one update from a noisy query: cosine to the target and the largest
    softmax weight against beta (averaging at small beta, retrieval at large beta)."""
    r = beta_sweep(**kw)
    fig = new_figure((6.4, 3.6))
    ax = fig.subplots()
    ax.semilogx(r["betas"], r["cosine"], "o-", label="cosine(update, stored pattern)", base=2)
    ax.semilogx(r["betas"], r["max_weight"], "s--", label="largest softmax weight", base=2)
    ax.set_xlabel("beta"), ax.set_ylim(0, 1.05), ax.grid(alpha=0.3), ax.legend(fontsize=8)
    ax.set_title(f"modern Hopfield, d = {r['d']}, M = {r['M']} unit-norm patterns, ONE update", fontsize=9)
    fig.tight_layout()
    return {"path": _save(fig, path), **r}


def _spurious_grid(path, N: int = 400, seed: int = 0) -> dict:
    """The negated pattern and a 3-mixture are fixed points too (Hebb, P = 5)."""
    X = random_patterns(5, N, seed=seed)
    net = HopfieldNetwork(N).store(X)
    mix = mixture(*X[:3])
    side = int(np.sqrt(N))
    plot_pattern_grid(
        [("stored 1-3", X[:3]), ("spurious", np.stack([-X[0], mix]))],
        (side, side),
        path,
        title="fixed points that were never stored: -xi1 and sgn(xi1+xi2+xi3)",
    )
    return {
        "path": str(path),
        "negated_fixed": net.is_fixed_point(-X[0]),
        "mixture_fixed": net.is_fixed_point(mix),
        "mixture_overlaps": (X[:3] @ mix / N).round(3).tolist(),
    }


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    out = Path(argv[0] if argv else "docs/figures/hopfield")
    t0 = time.perf_counter()
    d = demo(out)
    print(
        f"{d['path']}: cue overlap {d['cue_overlap'].mean():.2f}; mean overlap after recall "
        + ", ".join(f"{k} {v.mean():.3f}" for k, v in d["overlaps"].items())
    )
    e = plot_energy(out / "energy.png")
    print(f"{e['path']}: largest energy change per async flip {e['async_max_rise']:.3g}; sync cycle {e['sync_cycle']}")
    s = _spurious_grid(out / "spurious.png")
    print(
        f"{s['path']}: -xi fixed {s['negated_fixed']}, 3-mixture fixed {s['mixture_fixed']}, "
        f"mixture overlaps {s['mixture_overlaps']}"
    )
    c = plot_capacity(out / "capacity.png")
    for N, cur in c["curves"].items():
        print(
            f"{c['path']}: N={N} "
            + " ".join(f"{a:.3f}:{m:.3f}+-{sd:.3f}" for a, m, sd in zip(cur["loads"], cur["mean"], cur["std"]))
        )
    r = plot_rules(out / "rules.png")
    for rule, cur in r["curves"].items():
        print(f"{r['path']}: {rule} " + " ".join(f"{a:.3f}:{m:.3f}" for a, m in zip(cur["loads"], cur["mean"])))
    k = plot_correlated(out / "correlated.png")
    for size, res in k["results"]:
        print(
            f"{k['path']}: N={res['N']} P={res['P']}: digits overlap {res['correlated']['overlap'].mean():.3f} "
            f"(fixed {res['correlated']['fixed']:.2f}, mean |corr| {res['correlated']['mean_abs_correlation']:.2f}), "
            f"random {res['random']['overlap'].mean():.3f} (fixed {res['random']['fixed']:.2f})"
        )
    b = plot_beta(out / "modern_beta.png")
    print(
        f"{b['path']}: "
        + " ".join(
            f"beta {x:g}: cos {c_:.3f} pmax {p:.3f}" for x, c_, p in zip(b["betas"], b["cosine"], b["max_weight"])
        )
    )
    print(f"done in {time.perf_counter() - t0:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
