"""`nnlab check`: passes on a sensible network, fails with the explanation for huge weights."""

import json

from nnlab.cli.main import main


def test_check_passes_and_runs_the_gradient_check(capsys):
    code = main(["check", "--model", "mlp", "--hidden", "32", "--data", "digits8x8", "--dropout", "0"])
    out = capsys.readouterr()
    assert code == 0, out.out + out.err
    assert "[PASS] loss with small weights: 2.3026" in out.out and "ln C = ln 10" in out.out
    assert "[PASS] overfit 20 examples" in out.out
    assert "gradcheck_model: OK" in out.out and "1.weight" in out.out and "1.bias" in out.out
    assert "all checks passed" in out.err


def test_check_fails_for_huge_initial_weights(capsys):
    code = main(
        ["check", "--model", "mlp", "--hidden", "32", "--data", "digits8x8", "--weight-scale", "30", "--no-gradcheck"]
    )
    out = capsys.readouterr().out
    assert code == 1
    assert "[FAIL] initial loss" in out and "initial weights are too large" in out


def test_check_json(capsys):
    code = main(["check", "--model", "digit16", "--data", "digits8x8", "--json", "--points", "2"])
    doc = json.loads(capsys.readouterr().out)
    assert code == (0 if doc["ok"] else 1)
    assert [c["name"] for c in doc["sanity"]][-1] == "overfit 20 examples"
    assert {r["check"] for r in doc["gradcheck"]["rows"]} == {"data"}
    assert all(r["grade"] in ("good", "acceptable") for r in doc["gradcheck"]["rows"])


def test_check_rejects_bad_options(capsys):
    import pytest

    with pytest.raises(SystemExit) as e:
        main(["check", "--weight-scale", "-1"])
    assert e.value.code == 2
    assert "positive" in capsys.readouterr().err


def test_check_with_the_svm_loss(capsys):
    code = main(["check", "--model", "mlp", "--hidden", "32", "--data", "digits8x8", "--loss", "svm", "--no-gradcheck"])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "expected 9.0000 ((C - 1) delta = 9 x 1)" in out


def test_check_reports_layers_that_drop_input_rows(capsys):
    import numpy as np
    from nnlab import nn
    from nnlab.cli.check_cmd import _dropped_rows

    model = nn.Sequential(nn.Conv2d(1, 2, 3, stride=2), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten())
    notes = _dropped_rows(model, np.zeros((1, 1, 10, 10), np.float32))  # 10 -> 4 (1 row lost) -> 2
    assert len(notes) == 1 and notes[0].startswith("Conv2d(1, 2, kernel_size=3, stride=2): input 10x10")
    assert "the last 1 input row and the last 1 input column" in notes[0]
    assert _dropped_rows(model, np.zeros((1, 1, 9, 9), np.float32)) == [] and model.training
    main(["check", "--model", "mlp", "--hidden", "8", "--data", "digits8x8", "--no-gradcheck"])
    assert "geometry: every conv/pool window grid covers its whole input" in capsys.readouterr().out
