"""Conv2d, LocallyConnected2d, pooling and LRN layers: shapes, init, repr, errors, gradients."""

from __future__ import annotations

import re

import numpy as np
import pytest

import nnlab
from nnlab import nn


def test_alexnet_first_layer():
    conv = nn.Conv2d(3, 96, 11, stride=4)
    assert conv.num_parameters() == 34_944  # 96 * (11*11*3) + 96
    y = conv(nnlab.tensor(np.zeros((1, 3, 227, 227), np.float32)))
    assert y.shape == (1, 96, 55, 55) and y.dtype == np.float32
    assert conv.output_shape((3, 227, 227)) == (96, 55, 55)


def test_conv_layer_error_names_the_layer(strict_geometry):
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
    assert (
        repr(nn.Conv2d(4, 8, (3, 1), stride=(2, 1), dilation=2, groups=2, bias=False))
        == "Conv2d(4, 8, kernel_size=(3, 1), stride=(2, 1), dilation=2, groups=2, bias=False)"
    )
    assert repr(nn.MaxPool2d(3, 2)) == "MaxPool2d(kernel_size=3, stride=2)"
    assert repr(nn.AvgPool2d(2, padding=1)) == "AvgPool2d(kernel_size=2, stride=2, padding=1)"
    assert repr(nn.LPPool2d(2, 2)) == "LPPool2d(norm_type=2, kernel_size=2, stride=2)"
    assert "size=4" not in repr(nn.LocalResponseNorm(5)) and "k=2.0" in repr(nn.LocalResponseNorm(5))
    assert repr(nn.LocallyConnected2d(3, 4, 8, 3)) == "LocallyConnected2d(3, 4, input_size=8, kernel_size=3)"


@pytest.mark.parametrize(
    "kw",
    [
        dict(kernel_size=3, padding=1),
        dict(kernel_size=3, stride=2),
        dict(kernel_size=3, dilation=2, padding=2, groups=2),
        dict(kernel_size=1),
        dict(kernel_size=1, bias=False, stride=2),
    ],
)
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


@pytest.mark.parametrize(
    "layer",
    [
        nn.MaxPool2d(2),
        nn.MaxPool2d(3, 2, 1),
        nn.AvgPool2d(3, 2),
        nn.LPPool2d(2, 2),
        nn.GlobalAvgPool2d(),
        nn.AdaptiveAvgPool2d((1, 1)),
        nn.LocalResponseNorm(3, alpha=0.1),
    ],
)
def test_parameterless_layers_gradcheck(layer, module_gradcheck):
    rng = np.random.default_rng(3)
    x = (rng.permutation(2 * 3 * 7 * 7) * 0.01 - 1.5).reshape(2, 3, 7, 7)  # distinct: no ties
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
    pairs = [
        (conv, tconv),
        (nn.MaxPool2d(3, 2), torch.nn.MaxPool2d(3, 2)),
        (nn.AvgPool2d(3, 2, 1), torch.nn.AvgPool2d(3, 2, 1)),
        (nn.LocalResponseNorm(5), torch.nn.LocalResponseNorm(5, k=2.0)),
        (nn.AdaptiveAvgPool2d(1), torch.nn.AdaptiveAvgPool2d(1)),
    ]
    for ours, theirs in pairs:
        np.testing.assert_allclose(
            ours(nnlab.tensor(x)).data, theirs(torch.tensor(x)).detach().numpy(), rtol=1e-5, atol=1e-6
        )


