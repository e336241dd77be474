"""The notes' CNN chapter (000 part four: architectures, case studies, computational
considerations; 001: 1x1 convolutions, transfer learning), claim by claim."""
import numpy as np
import pytest

import nnlab
from nnlab import nn, zoo
from nnlab.nn import to_fully_convolutional, transfer
from nnlab.nn.summary import memory_estimate, receptive_field, summary


def _no_init(mp):
    mp.setattr(nnlab.nn.init, "init_weight_", lambda t, how="he", rng=None: t)


@pytest.mark.slow
def test_vgg16_most_memory_early_most_parameters_in_fc(monkeypatch):
    """"Most of the memory (and compute) is in the early CONV layers, most of the parameters in
    the last FC layers": 140M parameters, the first FC layer alone about 100M."""
    _no_init(monkeypatch)
    model = zoo.vgg16()
    t = summary(model, (3, 224, 224), print_fn=None)
    assert round(t.total_params / 1e6) == 138
    fc1 = t.row("classifier.0")
    assert fc1.weights == 102_760_448 and fc1.weights / t.total_params > 0.74
    fc_params = sum(r.params for r in t.rows if r.type == "Linear")
    assert fc_params / t.total_params > 0.89
    first_two_blocks = sum(r.activations for r in t.rows[:t.rows.index(t.row("features.9")) + 1])
    assert first_two_blocks / t.total_activations > 0.7
    # The notes' "TOTAL memory: 24M * 4 bytes ~= 93MB / image" disagrees with their own column,
    # which sums to 15.2M values, 61 MB: the exact count is printed instead.
    assert t.total_activations == 15_237_608 and abs(t.total_activations - 24e6) > 8e6
    assert "15,237,608" in str(t)


def test_first_layer_compromise_memory():
    """64 3x3 filters with padding 1 on 224x224x3 give a 224x224x64 volume. The notes call it
    ~10M activations / 72MB; the volume holds 3,211,264 values: 12.8 MB, 25.7 MB with its gradient."""
    t = summary(nn.Sequential(nn.Conv2d(3, 64, 3, padding=1)), (3, 224, 224), print_fn=None)
    conv = t.rows[1]
    assert conv.output_shape == (1, 64, 224, 224) and conv.activations == 224 * 224 * 64 == 3_211_264
    assert 2 * conv.activations * 4 == pytest.approx(25.7e6, rel=1e-3)


def test_small_filters_beat_one_large():
    """Three stacked 3x3 CONV layers see 7x7 like one 7x7 layer, with 27C^2 against 49C^2 weights."""
    C = 64
    stacked = receptive_field(nn.Sequential(*[nn.Conv2d(C, C, 3, padding=1, bias=False) for _ in range(3)]))
    single = receptive_field(nn.Sequential(nn.Conv2d(C, C, 7, padding=3, bias=False)))
    assert stacked.size == single.size == 7
    assert (stacked.params, single.params) == (27 * C * C, 49 * C * C)


def test_case_study_parameter_counts(monkeypatch):
    """AlexNet ~60M; GoogLeNet replaces the big FC layers by average pooling and has about a tenth
    of AlexNet's parameters (the notes say 4M; the exact totals are 7.0M, or 6.6M in the BN variant,
    of which 1.0M is the final FC layer); ResNet uses batch norm throughout and no big FC layers."""
    _no_init(monkeypatch)
    alex = zoo.alexnet().num_parameters()
    assert round(alex / 1e6) == 61 and alex == 60_965_224
    goog = zoo.googlenet()
    assert goog.num_parameters() < alex / 8
    assert max(p.data.size for p in goog.parameters()) <= 1024 * 1000
    res = zoo.resnet50()
    assert sum(type(m).__name__ == "BatchNorm2d" for m in res.modules()) == 53
    assert [type(m).__name__ for m in res.modules()].count("Linear") == 1


def test_alexnet_and_zfnet_first_layers():
    """AlexNet: 11x11 stride 4 on 227x227x3 -> 55x55x96; ZFNet: smaller 7x7 stride-2 first layer."""
    t = summary(zoo.alexnet(hidden=8), (3, 227, 227), print_fn=None)
    assert t.rows[1].output_shape == (1, 96, 55, 55) and t.rows[1].params == 34_944
    zf = zoo.zfnet(hidden=8)
    assert zf.features[0].kernel_size == (7, 7) and zf.features[0].stride == (2, 2)
    t = summary(zf, (3, 225, 225), print_fn=None)
    assert [r.output_shape[-1] for r in t.rows if r.type == "MaxPool2d"] == [55, 13, 6]


def _tiny_vgg(pools, window):
    nnlab.manual_seed(0)
    side = window // 2 ** pools
    trunk = zoo.make_layers([4, "M"] * pools, in_channels=3)
    return nn.Sequential(trunk, nn.Flatten(), nn.Linear(4 * side * side, 16), nn.ReLU(), nn.Linear(16, 10))


@pytest.mark.parametrize("pools,grid", [(5, 6), (4, 11)])
def test_fc_to_conv_224_in_384(pools, grid):
    """A 224 window after five halvings is 7x7 (F=7 for the first FC layer); on a 384 image the
    converted net gives (384 - 224)/32 + 1 = 6x6 scores. With four halvings F=14 and the windows
    move by 16: (384 - 224)/16 + 1 = 11x11."""
    model = _tiny_vgg(pools, 224)
    fcn = to_fully_convolutional(model, (3, 224, 224))
    first = [m for m in fcn if type(m).__name__ == "Conv2d"][-2]
    assert first.kernel_size == (224 // 2 ** pools,) * 2
    with nnlab.no_grad():
        out = fcn(nnlab.tensor(np.random.default_rng(0).random((1, 3, 384, 384), dtype=np.float32)))
    assert out.shape == (1, 10, grid, grid)


def test_parameter_memory_multiplier():
    """Parameters, their gradients and the optimizer's step cache: x3 or more (momentum 3, Adam 4)."""
    model = zoo.lenet5()
    est = {o: memory_estimate(model, (1, 32, 32), optimizer=o).param_bytes for o in ("sgd", "momentum", "adam")}
    assert est["momentum"] == 3 * 4 * 61_706 and est["adam"] == 4 * 4 * 61_706 and est["sgd"] == 2 * 4 * 61_706


def test_one_by_one_convolution_mixes_depth():
    """001: a 1x1xN convolution is a dot product across the depth at every pixel."""
    conv = nn.Conv2d(6, 3, 1)
    x = np.random.default_rng(0).standard_normal((2, 6, 5, 5)).astype(np.float32)
    out = conv(nnlab.tensor(x)).data
    ref = np.einsum("oc,nchw->nohw", conv.weight.data[:, :, 0, 0], x) + conv.bias.data[None, :, None, None]
    np.testing.assert_allclose(out, ref, rtol=1e-5, atol=1e-5)


def test_transfer_recipe_remove_last_layer_freeze_the_rest():
    """001: remove the last layer, put in a classifier for the new problem, freeze the other layers."""
    model = zoo.lenet5()
    transfer.replace_head(model, 5)
    transfer.freeze_trunk(model)
    trainable = [n for n, p in model.named_parameters() if p.requires_grad]
    assert trainable == ["classifier.4.weight", "classifier.4.bias"]
