"""The registry's verdict rules, the lab report and the `nnlab experiments` command."""

import json

import pytest

from nnlab.cli.main import main
from nnlab.experiments import FAILS, HOLDS, INCONCLUSIVE, Experiment, get, names, run_experiment, threshold_verdict
from nnlab.experiments.lab import run_many
from nnlab.experiments.registry import all_of


def test_threshold_verdict_over_seeds():
    assert threshold_verdict([2.0, 3.0], ">", 1.0, "s").status == HOLDS
    assert threshold_verdict([0.5, 0.2], ">", 1.0, "s").status == FAILS
    v = threshold_verdict([0.5, 2.0, 3.0], ">", 1.0, "s")
    assert v.status == INCONCLUSIVE
    assert v.spread == {"median": 2.0, "min": 0.5, "max": 3.0}
    assert threshold_verdict([None, 2.0], ">", 1.0, "s").status == INCONCLUSIVE
    assert threshold_verdict([float("nan")], "<", 1.0, "s").status == INCONCLUSIVE
    assert threshold_verdict([1.0], "==", 1.0, "s").status == HOLDS
    with pytest.raises(ValueError, match="op must be one of"):
        threshold_verdict([1.0], "=>", 1.0, "s")


def test_all_of_needs_every_part():
    ok = threshold_verdict([2.0, 2.0], ">", 1.0, "a")
    bad = threshold_verdict([0.0, 0.0], ">", 1.0, "b")
    mixed = threshold_verdict([0.0, 2.0], ">", 1.0, "c")
    assert all_of([ok, ok], "x").status == HOLDS
    both = all_of([ok, bad], "x")
    assert both.status == FAILS and both.values == [0.5, 0.5] and "b > 1: does not hold" in both.detail
    assert all_of([ok, mixed], "x").status == INCONCLUSIVE


def test_registry_lookup_and_errors():
    assert "init" in names() and len(names()) >= 25
    e = get("init")
    assert e.source_file.startswith("000_") and e.claim
    with pytest.raises(KeyError, match="did you mean init"):
        get("inti")
    with pytest.raises(ValueError, match="seeds must be >= 1"):
        run_experiment("init", seeds=0, quick=True)


def test_a_custom_experiment_runs_on_each_seed_and_keeps_arrays_out_of_the_json(tmp_path):
    seen = []

    def run(seed, quick):
        seen.append((seed, quick))
        return {"value": float(seed + 1), "_big": list(range(1000))}

    exp = Experiment(
        "tmp", "000", "h", "c", run, lambda runs: threshold_verdict([r["value"] for r in runs], ">", 1.5, "v")
    )
    rec = run_experiment(exp, seeds=3, quick=True, out_dir=tmp_path)
    assert seen == [(0, True), (1, True), (2, True)]
    assert rec["verdict"]["status"] == INCONCLUSIVE and rec["verdict"]["values"] == [1.0, 2.0, 3.0]
    assert all("_big" not in m for m in rec["measurements"])
    json.dumps(rec)


def test_lab_report_and_results(tmp_path):
    doc = run_many(["inverted_dropout", "ewa_bias_correction"], seeds=2, quick=True, out_dir=tmp_path, progress=False)
    saved = json.loads((tmp_path / "results.json").read_text())
    assert [r["name"] for r in saved["experiments"]] == ["inverted_dropout", "ewa_bias_correction"]
    assert saved["counts"][HOLDS] == doc["counts"][HOLDS] == 2
    assert saved["machine"]["cores"] >= 1 and saved["date"]
    html = (tmp_path / "report.html").read_text()
    assert "2 claims hold" in html and "ewa_bias_correction/ewa.png" in html
    assert (tmp_path / "ewa_bias_correction" / "ewa.png").exists()


