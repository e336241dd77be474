"""Residual, Inception and mlpconv blocks: shapes, shortcuts, float64 gradient checks."""

from __future__ import annotations

import numpy as np
import pytest

import nnlab
from nnlab import nn


def positive_biases(m, rng):
    """Positive biases: zero-initialized ones would put a ReLU kink exactly at every dead pixel
    (pre-activation = bias = 0), where a centered difference straddles the kink."""
    m.double()
    for name, p in m.named_parameters():
        if name.endswith("bias"):
            p.data[...] = rng.uniform(0.05, 0.3, p.shape)


@pytest.mark.parametrize(
    "make,shape,out",
    [
        (lambda: nn.BasicBlock(4, 4), (3, 4, 5, 5), (3, 4, 5, 5)),  # identity shortcut
        (lambda: nn.BasicBlock(3, 4, stride=2), (3, 3, 6, 6), (3, 4, 3, 3)),  # projection
        (lambda: nn.Bottleneck(4, 1), (3, 4, 4, 4), (3, 4, 4, 4)),  # identity
        (lambda: nn.Bottleneck(3, 2, stride=2), (4, 3, 7, 7), (4, 8, 4, 4)),  # projection, odd size
        (lambda: nn.InceptionModule(3, 2, 2, 3, 1, 2, 2), (2, 3, 5, 5), (2, 9, 5, 5)),
        (lambda: nn.InceptionModule(3, 2, 2, 3, 1, 2, 2, batch_norm=True), (3, 3, 4, 4), (3, 9, 4, 4)),
        (lambda: nn.MLPConv(3, (4, 3, 2), 3, padding=1), (2, 3, 5, 5), (2, 2, 5, 5)),
    ],
)
def test_block_shapes_and_gradcheck(make, shape, out, module_gradcheck):
    nnlab.manual_seed(0)
    rng = np.random.default_rng(0)
    m = make()
    x = rng.standard_normal(shape)
    assert m.double()(nnlab.tensor(x)).shape == out
    positive_biases(m, rng)
    module_gradcheck(m, x, rng)  # batch norm in training mode


def test_float32_blocks_stay_float32():
    x = nnlab.tensor(np.random.default_rng(1).standard_normal((2, 8, 8, 8)).astype(np.float32))
    for m in (
        nn.BasicBlock(8, 16, 2),
        nn.Bottleneck(8, 4, 2),
        nn.InceptionModule(8, 4, 3, 5, 2, 3, 2),
        nn.MLPConv(8, (6, 4), 3, padding=1),
    ):
        y = m(x)
        assert y.dtype == np.float32
        y.sum().backward()
        assert all(p.grad.dtype == np.float32 for p in m.parameters())


def test_identity_shortcut_passes_input_through():
    """With the residual branch's last BN scaled to zero, the block is relu(x)."""
    m = nn.BasicBlock(4, 4)
    assert m.shortcut is None
    m.bn2.weight.data[...] = 0.0
    x = np.random.default_rng(2).standard_normal((2, 4, 5, 5)).astype(np.float32)
    np.testing.assert_allclose(m(nnlab.tensor(x)).data, np.maximum(x, 0), atol=1e-6)


def test_shortcut_choice_and_parameter_counts():
    assert nn.BasicBlock(64, 64).num_parameters() == 2 * 64 * 64 * 9 + 2 * 2 * 64
    proj = nn.BasicBlock(64, 128, stride=2)
    assert proj.shortcut is not None
    assert proj.num_parameters() == 64 * 128 * 9 + 128 * 128 * 9 + 64 * 128 + 3 * 2 * 128
    forced = nn.BasicBlock(8, 8, shortcut="projection")
    assert forced.shortcut is not None
    with pytest.raises(ValueError, match="identity shortcut needs stride 1"):
        nn.BasicBlock(8, 16, shortcut="identity")
    # ResNet-50's first bottleneck: 64 -> 256 channels with a projection
    b = nn.Bottleneck(64, 64)
    assert b.num_parameters() == (64 * 64 + 64 * 64 * 9 + 64 * 256 + 64 * 256) + 2 * (64 + 64 + 256 + 256)


def test_inception_3a_channels_and_parameters():
    """GoogLeNet's inception (3a): 192 -> 64 + 128 + 32 + 32 = 256 channels."""
    m = nn.InceptionModule(192, 64, 96, 128, 16, 32, 32)
    assert m.out_channels == 256
    expected = (
        (192 * 64 + 64)
        + (192 * 96 + 96)
        + (96 * 128 * 9 + 128)
        + (192 * 16 + 16)
        + (16 * 32 * 25 + 32)
        + (192 * 32 + 32)
    )
    assert m.num_parameters() == expected
    y = m(nnlab.tensor(np.zeros((1, 192, 7, 7), np.float32)))
    assert y.shape == (1, 256, 7, 7)


