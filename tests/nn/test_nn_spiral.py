"""End to end: a 2-layer ReLU net with softmax loss fits the cs231n 3-class spiral."""

import numpy as np

import nnlab
import nnlab.nn.functional as F
from nnlab import nn
from nnlab.data import make_spiral


def test_two_layer_relu_net_fits_spiral():
    X, y = make_spiral(n_per_class=100, classes=3, seed=0)
    assert X.shape == (300, 2)
    nnlab.manual_seed(0)
    # The notes' setup: 0.01 N(0, 1) weights, zero biases, so the first loss is about ln 3.
    model = nn.Sequential(nn.Linear(2, 100, init="small"), nn.ReLU(), nn.Linear(100, 3, init="small"))
    reg = nn.Regularizer(l2=1e-3)
    x = nnlab.tensor(X)
    lr = 1.0
    first = None
    for _ in range(5000):
        data_loss = F.cross_entropy(model(x), y)
        loss = data_loss + reg(model)
        if first is None:
            first = data_loss.item()
        model.zero_grad()
        loss.backward()
        with nnlab.no_grad():
            for p in model.parameters():
                p.data -= lr * p.grad
    with nnlab.no_grad():
        acc = (model(x).data.argmax(1) == y).mean()
    assert abs(first - np.log(3)) < 0.3  # sanity: initial loss near -ln(1/3)
    assert acc >= 0.98, f"training accuracy {acc:.3f}"
