"""Optimizer mechanics: groups, frozen parameters, zero_grad, state_dict, dtype and in-place updates,
bad input, and parity with torch.optim."""

import copy

import numpy as np
import pytest

import nnlab
from nnlab import nn
from nnlab.nn import Parameter
from nnlab.nn import functional as F
from nnlab.optim import LBFGS, SGD, Adagrad, Adam, Optimizer, RMSprop

FACTORIES = {
    "sgd": lambda ps: SGD(ps, lr=0.1),
    "momentum": lambda ps: SGD(ps, lr=0.1, momentum=0.9, weight_decay=1e-3),
    "nesterov": lambda ps: SGD(ps, lr=0.1, momentum=0.9, nesterov=True),
    "adagrad": lambda ps: Adagrad(ps, lr=0.1),
    "rmsprop": lambda ps: RMSprop(ps, lr=0.01),
    "adam": lambda ps: Adam(ps, lr=0.01, weight_decay=1e-4),
}


def mlp(seed=0):
    nnlab.manual_seed(seed)
    return nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))


def data(seed=1):
    rng = np.random.default_rng(seed)
    return nnlab.tensor(rng.normal(size=(16, 4)).astype(np.float32)), rng.integers(0, 3, size=16)


def train(model, opt, steps, x, y):
    losses = []
    for _ in range(steps):
        opt.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        losses.append(float(loss.item()))
    return losses


@pytest.mark.parametrize("name", list(FACTORIES))
def test_float32_stays_float32_and_updates_in_place(name):
    model = mlp()
    params = list(model.parameters())
    arrays = [p.data for p in params]
    before = [a.copy() for a in arrays]
    opt = FACTORIES[name](params)
    x, y = data()
    train(model, opt, 3, x, y)
    for p, a, b in zip(params, arrays, before):
        assert p.data is a  # same array object: updated in place
        assert p.data.dtype == np.float32
        assert not np.array_equal(a, b)
    for st in opt.state.values():
        for v in st.values():
            if isinstance(v, np.ndarray):
                assert v.dtype == np.float32


@pytest.mark.parametrize("name", list(FACTORIES))
def test_training_lowers_the_loss(name):
    model = mlp()
    x, y = data()
    losses = train(model, FACTORIES[name](model.parameters()), 30, x, y)
    assert losses[-1] < 0.8 * losses[0]


@pytest.mark.parametrize("name", list(FACTORIES))
def test_state_dict_round_trip_continues_bitwise_identically(name):
    x, y = data()
    model_a = mlp()
    opt_a = FACTORIES[name](model_a.parameters())
    train(model_a, opt_a, 3, x, y)
    saved_model, saved_opt = model_a.state_dict(), opt_a.state_dict()

    train(model_a, opt_a, 4, x, y)  # training on must not change what was saved
    model_b = mlp(seed=123)  # different init, then everything is loaded
    model_b.load_state_dict(saved_model)
    opt_b = FACTORIES[name](model_b.parameters())
    opt_b.load_state_dict(saved_opt)
    train(model_b, opt_b, 4, x, y)
    for (na, pa), (nb, pb) in zip(model_a.named_parameters(), model_b.named_parameters()):
        assert np.array_equal(pa.data, pb.data), na


def test_state_dict_is_keyed_by_position_and_copies_arrays():
    model = mlp()
    opt = Adam(model.parameters(), lr=0.01)
    x, y = data()
    train(model, opt, 1, x, y)
    sd = opt.state_dict()
    assert sorted(sd["state"]) == [0, 1, 2, 3]
    assert sd["param_groups"][0]["params"] == [0, 1, 2, 3]
    assert sd["state"][0]["step"] == 1
    assert sd["state"][0]["exp_avg"] is not opt.state[0]["exp_avg"]


