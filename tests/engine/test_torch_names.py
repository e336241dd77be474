"""torch's names on nnlab: creation, dim/keepdim, shape methods, devices, and parity with torch."""

import numpy as np
import pytest

import nnlab
import nnlab.nn.functional as F
from nnlab import nn


def test_creation_and_dtypes():
    assert nnlab.zeros(2, 3).shape == (2, 3) and nnlab.ones((2,)).dtype == np.float32
    assert nnlab.full((2,), 7).dtype == np.int64 and nnlab.arange(5).dtype == np.int64
    assert nnlab.arange(0, 1, 0.25).tolist() == [0, 0.25, 0.5, 0.75]
    assert nnlab.linspace(0, 1, 5).tolist() == [0, 0.25, 0.5, 0.75, 1.0]
    nnlab.manual_seed(1)
    a = nnlab.randn(3, 2)
    nnlab.manual_seed(1)
    assert np.array_equal(a.data, nnlab.randn(3, 2).data) and nnlab.rand(4).data.max() < 1
    arr = np.arange(3.0)
    assert nnlab.from_numpy(arr).data is arr and nnlab.zeros_like(a).shape == (3, 2)
    assert nnlab.randn((), requires_grad=True).shape == () and nnlab.float is np.float32


def test_tensor_copies_while_from_numpy_and_as_tensor_share():
    """torch.tensor copies its data; torch.from_numpy and torch.as_tensor share the array."""
    for dtype in (np.float32, np.float64):
        arr = np.zeros(3, dtype)
        t = nnlab.tensor(arr, dtype=dtype)
        t.data[0] = 5.0  # what an optimizer's in-place step does to a parameter
        assert arr[0] == 0.0 and t.dtype == dtype
    arr = np.zeros(3, np.float32)
    nnlab.from_numpy(arr).data[1] = 1.0
    nnlab.as_tensor(arr).data[2] = 2.0
    assert arr.tolist() == [0.0, 1.0, 2.0]
    src = nnlab.tensor([1.0, 2.0])
    assert nnlab.tensor(src).data is not src.data


def test_dim_keepdim_and_axis_synonyms():
    x = nnlab.tensor([[1.0, 5.0, 2.0], [7.0, 0.0, 3.0]])
    assert x.sum(dim=1).tolist() == [8, 10] and x.sum(axis=1, keepdims=True).shape == (2, 1)
    assert x.mean(1, keepdim=True).shape == (2, 1)
    values, indices = x.max(dim=1)
    assert values.tolist() == [5, 7] and indices.tolist() == [1, 0] and x.max(axis=1).tolist() == [5, 7]
    v, i = nnlab.max(x, 1, keepdim=True)
    assert v.shape == (2, 1) and i.tolist() == [[1], [0]] and nnlab.max(x).item() == 7
    assert nnlab.max(x, nnlab.full((2, 3), 4.0)).tolist() == [[4, 5, 4], [7, 4, 4]]
    assert x.argmax(dim=1, keepdim=True).tolist() == [[1], [0]] and nnlab.argmax(x).item() == 3
    assert F.softmax(x, dim=0).sum(0).tolist() == pytest.approx([1, 1, 1])
    assert nnlab.cat([x, x], dim=1).shape == (2, 6) and nnlab.stack([x, x], dim=0).shape == (2, 2, 3)
    with pytest.raises(TypeError, match="not both"):
        x.sum(dim=0, axis=1)


def test_shape_methods():
    x = nnlab.arange(24).float().view(2, 3, 4)
    assert x.size() == (2, 3, 4) and x.size(-1) == 4 and x.size == 24 and x.numel() == 24
    assert x.dim() == 3 and x.unsqueeze(0).shape == (1, 2, 3, 4) and x[:1].squeeze(0).shape == (3, 4)
    assert x.permute(2, 0, 1).shape == (4, 2, 3) and x.transpose(1, 2).shape == (2, 4, 3)
    assert x[0].t().shape == (4, 3) and nnlab.flatten(x, 1).shape == (2, 12)
    assert x.flatten(0, 1).shape == (6, 4) and x.view(-1, 4).view_as(x).shape == (2, 3, 4)
    assert nnlab.ones(3, 1).expand(3, 4).shape == (3, 4) and nnlab.ones(2, 3).repeat(2, 1).shape == (4, 3)
    assert x.long().dtype == np.int64 and x.type() == "nnlab.FloatTensor" and x.item if True else None
    c = x.clone()
    c += 1
    assert x[0, 0, 0].item() == 0 and c[0, 0, 0].item() == 1
    assert [int(v) for v in nnlab.tensor([3, 1])] == [3, 1] and ("a", "b")[nnlab.tensor(1)] == "b"


def test_expand_repeat_clone_keep_the_graph():
    w = nnlab.tensor([[1.0], [2.0]], requires_grad=True)
    (w.expand(2, 3).sum() + w.repeat(1, 2).sum() + w.clone().sum()).backward()
    assert w.grad.tolist() == [[6.0], [6.0]]


def test_devices_are_cpu_noops_and_cuda_is_refused():
    dev = nnlab.device("cpu")
    m = nn.Linear(2, 2)
    x = nnlab.ones(1, 2)
    assert m.to(dev) is m and x.to(dev) is x and x.cpu() is x and str(dev) == "cpu"
    assert x.to(nnlab.float64).dtype == np.float64 and not nnlab.cuda.is_available()
    for bad in (lambda: nnlab.device("cuda"), lambda: x.to("cuda:0"), lambda: x.cuda(), lambda: m.cuda()):
        with pytest.raises(RuntimeError, match="CUDA|cuda"):
            bad()


