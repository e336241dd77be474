import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from nnlab.cli.main import main

TINY = ["--data", "digits8x8", "--model", "mlp", "--hidden", "16", "--epochs", "2", "--quiet"]


@pytest.fixture(autouse=True, scope="module")
def _private_cache(tmp_path_factory):
    mp = pytest.MonkeyPatch()
    mp.setenv("NNLAB_CACHE", str(tmp_path_factory.mktemp("nnlab_cache")))
    yield
    mp.undo()


def run_cli(args, capsys):
    code = main(args)
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("run") / "tiny"
    assert main(["train", *TINY, "--out", str(out), "--no-report"]) == 0
    return out


def assert_one_line_error(code, err, *fragments):
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("nnlab") and "error" in lines[0]
    assert "Traceback" not in err
    for f in fragments:
        assert f in lines[0], (f, lines[0])


def test_help_reads_well(capsys):
    with pytest.raises(SystemExit) as e:
        main(["--help"])
    out = capsys.readouterr().out
    assert e.value.code == 0
    for word in ("train", "evaluate", "predict", "examples:", "nnlab train"):
        assert word in out
    with pytest.raises(SystemExit):
        main(["train", "--help"])
    out = capsys.readouterr().out
    for flag in (
        "--model",
        "--hidden",
        "--activation",
        "--optimizer",
        "--lr",
        "--epochs",
        "--batch-size",
        "--l2",
        "--dropout",
        "--init",
        "--batchnorm",
        "--seed",
        "--data",
        "--out",
        "--resume",
    ):
        assert flag in out, flag
    from nnlab.train.models import DEFAULT_MODEL, recipe_settings

    d = recipe_settings(DEFAULT_MODEL)
    assert f"for {DEFAULT_MODEL}: {d['optimizer']}, lr {d['lr']:g}" in out and f"{d['epochs']} epochs" in out
    assert main([]) == 0  # no command: the overview


def test_tiny_run_writes_the_run_folder(tiny_run, capsys):
    for name in ("checkpoint.npz", "metrics.csv", "metrics.json", "config.json"):
        assert (tiny_run / name).is_file(), name
    m = json.loads((tiny_run / "metrics.json").read_text())
    for key in ("train_accuracy", "dev_accuracy", "test_accuracy", "wall_seconds", "num_parameters"):
        assert key in m
    assert m["num_parameters"] == 64 * 16 + 16 + 16 * 10 + 10 + 2 * 16  # 64-16-10 and BN gamma, beta
    lines = (tiny_run / "metrics.csv").read_text().strip().splitlines()
    assert len(lines) == 3 and lines[0].startswith("epoch,")
    code, out, _ = run_cli(["evaluate", str(tiny_run)], capsys)
    assert code == 0 and "test" in out and f"{m['test_accuracy'] * 100:.2f}%" in out


def test_same_command_same_seed_identical(tmp_path, tiny_run):
    from nnlab.train.checkpoint import load

    again = tmp_path / "again"
    assert main(["train", *TINY, "--out", str(again), "--no-report"]) == 0
    a, b = (json.loads((d / "metrics.json").read_text()) for d in (tiny_run, again))
    for k in a:
        if "seconds" not in k:
            assert a[k] == b[k], k
    wa, wb = load(tiny_run).model.state_dict(), load(again).model.state_dict()
    assert all(np.array_equal(wa[k], wb[k]) for k in wa)
    other = tmp_path / "other"
    assert main(["train", *TINY, "--seed", "1", "--out", str(other), "--no-report"]) == 0
    wc = load(other).model.state_dict()
    assert not all(np.array_equal(wa[k], wc[k]) for k in wa)


# ---- bad input: one line, exit code 2, no traceback --------------------------------------
def test_missing_data_file(tmp_path, capsys):
    code, _, err = run_cli(["train", "--data", str(tmp_path / "nope.npz"), "--out", str(tmp_path / "r")], capsys)
    assert_one_line_error(code, err, "nope.npz", "no such file")


def test_image_folder_without_classes(tmp_path, capsys):
    (tmp_path / "imgs").mkdir()
    code, _, err = run_cli(["train", "--data", str(tmp_path / "imgs"), "--out", str(tmp_path / "r")], capsys)
    assert_one_line_error(code, err, "no class sub-folders")


