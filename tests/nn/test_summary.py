"""summary / memory_estimate / receptive_field: the notes' VGG-16 table and AlexNet's first layer."""

import numpy as np
import pytest

import nnlab
from nnlab import nn, zoo
from nnlab.nn.summary import OPTIMIZER_CACHES, memory_estimate, receptive_field, summary


@pytest.fixture(scope="module")
def vgg16_table():
    # Shapes and counts do not depend on the weight values: skip the seconds-long random init.
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(nnlab.nn.init, "init_weight_", lambda t, how="he", rng=None: t)
        model = zoo.vgg16()
    return model, summary(model, (3, 224, 224), print_fn=None)


def _notes_vgg16_column():
    """The notes' "memory" column, each entry written as its product (224*224*64 ...)."""
    col = [224 * 224 * 3]
    side = 224
    for block, (width, n) in enumerate([(64, 2), (128, 2), (256, 3), (512, 3), (512, 3)]):
        col += [side * side * width] * n
        side //= 2
        col.append(side * side * width)
    return col + [4096, 4096, 1000]


def test_vgg16_matches_the_notes_table(vgg16_table):
    model, t = vgg16_table
    assert t.total_params == 138_357_544 == model.num_parameters()
    fc1 = t.row("classifier.0")
    assert fc1.weights == 7 * 7 * 512 * 4096 == 102_760_448
    assert fc1.biases == 4096
    counted = [r.activations for r in t.rows if not r.folded]
    assert counted == _notes_vgg16_column()
    assert t.total_activations == sum(_notes_vgg16_column()) == 15_237_608
    assert t.activation_bytes == 15_237_608 * 4
    assert round(t.activation_bytes / 1e6) == 61  # ~61 MB per image, forward
    assert t.activation_bytes_with_backward == 2 * t.activation_bytes
    convs = [r.weights for r in t.rows if r.type == "Conv2d"]
    widths = [v for v in zoo.cfgs["16"] if v != "M"]
    assert convs == [3 * 3 * cin * cout for cin, cout in zip([3] + widths[:-1], widths)]
    text = str(t)
    for figure in ("15,237,608", "138,357,544", "102,760,448", "60.95 MB", "512x7x7"):
        assert figure in text


def test_alexnet_first_layer():
    t = summary(zoo.alexnet(hidden=16), (3, 227, 227), print_fn=None)
    conv1 = t.rows[1]
    assert conv1.type == "Conv2d" and conv1.output_shape == (1, 96, 55, 55)
    assert conv1.params == 11 * 11 * 3 * 96 + 96 == 34_944
    assert conv1.activations == 55 * 55 * 96


def test_batch_size_scales_activations_not_params():
    model = zoo.lenet5()
    one = summary(model, (1, 32, 32), print_fn=None)
    eight = summary(model, (1, 32, 32), batch_size=8, print_fn=None)
    assert eight.total_activations == 8 * one.total_activations
    assert eight.total_params == one.total_params == 61_706
    assert "batch of 8" in str(eight)


def test_fold_elementwise_false_counts_every_output():
    model = zoo.lenet5()
    folded = summary(model, (1, 32, 32), print_fn=None)
    every = summary(model, (1, 32, 32), fold_elementwise=False, print_fn=None)
    relu_and_flatten = sum(int(np.prod(r.output_shape[1:])) for r in folded.rows if r.folded)
    assert every.total_activations == folded.total_activations + relu_and_flatten
    assert relu_and_flatten > 0


def test_summary_restores_mode_prints_and_float64():
    model = zoo.resnet20()
    model.train()
    lines = []
    t = model.summary((3, 32, 32), print_fn=lines.append, dtype=np.float64)
    assert all(m.training for m in model.modules())
    assert lines and "TOTAL params: 269,722" in lines[0]
    assert t.activation_bytes == 8 * t.total_activations
    assert t.rows[-1].output_shape == (1, 10)


def test_summary_bad_input():
    with pytest.raises(TypeError, match="input_shape must be a tuple of ints"):
        summary(zoo.lenet5(), "32x32", print_fn=None)
    with pytest.raises(ValueError, match="batch_size"):
        summary(zoo.lenet5(), (1, 32, 32), batch_size=0, print_fn=None)
    table = summary(zoo.lenet5(), (1, 33, 33), print_fn=None)  # floored as in PyTorch, and reported
    assert len(table.dropped) == 1 and table.dropped[0].startswith("MaxPool2d(kernel_size=2, stride=2): input 29x29")
    assert "no window reaches the last 1 input row and the last 1 input column" in table.dropped[0]
    assert "WARNING" in str(table) and "WARNING" not in str(summary(zoo.lenet5(), (1, 32, 32), print_fn=None))
    nnlab.set_strict_geometry(True)
    try:
        with pytest.raises(ValueError, match="does not fit"):
            summary(zoo.lenet5(), (1, 33, 33), print_fn=None)
    finally:
        nnlab.set_strict_geometry(False)


