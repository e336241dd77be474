"""Data (000 «数据预处理»; 001 «迁移学习», «数据增强»): whitening amplifies noise; augmentation and
transfer learning on small data."""

from __future__ import annotations

import numpy as np

from nnlab import optim
from nnlab.data import Whiten
from nnlab.data.transforms import RandomTranslate
from nnlab.experiments.common import accuracy, digits, figure, fit, mlp, save, seeded, spread_bars
from nnlab.experiments.registry import Experiment, all_of, register, threshold_verdict


# ---- whitening amplifies noise ---------------------------------------------------------------------
def _run_whiten(seed: int, quick: bool) -> dict:
    n = 1000 if quick else 4000
    Xtr, _, Xdv = digits(n, seed=seed)[:3]
    rng = np.random.default_rng(seed)
    w = Whiten(eps=1e-5).fit(Xtr)
    sigma = 0.01
    noise = sigma * rng.standard_normal(Xdv.shape).astype(np.float32)
    clean, noisy = w.transform(Xdv), w.transform(Xdv + noise)
    Xc = Xdv - Xtr.mean(0)
    snr_before = np.linalg.norm(noise, axis=1) / np.linalg.norm(Xc, axis=1)
    snr_after = np.linalg.norm(noisy - clean, axis=1) / np.linalg.norm(clean, axis=1)
    var = np.asarray(w.explained_variance_)
    return {
        "noise_sigma": sigma,
        "relative_noise_before": float(np.median(snr_before)),
        "relative_noise_after": float(np.median(snr_after)),
        "amplification": float(np.median(snr_after) / np.median(snr_before)),
        "_var": var,
    }


def _judge_whiten(runs):
    return threshold_verdict(
        [r["amplification"] for r in runs],
        ">",
        1.0,
        "relative size of added noise (std 0.01): after whitening / before",
    )


def _plot_whiten(runs, out):
    fig, ax = figure(size=(6.4, 3.6))
    ax = ax[0][0]
    var = runs[0]["_var"]
    ax.semilogy(var, label="variance of each PCA direction (training digits)")
    ax.axhline(runs[0]["noise_sigma"] ** 2, color="r", ls=":", label="variance of the added noise")
    ax.set_xlabel("principal component")
    ax.set_title(
        f"whitening scales each direction to unit variance: noise grows {runs[0]['amplification']:.0f}x "
        "relative to the signal",
        fontsize=8,
    )
    ax.legend(fontsize=8)
    return [save(fig, out, "spectrum")]


register(
    Experiment(
        name="whitening_noise",
        source="000",
        heading="4. 设置数据和模型: PCA 和白化",
        claim="Whitening stretches every direction to unit variance, including the tiny-variance ones that are "
        "mostly noise, so it makes a small input noise larger relative to the signal.",
        run=_run_whiten,
        judge=_judge_whiten,
        plot=_plot_whiten,
    )
)


# ---- augmentation and transfer learning on small data ---------------------------------------------
def _run_aug_transfer(seed: int, quick: bool) -> dict:
    n_small, epochs = (100, 30) if quick else (200, 60)
    Xtr, ytr, Xdv, ydv = digits(None, seed=seed)[:4]
    rng = np.random.default_rng(seed)
    # augmentation: 10 classes, n_small examples, shifts of up to 2 pixels
    idx = rng.permutation(len(Xtr))[:n_small]
    Xs, ys = Xtr[idx], ytr[idx]
    out = {}
    shift = RandomTranslate(2)
    for name, aug in (("no augmentation", False), ("random shifts", True)):
        r = seeded(seed)
        model = mlp([784, 256, 10])
        opt = optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
        for _ in range(epochs):
            X = shift(Xs.reshape(-1, 1, 28, 28), r).reshape(-1, 784) if aug else Xs
            fit(model, X, ys, opt, epochs=1, batch_size=20, rng=r)
        out[name] = accuracy(model, Xdv, ydv)
    # transfer: features learned on digits 0-4 reused for 5-9 with n_small labelled examples
    src = ytr <= 4
    r = seeded(seed)
    base = mlp([784, 256, 5])
    fit(
        base,
        Xtr[src],
        ytr[src],
        optim.SGD(base.parameters(), lr=0.05, momentum=0.9),
        epochs=3 if quick else 5,
        batch_size=50,
        rng=r,
    )
    tgt = np.flatnonzero(ytr >= 5)
    ti = rng.permutation(tgt)[:n_small]
    Xt, yt = Xtr[ti], ytr[ti] - 5
    dv = ydv >= 5
    for name, mode in (
        ("scratch", "scratch"),
        ("transfer, frozen features", "frozen"),
        ("transfer, fine-tuned", "fine"),
    ):
        r = seeded(seed)
        model = mlp([784, 256, 5])
        if mode != "scratch":
            model[0].weight.data = base[0].weight.data.copy()
            model[0].bias.data = base[0].bias.data.copy()
        params = list(model[2].parameters()) if mode == "frozen" else list(model.parameters())
        fit(model, Xt, yt, optim.SGD(params, lr=0.05, momentum=0.9), epochs=epochs, batch_size=20, rng=r)
        out[name] = accuracy(model, Xdv[dv], ydv[dv] - 5)
    out["n_small"] = n_small
    return out


def _judge_aug_transfer(runs):
    return all_of(
        [
            threshold_verdict(
                [r["random shifts"] - r["no augmentation"] for r in runs],
                ">",
                0.0,
                "dev accuracy: with - without random shifts",
            ),
            threshold_verdict(
                [max(r["transfer, frozen features"], r["transfer, fine-tuned"]) - r["scratch"] for r in runs],
                ">",
                0.0,
                "dev accuracy on 5-9: transferred from 0-4 - from scratch",
            ),
        ],
        "augmentation and transfer help on small data",
    )


def _plot_aug_transfer(runs, out):
    fig, axes = figure(1, 2, size=(10, 3.6))
    a = ["no augmentation", "random shifts"]
    spread_bars(
        axes[0][0], a, [[r[k] for k in a] for r in runs], "dev accuracy", f"{runs[0]['n_small']} training digits"
    )
    t = ["scratch", "transfer, frozen features", "transfer, fine-tuned"]
    spread_bars(
        axes[0][1],
        t,
        [[r[k] for k in t] for r in runs],
        "dev accuracy (digits 5-9)",
        f"{runs[0]['n_small']} labelled 5-9 digits; features from 0-4",
    )
    return [save(fig, out, "small_data")]


register(
    Experiment(
        name="augmentation_transfer",
        source="001",
        heading="迁移学习 / 数据增强",
        claim="On a small training set, augmenting with random shifts raises dev accuracy, and features "
        "learned on other classes (digits 0-4) beat training from scratch on the new ones (5-9).",
        run=_run_aug_transfer,
        judge=_judge_aug_transfer,
        plot=_plot_aug_transfer,
    )
)
