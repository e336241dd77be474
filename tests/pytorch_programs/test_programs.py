"""Public PyTorch programs run on nnlab with only their imports mapped (see harness.py), and,
where PyTorch is installed and the randomness can be aligned, give PyTorch's numbers."""

import re

import matplotlib
import numpy as np
import pytest

import nnlab
from tests.pytorch_programs import data_sources, programs
from tests.pytorch_programs.harness import run

matplotlib.use("Agg")


def _losses(out):
    """The ``t loss`` lines the polynomial programs print every 100 steps."""
    return [float(m.group(2)) for m in re.finditer(r"^(\d+) ([-\d.e+]+)$", out, re.M)]


@pytest.fixture
def aligned_randn(monkeypatch):
    """nnlab.randn and torch.randn draw the same float32 values (one NumPy stream each)."""

    def install(lib, seed=0):
        rng = np.random.default_rng(seed)
        if lib == "torch":
            import torch

            real = torch.randn

            def randn(*size, dtype=None, requires_grad=False, **kw):
                shape = tuple(size[0]) if len(size) == 1 and isinstance(size[0], (tuple, list)) else size
                t = torch.from_numpy(rng.standard_normal(shape).astype(np.float32))
                return t.to(dtype or torch.float32).requires_grad_(requires_grad)

            monkeypatch.setattr(torch, "randn", randn)
            return real
        real = nnlab.randn

        def randn(*size, dtype=None, requires_grad=False, **kw):
            shape = tuple(size[0]) if len(size) == 1 and isinstance(size[0], (tuple, list)) else size
            return nnlab.tensor(rng.standard_normal(shape).astype(np.float32), dtype=dtype, requires_grad=requires_grad)

        monkeypatch.setattr(nnlab, "randn", randn)
        return real

    return install


def test_polynomial_autograd_manual_updates_train(aligned_randn):
    """The tutorial's ``a -= learning_rate * a.grad`` under no_grad must update a (it silently
    did nothing before: the loss stayed at its start)."""
    aligned_randn("nnlab")
    ns, out = run(programs.POLYNOMIAL_AUTOGRAD)
    losses = _losses(out)
    assert len(losses) == 20 and losses[-1] < 0.05 * losses[0], losses
    assert losses[-1] < 50, losses  # PyTorch's run ends near 9-10
    assert out.splitlines()[-1].startswith("Result: y = ")


def test_polynomial_autograd_matches_pytorch(aligned_randn):
    pytest.importorskip("torch", reason="PyTorch is the reference for this comparison")
    aligned_randn("nnlab")
    ns, out = run(programs.POLYNOMIAL_AUTOGRAD)
    aligned_randn("torch")
    tns, tout = run(programs.POLYNOMIAL_AUTOGRAD, lib="torch")
    ours, theirs = _losses(out), _losses(tout)
    np.testing.assert_allclose(ours, theirs, rtol=2e-3)
    for k in "abcd":
        assert abs(ns[k].item() - tns[k].item()) <= 1e-3 * max(1.0, abs(tns[k].item())), k


@pytest.mark.parametrize("name", ["POLYNOMIAL_NN", "POLYNOMIAL_OPTIM"])
def test_polynomial_nn_and_optim_reach_pytorchs_loss(name):
    """Same program on both; the linear layer's init differs (nnlab's generator), so the
    comparison is the loss each run reaches, the tutorial's own measure."""
    nnlab.manual_seed(0)
    ns, out = run(getattr(programs, name))
    losses = _losses(out)
    assert len(losses) == 20 and losses[-1] < losses[0]
    torch = pytest.importorskip("torch", reason="PyTorch gives the loss to reach")
    torch.manual_seed(0)
    _, tout = run(getattr(programs, name), lib="torch")
    target = _losses(tout)[-1]
    assert losses[-1] < 1.5 * target + 1.0, (losses[-1], target)


def test_cifar10_tutorial_runs(tmp_path):
    nnlab.manual_seed(0)
    ns, out = run(programs.CIFAR10_TUTORIAL, cwd=tmp_path)
    lines = out.splitlines()
    assert "Finished Training" in lines and lines[-1] == "cpu"
    assert re.search(r"^Accuracy of the network on the 10000 test images: \d+ %$", out, re.M)
    per_class = re.findall(r"^Accuracy for class: (\w+)\s* is ([\d.]+) %$", out, re.M)
    assert [c for c, _ in per_class] == list(ns["classes"]) or len(per_class) <= 10
    assert sum(ns["total_pred"].values()) == data_sources.SIZES["cifar_test"]
    assert (tmp_path / "cifar_net.pth").exists()


@pytest.mark.slow
def test_mnist_example_trains_and_saves(tmp_path):
    nnlab.manual_seed(1)
    ns, out = run(
        programs.MNIST_MAIN,
        argv=[
            "main.py",
            "--epochs",
            "2",
            "--batch-size",
            "64",
            "--test-batch-size",
            "128",
            "--log-interval",
            "4",
            "--save-model",
        ],
        cwd=tmp_path,
    )
    tests = re.findall(r"Test set: Average loss: ([\d.]+), Accuracy: (\d+)/(\d+) \((\d+)%\)", out)
    assert len(tests) == 2, out
    assert int(tests[-1][2]) == data_sources.SIZES["mnist_test"]
    assert float(tests[-1][0]) < 1.0 and int(tests[-1][1]) > 0.7 * int(tests[-1][2]), tests
    assert len(re.findall(r"^Train Epoch: [12] \[\d+/512 \(\d+%\)\]\tLoss: [\d.]+$", out, re.M)) == 4
    assert (tmp_path / "mnist_cnn.pt").exists()


@pytest.mark.slow
def test_nn_tutorial_progression(tmp_path):
    data_sources.write_mnist_pickle(tmp_path)
    nnlab.manual_seed(0)
    ns, out = run(programs.NN_TUTORIAL, cwd=tmp_path)
    vals = [float(v) for v in re.findall(r"^\d ([\d.]+)$", out, re.M)]
    assert len(vals) == 10, out  # five fits of two epochs print val_loss
    assert vals[0] < 0.7 and vals[1] < 0.7, vals  # the logistic model (chance: ln 10 = 2.30)
    assert all(v < 2.1 for v in vals[2:]) and min(vals[2:]) < 1.6, vals  # the CNNs, 2 epochs
    loss = ns["loss_func"](ns["model"](ns["x_valid"].view(-1, 1, 28, 28)), ns["y_valid"]).item()
    assert loss == pytest.approx(vals[-1], rel=1e-4)  # the last fit's model, evaluated directly


@pytest.mark.slow
def test_d2l_mlp_from_scratch():
    nnlab.manual_seed(0)
    ns, _ = run(programs.D2L_MLP_SCRATCH)  # train_ch3 asserts loss < 0.5, accuracies > 0.7
    history = ns["history"]
    assert len(history) == 10 and history[-1][0] < history[0][0]