def test_load_state_dict_rejects_a_mismatched_model():
    opt = Adam(mlp().parameters(), lr=0.01)
    x, y = data()
    train(mlp(), opt, 1, x, y)
    other = Adam(nn.Linear(4, 3).parameters())
    with pytest.raises(ValueError, match="group 0 has 4 parameters"):
        other.load_state_dict(opt.state_dict())


def _trained_state(factory):
    model, (x, y) = mlp(), data()
    opt = factory(model.parameters())
    train(model, opt, 2, x, y)
    return opt.state_dict()


def _unchanged_after_failed_load(opt, bad, match):
    before = copy.deepcopy(opt.state_dict())
    with pytest.raises(ValueError, match=match):
        opt.load_state_dict(bad)
    after = opt.state_dict()
    assert after["param_groups"] == before["param_groups"] and sorted(after["state"]) == sorted(before["state"])


@pytest.mark.parametrize(
    "source,target", [("adam", "momentum"), ("momentum", "adagrad"), ("rmsprop", "adam"), ("adagrad", "rmsprop")]
)
def test_load_state_dict_rejects_another_optimizers_state(source, target):
    opt = FACTORIES[target](mlp().parameters())
    _unchanged_after_failed_load(
        opt, _trained_state(FACTORIES[source]), r"state of parameter 0 has keys .* keeps .*another optimizer"
    )


def test_load_state_dict_checks_keys_shapes_counters_and_hyperparameters():
    saved = _trained_state(FACTORIES["adam"])
    opt = Adam(mlp().parameters(), lr=0.01)
    bad = copy.deepcopy(saved)
    del bad["state"][1]["exp_avg_sq"]
    _unchanged_after_failed_load(opt, bad, r"parameter 1 has keys \['exp_avg', 'step'\]")
    bad = copy.deepcopy(saved)
    bad["state"][3]["exp_avg"] = np.zeros((3, 8), np.float32)
    _unchanged_after_failed_load(
        opt, bad, r"'exp_avg' of parameter 3 has shape \(3, 8\), the parameter has shape \(3,\)"
    )
    for step in (-1, 1.5, True):
        bad = copy.deepcopy(saved)
        bad["state"][0]["step"] = step
        _unchanged_after_failed_load(opt, bad, r"'step' of parameter 0 must be an integer >= 0")
    bad = copy.deepcopy(saved)
    bad["param_groups"][0]["lr"] = -0.1
    _unchanged_after_failed_load(opt, bad, r"Adam: lr must be a finite number >= 0, got -0.1")
    bad = copy.deepcopy(saved)
    bad["param_groups"][0]["betas"] = (0.9, 1.5)
    _unchanged_after_failed_load(opt, bad, r"Adam: beta2 must be a number in \[0.0, 1.0\)")
    bad = copy.deepcopy(saved)
    bad["state"][9] = bad["state"][0]
    _unchanged_after_failed_load(opt, bad, r"state for parameter 9, but there are 4")
    for garbage in ([], {"state": [], "param_groups": []}, {"state": {}, "param_groups": [{"lr": 1}]}):
        with pytest.raises(ValueError, match="Adam.load_state_dict"):
            opt.load_state_dict(garbage)


def test_load_state_dict_casts_state_to_the_parameters_dtype_and_accepts_string_keys():
    saved = _trained_state(FACTORIES["adam"])
    wide = copy.deepcopy(saved)
    wide["state"] = {
        str(k): {n: (v.astype(np.float64) if isinstance(v, np.ndarray) else v) for n, v in st.items()}
        for k, st in wide["state"].items()
    }
    a, b = mlp(), mlp()
    opt_a, opt_b = Adam(a.parameters(), lr=0.01), Adam(b.parameters(), lr=0.01)
    opt_a.load_state_dict(saved)
    opt_b.load_state_dict(wide)  # as from a JSON/float64 store
    assert all(v.dtype == np.float32 for st in opt_b.state.values() for v in st.values() if isinstance(v, np.ndarray))
    x, y = data()
    train(a, opt_a, 2, x, y)
    train(b, opt_b, 2, x, y)
    for pa, pb in zip(a.parameters(), b.parameters()):
        assert pa.data.dtype == np.float32 and np.array_equal(pa.data, pb.data)