@pytest.mark.parametrize("optimizer", sorted(OPTIMIZER_CACHES))
def test_memory_estimate_arithmetic(optimizer):
    model = zoo.lenet5()
    t = summary(model, (1, 32, 32), print_fn=None)
    est = memory_estimate(model, (1, 32, 32), batch_size=16, optimizer=optimizer)
    caches = {"sgd": 0, "momentum": 1, "nesterov": 1, "adagrad": 1, "rmsprop": 1, "adam": 2}[optimizer]
    expected = 4 * (2 * 16 * t.total_activations + (2 + caches) * 61_706)
    assert est.total_bytes == expected
    assert est.mib == pytest.approx(expected / 2**20)
    assert est.gb == pytest.approx(expected / 1e9)
    assert optimizer in str(est)


def test_memory_estimate_vgg16_batch(vgg16_table):
    model, t = vgg16_table
    est = memory_estimate(t, batch_size=32, optimizer="momentum")  # reuses the table: no new pass
    assert est.activation_bytes == 2 * 32 * 15_237_608 * 4
    assert est.param_bytes == 3 * 138_357_544 * 4  # weights, gradients, velocity
    assert 5.0 < est.gib < 5.3  # ~5.2 GiB: activations dominate
    with pytest.raises(ValueError, match="optimizer must be one of"):
        memory_estimate(t, optimizer="lbfgs")
    with pytest.raises(TypeError, match="input_shape is required"):
        memory_estimate(model)


def test_receptive_field_three_3x3_vs_one_7x7():
    C = 8
    three = nn.Sequential(*[nn.Conv2d(C, C, 3, padding=1, bias=False) for _ in range(3)])
    one = nn.Conv2d(C, C, 7, padding=3, bias=False)
    r3, r7 = receptive_field(three), receptive_field(one)
    assert r3.size == r7.size == 7 and r3.stride == r7.stride == 1
    assert r3.params == 27 * C * C and r7.params == 49 * C * C
    assert [row[4] for row in r3.trace] == [3, 5, 7]


def test_receptive_field_strides_dilation_tuples():
    assert receptive_field([(3, 1), (2, 2), (3, 1)]).size == 8  # 3 -> 4 -> 4 + 2*2
    assert receptive_field([(3, 1, 2)]).size == 5  # dilated 3x3 spans 5
    vgg_trunk = zoo.make_layers(zoo.cfgs["16"])
    rf = receptive_field(vgg_trunk)
    assert rf.stride == 32 and rf.size == 212  # VGG-16 conv5_3 after pool5
    with pytest.raises(TypeError, match=r"\(kernel, stride"):
        receptive_field([(3,)])
    with pytest.raises(TypeError, match="expected a Module"):
        receptive_field(3)


def test_memory_estimate_inference_keeps_only_live_volumes():
    model = zoo.lenet5()
    t = summary(model, (1, 32, 32), print_fn=None)
    est = memory_estimate(model, (1, 32, 32), batch_size=4, training=False)
    vols = [r.activations for r in t.rows if not r.folded]
    assert est.activation_values == 4 * max(a + b for a, b in zip(vols, vols[1:]))
    assert est.activation_values == 4 * (4704 + 1176)  # conv1 output + pool1 output
    assert est.total_bytes == 4 * (est.activation_values + 61_706)
    assert est.total_bytes < memory_estimate(model, (1, 32, 32), batch_size=4).total_bytes
    assert "inference" in str(est)
    assert memory_estimate(t, batch_size=4, training=False).total_bytes == est.total_bytes


