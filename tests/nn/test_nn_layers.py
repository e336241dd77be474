"""Layers: gradient checks in float64, PyTorch parity, modes, containers, reprs and errors."""

import numpy as np
import pytest

import nnlab
import nnlab.nn.functional as F
from nnlab import nn

RTOL = 1e-7
torch_reason = "PyTorch is the reference for parity tests; skipped when it is not installed"


def t64(a, grad=True):
    return nnlab.tensor(np.asarray(a, dtype=np.float64), requires_grad=grad)


@pytest.fixture
def rng():
    return np.random.default_rng(1)


def check_module(module, x, rtol=RTOL):
    """Gradient of sum(u * module(x)) w.r.t. x and every parameter."""
    module.double()
    params = list(module.parameters())
    rep = nnlab.gradcheck(lambda xx, *_: module(xx), x, *params, rtol=rtol)
    assert rep.ok, rep


# ---- gradient checks -------------------------------------------------------------------------------
def test_linear_gradcheck(rng):
    nnlab.manual_seed(0)
    check_module(nn.Linear(5, 3), t64(rng.standard_normal((4, 5))))


def test_linear_without_bias_and_batched_leading_dims(rng):
    layer = nn.Linear(5, 3, bias=False).double()
    assert layer.bias is None and layer.num_parameters() == 15
    check_module(layer, t64(rng.standard_normal((2, 4, 5))))


@pytest.mark.parametrize("layer", [nn.Sigmoid(), nn.Tanh(), nn.Softmax(), nn.LogSoftmax()])
def test_smooth_activation_gradcheck(rng, layer):
    check_module(layer, t64(rng.standard_normal((4, 6))))


@pytest.mark.parametrize("layer", [nn.ReLU(), nn.LeakyReLU(0.1)])
def test_kinked_activation_gradcheck_away_from_kink(rng, layer):
    x = rng.standard_normal((4, 6))
    x[np.abs(x) < 0.05] = 0.3
    check_module(layer, t64(x))


def test_maxout_gradcheck_and_shape(rng):
    nnlab.manual_seed(0)
    m = nn.Maxout(4, 3, pieces=3)
    assert m.num_parameters() == (4 + 1) * 3 * 3
    assert m(nnlab.tensor(rng.standard_normal((2, 4)).astype(np.float32))).shape == (2, 3)
    check_module(m, t64(rng.standard_normal((5, 4))))


def test_maxout_is_max_of_pieces(rng):
    m = nn.Maxout(3, 2, pieces=2).double()
    x = rng.standard_normal((4, 3))
    z = x @ m.weight.data.T + m.bias.data
    np.testing.assert_allclose(m(t64(x, False)).data, z.reshape(4, 2, 2).max(-1))


def test_batchnorm1d_gradcheck_train(rng):
    bn = nn.BatchNorm1d(3).double()
    bn.weight.data[:] = rng.standard_normal(3)
    bn.bias.data[:] = rng.standard_normal(3)
    check_module(bn, t64(rng.standard_normal((6, 3)) * 2 + 1))


def test_batchnorm2d_gradcheck_train_and_eval(rng):
    bn = nn.BatchNorm2d(2).double()
    bn.weight.data[:] = [1.5, -0.5]
    check_module(bn, t64(rng.standard_normal((3, 2, 2, 3))))
    bn.running_mean = np.array([0.2, -0.1])
    bn.running_var = np.array([2.0, 0.5])
    bn.eval()
    check_module(bn, t64(rng.standard_normal((3, 2, 2, 3))))


def test_batchnorm_without_affine_gradcheck(rng):
    check_module(nn.BatchNorm1d(4, affine=False), t64(rng.standard_normal((5, 4))))


def test_dropout_gradcheck(rng):
    nnlab.manual_seed(3)
    check_module(nn.Dropout(0.3), t64(rng.standard_normal((5, 6))))


def test_flatten_and_identity_gradcheck(rng):
    check_module(nn.Flatten(), t64(rng.standard_normal((2, 3, 2, 2))))
    check_module(nn.Identity(), t64(rng.standard_normal((2, 3))))
    assert nn.Flatten()(t64(np.zeros((2, 3, 4, 5)), False)).shape == (2, 60)


def test_mlp_gradcheck(rng):
    nnlab.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 6), nn.Tanh(), nn.BatchNorm1d(6), nn.Linear(6, 3))
    model.double()
    x = t64(rng.standard_normal((5, 4)), False)
    y = rng.integers(0, 3, 5)
    rep = nnlab.gradcheck(lambda *_: F.cross_entropy(model(x), y), *model.parameters(), rtol=RTOL)
    assert rep.ok, rep


