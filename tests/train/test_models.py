"""The training recipes behind ``nnlab train``: models built for training start at chance loss."""

import numpy as np
import pytest

import nnlab
from nnlab import nn
from nnlab.train.models import build_model


@pytest.mark.parametrize("name", ["cnn", "mlp", "lenet5", "nin", "resnet20"])
def test_first_loss_is_near_ln_c(name):
    """The notes' sanity check: with small output weights the first loss is about ln C (2.30 for
    10 classes); the zoo's paper inits gave up to 4.8x that before the head was re-initialized."""
    nnlab.manual_seed(0)
    rng = np.random.default_rng(0)
    X = rng.standard_normal((128, 1, 28, 28)).astype(np.float32)
    y = rng.integers(0, 10, 128)
    model = build_model(name)
    with nnlab.no_grad():
        loss = nn.CrossEntropyLoss()(model(nnlab.tensor(X)), y).item()
    assert abs(loss - np.log(10)) < 0.35 * np.log(10), loss


def test_kan_model_trains_on_a_2d_task_and_its_checkpoint_reloads(tmp_path, capsys):
    """``nnlab train --model kan`` on the spiral: KANLinear layers through the trainer, the
    checkpoint rebuilds them from their config, and evaluation reproduces the accuracy."""
    from nnlab.cli.main import main

    out = tmp_path / "kan"
    assert (
        main(
            [
                "train",
                "--model",
                "kan",
                "--data",
                "spiral",
                "--epochs",
                "8",
                "--quiet",
                "--no-report",
                "--no-monitors",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    capsys.readouterr()
    assert main(["evaluate", str(out)]) == 0
    text = capsys.readouterr().out
    assert "kan" in (out / "config.json").read_text()
    test_line = next(line for line in text.splitlines() if line.startswith("test"))
    assert float(test_line.split()[2].rstrip("%")) > 60, text
