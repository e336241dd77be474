"""Module: registration, traversal, modes, state, architecture as data."""

import json

import numpy as np
import pytest

import nnlab
import nnlab.nn as nn
from nnlab.nn.module import module_from_config


class Affine(nn.Module):
    def __init__(self, n_in, n_out, bias=True, shape=(1, 2)):
        super().__init__()
        self.weight = nn.Parameter(np.ones((n_out, n_in), dtype=np.float32))
        self.bias = nn.Parameter(np.zeros(n_out, dtype=np.float32)) if bias else None
        self.register_buffer("count", np.zeros(1))
        self.shape = shape

    def forward(self, x):
        from nnlab.engine.ops import linear

        return linear(x, self.weight, self.bias)


class Pair(nn.Module):
    def __init__(self, first, second, scale=1.0):
        super().__init__()
        self.first = first
        self.second = second
        self.scale = scale

    def forward(self, x):
        return self.second(self.first(x)) * self.scale


def make():
    return Pair(Affine(3, 4), Affine(4, 2, shape=(5, 6)), scale=2.0)


def test_registration_and_dotted_names():
    m = make()
    assert [n for n, _ in m.named_parameters()] == ["first.weight", "first.bias", "second.weight", "second.bias"]
    assert [n for n, _ in m.named_buffers()] == ["first.count", "second.count"]
    assert [n for n, _ in m.named_modules()] == ["", "first", "second"]
    # The notes' 3-4-2 network: 3*4 + 4 + 4*2 + 2 = 26 learnable parameters.
    assert m.num_parameters() == 26


def test_shared_parameter_counted_once():
    a = Affine(3, 3)
    m = Pair(a, a)
    assert m.num_parameters() == 12


def test_none_parameter_and_reassignment():
    m = Affine(3, 4, bias=False)
    assert [n for n, _ in m.named_parameters()] == ["weight"]
    with pytest.raises(TypeError, match="Affine.weight holds a Parameter"):
        m.weight = np.zeros((4, 3))


def test_train_eval_propagates():
    m = make()
    m.eval()
    assert not any(x.training for x in m.modules())
    m.train()
    assert all(x.training for x in m.modules())


def test_state_dict_round_trip_and_errors():
    m, m2 = make(), make()
    for p in m.parameters():
        p.data[...] = np.random.default_rng(0).normal(size=p.shape)
    m.first.count = np.array([7.0])
    m2.load_state_dict(m.state_dict())
    for (n, a), (_, b) in zip(m.state_dict().items(), m2.state_dict().items()):
        np.testing.assert_array_equal(a, b, err_msg=n)
    bad = m.state_dict()
    bad["first.weight"] = np.zeros((2, 2))
    with pytest.raises(ValueError, match="first.weight"):
        m2.load_state_dict(bad)
    missing = m.state_dict()
    del missing["second.bias"]
    with pytest.raises(KeyError, match="second.bias"):
        m2.load_state_dict(missing)


def test_a_bad_state_leaves_the_model_unchanged():
    m = make()
    before = m.state_dict()
    for key, value, err, match in [
        ("second.weight", np.zeros((9, 9)), ValueError, r"'second.weight' has shape \(9, 9\) in the state, \(2, 4\)"),
        ("second.bias", np.array(["a", "b"]), TypeError, r"'second.bias' has dtype <U1 in the state, float32"),
    ]:
        bad = {k: np.full_like(v, 3.0) for k, v in before.items()}  # every other entry is fine
        bad[key] = value
        with pytest.raises(err, match=match):
            m.load_state_dict(bad)
        for k, v in m.state_dict().items():
            np.testing.assert_array_equal(v, before[k], err_msg=k)
    with pytest.raises(TypeError, match="expected a dict of arrays"):
        m.load_state_dict([("first.weight", np.ones((4, 3)))])


def test_non_strict_load_reports_what_did_not_match_and_accepts_tensors():
    m = make()
    state = {"first.weight": nnlab.tensor(np.full((4, 3), 2.0)), "extra": np.ones(1)}
    result = m.load_state_dict(state, strict=False)
    assert result.unexpected_keys == ["extra"] and "first.bias" in result.missing_keys
    assert m.first.weight.dtype == np.float32 and (m.first.weight.data == 2.0).all()
    assert m.load_state_dict(m.state_dict()) == ([], [])


def test_state_dict_is_a_copy():
    m = Affine(2, 2)
    sd = m.state_dict()
    sd["weight"][...] = 5
    assert m.weight.data.max() == 1


