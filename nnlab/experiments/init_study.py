"""The notes' deep-net initialization study: a 10-layer MLP of 500 units on 1,000 Gaussian inputs.

- tanh, weights N(0, 0.01^2): each layer multiplies the activations' scale by about
  0.01 * sqrt(500) = 0.22, so they collapse to zero (and so do the weight gradients);
- tanh, weights N(0, 1): pre-activations of size ~sqrt(500) = 22 saturate tanh at +-1, the local
  gradient 1 - tanh^2 is ~0 and backpropagation stalls;
- tanh, weights N(0, 1/n) (w = randn(n) / sqrt(n), the notes' calibration): activations keep a
  healthy spread over (-1, 1) through all ten layers;
- ReLU, weights N(0, 2/n) (He): the ReLU version of the same calibration; the activation scale
  stays constant with depth.

``python -m nnlab.experiments.init_study [--out init_study.png]`` prints the per-layer statistics
and writes the histograms (rows: the four settings; columns: layers).
"""

from __future__ import annotations

import argparse

import numpy as np

from nnlab import nn
from nnlab.diagnostics.monitors import ActivationMonitor
from nnlab.engine import autograd
from nnlab.engine.tensor import Tensor

__all__ = ["REGIMES", "run_init_study", "plot_init_study", "main"]

#: name -> (activation, weight std as a function of fan-in n)
REGIMES = {
    "tanh, std 0.01": ("tanh", lambda n: 0.01),
    "tanh, std 1.0": ("tanh", lambda n: 1.0),
    "tanh, std 1/sqrt(n)": ("tanh", lambda n: 1.0 / np.sqrt(n)),
    "relu, He sqrt(2/n)": ("relu", lambda n: np.sqrt(2.0 / n)),
}


def _net(activation: str, std_of, layers: int, width: int, rng) -> nn.Sequential:
    mods = []
    for _ in range(layers):
        lin = nn.Linear(width, width)
        lin.weight.data = (rng.standard_normal((width, width)) * std_of(width)).astype(np.float32)
        mods += [lin, nn.Tanh() if activation == "tanh" else nn.ReLU()]
    return nn.Sequential(*mods)


def run_init_study(
    layers: int = 10, width: int = 500, samples: int = 1000, seed: int = 0, regimes: dict | None = None
) -> dict:
    """Forward (and backward, with a fixed random upstream gradient) through each setting.

    Returns {setting: {"layers": [per-layer stats], "sample": ActivationMonitor sample}} where the
    per-layer stats hold mean, std, saturated (tanh) or dead/zero (ReLU) fractions and the RMS of
    the gradient reaching that layer's output.
    """
    out = {}
    for name, (act, std_of) in (regimes or REGIMES).items():
        rng = np.random.default_rng(seed)
        X = rng.standard_normal((samples, width)).astype(np.float32)
        net = _net(act, std_of, layers, width, rng)
        mon = ActivationMonitor(bins=50)
        mon.attach(net)
        mon.start_sample(0)
        with autograd.enable_grad():
            y = net(Tensor(X, requires_grad=True))
            upstream = rng.standard_normal(y.shape).astype(np.float32)
            (y * Tensor(upstream)).sum().backward()
        mon.end_sample()
        mon.detach()
        s = mon.last()
        rows = []
        for i, (layer, st) in enumerate(s["act"].items()):
            g = s["grad"].get(layer, {})
            rows.append(
                {
                    "layer": i + 1,
                    "mean": st["mean"],
                    "std": st["std"],
                    "saturated": st.get("saturated"),
                    "dead": st.get("dead"),
                    "zero": st.get("zero"),
                    "grad_rms": g.get("rms"),
                }
            )
        out[name] = {"activation": act, "layers": rows, "sample": s}
    return out


def plot_init_study(results: dict, path) -> str:
    """Histograms of every layer's activations, one row per setting, plus the std by depth."""
    from nnlab.diagnostics.figures import _plt, _save

    plt = _plt()
    names = list(results)
    n_layers = len(results[names[0]]["layers"])
    fig, axes = plt.subplots(len(names), n_layers + 1, figsize=(1.7 * (n_layers + 1), 1.7 * len(names)), squeeze=False)
    for r, name in enumerate(names):
        sample = results[name]["sample"]
        for c, (layer, st) in enumerate(sample["act"].items()):
            ax = axes[r][c]
            counts, edges = st["hist"]
            ax.stairs(counts, edges, fill=True)  # one artist per histogram (a bar per bin is 10x slower)
            ax.set_yticks([])
            ax.tick_params(labelsize=5)
            if r == 0:
                ax.set_title(f"layer {c + 1}", fontsize=7)
            if c == 0:
                ax.set_ylabel(name, fontsize=7)
        ax = axes[r][-1]
        stds = [row["std"] for row in results[name]["layers"]]
        ax.semilogy(range(1, n_layers + 1), np.maximum(stds, 1e-30), marker="o", ms=2)
        ax.set_ylim(min(1e-8, min(stds) / 2), 3)
        ax.tick_params(which="both", labelsize=5)
        ax.minorticks_off()
        if r == 0:
            ax.set_title("std by layer", fontsize=7)
    fig.suptitle("activations of a 10-layer net at initialization (notes: weight initialization)", fontsize=9)
    fig.tight_layout()
    return _save(fig, path)


def format_table(results: dict) -> str:
    lines = []
    for name, res in results.items():
        lines.append(name)
        lines.append(f"  {'layer':>5} {'mean':>10} {'std':>10} {'saturated':>9} {'dead':>6} {'grad rms':>10}")
        for row in res["layers"]:
            sat = "-" if row["saturated"] is None else f"{row['saturated'] * 100:.0f}%"
            dead = "-" if row["dead"] is None else f"{row['dead'] * 100:.0f}%"
            g = "-" if row["grad_rms"] is None else f"{row['grad_rms']:.2e}"
            lines.append(f"  {row['layer']:>5} {row['mean']:>10.2e} {row['std']:>10.2e} {sat:>9} {dead:>6} {g:>10}")
    return "\n".join(lines)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m nnlab.experiments.init_study",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--out", default="init_study.png", help="where to write the histograms (PNG)")
    p.add_argument("--layers", type=int, default=10)
    p.add_argument("--width", type=int, default=500)
    p.add_argument("--samples", type=int, default=1000)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    if min(args.layers, args.width, args.samples) < 1:
        p.error("--layers, --width and --samples must be positive")
    results = run_init_study(args.layers, args.width, args.samples, args.seed)
    print(format_table(results))
    print(f"histograms: {plot_init_study(results, args.out)}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
