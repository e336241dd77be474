"""`nnlab export RUN --onnx PATH`: the run's network in onnxruntime gives nnlab's scores."""

import numpy as np
import pytest

from nnlab.cli.main import main

pytest.importorskip("onnx", reason="ONNX export needs the onnx extra")
ort = pytest.importorskip("onnxruntime", reason="the exported graph is checked in onnxruntime")


def test_export_a_trained_run(tmp_path, capsys):
    from nnlab.train.checkpoint import load
    from nnlab.engine import no_grad, tensor

    run = tmp_path / "run"
    assert (
        main(
            [
                "train",
                "--data",
                "digits8x8",
                "--model",
                "mlp",
                "--hidden",
                "16",
                "--epochs",
                "1",
                "--quiet",
                "--no-report",
                "--out",
                str(run),
            ]
        )
        == 0
    )
    out = tmp_path / "m.onnx"
    assert main(["export", str(run), "--onnx", str(out)]) == 0
    assert f"wrote {out}" in capsys.readouterr().out
    ck = load(run)
    x = np.random.default_rng(0).standard_normal((5, *ck.config["input_shape"])).astype(np.float32)
    got = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"]).run(None, {"input": x})[0]
    with no_grad():
        want = ck.model.eval()(tensor(x)).data
    np.testing.assert_allclose(got, want, atol=1e-5)
    assert main(["export", str(tmp_path / "missing"), "--onnx", str(out)]) == 2
