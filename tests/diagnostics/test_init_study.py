"""The notes' initialization study: the per-layer statistics show the three regimes."""

import numpy as np

from nnlab.experiments.init_study import main, run_init_study


def test_three_regimes_from_the_statistics():
    res = run_init_study(layers=10, width=300, samples=400, seed=0)
    small = res["tanh, std 0.01"]["layers"]
    big = res["tanh, std 1.0"]["layers"]
    calibrated = res["tanh, std 1/sqrt(n)"]["layers"]
    he = res["relu, He sqrt(2/n)"]["layers"]
    # std 0.01: each layer shrinks the activations ~0.01 * sqrt(n) = 0.17x -> collapse to zero
    stds = [r["std"] for r in small]
    assert all(b < 0.3 * a for a, b in zip(stds, stds[1:]))
    assert stds[-1] < 1e-5
    # std 1.0: saturated at +-1 in every layer
    assert all(r["saturated"] > 0.8 for r in big)
    assert all(r["std"] > 0.95 for r in big)
    # 1/sqrt(n): healthy spread in every layer, almost nothing saturated or collapsed
    assert all(0.15 < r["std"] < 0.8 for r in calibrated)
    assert all(r["saturated"] < 0.05 for r in calibrated)
    # He init with ReLU: the activation scale neither collapses nor blows up with depth
    he_std = np.array([r["std"] for r in he])
    assert he_std.max() / he_std.min() < 1.5 and he_std.min() > 0.3
    assert all(r["dead"] < 0.5 for r in he)
    # the gradient reaching the first layer vanishes with std 0.01 and not with 1/sqrt(n)
    assert small[0]["grad_rms"] < 1e-4 * small[-1]["grad_rms"]
    assert calibrated[0]["grad_rms"] > 0.1 * calibrated[-1]["grad_rms"]


def test_command_writes_the_histograms(tmp_path, capsys):
    out = tmp_path / "init.png"
    assert main(["--out", str(out), "--width", "100", "--samples", "100", "--layers", "4"]) == 0
    assert out.exists() and out.stat().st_size > 10_000
    text = capsys.readouterr().out
    assert "tanh, std 0.01" in text and "relu, He sqrt(2/n)" in text
