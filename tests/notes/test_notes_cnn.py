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
    """ "Most of the memory (and compute) is in the early CONV layers, most of the parameters in
    the last FC layers": 140M parameters, the first FC layer alone about 100M."""
    _no_init(monkeypatch)
    model = zoo.vgg16()
    t = summary(model, (3, 224, 224), print_fn=None)
    assert round(t.total_params / 1e6) == 138
    fc1 = t.row("classifier.0")
    assert fc1.weights == 102_760_448 and fc1.weights / t.total_params > 0.74
    fc_params = sum(r.params for r in t.rows if r.type == "Linear")
    assert fc_params / t.total_params > 0.89
    first_two_blocks = sum(r.activations for r in t.rows[: t.rows.index(t.row("features.9")) + 1])
    assert first_two_blocks / t.total_activations > 0.7
    # The notes' "TOTAL memory: 24M * 4 bytes ~= 93MB / image" disagrees with their own column,
    # which sums to 15.2M values, 61 MB: the exact count is printed instead.
    assert t.total_activations == 15_237_608 and abs(t.total_activations - 24e6) > 8e6
    assert "15,237,608" in str(t)
    # The table row by row: memory as the notes round it, weights as they print them.
    rows = [r for r in t.rows if not r.folded]
    assert [r.type for r in rows] == ["Input"] + ["Conv2d", "Conv2d", "MaxPool2d"] * 2 + (
        ["Conv2d"] * 3 + ["MaxPool2d"]
    ) * 3 + ["Linear"] * 3
    notes_memory = [
        150e3,
        3.2e6,
        3.2e6,
        800e3,
        1.6e6,
        1.6e6,
        400e3,
        800e3,
        800e3,
        800e3,
        200e3,
        400e3,
        400e3,
        400e3,
        100e3,
        100e3,
        100e3,
        100e3,
        25e3,
        4096,
        4096,
        1000,
    ]
    assert [r.activations for r in rows] == pytest.approx(notes_memory, rel=0.01)
    notes_weights = [
        0,
        1_728,
        36_864,
        0,
        73_728,
        147_456,
        0,
        294_912,
        589_824,
        589_824,
        0,
        1_179_648,
        2_359_296,
        2_359_296,
        0,
        2_359_296,
        2_359_296,
        2_359_296,
        0,
        102_760_448,
        16_777_216,
        4_096_000,
    ]
    assert [r.weights for r in rows] == notes_weights
    assert [r.output_shape[1:] for r in rows][-4:] == [(512, 7, 7), (4096,), (4096,), (1000,)]
    # "TOTAL params: 138M": the weights above plus 13,416 biases (the notes' column omits them)
    assert sum(notes_weights) + sum(r.biases for r in rows) == t.total_params == 138_357_544


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
    side = window // 2**pools
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
    assert first.kernel_size == (224 // 2**pools,) * 2
    big = nnlab.tensor(np.random.default_rng(0).random((1, 3, 384, 384), dtype=np.float32))
    with nnlab.no_grad():
        out = fcn(big)
        trunk_out = model[0](big)
    assert out.shape == (1, 10, grid, grid)
    assert trunk_out.shape[-1] == 384 // 2**pools  # 12 (the notes' [12x12x512]) or 24
    assert (trunk_out.shape[-1] - first.kernel_size[0]) // 1 + 1 == grid  # (12 - 7)/1 + 1 = 6
    assert nnlab.nn.convert.total_stride(model) == 2**pools  # 32: windows 32 pixels apart


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


# ---- 000 part four, the convolutional layer --------------------------------------------------
def test_local_connectivity_weights_per_neuron():
    """Example 1: a 5x5 field on [32x32x3] gives each neuron 5*5*3 = 75 weights (plus a bias);
    example 2: a 3x3 field on [16x16x20] gives 3*3*20 = 180 connections."""
    c1 = nn.Conv2d(3, 1, 5)
    assert c1.weight.data[0].size == 75 and c1.num_parameters() == 76
    assert c1.output_shape((3, 32, 32)) == (1, 28, 28)
    assert nn.Conv2d(20, 1, 3, padding=1).weight.data[0].size == 180


def test_parameter_sharing_figures():
    """AlexNet's first layer: 55*55*96 = 290,400 neurons, each 11*11*3 = 363 weights + 1 bias.
    Shared filters: 11*11*3*96 + 96 = 34,944 parameters. Unshared (a locally connected layer):
    290,400 * 364 = 105,705,600 (the notes print 10570560, a digit short)."""
    conv = nn.Conv2d(3, 96, 11, stride=4)
    assert conv.output_shape((3, 227, 227)) == (96, 55, 55)
    assert 55 * 55 * 96 == 290_400 and conv.weight.data[0].size + 1 == 364
    assert conv.num_parameters() == 34_944
    # One unshared filter bank per output channel (the full 96-channel layer would hold 423 MB):
    # weight (55, 55, O, 3, 11, 11) and bias (O, 55, 55), so the count is O times this one's.
    lc = nn.LocallyConnected2d(3, 1, input_size=227, kernel_size=11, stride=4)
    assert lc.output_size == (55, 55) and lc.weight.shape == (55, 55, 1, 3, 11, 11)
    assert lc.num_parameters() == 55 * 55 * 364
    assert 96 * lc.num_parameters() == 290_400 * 364 == 105_705_600 == 55 * 55 * conv.num_parameters()


def test_locally_connected_with_equal_filters_is_a_convolution():
    """Relaxing parameter sharing generalizes the convolution: an unshared layer whose filters
    happen to be equal at every position computes exactly the convolution."""
    rng = np.random.default_rng(0)
    conv = nn.Conv2d(2, 3, 3, stride=2, padding=1, dtype=np.float64)
    lc = nn.LocallyConnected2d(2, 3, input_size=(7, 9), kernel_size=3, stride=2, padding=1, dtype=np.float64)
    lc.weight.data[...] = conv.weight.data  # broadcast over the (4, 5) positions
    lc.bias.data[...] = rng.standard_normal(3)[:, None, None]
    conv.bias.data[...] = lc.bias.data[:, 0, 0]
    x = nnlab.tensor(rng.standard_normal((2, 2, 7, 9)))
    np.testing.assert_allclose(lc(x).data, conv(x).data, rtol=1e-12, atol=1e-12)


def test_numpy_example_11x11x4_f5_s2():
    """X.shape (11, 11, 4), F=5, S=2, no padding: (11-5)/2+1 = 4, and
    V[0,0,0] = sum(X[:5,:5,:] * W0) + b0, V[1,0,0] = sum(X[2:7,:5,:] * W0) + b0, ...,
    V[2,3,1] = sum(X[4:9,6:11,:] * W1) + b1 (the notes index X[x, y, depth]; nnlab is NCHW)."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((11, 11, 4))
    conv = nn.Conv2d(4, 2, 5, stride=2, dtype=np.float64)
    conv.bias.data[...] = [0.5, -1.5]
    W0, W1 = (conv.weight.data[d].transpose(1, 2, 0) for d in (0, 1))  # (5, 5, 4) like the notes
    b0, b1 = conv.bias.data
    V = conv(nnlab.tensor(X.transpose(2, 0, 1)[None])).data[0].transpose(1, 2, 0)  # V[x, y, d]
    assert V.shape == (4, 4, 2)
    expect = {
        (0, 0, 0): np.sum(X[:5, :5, :] * W0) + b0,
        (1, 0, 0): np.sum(X[2:7, :5, :] * W0) + b0,
        (2, 0, 0): np.sum(X[4:9, :5, :] * W0) + b0,
        (3, 0, 0): np.sum(X[6:11, :5, :] * W0) + b0,
        (0, 0, 1): np.sum(X[:5, :5, :] * W1) + b1,
        (1, 0, 1): np.sum(X[2:7, :5, :] * W1) + b1,
        (0, 1, 1): np.sum(X[:5, 2:7, :] * W1) + b1,
        (2, 3, 1): np.sum(X[4:9, 6:11, :] * W1) + b1,
    }
    for idx, value in expect.items():
        assert V[idx] == pytest.approx(value, rel=1e-12), idx


def test_conv_as_one_matrix_multiply_im2col():
    """227x227x3 input, 96 filters 11x11x3, stride 4: X_col is [363 x 3025] (each 11*11*3 block
    stretched into a column, 55*55 = 3025 of them), W_row is [96 x 363], and np.dot(W_row, X_col)
    reshaped to 96 x 55 x 55 is the layer's output."""
    rng = np.random.default_rng(1)
    x = rng.standard_normal((3, 227, 227)).astype(np.float32)
    conv = nn.Conv2d(3, 96, 11, stride=4, bias=False)
    X_col = np.stack(
        [x[:, 4 * i : 4 * i + 11, 4 * j : 4 * j + 11].reshape(-1) for i in range(55) for j in range(55)], axis=1
    )
    W_row = conv.weight.data.reshape(96, -1)
    assert X_col.shape == (363, 3025) and W_row.shape == (96, 363)
    out = conv(nnlab.tensor(x[None])).data[0]
    np.testing.assert_allclose(out, np.dot(W_row, X_col).reshape(96, 55, 55), rtol=1e-4, atol=1e-4)


def test_conv_backward_is_a_convolution_with_flipped_filters():
    """The gradient of a convolution with respect to its input is a convolution of the output
    gradient (zero-padded by F-1-P) with the spatially flipped filters, in and out channels swapped."""
    rng = np.random.default_rng(2)
    x = nnlab.tensor(rng.standard_normal((2, 3, 8, 7)), requires_grad=True)
    w = rng.standard_normal((5, 3, 3, 4))
    y = nnlab.nn.functional.conv2d(x, nnlab.tensor(w), padding=1)
    g = rng.standard_normal(y.shape)
    (y * nnlab.tensor(g)).sum().backward()
    flipped = np.ascontiguousarray(w[:, :, ::-1, ::-1].transpose(1, 0, 2, 3))
    dx = nnlab.nn.functional.conv2d(nnlab.tensor(g), nnlab.tensor(flipped), padding=(3 - 1 - 1, 4 - 1 - 1))
    np.testing.assert_allclose(x.grad, dx.data, rtol=1e-10, atol=1e-10)


def test_dilated_convolution():
    """A size-3 filter with dilation computes w[0]*x[0] + w[1]*x[2] + w[2]*x[4] (the notes count
    the gap, "dilation 1"; nnlab and PyTorch count the step, dilation=2). Two stacked 3x3 layers
    see 5x5 of the input; dilating the second one widens that to 7x7 with the same weights."""
    conv = nn.Conv2d(1, 1, (1, 3), dilation=2, bias=False, dtype=np.float64)
    w = conv.weight.data[0, 0, 0]
    x = np.arange(1.0, 6.0)
    out = conv(nnlab.tensor(x.reshape(1, 1, 1, 5))).data
    assert out.shape == (1, 1, 1, 1) and out.item() == pytest.approx(w[0] * x[0] + w[1] * x[2] + w[2] * x[4])
    plain = nn.Sequential(nn.Conv2d(1, 1, 3), nn.ReLU(), nn.Conv2d(1, 1, 3))
    dilated = nn.Sequential(nn.Conv2d(1, 1, 3), nn.ReLU(), nn.Conv2d(1, 1, 3, dilation=2))
    assert receptive_field(plain).size == 5 and receptive_field(dilated).size == 7
    assert plain.num_parameters() == dilated.num_parameters()


def test_max_pooling_2x2_keeps_a_quarter_and_routes_gradients_through_the_switches():
    """2x2 max pooling with stride 2 discards 75% of the activations, keeps the depth, has no
    parameters; backward sends each output's gradient to the one input that won (the switch)."""
    rng = np.random.default_rng(3)
    x = nnlab.tensor(rng.permutation(2 * 4 * 8 * 8).reshape(2, 4, 8, 8).astype(np.float64), requires_grad=True)
    pool = nn.MaxPool2d(2, 2)
    y = pool(x)
    assert y.shape == (2, 4, 4, 4) and y.data.size == x.data.size // 4 and pool.num_parameters() == 0
    y.sum().backward()
    assert np.count_nonzero(x.grad) == y.data.size and np.all(x.grad[x.grad != 0] == 1)
    windows = x.data.reshape(2, 4, 4, 2, 4, 2)
    winners = windows == windows.max(axis=(3, 5), keepdims=True)
    np.testing.assert_array_equal(x.grad.reshape(winners.shape) == 1, winners)


def test_average_and_l2_norm_pooling():
    """The other pooling units: the window's average and its L2 norm."""
    x = np.random.default_rng(4).standard_normal((1, 2, 4, 4))
    win = x.reshape(1, 2, 2, 2, 2, 2)
    np.testing.assert_allclose(nn.AvgPool2d(2)(nnlab.tensor(x)).data, win.mean(axis=(3, 5)), rtol=1e-12)
    np.testing.assert_allclose(nn.LPPool2d(2, 2)(nnlab.tensor(x)).data, np.sqrt((win**2).sum(axis=(3, 5))), rtol=1e-12)


def test_fc_layer_is_a_conv_with_filter_the_size_of_its_input():
    """A K-unit FC layer on a 7x7xC volume is a CONV layer with F=7 and K filters: output 1x1xK."""
    nnlab.manual_seed(0)
    model = nn.Sequential(nn.Identity(), nn.Flatten(), nn.Linear(7 * 7 * 8, 16))
    fcn = to_fully_convolutional(model, (8, 7, 7))
    conv = fcn[-1]
    assert isinstance(conv, nn.Conv2d) and conv.kernel_size == (7, 7) and conv.out_channels == 16
    x = nnlab.tensor(np.random.default_rng(5).standard_normal((3, 8, 7, 7)).astype(np.float32))
    with nnlab.no_grad():
        out = fcn(x).data
    assert out.shape == (3, 16, 1, 1)
    np.testing.assert_allclose(out[:, :, 0, 0], model(x).data, rtol=1e-5, atol=1e-5)


# ---- 001: output-size formula and same padding -----------------------------------------------
def test_same_padding_keeps_the_size():
    """001: zero padding 2 around a 32x32x3 input and three 5x5x3 filters at stride 1 give a
    32x32x3 output; with stride 1 and P = (K-1)/2 the size is always kept, and in general
    O = (W - K + 2P)/S + 1."""
    conv = nn.Conv2d(3, 3, 5, padding=2)
    out = conv(nnlab.tensor(np.zeros((1, 3, 32, 32), np.float32)))
    assert out.shape == (1, 3, 32, 32)
    for k in (1, 3, 5, 7):
        for w in (9, 16, 31):
            assert nn.Conv2d(1, 1, k, padding=(k - 1) // 2).output_shape((1, w, w)) == (1, w, w)
    for w, k, p, s in [(227, 11, 0, 4), (11, 5, 0, 2), (13, 3, 1, 2), (225, 7, 3, 2), (10, 4, 3, 3)]:
        assert nn.Conv2d(1, 1, k, stride=s, padding=p).output_shape((1, w, w))[1] == (w - k + 2 * p) // s + 1


def test_zfnet_tweaks_alexnet():
    """ZFNet improved AlexNet by enlarging the middle convolutional layers and making the first
    layer's filter and stride smaller (7x7 stride 2 instead of 11x11 stride 4)."""
    alex, zf = zoo.alexnet(hidden=8), zoo.zfnet(hidden=8)
    convs = lambda m: [c for c in m.features if isinstance(c, nn.Conv2d)]  # noqa: E731
    a, z = convs(alex), convs(zf)
    assert (a[0].kernel_size, a[0].stride) == ((11, 11), (4, 4)) and (z[0].kernel_size, z[0].stride) == ((7, 7), (2, 2))
    middle = lambda cs: sum(c.num_parameters() for c in cs[2:])  # noqa: E731
    assert middle(z) > middle(a)  # 3,097,600 against 1,991,680 (AlexNet's two GPU groups)
    assert (middle(z), middle(a)) == (3_097_600, 1_991_680)