def test_cli_list_and_run(tmp_path, capsys):
    assert main(["experiments", "list"]) == 0
    out = capsys.readouterr().out
    assert "init" in out and "000_6185529d5fd565bd.txt" in out
    assert (
        main(
            [
                "experiments",
                "run",
                "backprop_equations",
                "--quick",
                "--seeds",
                "2",
                "--out",
                str(tmp_path),
                "--no-progress",
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "backprop_equations" in out and "holds" in out
    assert (tmp_path / "report.html").exists() and (tmp_path / "results.json").exists()


@pytest.mark.parametrize(
    "argv, message",
    [
        (["experiments", "run"], "name an experiment"),
        (["experiments", "run", "nope"], "unknown experiment 'nope'"),
        (["experiments", "run", "init", "--all"], "not both"),
    ],
)
def test_cli_usage_errors(argv, message, capsys):
    assert main(argv) == 2
    assert message in capsys.readouterr().err


def test_cli_rejects_a_bad_seed_count(capsys):
    with pytest.raises(SystemExit) as e:
        main(["experiments", "run", "init", "--seeds", "0"])
    assert e.value.code == 2
    assert "positive integer" in capsys.readouterr().err


def test_markdown_copies_the_figures(tmp_path):
    from nnlab.experiments.lab import write_markdown

    doc = run_many(["ewa_bias_correction"], seeds=1, quick=True, out_dir=tmp_path / "run", progress=False)
    md = write_markdown(doc, tmp_path / "run", tmp_path / "docs" / "experiments.md", "nnlab experiments run x")
    text = open(md).read()
    assert "| [ewa_bias_correction]" in text and "**holds**" in text and "cores" in text
    assert "![ewa_bias_correction](experiments/ewa_bias_correction/ewa.png)" in text
    assert (tmp_path / "docs" / "experiments" / "ewa_bias_correction" / "ewa.png").exists()


def test_two_jobs_give_the_same_results_in_the_selection_order(tmp_path):
    sel = ["ewa_bias_correction", "inverted_dropout", "telgarsky_sawtooth"]
    doc = run_many(sel, seeds=1, quick=True, out_dir=tmp_path, progress=False, jobs=2)
    assert [r["name"] for r in doc["experiments"]] == sel and doc["complete"]
    one = run_experiment("ewa_bias_correction", seeds=1, quick=True)
    assert doc["experiments"][0]["measurements"] == one["measurements"]
    with pytest.raises(ValueError, match="jobs must be a positive integer"):
        run_many(sel, jobs=0)


def test_update_replaces_only_the_experiments_run_again(tmp_path):
    run_many(
        ["ewa_bias_correction", "telgarsky_sawtooth", "fc_to_conv"],
        seeds=1,
        quick=True,
        out_dir=tmp_path,
        progress=False,
    )
    # two experiments: the partial write after the first must not drop the kept records
    doc = run_many(
        ["ewa_bias_correction", "fc_to_conv"], seeds=2, quick=True, out_dir=tmp_path, progress=False, update=True
    )
    saved = json.loads((tmp_path / "results.json").read_text())
    assert [r["name"] for r in saved["experiments"]] == ["ewa_bias_correction", "fc_to_conv", "telgarsky_sawtooth"] or [
        r["name"] for r in saved["experiments"]
    ] == [n for n in names() if n in ("ewa_bias_correction", "fc_to_conv", "telgarsky_sawtooth")]
    by = {r["name"]: r for r in saved["experiments"]}
    assert len(by["ewa_bias_correction"]["seeds"]) == 2 and len(by["telgarsky_sawtooth"]["seeds"]) == 1
    assert "updated" in doc["date"]
    with pytest.raises(ValueError, match="quick"):
        run_many(["ewa_bias_correction"], seeds=1, quick=False, out_dir=tmp_path, progress=False, update=True)


def test_every_heading_has_an_english_gloss():
    from nnlab.experiments.registry import HEADING_EN

    assert {get(n).heading for n in names()} <= set(HEADING_EN)