def test_lbfgs_load_state_dict_checks_its_vectors():
    model, (x, y) = mlp(), data()
    opt = LBFGS(model.parameters(), max_iter=3)

    def closure():
        opt.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        return loss

    opt.step(closure)
    saved = opt.state_dict()
    small = LBFGS(nn.Linear(4, 3).parameters())
    bad = copy.deepcopy(saved)
    bad["param_groups"][0]["params"] = [0, 1]
    with pytest.raises(
        ValueError,
        match=r"LBFGS.load_state_dict: state 'd' has shape \(67,\), the trainable "
        r"parameters have 15 values",
    ):
        small.load_state_dict(bad)
    bad = copy.deepcopy(saved)
    del bad["state"][0]["n_iter"]
    with pytest.raises(ValueError, match=r"LBFGS.load_state_dict: the state lacks \['n_iter'\]"):
        LBFGS(mlp().parameters()).load_state_dict(bad)


def test_parameter_groups_have_their_own_lr_and_lr_is_writable():
    a, b = Parameter(np.ones(3)), Parameter(np.ones(3))
    opt = SGD([{"params": [a]}, {"params": [b], "lr": 0.5}], lr=0.1)
    assert [g["lr"] for g in opt.param_groups] == [0.1, 0.5]
    a.grad, b.grad = np.ones(3), np.ones(3)
    opt.step()
    np.testing.assert_allclose(a.data, 0.9)
    np.testing.assert_allclose(b.data, 0.5)
    opt.param_groups[1]["lr"] = 0.25  # what schedules and ReduceLROnPlateau do
    opt.step()
    np.testing.assert_allclose(b.data, 0.25)
    c = Parameter(np.ones(2))
    opt.add_param_group({"params": c, "lr": 1.0})
    c.grad = np.ones(2)
    opt.step()
    np.testing.assert_allclose(c.data, 0.0)
    assert opt.param_groups[2]["momentum"] == 0.0  # missing keys take the defaults


def test_frozen_and_gradless_parameters_are_untouched():
    model = mlp()
    first = model[0]
    first.weight.requires_grad = False
    w0 = first.weight.data.copy()
    opt = Adam(model.parameters(), lr=0.1)
    x, y = data()
    first.weight.grad = np.ones_like(first.weight.data)  # a stale grad on a frozen param is ignored
    opt.step()
    train(model, opt, 3, x, y)
    assert np.array_equal(first.weight.data, w0)
    idx = [id(p) for p in model.parameters()].index(id(first.weight))
    assert idx not in opt.state
    p = Parameter(np.ones(2))
    opt2 = SGD([p], lr=0.1, momentum=0.9)
    opt2.step()  # grad None: skipped
    np.testing.assert_array_equal(p.data, 1.0)


def test_zero_grad_sets_none_or_zeros():
    model = mlp()
    opt = SGD(model.parameters(), lr=0.1)
    x, y = data()
    train(model, opt, 1, x, y)
    opt.zero_grad(set_to_none=False)
    assert all(p.grad is not None and not p.grad.any() for p in model.parameters())
    opt.zero_grad()
    assert all(p.grad is None for p in model.parameters())


def test_step_returns_closure_loss():
    p = Parameter(np.array([2.0]))
    opt = SGD([p], lr=0.1)

    def closure():
        p.grad = 2 * p.data
        return float(p.data[0] ** 2)

    assert opt.step(closure) == 4.0
    np.testing.assert_allclose(p.data, [1.6])


