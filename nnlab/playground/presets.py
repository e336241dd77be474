"""Presets: settings that show one claim of the notes each, with the sentence the page shows."""

from __future__ import annotations

L = lambda units, act="tanh", **kw: {"units": units, "activation": act, **kw}  # noqa: E731

PRESETS = {
    "tfp-default": (
        "TF Playground's default: circle data, 2-[4, 2]-2 tanh, squared error, U(-0.5, 0.5) init, SGD lr 0.03, "
        "batch 10, half the points for testing. The first hidden layer draws lines; the second combines them.",
        {
            "data.dataset": "circles",
            "data.classes": 2,
            "data.noise": 0.0,
            "data.train_ratio": 0.5,
            "features": ["x1", "x2"],
            "model.layers": [L(4, init="uniform"), L(2, init="uniform")],
            "model.loss": "mse",
            "optim.optimizer": "sgd",
            "optim.lr": 0.03,
            "optim.batch_size": 10,
        },
    ),
    "mse-vs-cross-entropy": (
        "The same network as tfp-default with softmax cross-entropy: compare the epochs to a clean boundary "
        "with the squared-error preset (TF Playground offers only squared error).",
        {
            "data.dataset": "circles",
            "data.classes": 2,
            "data.noise": 0.0,
            "data.train_ratio": 0.5,
            "features": ["x1", "x2"],
            "model.layers": [L(4, init="uniform"), L(2, init="uniform")],
            "model.loss": "cross_entropy",
            "optim.optimizer": "sgd",
            "optim.lr": 0.03,
            "optim.batch_size": 10,
        },
    ),
    "spiral-needs-width": (
        "Two spiral arms need width: one hidden layer of 32 tanh units learns them; set it to 4 units and "
        "the boundary stays a few straight folds.",
        {
            "data.dataset": "spiral",
            "data.classes": 2,
            "data.n": 1000,
            "data.noise": 0.1,
            "data.train_ratio": 0.7,
            "model.layers": [L(32)],
            "model.loss": "cross_entropy",
            "optim.optimizer": "adam",
            "optim.lr": 0.01,
            "optim.batch_size": 32,
        },
    ),
    "dead-relus": (
        "ReLU units die at a high learning rate: watch the dead-unit gauge and the blank unit maps, then "
        "lower the rate and reset.",
        {
            "data.dataset": "moons",
            "data.classes": 2,
            "data.noise": 0.3,
            "model.layers": [L(8, "relu", init="he"), L(8, "relu", init="he")],
            "model.loss": "cross_entropy",
            "optim.optimizer": "sgd",
            "optim.lr": 0.3,
            "optim.batch_size": 10,
        },
    ),
    "l1-prunes": (
        "L1 prunes connections: with all seven features and an L1 penalty, the weights of the features the "
        "XOR data does not need shrink to zero (thin edges in the diagram).",
        {
            "data.dataset": "xor",
            "data.classes": 2,
            "data.noise": 0.1,
            "features": ["x1", "x2", "x1^2", "x2^2", "x1x2", "sin(x1)", "sin(x2)"],
            "model.layers": [L(4)],
            "model.loss": "cross_entropy",
            "optim.optimizer": "sgd",
            "optim.lr": 0.03,
            "optim.l1": 0.003,
            "optim.batch_size": 10,
        },
    ),
    "depth-folds-plane": (
        "Depth folds the plane: four ReLU layers of 8 units cut the checkerboard that one layer of 8 cannot; "
        "the unit maps of the later layers show the folds combined.",
        {
            "data.dataset": "checkerboard",
            "data.classes": 2,
            "data.n": 1000,
            "data.noise": 0.0,
            "data.train_ratio": 0.7,
            "model.layers": [L(8, "relu", init="he")] * 4,
            "model.loss": "cross_entropy",
            "optim.optimizer": "adam",
            "optim.lr": 0.01,
            "optim.batch_size": 32,
        },
    ),
    "l2-smooths": (
        "The notes' figure: a net of 20 hidden units on noisy data; raise optim.l2 from 0.001 to 0.01 to 0.1 "
        "and the boundary smooths (lower variance, more bias).",
        {
            "data.dataset": "spiral",
            "data.classes": 3,
            "data.n": 300,
            "data.noise": 0.3,
            "data.train_ratio": 0.7,
            "model.layers": [L(20, "relu", init="he")],
            "model.loss": "cross_entropy",
            "optim.optimizer": "adam",
            "optim.lr": 0.01,
            "optim.l2": 0.001,
            "optim.batch_size": 32,
        },
    ),
    "convnetjs": (
        "ConvNetJS's 2-D demo: fc(6) tanh, fc(2) tanh, softmax on circles. The hidden-space view maps the "
        "plane through the 2-unit layer: there the classes become linearly separable.",
        {
            "data.dataset": "circles",
            "data.classes": 2,
            "data.noise": 0.1,
            "data.train_ratio": 0.8,
            "model.layers": [L(6), L(2)],
            "model.loss": "cross_entropy",
            "optim.optimizer": "momentum",
            "optim.lr": 0.01,
            "optim.momentum": 0.9,
            "optim.l2": 0.001,
            "optim.batch_size": 10,
            "view.hidden_layer": 2,
        },
    ),
    "three-classes": (
        "Three classes with softmax: the decision map has one colour per class (TF Playground has two).",
        {
            "data.dataset": "blobs",
            "data.classes": 3,
            "data.noise": 0.5,
            "model.layers": [L(8), L(8)],
            "model.loss": "cross_entropy",
            "optim.optimizer": "adam",
            "optim.lr": 0.01,
            "optim.batch_size": 16,
        },
    ),
    "diverge": (
        "A learning rate far too high: the loss blows up and the NaN guard pauses and says why.",
        {
            "data.dataset": "spiral",
            "data.classes": 2,
            "model.layers": [L(16, "relu", init="he")] * 2,
            "model.loss": "cross_entropy",
            "optim.optimizer": "sgd",
            "optim.lr": 50.0,
            "optim.batch_size": 10,
        },
    ),
    "regression-bumps": (
        "2-D regression: a bump and a dip fitted with squared error; the map shades the predicted value.",
        {
            "data.dataset": "bumps",
            "model.layers": [L(8), L(8)],
            "model.loss": "mse",
            "optim.optimizer": "adam",
            "optim.lr": 0.01,
            "optim.batch_size": 16,
        },
    ),
    "regression-sine": (
        "1-D regression: sin(x) from noisy samples; the map shows the fitted curve.",
        {
            "data.dataset": "sine",
            "data.noise": 0.2,
            "features": ["x1"],
            "model.layers": [L(16), L(16)],
            "model.loss": "mse",
            "optim.optimizer": "adam",
            "optim.lr": 0.01,
            "optim.batch_size": 16,
        },
    ),
}


def preset_settings(name: str) -> dict:
    if name not in PRESETS:
        raise ValueError(f"unknown preset {name!r}; presets: {sorted(PRESETS)}")
    return dict(PRESETS[name][1])


def describe() -> dict:
    return {k: v[0] for k, v in PRESETS.items()}
