"""Convolutional nets (000 «四、卷积神经网络»): three stacked 3x3 convolutions vs one 7x7, and the
FC-to-conv conversion for sliding windows."""

from __future__ import annotations

import time

import numpy as np

import nnlab
from nnlab import nn, optim
from nnlab.experiments.common import accuracy, digits, figure, fit, save, seeded, spread_bars
from nnlab.experiments.registry import Experiment, all_of, register, threshold_verdict


def _stack(c: int, three: bool) -> nn.Sequential:
    if three:
        return nn.Sequential(
            nn.Conv2d(c, c, 3, padding=1, bias=False),
            nn.ReLU(),
            nn.Conv2d(c, c, 3, padding=1, bias=False),
            nn.ReLU(),
            nn.Conv2d(c, c, 3, padding=1, bias=False),
            nn.ReLU(),
        )
    return nn.Sequential(nn.Conv2d(c, c, 7, padding=3, bias=False), nn.ReLU())


def _convnet(c: int, three: bool) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(1, c, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),  # 28 -> 14
        _stack(c, three),
        nn.MaxPool2d(2),  # 14 -> 7
        nn.Flatten(),
        nn.Linear(c * 49, 10),
    )


def _run_3x3(seed: int, quick: bool) -> dict:
    c, n, epochs = (8, 300, 1) if quick else (16, 2000, 3)
    Xtr, ytr, Xdv, ydv = digits(n, flat=False, seed=seed)[:4]
    out = {"channels": c}
    for name, three in (("three 3x3", True), ("one 7x7", False)):
        block = _stack(c, three)
        rf = nn.receptive_field(block)
        rng = seeded(seed)
        model = _convnet(c, three)
        t0 = time.process_time()
        fit(
            model, Xtr, ytr, optim.SGD(model.parameters(), lr=0.05, momentum=0.9), epochs=epochs, batch_size=32, rng=rng
        )
        out[name] = {
            "receptive_field": int(rf.size),
            "params": int(sum(p.size for p in block.parameters())),
            "dev": accuracy(model, Xdv, ydv),
            "train_cpu_s": time.process_time() - t0,
        }
    return out


def _judge_3x3(runs):
    c = runs[0]["channels"]
    return all_of(
        [
            threshold_verdict(
                [float(r["three 3x3"]["receptive_field"] == r["one 7x7"]["receptive_field"] == 7) for r in runs],
                "==",
                1.0,
                "both see 7x7 input pixels",
            ),
            threshold_verdict(
                [float(r["three 3x3"]["params"] == 27 * c * c and r["one 7x7"]["params"] == 49 * c * c) for r in runs],
                "==",
                1.0,
                f"weights 27C^2 = {27 * c * c} vs 49C^2 = {49 * c * c}",
            ),
            threshold_verdict(
                [r["three 3x3"]["dev"] - r["one 7x7"]["dev"] for r in runs],
                ">=",
                0.0,
                "dev accuracy: three 3x3 - one 7x7",
            ),
        ],
        "same receptive field, fewer weights, at least the accuracy",
    )


def _plot_3x3(runs, out):
    fig, axes = figure(1, 2, size=(9, 3.5))
    labels = ["three 3x3", "one 7x7"]
    spread_bars(
        axes[0][0],
        labels,
        [[r[k]["params"] for k in labels] for r in runs],
        "weights of the block",
        f"C = {runs[0]['channels']}: 27C^2 vs 49C^2",
    )
    spread_bars(axes[0][1], labels, [[r[k]["dev"] for k in labels] for r in runs], "dev accuracy", "digits")
    lo = min(min(r[k]["dev"] for k in labels) for r in runs)
    axes[0][1].set_ylim(max(0, lo - 0.05), 1)
    return [save(fig, out, "stack")]


register(
    Experiment(
        name="conv3x3_vs_7x7",
        source="000",
        heading="3. 卷积神经网络的结构: 层的尺寸设置规律",
        claim="Three stacked 3x3 convolutions see the same 7x7 input region as one 7x7 convolution with 27C^2 "
        "instead of 49C^2 weights, and (with more nonlinearity) learn at least as well.",
        run=_run_3x3,
        judge=_judge_3x3,
        plot=_plot_3x3,
    )
)


# ---- FC-to-conv: one pass over a larger image == sliding the original ---------------------------------
def _run_fc2conv(seed: int, quick: bool) -> dict:
    seeded(seed)
    big = 44 if quick else 60
    # unpadded convolutions: a padded one would see zeros at each window's border when run alone
    # but the neighbouring pixels inside the large image
    model = nn.Sequential(
        nn.Conv2d(1, 8, 5),
        nn.ReLU(),
        nn.MaxPool2d(2),  # 28 -> 24 -> 12
        nn.Conv2d(8, 16, 5),
        nn.ReLU(),
        nn.MaxPool2d(2),  # 12 -> 8 -> 4
        nn.Flatten(),
        nn.Linear(16 * 16, 64),
        nn.ReLU(),
        nn.Linear(64, 10),
    )
    model.eval()
    fcn = nn.to_fully_convolutional(model, (1, 28, 28))
    fcn.eval()
    stride = 4
    rng = np.random.default_rng(seed)
    img = rng.random((1, 1, big, big)).astype(np.float32)
    pos = (big - 28) // stride + 1
    reps = 2 if quick else 5
    t_conv, t_slide = [], []
    with nnlab.no_grad():
        for _ in range(reps):  # alternate the two, CPU time
            t0 = time.process_time()
            dense = fcn(nnlab.tensor(img)).data
            t_conv.append(time.process_time() - t0)
            t0 = time.process_time()
            crops = np.stack(
                [
                    img[0, :, i * stride : i * stride + 28, j * stride : j * stride + 28]
                    for i in range(pos)
                    for j in range(pos)
                ]
            )
            slide = np.stack([model(nnlab.tensor(crops[k : k + 1])).data[0] for k in range(len(crops))])
            t_slide.append(time.process_time() - t0)
    slide = slide.reshape(pos, pos, 10).transpose(2, 0, 1)
    return {
        "image": big,
        "windows": pos * pos,
        "output_shape": list(dense.shape),
        "max_abs_diff": float(np.abs(dense[0] - slide).max()),
        "cpu_converted_s": float(np.median(t_conv)),
        "cpu_sliding_s": float(np.median(t_slide)),
        "speedup": float(np.median(t_slide) / max(np.median(t_conv), 1e-9)),
    }


def _judge_fc2conv(runs):
    return all_of(
        [
            threshold_verdict([r["max_abs_diff"] for r in runs], "<", 1e-4, "max |converted - sliding| score"),
            threshold_verdict(
                [r["speedup"] for r in runs], ">", 1.0, "CPU time: sliding windows one by one / one pass"
            ),
        ],
        "the converted net equals sliding the original and is faster",
    )


register(
    Experiment(
        name="fc_to_conv",
        source="000",
        heading="2. 用来构建卷积神经网络的各种层: 全连接层转化成卷积层",
        claim="A net whose fully connected layers are turned into convolutions, run once on a larger image, "
        "gives exactly the scores of the original net slid over it (stride 4 here, 32 in the notes' "
        "AlexNet 384x384 case) and is faster than running each window separately.",
        run=_run_fc2conv,
        judge=_judge_fc2conv,
        plot=None,
    )
)
