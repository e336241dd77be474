"""Model zoo: every builder builds, matches its published/derived parameter count, and runs a
forward and backward pass at a reduced input size."""

import numpy as np
import pytest

import nnlab
from nnlab import zoo


def _inception(cin, c1, r3, c3, r5, c5, pp, k5=5, bn=False):
    b = 2 if bn else 1  # bias (1 per channel) or batch-norm scale+shift (2 per channel)
    return (
        cin * c1
        + b * c1
        + cin * r3
        + b * r3
        + r3 * 9 * c3
        + b * c3
        + cin * r5
        + b * r5
        + r5 * k5 * k5 * c5
        + b * c5
        + cin * pp
        + b * pp
    )


_INCEPTIONS = [
    (192, 64, 96, 128, 16, 32, 32),
    (256, 128, 128, 192, 32, 96, 64),
    (480, 192, 96, 208, 16, 48, 64),
    (512, 160, 112, 224, 24, 64, 64),
    (512, 128, 128, 256, 24, 64, 64),
    (512, 112, 144, 288, 32, 64, 64),
    (528, 256, 160, 320, 32, 128, 128),
    (832, 256, 160, 320, 32, 128, 128),
    (832, 384, 192, 384, 48, 128, 128),
]

# Published totals (torchvision / the papers) or derived layer by layer (formulas spelled out).
EXPECTED_SMALL = {
    ("lenet5", ()): 156 + 2_416 + 48_120 + 10_164 + 850,  # 61,706 classic
    ("lenet5", (("input_size", 28),)): 61_706,  # padded 28x28 keeps the shapes
    ("resnet20", ()): 269_722,  # option A shortcuts
    ("resnet20", (("shortcut", "projection"),)): 269_722 + 16 * 32 + 2 * 32 + 32 * 64 + 2 * 64,  # 272,474
    ("nin", ()): (3 * 25 * 192 + 192)
    + (192 * 160 + 160)
    + (160 * 96 + 96)
    + (96 * 25 * 192 + 192)
    + 2 * (192 * 192 + 192)
    + (192 * 9 * 192 + 192)
    + (192 * 192 + 192)
    + (192 * 10 + 10),
    ("resnet18", ()): 11_689_512,
    ("resnet34", ()): 21_797_672,
    ("resnet50", ()): 25_557_032,
    ("googlenet", (("variant", "torchvision"),)): 6_624_904,
    ("googlenet", ()): (
        3 * 49 * 64
        + 64
        + 64 * 64
        + 64
        + 64 * 9 * 192
        + 192
        + sum(_inception(*c) for c in _INCEPTIONS)
        + 1024 * 1000
        + 1000
    ),
}

EXPECTED_BIG = {
    ("alexnet", ()): 60_965_224,  # original: two GPU groups in conv2/4/5, LRN
    ("alexnet", (("variant", "merged"),)): 62_378_344,
    ("alexnet", (("variant", "torchvision"),)): 61_100_840,
    ("zfnet", ()): 14_208 + 614_656 + 885_120 + 1_327_488 + 884_992 + 37_752_832 + 16_781_312 + 4_097_000,
    ("vgg11", ()): 132_863_336,
    ("vgg13", ()): 133_047_848,
    ("vgg19", ()): 143_667_240,
}


def test_derived_counts_spelled_out():
    assert EXPECTED_SMALL[("nin", ())] == 966_986
    assert EXPECTED_SMALL[("googlenet", ())] == 6_998_552
    assert EXPECTED_SMALL[("resnet20", (("shortcut", "projection"),))] == 272_474
    assert (
        sum(_inception(*c, k5=3, bn=True) for c in _INCEPTIONS)
        + 3 * 49 * 64
        + 128
        + 64 * 64
        + 128
        + 64 * 9 * 192
        + 384
        + 1_025_000
        == 6_624_904
    )


@pytest.mark.parametrize("key", list(EXPECTED_SMALL), ids=lambda k: k[0] + "".join(f"-{v}" for _, v in k[1]))
def test_parameter_count(key):
    name, kw = key
    assert zoo.get(name)(**dict(kw)).num_parameters() == EXPECTED_SMALL[key]


@pytest.mark.parametrize("key", list(EXPECTED_BIG), ids=lambda k: k[0] + "".join(f"-{v}" for _, v in k[1]))
def test_parameter_count_big(key, monkeypatch):
    # The count depends on shapes only; skipping the random init of 60-140M weights saves seconds.
    monkeypatch.setattr(nnlab.nn.init, "init_weight_", lambda t, how="he", rng=None: t)
    name, kw = key
    model = zoo.get(name)(**dict(kw))
    assert model.num_parameters() == EXPECTED_BIG[key]
    assert not np.any(model.classifier[-1].weight.data)  # the patched init really ran instead