# ---- modes and statistics ---------------------------------------------------------------------------
def test_dropout_inverted_expectation_and_eval_identity():
    nnlab.manual_seed(0)
    d = nn.Dropout(0.25)
    x = nnlab.tensor(np.ones((400, 500), dtype=np.float32))
    y = d(x).data
    kept = y != 0
    assert abs(kept.mean() - 0.75) < 0.01  # keep probability 1 - p
    np.testing.assert_allclose(y[kept], 1 / 0.75, rtol=1e-6)  # survivors scaled by 1/keep
    assert abs(y.mean() - 1.0) < 0.01  # expected value preserved
    d.eval()
    assert d(x) is x or np.array_equal(d(x).data, x.data)


def test_dropout_seeded_reproducible():
    x = nnlab.tensor(np.ones((10, 10), dtype=np.float32))
    nnlab.manual_seed(5)
    a = nn.Dropout(0.5)(x).data
    nnlab.manual_seed(5)
    b = nn.Dropout(0.5)(x).data
    assert np.array_equal(a, b)
    assert not np.array_equal(a, nn.Dropout(0.5)(x).data)


def test_dropout_custom_rng_and_extremes():
    x = nnlab.tensor(np.ones((3, 4), dtype=np.float32))
    a = F.dropout(x, 0.5, rng=np.random.default_rng(1)).data
    b = F.dropout(x, 0.5, rng=np.random.default_rng(1)).data
    assert np.array_equal(a, b)
    assert np.array_equal(F.dropout(x, 1.0).data, np.zeros((3, 4)))
    assert F.dropout(x, 0.0) is x
    with pytest.raises(ValueError, match="Dropout: p"):
        nn.Dropout(1.5)


def test_batchnorm_running_stats_and_eval(rng):
    bn = nn.BatchNorm1d(3, momentum=0.5)
    x = rng.standard_normal((50, 3)).astype(np.float32) * 3 + 2
    bn(nnlab.tensor(x))
    np.testing.assert_allclose(bn.running_mean, 0.5 * x.mean(0), rtol=1e-5)
    np.testing.assert_allclose(bn.running_var, 0.5 + 0.5 * x.var(0, ddof=1), rtol=1e-5)
    bn.eval()
    x2 = rng.standard_normal((4, 3)).astype(np.float32)
    want = (x2 - bn.running_mean) / np.sqrt(bn.running_var + bn.eps)
    np.testing.assert_allclose(bn(nnlab.tensor(x2)).data, want, rtol=1e-5)
    # eval output of one example does not depend on its batch companions
    np.testing.assert_allclose(bn(nnlab.tensor(x2[:1])).data, want[:1], rtol=1e-5)
    before = bn.running_mean.copy()
    bn(nnlab.tensor(x2))
    assert np.array_equal(before, bn.running_mean)  # eval leaves the buffers alone


def test_batchnorm_train_output_is_normalized(rng):
    bn = nn.BatchNorm2d(4)
    x = nnlab.tensor((rng.standard_normal((8, 4, 5, 5)) * 5 - 3).astype(np.float32))
    y = bn(x).data
    np.testing.assert_allclose(y.mean(axis=(0, 2, 3)), 0, atol=1e-5)
    np.testing.assert_allclose(y.var(axis=(0, 2, 3)), 1, atol=1e-3)
    assert y.dtype == np.float32
    assert set(dict(bn.state_dict())) == {"weight", "bias", "running_mean", "running_var"}


def test_batchnorm_errors():
    with pytest.raises(ValueError, match=r"BatchNorm1d\(3\): expected 3 channels"):
        nn.BatchNorm1d(3)(nnlab.tensor(np.zeros((4, 5), np.float32)))
    with pytest.raises(ValueError, match=r"BatchNorm2d\(3\): expected input of shape \(N, C, H, W\)"):
        nn.BatchNorm2d(3)(nnlab.tensor(np.zeros((4, 3), np.float32)))
    with pytest.raises(ValueError, match="more than one value per channel"):
        nn.BatchNorm1d(3)(nnlab.tensor(np.zeros((1, 3), np.float32)))


# ---- containers, counts, reprs ------------------------------------------------------------------------
def test_sequential_indexing_len_append_iteration():
    seq = nn.Sequential(nn.Linear(3, 4), nn.ReLU())
    seq.append(nn.Linear(4, 2))
    assert len(seq) == 3
    assert isinstance(seq[0], nn.Linear) and isinstance(seq[-1], nn.Linear)
    assert [type(m).__name__ for m in seq] == ["Linear", "ReLU", "Linear"]
    head = seq[:2]
    assert isinstance(head, nn.Sequential) and len(head) == 2 and head[0] is seq[0]
    assert [n for n, _ in seq.named_parameters()] == ["0.weight", "0.bias", "2.weight", "2.bias"]
    with pytest.raises(IndexError):
        seq[3]
    with pytest.raises(TypeError, match="not a Module"):
        nn.Sequential(nn.ReLU(), lambda x: x)


