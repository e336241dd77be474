"""The network the playground trains, built from a configuration with nnlab's own layers.

The model is a plain ``nn.Sequential`` whose first module is ``FeatureMap`` (x1, x2 -> the chosen
TF Playground features), so a saved checkpoint takes raw points: ``nnlab.load(path).model(X)``.
``Network`` records where each hidden layer starts and ends inside it, for the unit views.
"""

from __future__ import annotations

import numpy as np

import nnlab
from nnlab import nn, optim
from nnlab.nn.module import Module
from nnlab.optim import schedules

_FEATURES = {
    "x1": lambda a, b: a,
    "x2": lambda a, b: b,
    "x1^2": lambda a, b: a * a,
    "x2^2": lambda a, b: b * b,
    "x1x2": lambda a, b: a * b,
    "sin(x1)": lambda a, b: np.sin(a),
    "sin(x2)": lambda a, b: np.sin(b),
}


def feature_array(X: np.ndarray, features) -> np.ndarray:
    a, b = X[:, 0], X[:, 1]
    return np.stack([_FEATURES[f](a, b) for f in features], axis=1).astype(np.float32, copy=False)


class FeatureMap(Module):
    """Maps points (N, 2) to the selected input features (N, F): x1, x2, x1^2, x2^2, x1x2,
    sin(x1), sin(x2). No parameters; its output carries no gradient (the inputs are data)."""

    def __init__(self, features=("x1", "x2")):
        super().__init__()
        bad = [f for f in features if f not in _FEATURES]
        if bad or not features:
            raise ValueError(f"FeatureMap: features must be a non-empty list from {list(_FEATURES)}, got {features!r}")
        self.features = list(features)

    def forward(self, x):
        X = np.asarray(getattr(x, "data", x))
        if X.ndim != 2 or X.shape[1] != 2:
            raise ValueError(f"FeatureMap: expected points of shape (N, 2), got {X.shape}")
        return nnlab.tensor(feature_array(X, self.features))

    def extra_repr(self) -> str:
        return f"features={self.features}"


_ACT = {"tanh": nn.Tanh, "relu": nn.ReLU, "leaky_relu": nn.LeakyReLU, "sigmoid": nn.Sigmoid, "linear": nn.Identity}
_INIT = {
    "xavier": "xavier",
    "he": "he",
    "glorot": "glorot",
    "xavier_normal": "xavier_normal",
    "small": "small",
    "uniform": "xavier",
}


class Network:
    """``model`` (the Sequential) plus, per hidden layer, the index of its pre-activation output
    (``pre``: the Linear, before batch norm and activation) and of its output (``post``)."""

    def __init__(self, config: dict, outputs: int):
        layers = config["model"]["layers"]
        mods = [FeatureMap(config["features"])]
        self.pre, self.post, self.kinds = [], [], []
        width = len(config["features"])
        for spec in layers:
            u = spec["units"]
            if spec["activation"] == "maxout":
                lin = nn.Maxout(width, u, pieces=spec["pieces"], init=_INIT[spec["init"]])
            else:
                lin = nn.Linear(width, u, init=_INIT[spec["init"]])
            if spec["init"] == "uniform":  # TF Playground's U(-0.5, 0.5)
                nn.init.uniform_(lin.weight, -0.5, 0.5)
            mods.append(lin)
            self.pre.append(len(mods) - 1)
            if spec["batchnorm"]:
                mods.append(nn.BatchNorm1d(u))
            if spec["activation"] != "maxout":
                mods.append(_ACT[spec["activation"]]())
            self.post.append(len(mods) - 1)
            if spec["dropout"] > 0:
                mods.append(nn.Dropout(spec["dropout"]))
            self.kinds.append(spec["activation"])
            width = u
        head = nn.Linear(width, outputs, init="xavier")
        mods.append(head)
        self.model = nn.Sequential(*mods)
        self.linears = [mods[i] for i in self.pre] + [head]

    def forward_all(self, X: np.ndarray):
        """(pre-activations, outputs of each hidden layer, final outputs) for points X, in eval mode,
        without a graph."""
        was = self.model.training
        self.model.eval()
        pres, posts = [], []
        try:
            with nnlab.no_grad():
                h = nnlab.tensor(np.asarray(X, dtype=np.float32))
                for i, m in enumerate(self.model):
                    h = m(h)
                    if i in self.pre:
                        pres.append(h.data)
                    if i in self.post:
                        posts.append(h.data)
        finally:
            self.model.train(was)
        return pres, posts, h.data


def make_loss(name: str, regression: bool, classes: int):
    if name == "cross_entropy":
        return nn.CrossEntropyLoss()
    if name == "svm":
        return nn.MultiClassSVMLoss()
    if regression:
        return nn.MSELoss()
    from nnlab.train.models import OneHotMSELoss

    return OneHotMSELoss(classes)


def make_optimizer(o: dict, params):
    name, lr, mom = o["optimizer"], o["lr"], o["momentum"]
    params = list(params)
    if name == "sgd":
        return optim.SGD(params, lr=lr)
    if name == "momentum":
        return optim.SGD(params, lr=lr, momentum=mom)
    if name == "nesterov":
        return optim.SGD(params, lr=lr, momentum=mom, nesterov=True)
    if name == "adagrad":
        return optim.Adagrad(params, lr=lr)
    if name == "rmsprop":
        return optim.RMSprop(params, lr=lr)
    return optim.Adam(params, lr=lr, betas=(mom if mom > 0 else 0.9, 0.999))


def scheduled_lr(o: dict, epoch: int) -> float:
    """The learning rate at ``epoch`` under the chosen schedule (nnlab.optim.schedules), from the
    current base lr: a live lr change takes effect at once and the schedule continues from it."""
    lr, k, s = o["lr"], o["decay"], o["schedule"]
    if s == "constant" or k == 0:
        return lr
    if s == "step":
        return schedules.StepLR(lr, step_size=10, gamma=max(1e-6, 1.0 - min(k, 0.999))).value(epoch, lr)
    if s == "exponential":
        return schedules.ExponentialDecay(lr, k=k).value(epoch, lr)
    if s == "inverse_time":
        return schedules.InverseTimeDecay(lr, k=k).value(epoch, lr)
    return schedules.CosineAnnealingLR(lr, T_max=max(1, int(round(1.0 / k * 10)))).value(epoch, lr)


def write_hyperparameters(opt, o: dict, epoch: int) -> None:
    lr = scheduled_lr(o, epoch)
    for g in opt.param_groups:
        g["lr"] = lr
        if "momentum" in g and o["optimizer"] in ("momentum", "nesterov"):
            g["momentum"] = o["momentum"]
