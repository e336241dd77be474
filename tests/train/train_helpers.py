"""Small nets and trainers shared by the training tests."""

import numpy as np

import nnlab
from nnlab import nn, optim


def small_net(seed=0, dropout=0.2, batchnorm=True):
    """A net with every kind of state: dropout (RNG), batch norm (buffers)."""
    nnlab.manual_seed(seed)
    layers = [nn.Linear(2, 24)]
    if batchnorm:
        layers.append(nn.BatchNorm1d(24))
    layers.append(nn.ReLU())
    if dropout:
        layers.append(nn.Dropout(dropout))
    layers.append(nn.Linear(24, 3))
    return nn.Sequential(*layers)


def make_trainer(seed=0, callbacks=(), opt="adam", lr=0.02, regularizer=None, **net_kw):
    from nnlab.train import Trainer

    model = small_net(seed, **net_kw)
    if opt == "adam":
        o = optim.Adam(model.parameters(), lr=lr)
    else:
        o = optim.SGD(model.parameters(), lr=lr, momentum=0.9)
    return Trainer(model, nn.CrossEntropyLoss(), o, regularizer=regularizer, callbacks=list(callbacks), seed=seed)


def weights(model):
    return {k: v.copy() for k, v in model.state_dict().items()}


def assert_bitwise_equal(a, b):
    assert a.keys() == b.keys()
    for k in a:
        assert a[k].dtype == b[k].dtype and a[k].shape == b[k].shape, k
        assert np.array_equal(a[k], b[k]), f"{k} differs (max diff {np.abs(a[k] - b[k]).max()})"