def test_module_list_registers_parameters():
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.layers = nn.ModuleList([nn.Linear(2, 3), nn.Linear(3, 1)])

        def forward(self, x):
            for layer in self.layers:
                x = layer(x)
            return x

    net = Net()
    assert net.num_parameters() == 2 * 3 + 3 + 3 + 1
    assert len(net.layers) == 2
    assert net(nnlab.tensor(np.zeros((5, 2), np.float32))).shape == (5, 1)
    layers = net.layers
    assert layers[-1] is layers[1] and layers["0"] is layers[0]
    head = layers[:1]
    assert isinstance(head, nn.ModuleList) and len(head) == 1 and head[0] is layers[0]
    assert layers.extend([nn.ReLU()]) is layers and [n for n, _ in layers.named_modules()][-1] == "2"
    with pytest.raises(IndexError, match="ModuleList: index 3 out of range for 3 modules"):
        layers[3]
    with pytest.raises(TypeError, match="ModuleList: entry '3' is a function, not a Module"):
        layers.append(lambda x: x)


def test_notes_parameter_counts():
    assert nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2)).num_parameters() == 26
    net = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 4), nn.ReLU(), nn.Linear(4, 1))
    assert net.num_parameters() == 41


def test_reprs():
    assert repr(nn.Linear(784, 10)) == "Linear(in_features=784, out_features=10, bias=True)"
    assert repr(nn.LeakyReLU(0.2)) == "LeakyReLU(negative_slope=0.2)"
    assert repr(nn.Dropout(0.5)) == "Dropout(p=0.5)"
    assert repr(nn.Maxout(4, 3, pieces=2)) == "Maxout(in_features=4, out_features=3, pieces=2, bias=True)"
    assert "(1): ReLU()" in repr(nn.Sequential(nn.Linear(2, 2), nn.ReLU()))
    assert repr(nn.BatchNorm1d(8)).startswith("BatchNorm1d(8, eps=1e-05, momentum=0.1")


# ---- errors ---------------------------------------------------------------------------------------------
def test_linear_shape_error_names_layer_and_shapes():
    with pytest.raises(ValueError) as e:
        nn.Linear(784, 10)(nnlab.tensor(np.zeros((32, 64), np.float32)))
    msg = str(e.value)
    assert "Linear(784->10)" in msg and "784" in msg and "(32, 64)" in msg


def test_non_float_inputs_raise_type_error():
    with pytest.raises(TypeError, match=r"Linear\(3->2\).*int64"):
        nn.Linear(3, 2)(nnlab.tensor(np.zeros((2, 3), np.int64)))
    for layer in (nn.ReLU(), nn.Sigmoid(), nn.Tanh(), nn.Dropout(), nn.BatchNorm1d(3)):
        with pytest.raises(TypeError, match="floating-point"):
            layer(nnlab.tensor(np.zeros((2, 3), np.int64)))


@pytest.mark.parametrize(
    "make,arg",
    [
        (lambda: nn.Linear(2.5, 3), "in_features"),
        (lambda: nn.Linear(3, 0), "out_features"),
        (lambda: nn.Linear(True, 3), "in_features"),
        (lambda: nn.Maxout(0, 3), "in_features"),
        (lambda: nn.Maxout(3, 2.0), "out_features"),
        (lambda: nn.Maxout(3, 2, pieces=0), "pieces"),
    ],
)
def test_layer_sizes_must_be_positive_integers_not_truncated(make, arg):
    with pytest.raises(ValueError, match=rf"(Linear|Maxout): {arg} must be a positive integer, got"):
        make()