def test_bad_input_names_the_optimizer_and_argument():
    p = Parameter(np.ones(2))
    with pytest.raises(TypeError, match="SGD.*lr"):
        SGD([p])
    with pytest.raises(ValueError, match="SGD: lr must be"):
        SGD([p], lr=-1.0)
    with pytest.raises(ValueError, match="SGD: momentum"):
        SGD([p], lr=0.1, momentum=1.5)
    with pytest.raises(ValueError, match="nesterov"):
        SGD([p], lr=0.1, nesterov=True)
    with pytest.raises(ValueError, match="Adam: beta1"):
        Adam([p], betas=(1.0, 0.999))
    with pytest.raises(ValueError, match="RMSprop: decay_rate"):
        RMSprop([p], decay_rate=1.0)
    with pytest.raises(ValueError, match="empty parameter list"):
        Adam([])
    with pytest.raises(TypeError, match="single Parameter"):
        Adam(p)
    with pytest.raises(TypeError, match="ndarray"):
        Adam([np.ones(2)])
    with pytest.raises(ValueError, match="appears twice"):
        Adam([p, p])
    with pytest.raises(ValueError, match="single parameter group"):
        LBFGS([{"params": [p]}, {"params": [Parameter(np.ones(1))]}])
    with pytest.raises(ValueError, match="line_search_fn"):
        LBFGS([p], line_search_fn="wolfe")
    with pytest.raises(ValueError, match="closure"):
        LBFGS([p]).step()


def test_lbfgs_state_dict_round_trip():
    def make():
        p = Parameter(np.array([-1.5, 2.0]))

        def closure():
            a, b = p.data
            p.grad = np.array([-2 * (1 - a) - 400 * a * (b - a * a), 200 * (b - a * a)])
            return (1 - a) ** 2 + 100 * (b - a * a) ** 2

        return p, LBFGS([p], max_iter=5, line_search_fn="strong_wolfe"), closure

    p1, o1, c1 = make()
    o1.step(c1)
    saved_x, saved = p1.data.copy(), o1.state_dict()
    o1.step(c1)
    p2, o2, c2 = make()
    p2.data[:] = saved_x
    o2.load_state_dict(saved)
    o2.step(c2)
    assert np.array_equal(p1.data, p2.data)
    assert isinstance(o2, Optimizer)


# ---- parity with torch.optim ---------------------------------------------------------------
def _torch_trajectory(torch, make, x0, grads):
    p = torch.nn.Parameter(torch.tensor(x0))
    opt = make([p])
    out = []
    for g in grads:
        p.grad = torch.tensor(g(p.detach().numpy()))
        opt.step()
        out.append(p.detach().numpy().copy())
    return out


def _our_trajectory(make, x0, grads):
    p = Parameter(x0.copy())
    opt = make([p])
    out = []
    for g in grads:
        p.grad = g(p.data)
        opt.step()
        out.append(p.data.copy())
    return out


PARITY = {
    "adam": (
        lambda ps: Adam(ps, lr=0.01, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.01),
        lambda t, ps: t.optim.Adam(ps, lr=0.01, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.01),
    ),
    "adagrad": (lambda ps: Adagrad(ps, lr=0.1, eps=1e-8), lambda t, ps: t.optim.Adagrad(ps, lr=0.1, eps=1e-8)),
    "rmsprop": (
        lambda ps: RMSprop(ps, lr=0.01, decay_rate=0.9, eps=1e-8),
        lambda t, ps: t.optim.RMSprop(ps, lr=0.01, alpha=0.9, eps=1e-8),
    ),
    # Different buffer conventions (v = -lr * b), the same trajectory while lr is constant:
    "momentum": (lambda ps: SGD(ps, lr=0.05, momentum=0.9), lambda t, ps: t.optim.SGD(ps, lr=0.05, momentum=0.9)),
    "nesterov": (
        lambda ps: SGD(ps, lr=0.05, momentum=0.9, nesterov=True),
        lambda t, ps: t.optim.SGD(ps, lr=0.05, momentum=0.9, nesterov=True),
    ),
    # (dampening is left out: torch starts its buffer at the first gradient undampened, while here
    # v starts at 0 as in the exponentially weighted average v = b v + (1 - b) dW.)
}