# ---- unseen geometries against PyTorch (forward and every gradient, float64) -----------------
_GEOMETRIES = [  # (N, C, H, W, O, kernel, stride, padding, dilation, groups, rounding)
    (1, 3, 7, 9, 4, 3, 1, 0, 1, 1, "exact"),  # batch of 1, odd non-square input
    (2, 2, 11, 11, 3, 2, 3, 0, 1, 1, "exact"),  # stride larger than the kernel
    (3, 6, 9, 9, 6, 3, 1, 4, 1, 3, "exact"),  # padding beyond kernel/2, groups
    (1, 4, 13, 13, 8, 3, 2, 2, 2, 4, "exact"),  # dilation with stride and groups
    (1, 4, 9, 9, 4, (3, 5), (2, 1), (1, 2), (1, 2), 2, "exact"),  # everything non-square
    (2, 8, 16, 16, 32, 3, 1, 2, 1, 1, "exact"),  # wide output (the shifted-GEMM dX path)
    (2, 4, 7, 7, 16, 7, 1, 3, 1, 1, "exact"),  # 7x7 "same"
    (2, 3, 10, 10, 4, 3, 2, 1, 1, 1, "floor"),  # PyTorch's rounding down
    (1, 4, 12, 12, 4, 3, 4, 0, 2, 2, "floor"),
    (1, 6, 5, 5, 6, 5, 1, 0, 1, 6, "exact"),  # depthwise, kernel = input
    (2, 3, 8, 8, 5, 1, 1, 0, 1, 1, "exact"),  # 1x1
    (2, 3, 9, 9, 5, 1, 2, 0, 1, 1, "exact"),  # strided 1x1
]


@pytest.mark.parametrize("geom", _GEOMETRIES, ids=lambda g: "-".join(map(str, g)).replace(" ", ""))
@pytest.mark.parametrize("layout", ["contiguous", "non-contiguous"])
def test_conv_matches_torch_on_unseen_geometries(geom, layout):
    torch = pytest.importorskip("torch", reason="PyTorch is the reference for conv2d")
    N, C, H, W, O, k, s, p, d, g, rounding = geom
    rng = np.random.default_rng(sum(map(hash, map(str, geom))) % 2**32)
    ours = nn.Conv2d(C, O, k, stride=s, padding=p, dilation=d, groups=g, rounding=rounding, dtype=np.float64)
    ours.bias.data[...] = rng.standard_normal(O)
    theirs = torch.nn.Conv2d(C, O, k, stride=s, padding=p, dilation=d, groups=g).double()
    with torch.no_grad():
        theirs.weight.copy_(torch.tensor(ours.weight.data))
        theirs.bias.copy_(torch.tensor(ours.bias.data))
    x = rng.standard_normal((N, C, H, W))
    if layout == "non-contiguous":
        x = np.asfortranarray(x)  # the same values, strides reversed
    xo = nnlab.tensor(x, requires_grad=True)
    xt = torch.tensor(np.ascontiguousarray(x), requires_grad=True)
    yo, yt = ours(xo), theirs(xt)
    assert yo.shape == tuple(yt.shape) and yo.dtype == np.float64
    np.testing.assert_allclose(yo.data, yt.detach().numpy(), rtol=1e-10, atol=1e-10)
    grad = rng.standard_normal(yo.shape)
    (yo * nnlab.tensor(grad)).sum().backward()
    (yt * torch.tensor(grad)).sum().backward()
    for name, a, b in [
        ("input", xo.grad, xt.grad),
        ("weight", ours.weight.grad, theirs.weight.grad),
        ("bias", ours.bias.grad, theirs.bias.grad),
    ]:
        np.testing.assert_allclose(a, b.numpy(), rtol=1e-10, atol=1e-10, err_msg=name)


