"""The training recipes behind ``nnlab train``: models built for training start at chance loss."""
import numpy as np
import pytest

import nnlab
from nnlab import nn
from nnlab.train.models import build_model


@pytest.mark.parametrize("name", ["cnn", "mlp", "lenet5", "nin", "resnet20"])
def test_first_loss_is_near_ln_c(name):
    """The notes' sanity check: with small output weights the first loss is about ln C (2.30 for
    10 classes); the zoo's paper inits gave up to 4.8x that before the head was re-initialized."""
    nnlab.manual_seed(0)
    rng = np.random.default_rng(0)
    X = rng.standard_normal((128, 1, 28, 28)).astype(np.float32)
    y = rng.integers(0, 10, 128)
    model = build_model(name)
    with nnlab.no_grad():
        loss = nn.CrossEntropyLoss()(model(nnlab.tensor(X)), y).item()
    assert abs(loss - np.log(10)) < 0.35 * np.log(10), loss