def test_default_init_switch():
    nnlab.manual_seed(0)
    he = nn.Linear(400, 300).weight.data.std()
    nnlab.set_default_init("torch")
    try:
        layer = nn.Linear(400, 300)
        explicit = nn.Linear(400, 300, init="xavier")
    finally:
        nnlab.set_default_init("nnlab")
    bound = 1 / np.sqrt(400)
    assert np.abs(layer.weight.data).max() <= bound and np.abs(layer.bias.data).max() <= bound
    assert layer.bias.data.std() > 0 and he / layer.weight.data.std() == pytest.approx(np.sqrt(6), rel=0.05)
    assert explicit.weight.data.std() == pytest.approx(1 / 20, rel=0.05)  # an explicit init= wins


torch = pytest.importorskip("torch", reason="PyTorch is the reference for the parity checks below")


@pytest.mark.parametrize(
    "size, k, s, p, ceil",
    [
        (8, 3, 2, 0, False),
        (8, 3, 2, 0, True),
        (7, 2, 2, 0, True),
        (9, 3, 2, 1, True),
        (10, 4, 3, 1, True),
        (5, 2, 2, 1, False),
    ],
)
def test_pools_floor_and_ceil_like_torch(size, k, s, p, ceil):
    x = np.random.default_rng(0).standard_normal((2, 3, size, size))
    tx = torch.tensor(x, requires_grad=True)
    ours_x = nnlab.tensor(x, requires_grad=True)
    for ours_f, torch_f, kw in (
        (F.max_pool2d, torch.nn.functional.max_pool2d, {}),
        (F.avg_pool2d, torch.nn.functional.avg_pool2d, {}),
        (F.avg_pool2d, torch.nn.functional.avg_pool2d, dict(count_include_pad=False)),
    ):
        ours = ours_f(ours_x, k, s, p, ceil_mode=ceil, **kw)
        theirs = torch_f(tx, k, s, p, ceil_mode=ceil, **kw)
        np.testing.assert_allclose(ours.data, theirs.detach().numpy(), rtol=1e-12, atol=1e-12)
        ours.sum().backward(), theirs.sum().backward()
        np.testing.assert_allclose(ours_x.grad, tx.grad.numpy(), rtol=1e-12, atol=1e-12)
        ours_x.grad, tx.grad = None, None


def test_strict_geometry_per_layer_and_global():
    x = nnlab.zeros(1, 1, 8, 8)
    assert nn.MaxPool2d(3, 2)(x).shape == (1, 1, 3, 3)
    with pytest.raises(ValueError, match="does not fit"):
        nn.MaxPool2d(3, 2, strict=True)(x)
    nnlab.set_strict_geometry(True)
    try:
        with pytest.raises(ValueError, match="does not fit"):
            nn.Conv2d(1, 1, 3, stride=2)(x)
        assert nn.Conv2d(1, 1, 3, stride=2, strict=False)(x).shape == (1, 1, 3, 3)
    finally:
        nnlab.set_strict_geometry(False)


def test_nll_and_cross_entropy_options_match_torch():
    rng = np.random.default_rng(0)
    logits, y = rng.standard_normal((6, 4)), np.array([0, 3, 1, 1, -100, 2])
    w = np.array([1.0, 2.0, 0.5, 1.5])
    tl, ty = torch.tensor(logits), torch.tensor(y)
    for kw in (
        dict(reduction="mean"),
        dict(reduction="sum"),
        dict(reduction="none"),
        dict(weight=w),
        dict(label_smoothing=0.1),
        dict(weight=w, label_smoothing=0.2, reduction="sum"),
    ):
        tkw = {k: torch.tensor(v) if k == "weight" else v for k, v in kw.items()}
        ours = F.cross_entropy(nnlab.tensor(logits), y, **kw).data
        theirs = torch.nn.functional.cross_entropy(tl, ty, **tkw).numpy()
        np.testing.assert_allclose(ours, theirs, rtol=1e-10, err_msg=str(kw))
    lp = torch.log_softmax(tl, 1)
    for red in ("mean", "sum", "none"):
        ours = F.nll_loss(F.log_softmax(nnlab.tensor(logits), dim=1), y, weight=w, reduction=red).data
        np.testing.assert_allclose(
            ours, torch.nn.functional.nll_loss(lp, ty, torch.tensor(w), reduction=red).numpy(), rtol=1e-10
        )


def test_dropout2d_drops_whole_channels():
    nnlab.manual_seed(0)
    out = nn.Dropout2d(0.5)(nnlab.ones(8, 16, 4, 4)).data
    per_map = out.reshape(8, 16, -1)
    assert np.all(per_map.min(-1) == per_map.max(-1)) and set(np.unique(out)) == {0.0, 2.0}
    assert nn.Dropout2d(0.5).eval()(nnlab.ones(2, 2, 2, 2)).data.min() == 1


def test_cross_entropy_module_takes_torchs_options():
    rng = np.random.default_rng(2)
    x, y = rng.standard_normal((5, 3)), np.array([0, 2, 1, 1, 0])
    for kw in ({}, dict(label_smoothing=0.1), dict(weight=np.array([1.0, 2.0, 3.0]), ignore_index=2)):
        tkw = {k: torch.tensor(v) if k == "weight" else v for k, v in kw.items()}
        ours = nn.CrossEntropyLoss(**kw)(nnlab.tensor(x), y).item()
        assert ours == pytest.approx(
            torch.nn.CrossEntropyLoss(**tkw)(torch.tensor(x), torch.tensor(y)).item(), rel=1e-10
        )
