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
    code = main(["check", "--model", "mlp", "--hidden", "32", "--data", "digits8x8", "--weight-scale", "30",
                 "--no-gradcheck"])
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
    code = main(["check", "--model", "mlp", "--hidden", "32", "--data", "digits8x8", "--loss", "svm",
                 "--no-gradcheck"])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "expected 9.0000 ((C - 1) delta = 9 x 1)" in out