@pytest.mark.parametrize(
    "make,match",
    [
        (lambda: nn.BatchNorm1d(0), r"BatchNorm1d: num_features must be a positive integer, got 0"),
        (lambda: nn.BatchNorm1d(4.5), r"BatchNorm1d: num_features must be a positive integer, got 4.5"),
        (lambda: nn.BatchNorm1d(4, momentum=None), r"BatchNorm1d: momentum must lie in \[0, 1\], got None"),
        (lambda: nn.BatchNorm1d(4, eps=0.0), r"BatchNorm1d: eps must be a finite number > 0, got 0.0"),
        (lambda: nn.Dropout("0.5"), r"Dropout: p \(drop probability\) must lie in \[0, 1\], got '0.5'"),
        (lambda: nn.Dropout(float("nan")), r"Dropout: p \(drop probability\) must lie in \[0, 1\], got nan"),
        (lambda: nn.LeakyReLU("0.1"), r"LeakyReLU: negative_slope must be a finite number, got '0.1'"),
    ],
)
def test_layer_settings_are_checked_at_construction(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_flatten_start_dim_counts_from_the_end_when_negative():
    x = nnlab.tensor(np.zeros((2, 3, 4, 5), np.float32))
    assert nn.Flatten(-2)(x).shape == (2, 3, 20) and nn.Flatten(-1)(x).shape == (2, 3, 4, 5)
    assert F.flatten(x, -3).shape == (2, 60) and F.flatten(x).shape == (2, 60)
    with pytest.raises(ValueError, match=r"flatten: start_dim 4 is out of range for a tensor of shape \(2, 3, 4, 5\)"):
        nn.Flatten(4)(x)
    with pytest.raises(ValueError, match="start_dim -5 is out of range"):
        F.flatten(x, -5)


def test_layer_sizes_accept_numpy_integers_and_reset_redraws():
    nnlab.manual_seed(0)
    lin = nn.Linear(np.int64(3), np.int32(2))
    assert lin.weight.shape == (2, 3) and type(lin.in_features) is int
    lin.bias.data[:] = 5.0
    before = lin.weight.data.copy()
    lin.reset_parameters()
    assert not np.array_equal(before, lin.weight.data) and (lin.bias.data == 0).all()
    assert nn.Maxout(3, 2, pieces=3, bias=False).bias is None


def test_dtype_mismatch_is_reported():
    with pytest.raises(TypeError, match="float64"):
        nn.Linear(3, 2)(nnlab.tensor(np.zeros((2, 3))))  # float64 input, float32 weights


# ---- PyTorch parity -------------------------------------------------------------------------------------
def test_torch_linear_activations(rng):
    torch = pytest.importorskip("torch", reason=torch_reason)
    lin = nn.Linear(5, 4).double()
    x_np = rng.standard_normal((3, 5))
    pairs = [
        (nn.ReLU(), torch.relu),
        (nn.Sigmoid(), torch.sigmoid),
        (nn.Tanh(), torch.tanh),
        (nn.LeakyReLU(0.1), lambda z: torch.nn.functional.leaky_relu(z, 0.1)),
    ]
    u = rng.standard_normal((3, 4))
    for ours, theirs in pairs:
        lin.zero_grad()
        x = t64(x_np)
        (ours(lin(x)) * nnlab.tensor(u)).sum().backward()
        w = torch.tensor(lin.weight.data, requires_grad=True)
        b = torch.tensor(lin.bias.data, requires_grad=True)
        xt = torch.tensor(x_np, requires_grad=True)
        (theirs(torch.nn.functional.linear(xt, w, b)) * torch.tensor(u)).sum().backward()
        np.testing.assert_allclose(x.grad, xt.grad.numpy(), rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(lin.weight.grad, w.grad.numpy(), rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(lin.bias.grad, b.grad.numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("shape", [(6, 3), (4, 3, 2, 5)])
def test_torch_batchnorm(rng, shape):
    torch = pytest.importorskip("torch", reason=torch_reason)
    ours = (nn.BatchNorm1d if len(shape) == 2 else nn.BatchNorm2d)(3, momentum=0.2).double()
    theirs = (torch.nn.BatchNorm1d if len(shape) == 2 else torch.nn.BatchNorm2d)(3, momentum=0.2).double()
    g = rng.standard_normal(3)
    ours.weight.data[:] = g
    with torch.no_grad():
        theirs.weight.copy_(torch.tensor(g))
    x_np = rng.standard_normal(shape) * 2 + 1
    u = rng.standard_normal(shape)
    x = t64(x_np)
    y = ours(x)
    (y * nnlab.tensor(u)).sum().backward()
    xt = torch.tensor(x_np, requires_grad=True)
    yt = theirs(xt)
    (yt * torch.tensor(u)).sum().backward()
    np.testing.assert_allclose(y.data, yt.detach().numpy(), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(x.grad, xt.grad.numpy(), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(ours.weight.grad, theirs.weight.grad.numpy(), rtol=1e-9)
    np.testing.assert_allclose(ours.bias.grad, theirs.bias.grad.numpy(), rtol=1e-9)
    np.testing.assert_allclose(ours.running_mean, theirs.running_mean.numpy(), rtol=1e-10)
    np.testing.assert_allclose(ours.running_var, theirs.running_var.numpy(), rtol=1e-10)
    ours.eval(), theirs.eval()
    np.testing.assert_allclose(ours(t64(x_np, False)).data, theirs(torch.tensor(x_np)).detach().numpy(), rtol=1e-9)