def test_csv_with_text_cells_and_csv_without_label_column(tmp_path, capsys):
    bad = tmp_path / "bad.csv"
    bad.write_text("a,b,label\n1,2,0\n3,x,1\n")
    code, _, err = run_cli(["train", "--data", str(bad), "--out", str(tmp_path / "r")], capsys)
    assert_one_line_error(code, err, "row 3", "'x'", "not a number")
    one = tmp_path / "one.csv"
    one.write_text("1\n2\n3\n")
    code, _, err = run_cli(["train", "--data", str(one), "--out", str(tmp_path / "r")], capsys)
    assert_one_line_error(code, err, "label column")


def _image_folder(root, sizes, mode="L"):
    from PIL import Image

    rng = np.random.default_rng(0)
    for k, cls in enumerate(("a", "b")):
        (root / cls).mkdir(parents=True)
        for i in range(12):
            h, w = sizes[i % len(sizes)]
            a = (rng.random((h, w) + ((3,) if mode == "RGB" else ())) * 100 + 120 * k).astype(np.uint8)
            Image.fromarray(a, mode).save(root / cls / f"{i}.png")
    return root


def test_image_folder_sizes_with_image_size_option(tmp_path, capsys):
    folder = _image_folder(tmp_path / "imgs", [(20, 20), (24, 18)])
    args = [
        "train",
        "--data",
        str(folder),
        "--model",
        "mlp",
        "--hidden",
        "8",
        "--epochs",
        "1",
        "--quiet",
        "--no-report",
        "--out",
        str(tmp_path / "r"),
    ]
    code, _, err = run_cli(args, capsys)
    assert_one_line_error(code, err, "--data", "images differ in size", "--image-size HxW")
    for bad in ("0", "3x", "axb", "1x2x3"):
        try:
            code = main(args + ["--image-size", bad])
        except SystemExit as e:
            code = e.code
        assert_one_line_error(code, capsys.readouterr().err, "--image-size", "32x24", repr(bad))
    code, _, err = run_cli(args + ["--image-size", "16x12"], capsys)
    assert code == 0, err
    cfg = json.loads((tmp_path / "r" / "config.json").read_text())
    assert cfg["input_shape"] == [1, 16, 12] and cfg["cli"]["image_size"] == [16, 12]
    code, out, err = run_cli(["evaluate", str(tmp_path / "r")], capsys)  # re-reads the folder at 16x12
    assert code == 0 and "test" in out, err
    rgb = _image_folder(tmp_path / "rgb", [(30, 30)], mode="RGB")  # other size and colour: fitted to the model
    code, out, err = run_cli(["evaluate", str(tmp_path / "r"), "--data", str(rgb)], capsys)
    assert code == 0 and "all" in out and "    24 " in out, (out, err)


def test_csv_label_column_option(tmp_path, capsys):
    rng = np.random.default_rng(0)
    y = np.arange(60) % 3
    rows = [f"{a:.3f},{b:.3f},{k},{k + 0.5 * rng.standard_normal():.3f}" for k, (a, b) in zip(y, rng.random((60, 2)))]
    data = tmp_path / "d.csv"
    data.write_text("a,b,kind,c\n" + "\n".join(rows) + "\n")
    args = ["train", "--data", str(data), "--model", "mlp", "--hidden", "8", "--epochs", "1", "--quiet", "--no-report"]
    code, _, err = run_cli(args + ["--out", str(tmp_path / "r0")], capsys)  # last column: not labels
    assert_one_line_error(code, err, "--data", "non-integer values")
    code, _, err = run_cli(args + ["--label-column", "kind", "--out", str(tmp_path / "r")], capsys)
    assert code == 0, err
    cfg = json.loads((tmp_path / "r" / "config.json").read_text())
    assert cfg["input_shape"] == [3] and cfg["num_classes"] == 3 and cfg["cli"]["label_column"] == "kind"
    code, out, err = run_cli(["evaluate", str(tmp_path / "r"), "--data", str(data)], capsys)
    assert code == 0 and "    60 " in out, err
    code, _, err = run_cli(args + ["--label-column", "nope", "--out", str(tmp_path / "r1")], capsys)
    assert_one_line_error(code, err, "label column 'nope' not found", "pass --label-column")