def _empirical_field(trunk, shape):
    """Rows of the input that reach the centre unit of the trunk's last map, found by backprop."""
    trunk.double().eval()
    x = nnlab.tensor(np.random.default_rng(0).standard_normal((1, *shape)), requires_grad=True)
    feats = trunk(x)
    g = np.zeros(feats.shape)
    g[0, :, feats.shape[2] // 2, feats.shape[3] // 2] = 1
    (feats * nnlab.tensor(g)).sum().backward()
    rows = np.nonzero(np.abs(x.grad[0]).sum(axis=(0, 2)))[0]
    return int(rows.max() - rows.min() + 1)


class _TwoBranch(nn.Module):
    """Parallel 3x3 and dilated 3x3 (span 5) branches, summed, then a strided conv and a
    concatenation of a 1x1 and a 7x7 branch: a graph no chain of layers describes (untraced, the
    root's children are read as a chain: 1 + 2 + 4 + 2 + 2*6 = 21)."""

    def __init__(self):
        super().__init__()
        self.a = nn.Conv2d(2, 3, 3, padding=1)
        self.b = nn.Conv2d(2, 3, 3, padding=2, dilation=2)
        self.down = nn.Conv2d(3, 3, 3, stride=2, padding=1, rounding="floor")
        self.c = nn.Conv2d(3, 2, 1)
        self.d = nn.Conv2d(3, 2, 7, padding=3)

    def forward(self, x):
        h = self.down(nnlab.nn.functional.tanh(self.a(x) + self.b(x)))
        return nnlab.engine.ops.concatenate([self.c(h), self.d(h)], axis=1)


def test_receptive_field_follows_branches_when_traced():
    """Traced through the graph, the field of branching models is the widest path, as backprop
    through the same network shows; the layer chain would add parallel branches up, so it is refused."""
    net = _TwoBranch()
    rf = receptive_field(net, (2, 41, 41))
    assert (rf.size, rf.stride) == (5 + 2 * 1 + 6 * 2, 2) == (19, 2)
    assert rf.size == _empirical_field(net, (2, 41, 41))
    assert rf.params == net.num_parameters()
    assert receptive_field(net).size == 21  # the documented chain reading of the root
    res = zoo.resnet20()
    rf = receptive_field(res, (3, 96, 96))
    assert (rf.size, rf.stride) == (81, 4) == (_empirical_field(res.features[:-1], (3, 96, 96)), 4)
    assert rf.params == res.num_parameters() - 650  # all but the 64 -> 10 classifier
    with pytest.raises(ValueError, match=r"BasicBlockA at 'features.3.0' .* pass input_shape"):
        receptive_field(res)


def test_receptive_field_published_figures():
    """Theoretical fields of the classic trunks: AlexNet 195, VGG-16 212, ResNet-18 435 (stride 32)."""
    alex = zoo.alexnet(hidden=8)
    assert receptive_field(alex).size == receptive_field(alex, (3, 227, 227)).size == 195
    assert receptive_field(alex).stride == 32
    rf = receptive_field(zoo.resnet18(input_size=64), (3, 64, 64))
    assert (rf.size, rf.stride) == (435, 32)
    trace_fields = [row[4] for row in rf.trace]
    assert trace_fields[:2] == [7, 11]  # 7x7/2 stem, 3x3/2 pool
    with pytest.raises(TypeError, match="needs a Module"):
        receptive_field([(3, 1)], (1, 8, 8))


def test_summary_parameter_counts_match_torch():
    """Per-layer parameters and output shapes of a network not in the zoo against PyTorch's."""
    torch = pytest.importorskip("torch", reason="PyTorch is the reference for parameter counts")
    ours = nn.Sequential(
        nn.Conv2d(3, 12, 5, stride=2, padding=1, bias=False),
        nn.BatchNorm2d(12),
        nn.ReLU(),
        nn.Conv2d(12, 12, 3, groups=4, dilation=2, padding=2),
        nn.MaxPool2d(3, 2),
        nn.Conv2d(12, 24, 1),
        nn.AvgPool2d(3, 2),
        nn.Flatten(),
        nn.Linear(24 * 3 * 3, 17),
        nn.ReLU(),
        nn.Linear(17, 5, bias=False),
    )
    T = torch.nn
    theirs = T.Sequential(
        T.Conv2d(3, 12, 5, stride=2, padding=1, bias=False),
        T.BatchNorm2d(12),
        T.ReLU(),
        T.Conv2d(12, 12, 3, groups=4, dilation=2, padding=2),
        T.MaxPool2d(3, 2),
        T.Conv2d(12, 24, 1),
        T.AvgPool2d(3, 2),
        T.Flatten(),
        T.Linear(24 * 3 * 3, 17),
        T.ReLU(),
        T.Linear(17, 5, bias=False),
    )
    t = summary(ours, (3, 31, 31), print_fn=None)
    shapes = []
    x = torch.zeros(1, 3, 31, 31)
    for layer in theirs:
        x = layer(x)
        shapes.append(tuple(x.shape))
    rows = t.rows[1:]
    assert [r.output_shape for r in rows] == shapes
    assert [r.params for r in rows] == [sum(p.numel() for p in layer.parameters()) for layer in theirs]
    assert t.total_params == sum(p.numel() for p in theirs.parameters())
    assert t.total_activations == 3 * 31 * 31 + sum(int(np.prod(s)) for s, r in zip(shapes, rows) if not r.folded)


def test_memory_estimate_takes_the_optimizer_object():
    from nnlab import optim

    model = zoo.lenet5()
    t = summary(model, (1, 32, 32), print_fn=None)
    for opt, kind in [
        (optim.SGD(model.parameters(), lr=0.1), "sgd"),
        (optim.SGD(model.parameters(), lr=0.1, momentum=0.9), "momentum"),
        (optim.Adam(model.parameters()), "adam"),
        (optim.RMSprop(model.parameters()), "rmsprop"),
    ]:
        est = memory_estimate(t, batch_size=2, optimizer=opt)
        assert est.optimizer == kind
        assert est.param_bytes == 4 * (2 + OPTIMIZER_CACHES[kind]) * 61_706
    with pytest.raises(ValueError, match="no cache count known for LBFGS"):
        memory_estimate(t, optimizer=optim.LBFGS(model.parameters()))
