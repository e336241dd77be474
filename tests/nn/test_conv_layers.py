"""Conv2d, LocallyConnected2d, pooling and LRN layers: shapes, init, repr, errors, gradients."""
from __future__ import annotations

import numpy as np
import pytest

import nnlab
from nnlab import nn


def test_alexnet_first_layer():
    conv = nn.Conv2d(3, 96, 11, stride=4)
    assert conv.num_parameters() == 34_944          # 96 * (11*11*3) + 96
    y = conv(nnlab.tensor(np.zeros((1, 3, 227, 227), np.float32)))
    assert y.shape == (1, 96, 55, 55) and y.dtype == np.float32
    assert conv.output_shape((3, 227, 227)) == (96, 55, 55)


def test_conv_layer_error_names_the_layer():
    conv = nn.Conv2d(3, 8, 5, stride=2)
    with pytest.raises(ValueError) as e:
        conv(nnlab.tensor(np.zeros((1, 3, 32, 32), np.float32)))
    msg = str(e.value)
    assert msg.startswith("Conv2d(3, 8, kernel_size=5, stride=2)")
    assert "(32 - 5 + 2*0)/2 + 1 = 14.5" in msg and "1 (-> 28), 3 (-> 10)" in msg
    with pytest.raises(ValueError, match=r"Conv2d\(3, 8, kernel_size=5, stride=2\): expected 3 input channels, got 1"):
        conv(nnlab.tensor(np.zeros((1, 1, 33, 33), np.float32)))
    with pytest.raises(ValueError, match="4-D"):
        conv(nnlab.tensor(np.zeros((3, 33, 33), np.float32)))
    with pytest.raises(ValueError, match="groups=3"):
        nn.Conv2d(4, 6, 3, groups=3)


def test_he_init_and_options():
    nnlab.manual_seed(0)
    conv = nn.Conv2d(64, 128, 3)
    assert np.isclose(conv.weight.data.std(), np.sqrt(2 / (64 * 9)), rtol=0.02)
    assert np.all(conv.bias.data == 0) and conv.weight.dtype == np.float32
    grouped = nn.Conv2d(64, 128, 3, groups=4)
    assert grouped.weight.shape == (128, 16, 3, 3)
    assert np.isclose(grouped.weight.data.std(), np.sqrt(2 / (16 * 9)), rtol=0.05)
    xav = nn.Conv2d(64, 128, 3, init="xavier")
    assert np.isclose(xav.weight.data.std(), np.sqrt(1 / (64 * 9)), rtol=0.02)
    nnlab.manual_seed(0)
    again = nn.Conv2d(64, 128, 3)
    np.testing.assert_array_equal(again.weight.data, conv.weight.data)


def test_reprs():
    assert repr(nn.Conv2d(3, 16, 3, padding=1)) == "Conv2d(3, 16, kernel_size=3, padding=1)"
    assert repr(nn.Conv2d(4, 8, (3, 1), stride=(2, 1), dilation=2, groups=2, bias=False)) == \
        "Conv2d(4, 8, kernel_size=(3, 1), stride=(2, 1), dilation=2, groups=2, bias=False)"
    assert repr(nn.MaxPool2d(3, 2)) == "MaxPool2d(kernel_size=3, stride=2)"
    assert repr(nn.AvgPool2d(2, padding=1)) == "AvgPool2d(kernel_size=2, stride=2, padding=1)"
    assert repr(nn.LPPool2d(2, 2)) == "LPPool2d(norm_type=2, kernel_size=2, stride=2)"
    assert "size=4" not in repr(nn.LocalResponseNorm(5)) and "k=2.0" in repr(nn.LocalResponseNorm(5))
    assert repr(nn.LocallyConnected2d(3, 4, 8, 3)) == "LocallyConnected2d(3, 4, input_size=8, kernel_size=3)"


@pytest.mark.parametrize("kw", [dict(kernel_size=3, padding=1), dict(kernel_size=3, stride=2),
                                dict(kernel_size=3, dilation=2, padding=2, groups=2),
                                dict(kernel_size=1), dict(kernel_size=1, bias=False, stride=2)])
def test_conv_layer_gradcheck(kw, module_gradcheck):
    rng = np.random.default_rng(0)
    nnlab.manual_seed(1)
    module_gradcheck(nn.Conv2d(4, 6, **kw), rng.standard_normal((2, 4, 7, 7)), rng)


def test_locally_connected_layer(module_gradcheck):
    rng = np.random.default_rng(1)
    nnlab.manual_seed(2)
    m = nn.LocallyConnected2d(2, 3, input_size=(6, 5), kernel_size=3, stride=1, padding=(1, 0))
    assert m.output_size == (6, 3)
    assert m.num_parameters() == 6 * 3 * (3 * 2 * 9) + 3 * 6 * 3
    module_gradcheck(m, rng.standard_normal((2, 2, 6, 5)), rng)
    with pytest.raises(ValueError, match="LocallyConnected2d"):
        nn.LocallyConnected2d(2, 3, input_size=6, kernel_size=3, stride=2)


@pytest.mark.parametrize("layer", [nn.MaxPool2d(2), nn.MaxPool2d(3, 2, 1), nn.AvgPool2d(3, 2),
                                   nn.LPPool2d(2, 2), nn.GlobalAvgPool2d(), nn.AdaptiveAvgPool2d((1, 1)),
                                   nn.LocalResponseNorm(3, alpha=0.1)])
def test_parameterless_layers_gradcheck(layer, module_gradcheck):
    rng = np.random.default_rng(3)
    x = (rng.permutation(2 * 3 * 7 * 7) * 0.01 - 1.5).reshape(2, 3, 7, 7)   # distinct: no ties
    if isinstance(layer, nn.MaxPool2d) and layer.kernel_size == (2, 2) or isinstance(layer, nn.LPPool2d):
        x = x[:, :, :6, :6].copy()
    module_gradcheck(layer, x, rng)


def test_layers_match_torch():
    torch = pytest.importorskip("torch", reason="PyTorch is the reference for the layers")
    rng = np.random.default_rng(4)
    x = rng.standard_normal((2, 4, 9, 9)).astype(np.float32)
    conv = nn.Conv2d(4, 6, 3, stride=2, padding=1, groups=2)
    tconv = torch.nn.Conv2d(4, 6, 3, stride=2, padding=1, groups=2)
    with torch.no_grad():
        tconv.weight.copy_(torch.tensor(conv.weight.data))
        tconv.bias.copy_(torch.tensor(conv.bias.data))
    pairs = [(conv, tconv), (nn.MaxPool2d(3, 2), torch.nn.MaxPool2d(3, 2)),
             (nn.AvgPool2d(3, 2, 1), torch.nn.AvgPool2d(3, 2, 1)),
             (nn.LocalResponseNorm(5), torch.nn.LocalResponseNorm(5, k=2.0)),
             (nn.AdaptiveAvgPool2d(1), torch.nn.AdaptiveAvgPool2d(1))]
    for ours, theirs in pairs:
        np.testing.assert_allclose(ours(nnlab.tensor(x)).data, theirs(torch.tensor(x)).detach().numpy(),
                                   rtol=1e-5, atol=1e-6)
