"""End to end: a 2-layer ReLU net with softmax loss fits the cs231n 3-class spiral."""
import time

import numpy as np

import nnlab
import nnlab.nn.functional as F
from nnlab import nn


def spiral(points_per_class=100, classes=3, seed=0):
    """The cs231n toy data: ``classes`` interleaved spiral arms in 2-D, not linearly separable."""
    rng = np.random.default_rng(seed)
    n = points_per_class
    X = np.zeros((n * classes, 2), dtype=np.float32)
    y = np.zeros(n * classes, dtype=np.int64)
    for j in range(classes):  # one arm per class (3 iterations, vectorized inside)
        r = np.linspace(0.0, 1.0, n)
        t = np.linspace(j * 4, (j + 1) * 4, n) + rng.standard_normal(n) * 0.2
        X[j * n:(j + 1) * n] = np.c_[r * np.sin(t), r * np.cos(t)]
        y[j * n:(j + 1) * n] = j
    return X, y


def test_two_layer_relu_net_fits_spiral():
    X, y = spiral()
    assert X.shape == (300, 2)
    nnlab.manual_seed(0)
    # The notes' setup: 0.01 N(0, 1) weights, zero biases, so the first loss is about ln 3.
    model = nn.Sequential(nn.Linear(2, 100, init="small"), nn.ReLU(), nn.Linear(100, 3, init="small"))
    reg = nn.Regularizer(l2=1e-3)
    x = nnlab.tensor(X)
    lr = 1.0
    start = time.perf_counter()
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
    elapsed = time.perf_counter() - start
    with nnlab.no_grad():
        acc = (model(x).data.argmax(1) == y).mean()
    assert abs(first - np.log(3)) < 0.3  # sanity: initial loss near -ln(1/3)
    assert acc >= 0.98, f"training accuracy {acc:.3f}"
    assert elapsed < 5.0, f"took {elapsed:.1f} s"