_POOLS = [  # (ours, torch functional, input shape)
    (lambda: nn.MaxPool2d(3, 2, 1), lambda F, x: F.max_pool2d(x, 3, 2, 1), (2, 3, 9, 11)),
    (lambda: nn.MaxPool2d(2, 3), lambda F, x: F.max_pool2d(x, 2, 3), (1, 2, 11, 11)),
    (lambda: nn.MaxPool2d(3, 2, 1, rounding="floor"), lambda F, x: F.max_pool2d(x, 3, 2, 1), (1, 2, 10, 10)),
    (lambda: nn.MaxPool2d((2, 3), (1, 2)), lambda F, x: F.max_pool2d(x, (2, 3), (1, 2)), (2, 2, 5, 9)),
    (lambda: nn.AvgPool2d(3, 2, 1, rounding="floor"), lambda F, x: F.avg_pool2d(x, 3, 2, 1), (1, 2, 10, 10)),
    (lambda: nn.AvgPool2d(2, 3), lambda F, x: F.avg_pool2d(x, 2, 3), (2, 3, 11, 11)),
    (lambda: nn.AvgPool2d(5, 1, 2), lambda F, x: F.avg_pool2d(x, 5, 1, 2), (1, 3, 7, 7)),
    (lambda: nn.LPPool2d(2, 3, 2), lambda F, x: F.lp_pool2d(x, 2, 3, 2), (2, 3, 9, 9)),
    (lambda: nn.LPPool2d(1.5, 2), lambda F, x: F.lp_pool2d(x, 1.5, 2), (1, 3, 6, 6)),
    (lambda: nn.LPPool2d(3, 2, 3), lambda F, x: F.lp_pool2d(x, 3, 2, 3), (2, 3, 11, 11)),
    (lambda: nn.GlobalAvgPool2d(), lambda F, x: F.adaptive_avg_pool2d(x, 1), (1, 3, 5, 7)),
    (
        lambda: nn.LocalResponseNorm(4, alpha=0.3, beta=0.6),
        lambda F, x: F.local_response_norm(x, 4, 0.3, 0.6, 2.0),
        (2, 7, 3, 3),
    ),
    (
        lambda: nn.LocalResponseNorm(9, alpha=0.3),
        lambda F, x: F.local_response_norm(x, 9, 0.3, 0.75, 2.0),
        (1, 4, 2, 3),
    ),
]


@pytest.mark.parametrize(
    "make,ref,shape", _POOLS, ids=lambda v: repr(v()) if callable(v) and v.__code__.co_argcount == 0 else None
)
def test_pooling_matches_torch_on_unseen_geometries(make, ref, shape):
    torch = pytest.importorskip("torch", reason="PyTorch is the reference for pooling")
    rng = np.random.default_rng(7)
    x = (rng.permutation(int(np.prod(shape))) * 0.01 + 0.1).reshape(shape)  # positive, no ties
    xo, xt = nnlab.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    yo, yt = make()(xo), ref(torch.nn.functional, xt)
    np.testing.assert_allclose(yo.data, yt.detach().numpy(), rtol=1e-10, atol=1e-12)
    grad = rng.standard_normal(yo.shape)
    (yo * nnlab.tensor(grad)).sum().backward()
    (yt * torch.tensor(grad)).sum().backward()
    np.testing.assert_allclose(xo.grad, xt.grad.numpy(), rtol=1e-10, atol=1e-12)


def test_pool_after_conv_matches_torch():
    """A pool reading a convolution's output (channel-major memory), backward through both."""
    torch = pytest.importorskip("torch", reason="PyTorch is the reference")
    rng = np.random.default_rng(8)
    for pool, tpool in [
        (nn.MaxPool2d(3, 2, 1), torch.nn.MaxPool2d(3, 2, 1)),
        (nn.AvgPool2d(3, 2, 1), torch.nn.AvgPool2d(3, 2, 1)),
        (nn.LPPool2d(2, 3, 2), torch.nn.LPPool2d(2, 3, 2)),
        (nn.MaxPool2d(3, 3), torch.nn.MaxPool2d(3, 3)),
    ]:
        conv = nn.Conv2d(3, 32, 3, padding=1, dtype=np.float64)
        tconv = torch.nn.Conv2d(3, 32, 3, padding=1).double()
        with torch.no_grad():
            tconv.weight.copy_(torch.tensor(conv.weight.data))
            tconv.bias.zero_()
        x = rng.standard_normal((3, 3, 9, 9))
        xo, xt = nnlab.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
        yo, yt = pool(conv(xo)), tpool(tconv(xt))
        grad = rng.standard_normal(yo.shape)
        (yo * nnlab.tensor(grad)).sum().backward()
        (yt * torch.tensor(grad)).sum().backward()
        np.testing.assert_allclose(yo.data, yt.detach().numpy(), rtol=1e-9, atol=1e-12, err_msg=repr(pool))
        np.testing.assert_allclose(xo.grad, xt.grad.numpy(), rtol=1e-9, atol=1e-12, err_msg=repr(pool))
        np.testing.assert_allclose(conv.weight.grad, tconv.weight.grad.numpy(), rtol=1e-9, atol=1e-11)


