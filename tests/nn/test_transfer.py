"""Transfer-learning helpers: freeze/unfreeze, head replacement, per-layer learning rates,
feature extraction, and the digits 0-4 -> 5-9 experiment of examples/transfer_learning.py."""

import importlib.util
from pathlib import Path

import numpy as np
import pytest

import nnlab
from nnlab import nn, optim, zoo
from nnlab.nn import transfer


def _batch(n=4, seed=0):
    rng = np.random.default_rng(seed)
    return nnlab.tensor(rng.standard_normal((n, 1, 32, 32)).astype(np.float32)), rng.integers(0, 10, n)


def _step(model, opt, n=4):
    x, y = _batch(n)
    opt.zero_grad()
    loss = nn.CrossEntropyLoss()(model(x), y)
    loss.backward()
    opt.step()


def test_frozen_parameters_get_no_gradient_and_no_update():
    nnlab.manual_seed(0)
    model = zoo.lenet5()
    transfer.freeze(model, "features")
    before = {n: p.data.copy() for n, p in model.named_parameters()}
    # Give the optimizer every parameter (weight decay and momentum too): frozen ones must still not move.
    opt = optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-2)
    _step(model, opt)
    _step(model, opt)
    for n, p in model.named_parameters():
        if n.startswith("features"):
            assert p.grad is None, n
            np.testing.assert_array_equal(p.data, before[n], err_msg=n)
        else:
            assert p.grad is not None and not np.array_equal(p.data, before[n]), n
    assert model.num_parameters(trainable_only=True) == 61_706 - 156 - 2_416
    transfer.unfreeze(model)
    assert all(p.requires_grad for p in model.parameters())


def test_freeze_trunk_leaves_only_the_head():
    model = zoo.resnet20()
    transfer.freeze_trunk(model)
    trainable = [n for n, p in model.named_parameters() if p.requires_grad]
    assert trainable == ["classifier.weight", "classifier.bias"]
    assert transfer.trainable_parameters(model) == [model.classifier.weight, model.classifier.bias]
    with pytest.raises(ValueError, match="no sub-module"):
        transfer.freeze(model, "trunk")


def test_replace_head_keeps_the_trunk():
    nnlab.manual_seed(0)
    model = zoo.lenet5()
    conv_w = model.features[0].weight
    name, old = transfer.find_head(model)
    assert name == "classifier.4" and old.out_features == 10
    new = transfer.replace_head(model, 5)
    assert model.classifier[4] is new and new.in_features == 84 and new.out_features == 5
    assert list(dict(model.named_children())) == ["features", "flatten", "classifier"]
    assert [n for n, _ in model.classifier.named_children()] == ["0", "1", "2", "3", "4"]
    assert model.features[0].weight is conv_w
    assert model(_batch(3)[0]).shape == (3, 5)
    assert model.num_parameters() == 61_706 - 850 + 84 * 5 + 5
    with pytest.raises(ValueError, match="num_classes"):
        transfer.replace_head(model, 0)
    with pytest.raises(TypeError, match="is a ReLU; expected a Linear or Conv2d"):
        transfer.replace_head(model, 3, name="features.1")
    with pytest.raises(ValueError, match="no layer 'features.9'"):
        transfer.replace_head(model, 3, name="features.9")


def test_convolutional_head_of_nin_is_replaced_and_trained_alone():
    """NIN has no Linear layer: its head is the last 1x1 convolution (one map per class)."""
    nnlab.manual_seed(0)
    model = zoo.nin(num_classes=10, input_size=28, in_channels=1)
    name, old = transfer.find_head(model)
    assert name == "classifier.0.layers.4" and old.out_channels == 10 and old.kernel_size == (1, 1)
    new = transfer.replace_head(model, 5)
    assert model.classifier[0].layers[4] is new and (new.in_channels, new.out_channels) == (192, 5)
    transfer.freeze_trunk(model)
    assert [n for n, p in model.named_parameters() if p.requires_grad] == [
        "classifier.0.layers.4.weight",
        "classifier.0.layers.4.bias",
    ]
    x = nnlab.tensor(np.random.default_rng(0).standard_normal((3, 1, 28, 28)).astype(np.float32))
    loss = nn.CrossEntropyLoss()(model(x), np.array([0, 4, 2]))
    loss.backward()
    assert new.weight.grad is not None and model.features[0].layers[0].weight.grad is None
    assert model(x).shape == (3, 5)


def test_param_groups_give_per_layer_learning_rates():
    nnlab.manual_seed(0)
    model = zoo.lenet5()
    groups = transfer.param_groups(model, {"features": 1e-3, "classifier": 1e-2, "classifier.4": 0.1})
    by_name = {g["name"]: g for g in groups}
    assert by_name["features"]["lr"] == 1e-3 and len(by_name["features"]["params"]) == 4
    assert len(by_name["classifier"]["params"]) == 4 and len(by_name["classifier.4"]["params"]) == 2
    opt = optim.SGD(groups, lr=1.0)
    before = {n: p.data.copy() for n, p in model.named_parameters()}
    for p in model.parameters():
        p.grad = np.ones_like(p.data)
    opt.step()
    for n, p in model.named_parameters():
        lr = 0.1 if n.startswith("classifier.4") else 1e-2 if n.startswith("classifier") else 1e-3
        np.testing.assert_allclose(before[n] - p.data, lr, rtol=1e-4, err_msg=n)
    with pytest.raises(ValueError, match="matches none of"):
        transfer.param_groups(model, {"features": 1e-3})
    assert len(transfer.param_groups(model, {"features": 1e-3}, default_lr=1e-2)) == 2
    transfer.freeze(model, "features")
    assert [g["name"] for g in transfer.param_groups(model, {"features": 1e-3, "classifier": 1e-2})] == ["classifier"]


def test_extract_features_runs_the_trunk_once_without_a_graph():
    nnlab.manual_seed(0)
    model = zoo.lenet5()
    trunk = nn.Sequential(model.features, model.flatten)
    model.train()
    x, _ = _batch(5)
    feats = transfer.extract_features(trunk, x.data, batch_size=2)
    assert feats.shape == (5, 400)
    with nnlab.no_grad():
        np.testing.assert_allclose(feats, trunk(x).data.reshape(5, -1), rtol=1e-4, atol=1e-5)
    assert trunk.training  # mode restored
    with pytest.raises(ValueError, match="batch_size"):
        transfer.extract_features(trunk, x.data, batch_size=0)


def _example():
    path = Path(__file__).resolve().parents[2] / "examples" / "transfer_learning.py"
    spec = importlib.util.spec_from_file_location("transfer_learning_example", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _one_blas_thread():
    from threadpoolctl import threadpool_limits

    return threadpool_limits(1)


@pytest.mark.slow
def test_finetuning_beats_training_from_scratch():
    """Digits 0-4 pretraining, then 5-9 from 50 labelled examples per class, same epochs for all."""
    with _one_blas_thread():
        r = _example().run(verbose=False)  # 5 seeds, 3 epochs on 250 examples
    assert r["finetune"] > r["scratch"] + 0.01, r
    wins = sum(f > s for f, s in zip(r["finetune_runs"], r["scratch_runs"]))
    assert wins >= 4, r
    assert r["frozen"] > 0.85 and r["features"] > 0.85, r  # the frozen 0-4 trunk transfers