def test_freeze_blocks_gradients():
    m = make()
    m.first.freeze()
    x = nnlab.tensor(np.ones((2, 3), dtype=np.float32))
    m(x).sum().backward()
    assert m.first.weight.grad is None and m.second.weight.grad is not None


def test_double_casts_parameters_and_buffers():
    m = make().double()
    assert all(p.dtype == np.float64 for p in m.parameters())
    assert all(b.dtype == np.float64 for b in m.buffers())


def test_config_round_trip_rebuilds_architecture():
    m = make()
    cfg = json.loads(json.dumps(m.get_config()))
    with pytest.raises(ValueError, match="not part of nnlab"):
        module_from_config(cfg)  # a class from outside nnlab must be passed or registered
    rebuilt = module_from_config(cfg, custom_objects=[Pair, Affine])
    assert isinstance(rebuilt, Pair) and rebuilt.scale == 2.0
    assert rebuilt.second.shape == (5, 6)  # tuples survive the JSON round trip
    rebuilt.load_state_dict(m.state_dict())
    x = nnlab.tensor(np.arange(6, dtype=np.float32).reshape(2, 3))
    np.testing.assert_array_equal(rebuilt(x).data, m(x).data)


def test_config_refuses_non_modules():
    with pytest.raises(ValueError, match="not part of nnlab"):
        module_from_config({"class": "os:system", "args": ["true"]})
    with pytest.raises(ValueError, match="not an nnlab Module"):
        module_from_config({"class": "nnlab.nn.functional:relu"})
    with pytest.raises(ValueError, match="cannot find class"):
        module_from_config({"class": "nnlab.nn:NoSuchLayer"})


def test_unserializable_argument_is_named():
    m = Affine(2, 2, shape=object())
    with pytest.raises(TypeError, match="Affine"):
        m.get_config()


def test_repr_nests():
    text = repr(make())
    assert text.startswith("Pair(") and "(first): Affine()" in text


@pytest.mark.parametrize(
    "call,err,match",
    [
        (
            lambda m: m.register_buffer("a.b", np.ones(1)),
            KeyError,
            "buffer name must be a non-empty string without '.', got 'a.b'",
        ),
        (lambda m: m.register_parameter("", nn.Parameter(np.ones(1))), KeyError, "parameter name must be a non-empty"),
        (
            lambda m: m.add_module("x.y", nn.ReLU()),
            KeyError,
            "module name must be a non-empty string without '.', got 'x.y'",
        ),
        (lambda m: m.add_module(3, nn.ReLU()), KeyError, "module name must be a non-empty string without '.', got 3"),
        (
            lambda m: m.add_module("head", lambda x: x),
            TypeError,
            "Affine.add_module: 'head' must be a Module, got function",
        ),
        (
            lambda m: m.register_parameter("scale", np.ones(1)),
            TypeError,
            "Affine.register_parameter: 'scale' must be a Parameter or None, got ndarray",
        ),
        (lambda m: m.train("no"), ValueError, "Affine.train: mode must be True or False, got 'no'"),
    ],
)
def test_registration_rejects_names_and_values_that_would_break_state_dict(call, err, match):
    m = Affine(2, 2)
    before = list(m.state_dict())
    with pytest.raises(err, match=match):
        call(m)
    assert list(m.state_dict()) == before


def test_sequential_refuses_dotted_child_names():
    from collections import OrderedDict

    with pytest.raises(KeyError, match="got 'block.0'"):
        nn.Sequential(OrderedDict([("block.0", nn.ReLU())]))


def test_sequential_honours_a_layer_class_with_its_own_call_and_instance_forwards():
    class Doubling(nn.Module):
        def forward(self, x):
            return x

        def __call__(self, x):
            return self.forward(x) * 2.0

    lin = nn.Linear(2, 2)
    lin.forward = lambda x: x + 1.0  # an instance-level forward (how diagnostics hooks attach)
    seq = nn.Sequential(Doubling(), lin)
    out = seq(nnlab.tensor(np.ones((1, 2), np.float32)))
    np.testing.assert_array_equal(out.data, [[3.0, 3.0]])


def test_linear_subclass_weight_property_is_used_in_forward():
    class Masked(nn.Linear):
        @property
        def weight(self):
            return self._parameters["weight"] * 0.0 + 1.0

    layer = Masked(3, 2)
    out = layer(nnlab.tensor(np.ones((1, 3), np.float32)))
    np.testing.assert_array_equal(out.data, np.full((1, 2), 3.0, np.float32))  # bias starts at 0
    plain = nn.Linear(3, 2)
    del plain.bias
    with pytest.raises(AttributeError):
        plain(nnlab.tensor(np.ones((1, 3), np.float32)))