def _lc_reference(torch, x, weight, bias, stride, padding):
    """Locally connected layer from torch.nn.functional.unfold: every position its own filter."""
    OH, OW, O, C, KH, KW = weight.shape
    cols = torch.nn.functional.unfold(x, (KH, KW), padding=padding, stride=stride)  # (N, C*KH*KW, L)
    out = torch.einsum("nkl,lok->nol", cols, weight.reshape(OH * OW, O, C * KH * KW))
    return out.reshape(x.shape[0], O, OH, OW) + bias


@pytest.mark.parametrize(
    "kw,size",
    [
        (dict(kernel_size=3), (6, 5)),
        (dict(kernel_size=(3, 2), stride=2, padding=1), (7, 8)),
        (dict(kernel_size=1, stride=(1, 2)), (4, 5)),
        (dict(kernel_size=4, stride=3), (10, 7)),
    ],
)
def test_locally_connected_matches_an_unfold_reference(kw, size):
    torch = pytest.importorskip("torch", reason="torch.nn.functional.unfold is the reference")
    rng = np.random.default_rng(9)
    m = nn.LocallyConnected2d(3, 4, input_size=size, dtype=np.float64, **kw)
    m.bias.data[...] = rng.standard_normal(m.bias.shape)
    x = rng.standard_normal((2, 3, *size))
    xo, xt = nnlab.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    wt, bt = torch.tensor(m.weight.data, requires_grad=True), torch.tensor(m.bias.data, requires_grad=True)
    yo, yt = m(xo), _lc_reference(torch, xt, wt, bt, m.stride, m.padding)
    np.testing.assert_allclose(yo.data, yt.detach().numpy(), rtol=1e-10, atol=1e-10)
    grad = rng.standard_normal(yo.shape)
    (yo * nnlab.tensor(grad)).sum().backward()
    (yt * torch.tensor(grad)).sum().backward()
    for a, b in [(xo.grad, xt.grad), (m.weight.grad, wt.grad), (m.bias.grad, bt.grad)]:
        np.testing.assert_allclose(a, b.numpy(), rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize(
    "make,shape",
    [
        (lambda: nn.Conv2d(3, 4, 2, stride=3), (1, 3, 8, 8)),  # stride > kernel
        (lambda: nn.Conv2d(2, 4, 3, stride=2, padding=1, rounding="floor"), (2, 2, 8, 8)),
        (lambda: nn.Conv2d(2, 6, (2, 3), stride=(1, 2), padding=(2, 1), dilation=(2, 1), groups=2), (1, 2, 5, 7)),
        (lambda: nn.LocallyConnected2d(2, 3, input_size=(7, 8), kernel_size=(3, 2), stride=2, padding=1), (2, 2, 7, 8)),
        (lambda: nn.MaxPool2d(2, 3), (2, 2, 8, 8)),
        (lambda: nn.AvgPool2d(3, 2, 1, rounding="floor"), (1, 2, 8, 8)),
        (lambda: nn.LPPool2d(3, 2, 1), (1, 2, 5, 5)),
        (lambda: nn.BatchNorm2d(3), (4, 3, 3, 3)),
        (lambda: nn.BatchNorm2d(3).eval(), (2, 3, 3, 3)),
    ],
)
def test_more_gradchecks(make, shape, module_gradcheck):
    rng = np.random.default_rng(10)
    nnlab.manual_seed(3)
    m = make()
    x = (rng.permutation(int(np.prod(shape))) * 0.013 + 0.2).reshape(shape)  # distinct, positive
    module_gradcheck(m, x, rng)


def test_float64_end_to_end():
    """A float64 CNN stays float64 in every output and gradient."""
    m = nn.Sequential(
        nn.Conv2d(1, 4, 3, padding=1),
        nn.BatchNorm2d(4),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.LocalResponseNorm(3),
        nn.Conv2d(4, 4, 3, groups=2),
        nn.AvgPool2d(2, 1),
        nn.LPPool2d(2, 2),
        nn.GlobalAvgPool2d(),
        nn.Flatten(),
        nn.Linear(4, 3),
    ).double()
    x = nnlab.tensor(np.random.default_rng(11).standard_normal((2, 1, 10, 10)), requires_grad=True)
    y = m(x)
    assert y.dtype == np.float64 and y.shape == (2, 3)
    y.sum().backward()
    assert x.grad.dtype == np.float64
    assert all(p.grad is not None and p.grad.dtype == np.float64 for p in m.parameters())


def test_bad_input_errors_name_the_layer_and_show_the_formula(strict_geometry):
    zeros = lambda *s: nnlab.tensor(np.zeros(s, np.float32))  # noqa: E731
    with pytest.raises(
        ValueError,
        match=r"^Conv2d\(3, 4, kernel_size=9, padding=1\): the kernel \(9\) is larger "
        r"than the padded input height \(5 \+ 2\*1 = 7\): \(W - F \+ 2P\)/S \+ 1 = "
        r"\(5 - 9 \+ 2\*1\)/1 \+ 1 = -1; paddings that fit with stride 1: 2 \(-> 1\), 3 \(-> 3\)",
    ):
        nn.Conv2d(3, 4, 9, padding=1)(zeros(1, 3, 5, 5))
    with pytest.raises(
        ValueError,
        match=r"dilation=4\): the dilated kernel \(9\) is larger than the padded input "
        r"height \(8 \+ 2\*0 = 8\)",
    ):
        nn.Conv2d(3, 4, 3, dilation=4)(zeros(1, 3, 8, 8))
    with pytest.raises(
        ValueError,
        match=r"dilation=3\): input height 10 does not fit \(dilated: F = 3\*\(3-1\)\+1 = 7\): "
        r"\(W - F \+ 2P\)/S \+ 1 = \(10 - 7 \+ 2\*0\)/2 \+ 1 = 2.5 is not a whole number",
    ):
        nn.Conv2d(3, 4, 3, stride=2, dilation=3)(zeros(1, 3, 10, 10))
    with pytest.raises(ValueError, match=r"input width 9 does not fit: .*\(9 - 2 \+ 2\*0\)/2 \+ 1 = 4.5"):
        nn.Conv2d(3, 4, 2, stride=2)(zeros(1, 3, 8, 9))
    with pytest.raises(ValueError, match=r"groups=2\): expected 4 input channels \(2 groups of 2\), got 6"):
        nn.Conv2d(4, 4, 3, groups=2)(zeros(1, 6, 8, 8))
    for layer in (
        nn.MaxPool2d(2),
        nn.AvgPool2d(2),
        nn.LPPool2d(2, 2),
        nn.GlobalAvgPool2d(),
        nn.LocallyConnected2d(3, 4, 8, 3),
        nn.Conv2d(3, 4, 3),
    ):
        with pytest.raises(
            ValueError, match=rf"^{type(layer).__name__}.*expected a 4-D input \(N, C, H, W\), got shape \(3, 8, 8\)"
        ):
            layer(zeros(3, 8, 8))
    with pytest.raises(
        ValueError,
        match=r"^MaxPool2d\(kernel_size=3, stride=2\): input height 8 does not fit: "
        r"\(W - F \+ 2P\)/S \+ 1 = \(8 - 3 \+ 2\*0\)/2 \+ 1 = 3.5",
    ):
        nn.MaxPool2d(3, 2)(zeros(1, 1, 8, 8))
    with pytest.raises(ValueError, match=r"^AvgPool2d\(kernel_size=5, stride=5\): the kernel \(5\) is larger"):
        nn.AvgPool2d(5)(zeros(1, 1, 4, 4))
    with pytest.raises(
        ValueError,
        match=r"^LocallyConnected2d\(3, 4, input_size=8, kernel_size=3\): expected 3 input "
        r"channels, got 2",
    ):
        nn.LocallyConnected2d(3, 4, 8, 3)(zeros(1, 2, 8, 8))
    with pytest.raises(ValueError, match=r"built for one input size"):
        nn.LocallyConnected2d(3, 4, 8, 3)(zeros(1, 3, 9, 9))


def test_bad_arguments_are_rejected_at_construction():
    with pytest.raises(ValueError, match=r"Conv2d\(3.5, 4\): in_channels must be a positive integer, got 3.5"):
        nn.Conv2d(3.5, 4, 3)
    with pytest.raises(ValueError, match=r"out_channels must be a positive integer, got 0"):
        nn.Conv2d(3, 0, 3)
    with pytest.raises(ValueError, match=r"LocallyConnected2d\(0, 4\): in_channels must be a positive integer"):
        nn.LocallyConnected2d(0, 4, 8, 3)
    for make in (
        lambda: nn.Conv2d(3, 4, 3, rounding="ceil"),
        lambda: nn.MaxPool2d(2, rounding="ceil"),
        lambda: nn.LocallyConnected2d(3, 4, 8, 3, rounding="up"),
    ):
        with pytest.raises(ValueError, match="rounding must be 'exact' or 'floor'"):
            make()  # even where the geometry would fit and the rounding never be consulted
    for p in (0, -1, float("inf"), True):
        with pytest.raises(ValueError, match="LPPool2d: norm_type must be a positive finite number"):
            nn.LPPool2d(p, 2)
    with pytest.raises(TypeError, match="kernel_size must be an int or a pair of ints, got 3.0"):
        nn.Conv2d(3, 4, 3.0)
    assert nn.Conv2d(4, 4, 3, groups=np.int64(2)).groups == 2
    assert repr(nn.LocallyConnected2d(3, 4, 8, 3, bias=False)).endswith("bias=False)")


def test_locally_connected_rejects_a_dtype_mismatch():
    m = nn.LocallyConnected2d(3, 4, 8, 3)
    with pytest.raises(
        TypeError, match=r"LocallyConnected2d\(.*\): input dtype float64 differs from the weights' float32"
    ):
        m(nnlab.tensor(np.zeros((1, 3, 8, 8))))
    assert m(nnlab.tensor(np.zeros((1, 3, 8, 8), np.float32))).dtype == np.float32


def test_functional_locally_connected_rejects_a_dtype_mismatch():
    w = nnlab.tensor(np.zeros((6, 6, 4, 3, 3, 3), np.float32), requires_grad=True)
    with pytest.raises(TypeError, match="dtype"):
        nnlab.nn.functional.locally_connected2d(nnlab.tensor(np.zeros((1, 3, 8, 8))), w)


def test_pool_error_suggests_only_paddings_the_pool_accepts(strict_geometry):
    with pytest.raises(ValueError) as e:
        nn.MaxPool2d(4, 3)(nnlab.tensor(np.zeros((1, 1, 5, 5), np.float32)))  # a conv would also take 4
    suggested = [int(p) for p in re.findall(r"(\d+) \(->", str(e.value).split("paddings that fit")[1].split(";")[0])]
    assert suggested and all(2 * p <= 4 for p in suggested), str(e.value)


def test_local_response_norm_size_is_checked_at_construction():
    for bad in (0, 2.5, True):
        with pytest.raises(ValueError, match="LocalResponseNorm: size must be a positive integer"):
            nn.LocalResponseNorm(bad)
    with pytest.raises(ValueError, match="LocalResponseNorm: beta must be a finite number"):
        nn.LocalResponseNorm(5, beta=float("nan"))