@pytest.mark.parametrize("name", list(PARITY))
def test_parity_with_torch_optim(name):
    torch = pytest.importorskip("torch", reason="PyTorch is the reference for optimizer parity")
    ours, theirs = PARITY[name]
    rng = np.random.default_rng(0)
    A = rng.normal(size=(5, 5))
    A = A @ A.T + np.eye(5)
    x0 = rng.normal(size=5)
    grads = [lambda x: A @ x] * 25
    a = _our_trajectory(ours, x0, grads)
    b = _torch_trajectory(torch, lambda ps: theirs(torch, ps), x0, grads)
    np.testing.assert_allclose(np.array(a), np.array(b), rtol=1e-10, atol=1e-12)


def test_sgd_momentum_differs_from_torch_when_lr_changes_mid_training():
    torch = pytest.importorskip("torch", reason="PyTorch is the reference for optimizer parity")
    x0, g = np.array([1.0, -1.0]), np.array([0.5, 0.25])
    p = Parameter(x0.copy())
    tp = torch.nn.Parameter(torch.tensor(x0))
    ours, theirs = SGD([p], lr=0.1, momentum=0.9), torch.optim.SGD([tp], lr=0.1, momentum=0.9)
    for step in range(4):
        if step == 2:
            ours.param_groups[0]["lr"] = theirs.param_groups[0]["lr"] = 0.01
        p.grad, tp.grad = g.copy(), torch.tensor(g)
        ours.step(), theirs.step()
        if step == 1:
            np.testing.assert_allclose(p.data, tp.detach().numpy(), rtol=1e-12)
    # After the change, torch rescales its whole buffer by the new lr; here the velocity keeps its scale.
    assert np.abs(p.data - tp.detach().numpy()).max() > 1e-2


def test_lbfgs_matches_torch_on_rosenbrock_without_line_search():
    torch = pytest.importorskip("torch", reason="PyTorch is the reference for optimizer parity")
    x0 = np.array([-1.5, 2.0])

    def grad_f(x):
        a, b = x
        return (
            (1 - a) ** 2 + 100 * (b - a * a) ** 2,
            np.array([-2 * (1 - a) - 400 * a * (b - a * a), 200 * (b - a * a)]),
        )

    p, tp = Parameter(x0.copy()), torch.nn.Parameter(torch.tensor(x0))
    ours = LBFGS([p], lr=0.1, max_iter=15, history_size=5)
    theirs = torch.optim.LBFGS([tp], lr=0.1, max_iter=15, history_size=5)

    def closure():
        f, g = grad_f(p.data)
        p.grad = g
        return f

    def tclosure():
        f, g = grad_f(tp.detach().numpy())
        tp.grad = torch.tensor(g)
        return torch.tensor(f)

    for _ in range(2):
        ours.step(closure), theirs.step(tclosure)
    np.testing.assert_allclose(p.data, tp.detach().numpy(), rtol=1e-9)


@pytest.mark.parametrize("name", list(FACTORIES) + ["lbfgs"])
def test_a_gradient_of_the_wrong_shape_is_an_error_not_a_broadcast(name):
    p = Parameter(np.ones((3, 4), np.float32))
    if name == "lbfgs":
        opt = LBFGS([p])

        def closure():
            p.grad = np.ones(4, np.float32)
            return 0.0

        with pytest.raises(
            ValueError, match=r"LBFGS.step: parameter 0 has shape \(3, 4\) but its grad has shape \(4,\)"
        ):
            opt.step(closure)
    else:
        opt = FACTORIES[name]([p])
        p.grad = np.ones(4, np.float32)  # would broadcast over the rows
        with pytest.raises(ValueError, match=r"step: parameter 0 has shape \(3, 4\) but its grad has shape \(4,\)"):
            opt.step()
    np.testing.assert_array_equal(p.data, 1.0)
