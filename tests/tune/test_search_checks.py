"""A search refuses what cannot work before it starts (a typo in the task, a bad storage URL,
objective or config file), keeps one task per folder, and is reproducible across a kill."""

import sys
from pathlib import Path

import pytest

pytest.importorskip("optuna", reason="the search runs on Optuna")

from nnlab.cli.main import main  # noqa: E402
from nnlab.tune import Search  # noqa: E402

HERE = Path(__file__).resolve().parent
OBJ = HERE / "objectives.py"
sys.path.insert(0, str(HERE))
import objectives  # noqa: E402


def _tune(capsys, *args):
    code = main(["tune", "--quiet", *map(str, args)])
    out, err = capsys.readouterr()
    return code, out, err


def _one_line_usage_error(code, err, *fragments):
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("nnlab: error: "), err
    for f in fragments:
        assert f in lines[0], lines[0]
    assert "Error:" not in lines[0].split("error: ", 1)[1][:30]  # not an exception's name


def test_a_typo_in_model_or_data_stops_before_any_trial_and_the_corrected_run_trains(tmp_path, capsys, monkeypatch):
    out = tmp_path / "tune"
    from nnlab.tune import worker

    trained = []
    monkeypatch.setattr(
        worker.DigitsTask, "__call__", lambda self, params, **kw: trained.append(self.model) or {"val_accuracy": 0.5}
    )
    code, _, err = _tune(capsys, "--trials", 1, "--model", "mlpp", "--subset", 100, "--stages", 1, "--out", out)
    _one_line_usage_error(code, err, "--model", "'mlpp'", "mlp")
    assert not (out / "study.db").exists()
    code, _, err = _tune(
        capsys, "--trials", 1, "--data", "mnist5kk", "--model", "mlp", "--subset", 100, "--stages", 1, "--out", out
    )
    _one_line_usage_error(code, err, "--data mnist5kk", "unknown dataset")
    code, stdout, err = _tune(
        capsys, "--trials", 1, "--model", "mlp", "--subset", 100, "--stages", 1, "--out", out, "--lr", "1e-2,1e-1"
    )
    assert code == 0, err
    assert "best val_accuracy=" in stdout and trained == ["mlp"]


def test_another_task_in_the_same_folder_is_refused_with_how_to_start_a_new_one(tmp_path):
    out = tmp_path / "s"
    Search(out, space=["lr=log:1e-4,1e-1"], objective=f"{OBJ}:bowl", trials=1, plots=False).run()
    with pytest.raises(
        ValueError,
        match=r"another task \(objective .*bowl\); this run asks for objective "
        r".*upper_edge: start a new search folder with --out",
    ):
        Search(out, space=["lr=log:1e-4,1e-1"], objective=f"{OBJ}:upper_edge", trials=1, plots=False).run()


def test_another_model_in_the_same_folder_exits_2(tmp_path, capsys, monkeypatch):
    out = tmp_path / "tune"
    from nnlab.tune import worker

    monkeypatch.setattr(worker.DigitsTask, "__call__", lambda self, params, **kw: {"val_accuracy": 0.5})
    code, _, err = _tune(capsys, "--trials", 1, "--model", "mlp", "--subset", 100, "--stages", 1, "--out", out)
    assert code == 0, err
    code, _, err = _tune(capsys, "--trials", 1, "--model", "cnn", "--subset", 100, "--stages", 1, "--out", out)
    _one_line_usage_error(code, err, "model mlp", "model cnn", "--out")


@pytest.mark.parametrize(
    "url, fragment",
    [
        ("foo://x/y", "unknown database driver 'foo'"),
        ("not a url", "cannot parse"),
        ("sqlite:////no/such/folder/study.db", "folder /no/such/folder does not exist"),
        ("mysql://user@localhost/db", "--storage mysql"),
    ],
)
def test_bad_storage_urls_exit_2_with_what_to_fix(tmp_path, capsys, url, fragment):
    code, _, err = _tune(
        capsys,
        "--trials",
        1,
        "--objective",
        f"{OBJ}:bowl",
        "--lr",
        "1e-4,1e-1",
        "--stages",
        1,
        "--out",
        tmp_path / "t",
        "--storage",
        url,
    )
    _one_line_usage_error(code, err, fragment)


def test_missing_objective_module_or_file_exits_2(tmp_path, capsys):
    code, _, err = _tune(capsys, "--objective", "no_such_module_xyz:f", "--out", tmp_path / "t")
    _one_line_usage_error(code, err, "--objective no_such_module_xyz:f", "cannot import module")
    code, _, err = _tune(capsys, "--objective", str(tmp_path / "nope.py") + ":f", "--out", tmp_path / "t")
    _one_line_usage_error(code, err, "does not exist")


def test_broken_config_file_is_named_with_the_option(tmp_path, capsys):
    bad = tmp_path / "broken.json"
    bad.write_text('{"lr": "log:1e-4,')
    code, _, err = _tune(capsys, "--config", bad, "--out", tmp_path / "t")
    _one_line_usage_error(code, err, f"--config {bad}", "not valid JSON")
    code, _, err = _tune(capsys, "--config", tmp_path / "missing.json", "--out", tmp_path / "t")
    _one_line_usage_error(code, err, "--config", "missing.json", "no such file")
    bad.write_text('{"lr": "log:1e-1"}')
    code, _, err = _tune(capsys, "--config", bad, "--out", tmp_path / "t")
    _one_line_usage_error(code, err, f"--config {bad}")


class _Recorder:
    """Records (params, seed) of every call; raises KeyboardInterrupt (a kill) at call ``stop``."""

    def __init__(self, stop=None):
        self.calls, self.stop = [], stop

    def __call__(self, params, epochs=1, trial_dir=None, seed=0):
        self.calls.append((round(params["lr"], 12), round(params["l2"], 12), seed))
        if self.stop is not None and len(self.calls) == self.stop:
            raise KeyboardInterrupt
        return objectives.bowl(params, epochs)


@pytest.mark.parametrize("sampler, trials", [("random", 4), pytest.param("tpe", 6, marks=pytest.mark.slow)])
def test_a_killed_and_rerun_search_trains_what_an_uninterrupted_one_does(tmp_path, sampler, trials):
    kw = dict(space=["lr=log:1e-4,1e-1", "l2=log:1e-6,1e-2"], trials=trials, seed=3, sampler=sampler, plots=False)
    whole = _Recorder()
    Search(tmp_path / "whole", objective=whole, **kw).run()
    killed = _Recorder(stop=2 if sampler == "random" else 4)  # TPE: after its 2 random start-up trials
    with pytest.raises(KeyboardInterrupt):
        Search(tmp_path / "killed", objective=killed, **kw).run()
    again = _Recorder()
    Search(tmp_path / "killed", objective=again, **kw).run()
    # The interrupted trial runs again with its configuration and seed; then the search goes on as
    # the uninterrupted one did.
    assert killed.calls + again.calls[1:] == whole.calls
    assert again.calls[0] == killed.calls[-1]