def test_labels_that_do_not_match_the_model(tiny_run, tmp_path, capsys):
    data = tmp_path / "more.npz"
    rng = np.random.default_rng(0)
    np.savez(data, X=rng.random((30, 1, 8, 8)).astype(np.float32), y=np.arange(30) % 12)
    code, _, err = run_cli(["evaluate", str(tiny_run), "--data", str(data)], capsys)
    assert_one_line_error(code, err, "--data", "model has 10 classes")


def test_images_of_the_wrong_size(tiny_run, tmp_path, capsys):
    from PIL import Image

    img = tmp_path / "big.png"
    Image.fromarray(np.zeros((28, 28), np.uint8)).save(img)
    code, _, err = run_cli(["predict", str(tiny_run), str(img)], capsys)
    assert_one_line_error(code, err, "28x28", "8x8", "--resize")
    code, out, err = run_cli(["predict", str(tiny_run), str(img), "--resize"], capsys)
    assert code == 0 and out.startswith(str(img)) and "%" in out
    x = tmp_path / "x.npz"
    np.savez(x, X=np.zeros((2, 1, 9, 9), np.float32))
    code, _, err = run_cli(["predict", str(tiny_run), str(x)], capsys)
    assert_one_line_error(code, err, "(1, 9, 9)", "(1, 8, 8)")


def test_predict_npz_layouts_and_bad_npz_inputs(tiny_run, tmp_path, capsys):
    from nnlab.train.checkpoint import load
    from nnlab.train.trainer import predict as run_model

    rng = np.random.default_rng(0)
    images = rng.random((3, 1, 8, 8)).astype(np.float32)
    ck = load(tiny_run)
    expected = run_model(ck.model, ck.preprocessor.transform(images)).argmax(1)
    for name, X in (
        ("batch", images),
        ("gray", images[:, 0]),
        ("flat", images.reshape(3, 64)),
        ("bytes", np.round(images * 255)),
        ("one", images[0, 0]),
    ):
        np.savez(tmp_path / f"{name}.npz", X=X)
        code, out, err = run_cli(["predict", str(tiny_run), str(tmp_path / f"{name}.npz")], capsys)
        assert code == 0, err
        got = [int(line.split(": ")[1].split()[0]) for line in out.strip().splitlines()]
        assert got == list(expected[: len(got)]) and len(got) == (1 if name == "one" else 3), (name, out)
    for name, X, frag in (
        ("nan", np.full((1, 1, 8, 8), np.nan), "NaN or infinite"),
        ("empty", np.zeros((0, 1, 8, 8)), "no samples"),
        ("text", np.array([["a"]]), "must be numeric"),
    ):
        np.savez(tmp_path / f"{name}.npz", X=X)
        code, _, err = run_cli(["predict", str(tiny_run), str(tmp_path / f"{name}.npz")], capsys)
        assert_one_line_error(code, err, f"{name}.npz", frag)
    code, _, err = run_cli(["predict", str(tiny_run), str(tmp_path)], capsys)
    assert_one_line_error(code, err, "is a folder")