# (builder, kwargs, input shape) at reduced sizes; batch of 2 (batch norm needs > 1 value per channel).
REDUCED = [
    ("lenet5", {}, (1, 32, 32)),
    ("lenet5", {"input_size": 28}, (1, 28, 28)),
    ("resnet20", {"input_size": 28, "in_channels": 1}, (1, 28, 28)),
    ("resnet20", {}, (3, 32, 32)),
    ("nin", {"input_size": 28, "in_channels": 1}, (1, 28, 28)),
    ("alexnet", {"input_size": 67, "hidden": 32}, (3, 67, 67)),
    ("alexnet", {"input_size": 63, "hidden": 32, "variant": "torchvision"}, (3, 63, 63)),
    ("zfnet", {"input_size": 65, "hidden": 32}, (3, 65, 65)),
    ("vgg11", {"input_size": 32, "hidden": 32}, (3, 32, 32)),
    ("vgg13", {"input_size": 32, "hidden": 32, "batch_norm": True}, (3, 32, 32)),
    pytest.param("vgg16", {"input_size": 32, "hidden": 32}, (3, 32, 32), marks=pytest.mark.slow),
    pytest.param("vgg19", {"input_size": 32, "hidden": 32}, (3, 32, 32), marks=pytest.mark.slow),
    ("googlenet", {"input_size": 32}, (3, 32, 32)),
    ("googlenet", {"input_size": 32, "variant": "torchvision"}, (3, 32, 32)),
    ("resnet18", {"input_size": 32}, (3, 32, 32)),
    pytest.param("resnet34", {"input_size": 32}, (3, 32, 32), marks=pytest.mark.slow),
    pytest.param("resnet50", {"input_size": 32}, (3, 32, 32), marks=pytest.mark.slow),
]


def _rid(item):
    n, kw, s = item.values if hasattr(item, "values") else item
    return f"{n}-{s[-1]}" + (f"-{kw['variant']}" if "variant" in kw else "")


@pytest.mark.parametrize("name,kw,shape", REDUCED, ids=[_rid(i) for i in REDUCED])
def test_forward_backward_reduced(name, kw, shape):
    nnlab.manual_seed(0)
    model = zoo.get(name)(num_classes=7, **kw)
    x = nnlab.tensor(np.random.default_rng(0).standard_normal((2, *shape)).astype(np.float32))
    out = model(x)
    assert out.shape == (2, 7)
    assert np.all(np.isfinite(out.data))
    (out * nnlab.tensor(np.arange(14, dtype=np.float32).reshape(2, 7))).sum().backward()
    for pname, p in model.named_parameters():
        assert p.grad is not None and p.grad.shape == p.shape, pname
        assert np.all(np.isfinite(p.grad)), pname
    first = next(iter(model.parameters()))
    assert np.abs(first.grad).sum() > 0  # the gradient reaches the first layer


def test_registry_names_and_lookup():
    assert zoo.names() == sorted(
        [
            "lenet5",
            "alexnet",
            "zfnet",
            "vgg11",
            "vgg13",
            "vgg16",
            "vgg19",
            "googlenet",
            "resnet18",
            "resnet34",
            "resnet50",
            "resnet20",
            "nin",
        ]
    )
    assert zoo.get("ResNet-18") is zoo.resnet18
    assert zoo.get("VGG_16") is zoo.vgg16
    with pytest.raises(ValueError, match="unknown model 'resnet101'.*lenet5"):
        zoo.get("resnet101")
    with pytest.raises(TypeError, match="string"):
        zoo.get(18)


def test_small_input_lists_exactly_the_models_that_fit_digits(monkeypatch):
    """SMALL_INPUT (what ``nnlab train --model`` offers) is every builder that runs on 1x28x28;
    the others refuse 28 with a geometry error naming the model."""
    monkeypatch.setattr(nnlab.nn.init, "init_weight_", lambda t, how="he", rng=None: t)
    fits = []
    for name in zoo.names():
        try:
            model = zoo.get(name)(num_classes=10, input_size=28, in_channels=1)
        except ValueError as e:
            assert name[:3] in str(e) and "28" in str(e), str(e)
            continue
        with nnlab.no_grad():
            out = model.eval()(nnlab.tensor(np.zeros((2, 1, 28, 28), dtype=np.float32)))
        assert out.shape == (2, 10)
        fits.append(name)
    assert sorted(zoo.SMALL_INPUT) == sorted(fits)
    from nnlab.train.models import model_names

    assert set(zoo.SMALL_INPUT) <= set(model_names())