def test_inception_output_is_the_branch_concatenation():
    m = nn.InceptionModule(3, 2, 2, 3, 1, 2, 2)
    x = nnlab.tensor(np.random.default_rng(3).standard_normal((2, 3, 5, 5)).astype(np.float32))
    y = m(x).data
    parts = [m.branch1(x).data, m.branch3(x).data, m.branch5(x).data, m.branch_pool(x).data]
    np.testing.assert_allclose(y, np.concatenate(parts, axis=1), rtol=1e-6)


def test_mlpconv_is_a_per_pixel_mlp_after_the_first_conv():
    m = nn.MLPConv(3, (4, 5), 1)
    x = np.random.default_rng(4).standard_normal((2, 3, 4, 4)).astype(np.float32)
    y = m(nnlab.tensor(x)).data
    c1, c2 = m.layers[0], m.layers[2]
    pix = x.transpose(0, 2, 3, 1).reshape(-1, 3)
    h = np.maximum(pix @ c1.weight.data[:, :, 0, 0].T + c1.bias.data, 0)
    ref = np.maximum(h @ c2.weight.data[:, :, 0, 0].T + c2.bias.data, 0)
    np.testing.assert_allclose(y.transpose(0, 2, 3, 1).reshape(-1, 5), ref, rtol=1e-5, atol=1e-6)


def _torch_block(torch, m, x):
    """The same block written with torch.nn.functional on the block's own parameters (BN in
    training mode); returns the output and the torch leaf tensors keyed by parameter name."""
    F = torch.nn.functional
    leaves = {n: torch.tensor(p.data, requires_grad=True) for n, p in m.named_parameters()}

    def conv(prefix, h):
        c = dict(m.named_modules())[prefix]
        return F.conv2d(h, leaves[prefix + ".weight"], leaves.get(prefix + ".bias"), c.stride, c.padding, c.dilation)

    def bn(prefix, h):
        return F.batch_norm(
            h,
            None,
            None,
            leaves[prefix + ".weight"],
            leaves[prefix + ".bias"],
            training=True,
            eps=dict(m.named_modules())[prefix].eps,
        )

    if isinstance(m, nn.InceptionModule):

        def unit(prefix, h, n):
            for i in range(0, 2 * n, 2):
                h = F.relu(conv(f"{prefix}.{i}", h))
            return h

        pooled = F.max_pool2d(x, 3, 1, 1)
        return torch.cat(
            [
                unit("branch1", x, 1),
                unit("branch3", x, 2),
                unit("branch5", x, 2),
                F.relu(conv("branch_pool.1", pooled)),
            ],
            dim=1,
        ), leaves
    short = x if m.shortcut is None else bn("shortcut.1", conv("shortcut.0", x))
    h = F.relu(bn("bn1", conv("conv1", x)))
    if isinstance(m, nn.Bottleneck):
        h = F.relu(bn("bn2", conv("conv2", h)))
        h = bn("bn3", conv("conv3", h))
    else:
        h = bn("bn2", conv("conv2", h))
    return F.relu(h + short), leaves


@pytest.mark.parametrize(
    "make,shape",
    [
        (lambda: nn.BasicBlock(3, 4, stride=2), (2, 3, 7, 7)),
        (lambda: nn.BasicBlock(4, 4), (2, 4, 5, 6)),
        (lambda: nn.Bottleneck(4, 2, stride=2), (3, 4, 8, 8)),
        (lambda: nn.InceptionModule(3, 2, 2, 3, 1, 2, 2), (2, 3, 6, 5)),
    ],
)
def test_blocks_match_torch(make, shape):
    torch = pytest.importorskip("torch", reason="PyTorch is the reference for the blocks")
    nnlab.manual_seed(4)
    rng = np.random.default_rng(4)
    m = make().double()
    for name, p in m.named_parameters():
        if name.endswith("bias"):
            p.data[...] = rng.uniform(-0.2, 0.3, p.shape)
    x = rng.standard_normal(shape)
    xo, xt = nnlab.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    yo = m(xo)
    yt, leaves = _torch_block(torch, m, xt)
    np.testing.assert_allclose(yo.data, yt.detach().numpy(), rtol=1e-9, atol=1e-10)
    grad = rng.standard_normal(yo.shape)
    (yo * nnlab.tensor(grad)).sum().backward()
    (yt * torch.tensor(grad)).sum().backward()
    np.testing.assert_allclose(xo.grad, xt.grad.numpy(), rtol=1e-8, atol=1e-10)
    for name, p in m.named_parameters():
        np.testing.assert_allclose(p.grad, leaves[name].grad.numpy(), rtol=1e-8, atol=1e-10, err_msg=name)