def test_truncated_and_newer_checkpoints(tiny_run, tmp_path, capsys):
    data = (tiny_run / "checkpoint.npz").read_bytes()
    cut = tmp_path / "cut.npz"
    cut.write_bytes(data[: len(data) // 2])
    code, _, err = run_cli(["evaluate", str(cut)], capsys)
    assert_one_line_error(code, err, "truncated or corrupt")
    with np.load(tiny_run / "checkpoint.npz") as z:
        entries = {k: z[k] for k in z.files}
    doc = json.loads(entries["__nnlab__"].tobytes())
    doc["version"] = 99
    entries["__nnlab__"] = np.frombuffer(json.dumps(doc).encode(), np.uint8)
    newer = tmp_path / "newer.npz"
    np.savez(newer, **entries)
    code, _, err = run_cli(["predict", str(newer), str(newer)], capsys)
    assert_one_line_error(code, err, "version 99", "upgrade")
    code, _, err = run_cli(["train", "--resume", str(tmp_path / "missing")], capsys)
    assert_one_line_error(code, err, "no such checkpoint")


def test_bad_option_values(capsys):
    for args, frag in (
        (["train", "--epochs", "0"], "--epochs"),
        (["train", "--lr", "abc"], "--lr"),
        (["train", "--model", "nope", "--out", "/tmp/x-nnlab-never"], "unknown model 'nope'"),
        (["train", "--hidden", "5,-1"], "--hidden"),
        (["tune", "--seed", "-1"], "--seed"),
    ):
        try:
            code = main(args)
        except SystemExit as e:
            code = e.code
        err = capsys.readouterr().err
        assert_one_line_error(code, err, frag)


def test_bad_values_name_the_option_and_what_was_expected(tmp_path, capsys):
    tiny = tmp_path / "tiny.csv"
    tiny.write_text("1,2,0\n3,4,1\n5,6,0\n")
    cases = (
        (["--dropout", "1.5"], ("--dropout", "drop probability in [0, 1)", "'1.5'")),
        (["--dropout", "-0.1"], ("--dropout", "[0, 1)")),
        (["--seed", "-1"], ("--seed", "non-negative integer", "'-1'")),
        (["--seed", "x"], ("--seed", "'x'")),
        (["--data", "mnist6k"], ("--data mnist6k", "unknown dataset", "known names")),
        (["--data", str(tiny)], ("--data", "dev and test splits empty", "10 samples per class")),
        (["--out", "/proc/nnlab-no/run"], ("--out", "cannot create the run folder")),
    )
    for args, frags in cases:
        try:
            code = main(["train", *TINY, "--out", str(tmp_path / "r"), *args])
        except SystemExit as e:
            code = e.code
        assert_one_line_error(code, capsys.readouterr().err, *frags)


def test_evaluate_empty_data_is_an_error():
    from nnlab import nn
    from nnlab.optim import SGD
    from nnlab.train import Trainer

    model = nn.Linear(2, 3)
    t = Trainer(model, nn.CrossEntropyLoss(), SGD(model.parameters(), lr=0.1))
    with pytest.raises(ValueError, match="evaluate: the data is empty"):
        t.evaluate((np.zeros((0, 2), np.float32), np.zeros(0, np.int64)))


def test_resume_a_finished_run_with_more_fewer_or_the_same_epochs(tiny_run, tmp_path, capsys):
    import shutil
    from nnlab.train.checkpoint import read_checkpoint

    run = tmp_path / "run"
    shutil.copytree(tiny_run, run)
    code, _, err = run_cli(["train", "--resume", str(run), "--epochs", "1"], capsys)
    assert_one_line_error(code, err, "--epochs 1", "already trained 2 epochs")
    code, _, err = run_cli(["train", "--resume", str(run), "--lr", "0.5", "--seed", "0", "--data", "spiral"], capsys)
    assert_one_line_error(code, err, "--data, --seed, --lr cannot change", "only --epochs")
    code, _, err = run_cli(["train", "--resume", str(run), "--no-report"], capsys)
    assert code == 0 and "already finished its 2 epochs" in err
    code, _, err = run_cli(["train", "--resume", str(run), "--epochs", "3", "--quiet", "--no-report"], capsys)
    assert code == 0 and json.loads((run / "metrics.json").read_text())["epochs"] == 3
    # the checkpoint records the extended run, so a later resume continues from 3 epochs, not 2
    payload = read_checkpoint(run)
    assert payload["config"]["cli"]["options"]["epochs"] == 3 and payload["train_state"]["epoch"] == 3
    code, _, err = run_cli(["train", "--resume", str(run), "--no-report"], capsys)
    assert code == 0 and "already finished its 3 epochs" in err and ", 3 epochs," in err


def test_model_that_does_not_fit_the_data_says_what_to_change(tmp_path, capsys):
    code, _, err = run_cli(["train", "--data", "digits8x8", "--model", "cnn", "--out", str(tmp_path / "r")], capsys)
    assert_one_line_error(code, err, "do not fit 8x8 images", "--channels 16", "--model mlp")
    code, _, err = run_cli(["train", "--data", "circles", "--model", "cnn", "--out", str(tmp_path / "r")], capsys)
    assert_one_line_error(code, err, "needs image input", "--model mlp")


def test_a_new_run_into_an_existing_run_folder_says_so(tiny_run, tmp_path, capsys):
    import shutil

    run = tmp_path / "run"
    shutil.copytree(tiny_run, run)
    args = ["train", *[a for a in TINY if a != "--quiet"], "--epochs", "1", "--no-report", "--out", str(run)]
    code, _, err = run_cli(args, capsys)
    assert code == 0 and "already holds a run" in err and f"--resume {run}" in err
    fresh = tmp_path / "fresh"
    code, _, err = run_cli(args[:-1] + [str(fresh)], capsys)
    assert code == 0 and "already holds" not in err


def test_debug_shows_the_traceback(tmp_path, capsys):
    with pytest.raises(Exception):  # noqa: B017 - any exception, as long as it is raised, not printed
        main(["train", "--debug", "--data", str(tmp_path / "nope.npz")])


# ---- end to end ------------------------------------------------------------------------------
def _nontrivial_png(path: Path):
    from PIL import Image

    assert path.is_file() and path.stat().st_size > 3000, path
    a = np.asarray(Image.open(path).convert("L"), dtype=np.float64)
    assert a.shape[0] > 100 and a.shape[1] > 100 and a.std() > 5, path


@pytest.mark.slow
def test_main_job_end_to_end_small(tmp_path, capsys):
    """`nnlab train` on a subset of the bundled digits: run folder, report, evaluate, predict."""
    out = tmp_path / "run"
    code, stdout, _ = run_cli(["train", "--limit", "600", "--epochs", "2", "--out", str(out), "--quiet"], capsys)
    assert code == 0
    assert "test" in stdout and "parameters" in stdout and "time" in stdout
    m = json.loads((out / "metrics.json").read_text())
    assert m["model"] == "cnn" and m["epochs"] == 2 and m["test_accuracy"] > 0.5
    html = (out / "report.html").read_text()
    for png in (
        "figures/loss.png",
        "figures/accuracy.png",
        "confusion.png",
        "misclassified.png",
        "figures/first_layer.png",
    ):  # the monitors' pictures are shown, not drawn twice
        _nontrivial_png(out / png)
        assert f"src='{png}'" in html
    from PIL import Image
    from nnlab.data import load_dataset

    test = load_dataset("mnist5k").test
    Image.fromarray((test.X[0, 0] * 255).astype(np.uint8)).save(tmp_path / "digit.png")
    code, stdout, _ = run_cli(["predict", str(out), str(tmp_path / "digit.png"), "--top", "2"], capsys)
    assert code == 0 and stdout.count("%") == 2
    code, stdout, _ = run_cli(["evaluate", str(out)], capsys)
    assert code == 0 and f"{m['test_accuracy'] * 100:.2f}%" in stdout


@pytest.mark.slow
def test_ctrl_c_saves_and_resume_matches_uninterrupted(tmp_path):
    """A real SIGINT to `python -m nnlab train`: exit 130, how-to-resume message, exact resume."""
    from nnlab.train.checkpoint import load

    args = [
        "train",
        "--data",
        "digits8x8",
        "--model",
        "mlp",
        "--hidden",
        "64",
        "--epochs",
        "60",
        "--quiet",
        "--no-report",
    ]
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    run = tmp_path / "int"
    proc = subprocess.Popen(
        [sys.executable, "-m", "nnlab", *args, "--out", str(run)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    deadline = time.time() + 60
    while not (run / "checkpoint.npz").exists() and time.time() < deadline and proc.poll() is None:
        time.sleep(0.02)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "resume with: nnlab train --resume" in err and "Traceback" not in err
    assert main(["train", "--resume", str(run), "--quiet", "--no-report"]) == 0
    full = tmp_path / "full"
    assert main([*args, "--out", str(full)]) == 0
    a, b = load(run).model.state_dict(), load(full).model.state_dict()
    assert all(np.array_equal(a[k], b[k]) for k in a)
    ma, mb = (json.loads((d / "metrics.json").read_text()) for d in (run, full))
    assert ma["test_accuracy"] == mb["test_accuracy"] and ma["epochs"] == mb["epochs"] == 60


def test_feature_vectors_default_to_the_mlp(tmp_path, capsys):
    out = tmp_path / "spiral"
    code, stdout, _ = run_cli(
        ["train", "--data", "spiral", "--epochs", "3", "--hidden", "32", "--out", str(out), "--quiet", "--no-report"],
        capsys,
    )
    assert code == 0
    cfg = json.loads((out / "config.json").read_text())
    assert cfg["cli"]["model"] == "mlp" and cfg["input_shape"] == [2]
    hist = json.loads((out / "history.json").read_text())
    assert hist["epoch"] == [1, 2, 3] and len(hist["iterations"]["loss"]) > 3


def test_divergence_exits_with_its_own_code_and_still_reports(tmp_path, capsys):
    """An absurd learning rate: exit code 3, the message names the last good checkpoint and says to
    lower the lr; metrics.json and the report are written for the restored weights."""
    from nnlab.cli.train_cmd import EXIT_DIVERGED

    out = tmp_path / "diverged"
    code, stdout, err = run_cli(["train", *TINY, "--lr", "1e30", "--out", str(out)], capsys)
    assert code == EXIT_DIVERGED == 3, err
    assert "diverged" in err and "lower" in err and "Traceback" not in err
    good = out / "last_good.npz"
    assert good.exists() and str(good) in err
    assert "diagnostics:" not in err  # --quiet: no diagnostics printout
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["last_good_checkpoint"] == str(good) and metrics["diverged_step"] >= 1
    assert np.isfinite(metrics["train_loss"]) and "accuracy" in stdout
    assert (out / "report.html").exists() and (out / "diagnostics.json").exists()
    assert not (out / "checkpoint.npz").exists()  # nothing non-finite is saved as the run's checkpoint
    with pytest.raises(SystemExit):
        main(["train", "--help"])
    assert "3    training diverged" in capsys.readouterr().out


def test_no_monitors_skips_the_diagnostics_but_not_the_run(tiny_run, tmp_path, capsys):
    assert (tiny_run / "diagnostics.json").exists() and (tiny_run / "tensorboard").is_dir()  # on by default
    out = tmp_path / "plain"
    code, _, err = run_cli(["train", *TINY, "--out", str(out), "--no-monitors"], capsys)
    assert code == 0, err
    assert (out / "checkpoint.npz").exists() and (out / "metrics.json").exists() and (out / "report.html").exists()
    assert not (out / "diagnostics.json").exists() and not (out / "tensorboard").exists()
    assert not (out / "figures").exists()
    html = (out / "report.html").read_text()
    for png in ("loss.png", "accuracy.png", "weights.png"):  # the report draws its own pictures
        assert f"src='{png}'" in html and (out / png).exists()


def test_threads_apply_to_the_run_only_and_are_recorded(tiny_run, tmp_path, monkeypatch):
    """--threads N sets BLAS's and the split passes' count for the run (recorded in its config, as a
    resume needs it) and gives the process its own back; the default is the process's count."""
    from threadpoolctl import threadpool_info

    from nnlab.engine import parallel

    def blas():
        return [lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas"]

    before, before_blas = parallel.get_num_threads(), blas()
    seen = {}

    def spy(*args, **kwargs):  # runs inside the command
        seen["threads"], seen["blas"] = parallel.get_num_threads(), blas()

    out = tmp_path / "one"
    import nnlab.cli.train_cmd as train_cmd

    real = train_cmd._fit
    monkeypatch.setattr(train_cmd, "_fit", lambda *a, **k: (spy(), real(*a, **k))[1])
    assert main(["train", *TINY, "--threads", "1", "--out", str(out), "--no-report"]) == 0
    assert seen == {"threads": 1, "blas": [1] * len(before_blas)}
    assert json.loads((out / "config.json").read_text())["cli"]["threads"] == 1
    assert parallel.get_num_threads() == before and blas() == before_blas
    default = json.loads((tiny_run / "config.json").read_text())["cli"]["threads"]
    assert default == before