def test_vgg_config_table_expands():
    feats = zoo.make_layers(zoo.cfgs["11"], in_channels=3)
    kinds = [type(m).__name__ for m in feats]
    assert kinds.count("Conv2d") == 8 and kinds.count("MaxPool2d") == 5
    assert [len([v for v in zoo.cfgs[d] if v != "M"]) + 3 for d in ("11", "13", "16", "19")] == [11, 13, 16, 19]
    with pytest.raises(ValueError, match="positive ints or 'M'"):
        zoo.make_layers([64, "X"])


def test_geometry_errors_name_the_model():
    with pytest.raises(ValueError, match=r"vgg: input_size must be divisible by 2\*\*5 = 32.*got 40"):
        zoo.vgg11(input_size=40)
    with pytest.raises(
        ValueError,
        match=r"alexnet conv1: \(W - F \+ 2P\)/S \+ 1 = \(224 - 11 \+ 2\*0\)/4 \+ 1 = 54.25 "
        r"is not a whole .*\(input sizes that fit: 195, 227\)",
    ):
        zoo.alexnet(input_size=224)
    with pytest.raises(ValueError, match=r"zfnet conv1: .* = 110.5 .*\(input sizes that fit: 193, 225\)"):
        zoo.zfnet(input_size=224)
    for size, side in ((195, 5), (227, 6)):  # the suggested sizes do build
        assert zoo.alexnet(input_size=size, hidden=4).classifier[1].in_features == 256 * side * side
    with pytest.raises(ValueError, match="variant"):
        zoo.alexnet(variant="caffe")
    with pytest.raises(ValueError, match="input_size"):
        zoo.lenet5(input_size=0)


def test_zfnet_first_layer_and_shapes():
    model = zoo.zfnet(input_size=65, hidden=16)
    conv1 = model.features[0]
    assert conv1.kernel_size == (7, 7) and conv1.stride == (2, 2) and conv1.out_channels == 96
    assert model.classifier[1].in_features == 256 * 1 * 1


@pytest.mark.parametrize(
    "name,kw,shape",
    [
        ("lenet5", {}, (1, 32, 32)),
        ("resnet20", {}, (3, 32, 32)),
        ("vgg11", {"input_size": 32, "hidden": 16}, (3, 32, 32)),
        ("googlenet", {"input_size": 32}, (3, 32, 32)),
        ("nin", {}, (3, 32, 32)),
    ],
)
def test_architecture_round_trips_through_config(name, kw, shape):
    import json
    from nnlab.nn.module import module_from_config

    model = zoo.get(name)(**kw).eval()
    rebuilt = module_from_config(json.loads(json.dumps(model.get_config()))).eval()
    rebuilt.load_state_dict(model.state_dict())
    x = nnlab.tensor(np.random.default_rng(0).random((2, *shape), dtype=np.float32))
    with nnlab.no_grad():
        np.testing.assert_array_equal(rebuilt(x).data, model(x).data)


def test_option_a_shortcut_subsamples_and_zero_pads():
    from nnlab.zoo.resnet import PadShortcut

    x = np.random.default_rng(0).standard_normal((2, 16, 8, 8)).astype(np.float32)
    out = PadShortcut(16, 32, 2)(nnlab.tensor(x)).data
    assert out.shape == (2, 32, 4, 4)
    np.testing.assert_array_equal(out[:, 8:24], x[:, :, ::2, ::2])
    assert not out[:, :8].any() and not out[:, 24:].any()
    assert sum(p.data.size for p in PadShortcut(16, 32, 2).parameters()) == 0


@pytest.mark.parametrize(
    "name,kw,shape",
    [
        ("lenet5", {}, (1, 32, 32)),
        ("resnet20", {}, (3, 32, 32)),
        ("googlenet", {"input_size": 32}, (3, 32, 32)),
        ("nin", {}, (3, 32, 32)),
    ],
)
def test_summary_rows_account_for_every_parameter(name, kw, shape):
    model = zoo.get(name)(**kw)
    t = nnlab.summary(model, shape, print_fn=None)
    assert sum(r.params for r in t.rows) == t.total_params == model.num_parameters()
    assert t.rows[-1].output_shape[-1] == (10 if name != "googlenet" else 1000)
