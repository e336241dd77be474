"""Hyperparameter search: samplers, stages, boundary warning, resume after a kill, results files,
workers against PostgreSQL."""

import csv
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("optuna", reason="the search runs on Optuna")

from nnlab.tune import Search, boundary_warnings, default_space  # noqa: E402
from nnlab.tune.space import SearchSpace  # noqa: E402

HERE = Path(__file__).resolve().parent
OBJ = HERE / "objectives.py"
sys.path.insert(0, str(HERE))
import objectives  # noqa: E402

REPO = HERE.parents[1]


def _cli(args, env=None, **kw):
    e = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    e.update(env or {})
    return subprocess.Popen(
        [sys.executable, "-m", "nnlab", "tune", *args],
        env=e,
        cwd=str(REPO),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **kw,
    )


def _mem(tmp_path, name, **kw):
    return Search(tmp_path / name, storage=":memory:", plots=False, **kw)


# ------------------------------------------------------------------------------------------
# Sampling
# ------------------------------------------------------------------------------------------
def test_random_beats_grid_when_one_parameter_does_not_matter(tmp_path):
    """Bergstra and Bengio: 25 grid points try 5 values of the parameter that matters; 25 random
    points try 25 of them."""
    space = ["x=uniform:0,1", "y=uniform:0,1"]
    rand, grid = [], []
    for seed in range(5):
        rand.append(
            _mem(tmp_path, f"r{seed}", space=space, objective=objectives.one_important, trials=25, seed=seed)
            .run()
            .best["value"]
        )
        grid.append(
            _mem(
                tmp_path,
                f"g{seed}",
                space=space,
                objective=objectives.one_important,
                trials=25,
                sampler="grid",
                seed=seed,
            )
            .run()
            .best["value"]
        )
    assert len(set(np.round(grid, 12))) == 1  # the grid is the same every time
    assert sum(r > g for r, g in zip(rand, grid)) >= 4, (rand, grid)
    assert np.mean(rand) > np.mean(grid) + 0.3


def test_random_search_samples_log_ranges_log_uniformly(tmp_path):
    """Through the whole search (sampler seed 0): log10(lr) is uniform on [-6, 1] (KS test) and
    lr itself is far from uniform; a uniform range stays uniform on its own scale."""
    from scipy import stats

    seen = []

    def record(params, epochs=1, trial_dir=None, seed=0):
        seen.append(dict(params))
        return 0.0

    _mem(tmp_path, "u", space=["lr=log:1e-6,10", "keep=uniform:0.2,1"], objective=record, trials=300).run()
    lr = np.array([p["lr"] for p in seen])
    keep = np.array([p["keep"] for p in seen])
    assert len(seen) == 300 and lr.min() >= 1e-6 and lr.max() <= 10
    assert stats.kstest(np.log10(lr), stats.uniform(-6, 7).cdf).pvalue > 0.05
    assert stats.kstest(lr, stats.uniform(1e-6, 10).cdf).pvalue < 1e-12
    assert 1e-4 < np.median(lr) < 1e-1  # the median of a log-uniform range is its geometric middle (10**-2.5)
    assert stats.kstest(keep, stats.uniform(0.2, 0.8).cdf).pvalue > 0.05


def test_grid_visits_every_point_once(tmp_path):
    r = _mem(
        tmp_path,
        "g",
        space=["lr=log:1e-4,1e-1", "l2=log:1e-6,1e-2"],
        objective=objectives.bowl,
        trials=9,
        sampler="grid",
    ).run()
    pts = {(round(row["lr"], 12), round(row["l2"], 12)) for row in r.rows}
    assert len(r.rows) == 9 and len(pts) == 9
    assert {p[0] for p in pts} == {round(v, 12) for v in (1e-4, 10**-2.5, 1e-1)}


def test_tpe_sampler_runs_and_improves_on_its_start(tmp_path):
    r = _mem(
        tmp_path,
        "t",
        space=["lr=log:1e-5,1", "l2=log:1e-6,1e-2"],
        objective=objectives.bowl,
        trials=30,
        sampler="tpe",
        seed=1,
    ).run()
    by_trial = sorted(r.rows, key=lambda row: row["trial"])
    first, last = by_trial[:10], by_trial[10:]
    assert max(row["val_accuracy"] for row in last) >= max(row["val_accuracy"] for row in first)
    assert r.best["value"] > 0.99


# ------------------------------------------------------------------------------------------
# Coarse to fine
# ------------------------------------------------------------------------------------------
def test_stages_promote_the_best_fraction_with_more_epochs(tmp_path):
    r = _mem(
        tmp_path,
        "s",
        space=["lr=log:1e-5,1", "l2=log:1e-6,1e-2"],
        objective=objectives.bowl,
        trials=9,
        stages="1,4",
        keep=1 / 3,
    ).run()
    s1 = [row for row in r.rows if row["stage"] == 1]
    s2 = [row for row in r.rows if row["stage"] == 2]
    assert len(s1) == 9 and len(s2) == 3
    assert all(row["epochs"] == 1 for row in s1) and all(row["epochs"] == 4 for row in s2)
    top = sorted(s1, key=lambda row: -row["val_accuracy"])[:3]
    assert {(t["lr"], t["l2"]) for t in top} == {(t["lr"], t["l2"]) for t in s2}
    assert r.best["stage"] == 2 and r.best["epochs"] == 4
    # The table lists the last stage first, best first within a stage.
    assert [row["val_accuracy"] for row in s2] == sorted((row["val_accuracy"] for row in s2), reverse=True)


def test_three_stages_one_then_five_then_many_epochs(tmp_path):
    """The notes' schedule: everything for 1 epoch, the best third for 5, the best of those for 20."""
    r = _mem(
        tmp_path,
        "s3",
        space=["lr=log:1e-6,1", "l2=log:1e-6,1e-2"],
        objective=objectives.bowl,
        trials=9,
        stages="1,5,20",
    ).run()
    by_stage = {k: [row for row in r.rows if row["stage"] == k] for k in (1, 2, 3)}
    assert [len(v) for v in by_stage.values()] == [9, 3, 1]
    assert [{row["epochs"] for row in v} for v in by_stage.values()] == [{1}, {5}, {20}]
    best2 = max(by_stage[2], key=lambda row: row["val_accuracy"])
    assert (by_stage[3][0]["lr"], by_stage[3][0]["l2"]) == (best2["lr"], best2["l2"])
    assert r.best["epochs"] == 20 and json.loads((tmp_path / "s3" / "best.json").read_text())["trials"] == {
        "stage1": 9,
        "stage2": 3,
        "stage3": 1,
    }


def test_narrowed_stage_samples_fresh_points_near_the_best(tmp_path):
    r = _mem(
        tmp_path,
        "n",
        space=["lr=log:1e-6,1", "l2=log:1e-6,1e-2"],
        objective=objectives.bowl,
        trials=12,
        stages="1,2",
        keep=0.25,
        narrow=True,
        seed=3,
    ).run()
    s1 = sorted((row for row in r.rows if row["stage"] == 1), key=lambda row: -row["val_accuracy"])
    s2 = [row for row in r.rows if row["stage"] == 2]
    assert len(s2) == 6  # 3 promoted + 3 fresh
    kept = s1[:3]
    lr_lo, lr_hi = min(k["lr"] for k in kept), max(k["lr"] for k in kept)
    fresh = [row for row in s2 if (row["lr"], row["l2"]) not in {(k["lr"], k["l2"]) for k in kept}]
    assert len(fresh) == 3
    # Narrowed range: the kept span plus 10% of the full (log) width on each side.
    pad = 10**0.6
    assert all(lr_lo / pad <= row["lr"] <= lr_hi * pad for row in fresh)


# ------------------------------------------------------------------------------------------
# Boundary warning
# ------------------------------------------------------------------------------------------
def test_boundary_warning_fires_at_the_edge_and_names_parameter_and_side(tmp_path):
    r = _mem(
        tmp_path,
        "edge",
        space=["lr=log:1e-4,1e-1", "dropout=uniform:0,0.5"],
        objective=objectives.upper_edge,
        trials=25,
    ).run()
    assert len(r.warnings) == 1, r.warnings
    assert r.warnings[0].startswith("lr:") and "upper edge" in r.warnings[0] and "0.1" in r.warnings[0]
    assert r.best["warnings"] == r.warnings


def test_boundary_warning_quiet_when_the_best_is_inside(tmp_path):
    r = _mem(
        tmp_path, "inside", space=["lr=log:1e-5,1", "l2=log:1e-7,1e-1"], objective=objectives.bowl, trials=25
    ).run()
    assert r.warnings == []


def test_boundary_warning_lower_edge_from_rows():
    space = default_space()
    rows = [
        {"lr": 1.1e-4, "l2": 1e-4, "dropout": 0.3, "val_accuracy": 0.95},
        {"lr": 1.3e-4, "l2": 3e-5, "dropout": 0.2, "val_accuracy": 0.94},
        {"lr": 2e-2, "l2": 1e-3, "dropout": 0.1, "val_accuracy": 0.80},
        {"lr": 1.2e-4, "l2": 1e-3, "dropout": 0.4, "val_accuracy": 0.93},
    ]
    w = boundary_warnings(rows, space)
    assert len(w) == 1 and w[0].startswith("lr:") and "lower edge" in w[0]
    # Minimizing a loss flips which rows are best: then lr=2e-2 is best and no edge is hit.
    assert boundary_warnings(rows, space, direction="minimize", top=1) == []


def test_boundary_warning_when_the_metric_still_improves_at_the_last_value_tried():
    """No trial landed in the last tenth of the range, but the metric keeps improving towards the
    end and the best is the most extreme value tried: warn. The same positions with the metric
    shuffled (a parameter that does not matter) stay quiet."""
    space = SearchSpace.parse("lr=log:1e-5,1e-1")
    us = np.linspace(0.2, 0.82, 14)  # nothing tried above 0.82
    lrs = [10 ** (-5 + 4 * u) for u in us]
    rows = [{"lr": lr, "val_accuracy": 0.5 + 0.4 * u} for lr, u in zip(lrs, us)]
    w = boundary_warnings(rows, space)
    assert len(w) == 1 and "upper edge" in w[0] and "beyond 0.1" in w[0], w
    shuffled = np.random.default_rng(0).permutation([r["val_accuracy"] for r in rows])
    flat = [
        {"lr": r["lr"], "val_accuracy": 1.0 if r["lr"] == lrs[-1] else float(a) * 0.9} for r, a in zip(rows, shuffled)
    ]
    assert boundary_warnings(flat, space) == []  # best at the extreme but no trend
    # With the optimum inside (0.5), the best is not the most extreme value tried.
    inside = [{"lr": lr, "val_accuracy": 1 - (u - 0.5) ** 2} for lr, u in zip(lrs, us)]
    assert boundary_warnings(inside, space) == []


def test_boundary_warning_fires_whatever_the_seed_when_the_optimum_is_beyond_the_range(tmp_path):
    for seed in range(4):
        r = _mem(
            tmp_path,
            f"b{seed}",
            space=["lr=log:1e-5,1e-1", "dropout=uniform:0,0.5"],
            objective=objectives.upper_edge,
            trials=20,
            seed=seed,
        ).run()
        assert [w.split(":")[0] for w in r.warnings] == ["lr"] and "upper edge" in r.warnings[0], (seed, r.warnings)


# ------------------------------------------------------------------------------------------
# Resuming
# ------------------------------------------------------------------------------------------
def test_rerun_continues_to_the_total(tmp_path):
    kw = dict(space=["lr=log:1e-4,1e-1"], objective=f"{OBJ}:bowl", trials=4, plots=False)
    first = Search(tmp_path / "s", **kw).run()
    kw["trials"] = 7
    second = Search(tmp_path / "s", **kw).run()
    assert len(first.rows) == 4 and len(second.rows) == 7
    old = {(row["trial"], row["lr"]) for row in first.rows}
    assert old <= {(row["trial"], row["lr"]) for row in second.rows}
    assert len({row["lr"] for row in second.rows}) == 7  # the re-run does not replay the first samples
    # Same command again: nothing left to do.
    again = Search(tmp_path / "s", **kw).run()
    assert len(again.rows) == 7


def test_rerun_with_another_space_is_refused(tmp_path):
    Search(tmp_path / "s", space=["lr=log:1e-4,1e-1"], objective=f"{OBJ}:bowl", trials=1, plots=False).run()
    with pytest.raises(ValueError, match="was started with"):
        Search(tmp_path / "s", space=["lr=log:1e-3,1e-1"], objective=f"{OBJ}:bowl", trials=2, plots=False).run()


def test_trial_whose_heartbeat_stopped_is_failed_and_queued_again(tmp_path):
    """A worker on another machine died: its trial stays RUNNING until its heartbeat is older
    than the grace period; then the next worker fails it and runs its parameters again."""
    import optuna
    from nnlab.tune.storage import open_storage

    url = "sqlite:///" + str(tmp_path / "shared.db")  # named explicitly: no local shortcut
    storage = open_storage(url, heartbeat=1, grace=1)
    study = optuna.create_study(storage=storage, study_name="nnlab-tune.stage0", direction="maximize")
    dead = study.ask()
    dead.suggest_float("lr", 1e-4, 1e-1, log=True)
    storage.record_heartbeat(dead._trial_id)
    time.sleep(1.5)
    r = Search(
        tmp_path / "s",
        space=["lr=log:1e-4,1e-1"],
        objective=objectives.bowl,
        trials=3,
        storage=url,
        heartbeat=1,
        grace=1,
        plots=False,
    ).run()
    done = [row for row in r.rows if row["status"] == "complete"]
    assert len(done) == 3
    assert [row["status"] for row in r.rows].count("lost") == 1
    assert dead.params["lr"] in {row["lr"] for row in done}


def test_killed_search_resumes_without_repeating_finished_trials(tmp_path):
    out, log = tmp_path / "search", tmp_path / "calls.log"
    args = [
        "--trials",
        "6",
        "--objective",
        f"{OBJ}:logged_sleepy",
        "--lr",
        "1e-4,1e-1",
        "--l2",
        "1e-6,1e-2",
        "--stages",
        "1",
        "--out",
        str(out),
    ]
    env = {"NNLAB_TEST_LOG": str(log), "NNLAB_TEST_SLEEP": "0.3"}
    p = _cli(args, env)
    t0 = time.time()
    while time.time() - t0 < 60:
        text = log.read_text() if log.exists() else ""
        # Kill while a trial is in flight, after three have finished.
        if text.count("end ") >= 3 and text.splitlines()[-1].startswith("start "):
            break
        if p.poll() is not None:
            pytest.fail(f"search ended before it was killed: {p.communicate()}")
        time.sleep(0.02)
    p.send_signal(signal.SIGKILL)
    p.wait()
    first = log.read_text().splitlines()
    finished = {line.split(" ", 2)[2] for line in first if line.startswith("end ")}
    in_flight = {line.split(" ", 2)[2] for line in first if line.startswith("start ")} - finished
    assert len(finished) >= 3 and len(in_flight) == 1

    p = _cli(args, env)
    stdout, stderr = p.communicate(timeout=120)
    assert p.returncode == 0, stderr
    second = log.read_text().splitlines()[len(first) :]
    rerun = [line.split(" ", 2)[2] for line in second if line.startswith("start ")]
    assert not finished & set(rerun), "a finished trial ran again"
    assert in_flight <= set(rerun), "the trial lost with the killed worker was not run again"
    with open(out / "results.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    done = [r for r in rows if r["status"] == "complete"]
    assert len(done) == 6
    assert len({(r["lr"], r["l2"]) for r in done}) == 6
    assert [r["status"] for r in rows].count("lost") == 1


def _wait_for(cond, p, timeout=90):
    t0 = time.time()
    while time.time() - t0 < timeout:
        got = cond()
        if got:
            return got
        if p.poll() is not None:
            pytest.fail(f"search ended too early: {p.communicate()}")
        time.sleep(0.02)
    pytest.fail("timed out")


def test_two_workers_on_sqlite_complete_exactly_the_total(tmp_path):
    """The default storage (one SQLite file) shared by two processes: no 'database is locked',
    both processes train, and exactly --trials trials complete."""
    log = tmp_path / "calls.log"
    p = _cli(
        [
            "--trials",
            "6",
            "--workers",
            "2",
            "--objective",
            f"{OBJ}:logged_sleepy",
            "--lr",
            "1e-4,1e-1",
            "--stages",
            "1",
            "--out",
            str(tmp_path / "s"),
        ],
        {"NNLAB_TEST_LOG": str(log), "NNLAB_TEST_SLEEP": "0.5", "NNLAB_TEST_BARRIER": "2"},
    )
    stdout, stderr = p.communicate(timeout=180)
    assert p.returncode == 0, stderr
    assert "locked" not in stderr + stdout
    with open(tmp_path / "s" / "results.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert [r["status"] for r in rows] == ["complete"] * 6
    ends = [line.split() for line in log.read_text().splitlines() if line.startswith("end ")]
    assert len(ends) == 6 and len({e[1] for e in ends}) == 2, ends  # both processes trained


def test_killed_helper_worker_loses_only_its_trial(tmp_path):
    """kill -9 of a helper process mid-trial: the master fails that trial at once (no wait for
    the heartbeat's 30 s grace), runs its parameters again, completes the total and exits 0."""
    out, log = tmp_path / "s", tmp_path / "calls.log"
    p = _cli(
        [
            "--trials",
            "5",
            "--workers",
            "2",
            "--objective",
            f"{OBJ}:logged_sleepy",
            "--lr",
            "1e-4,1e-1",
            "--stages",
            "1",
            "--out",
            str(out),
        ],
        {"NNLAB_TEST_LOG": str(log), "NNLAB_TEST_SLEEP": "1.0", "NNLAB_TEST_BARRIER": "2"},
    )

    def helper_in_flight():
        lines = log.read_text().splitlines() if log.exists() else []
        mine = {}
        for line in lines:
            kind, pid, key = line.split(" ", 2)
            if int(pid) != p.pid:
                mine[pid] = (kind, key)
        return next(((int(pid), key) for pid, (kind, key) in mine.items() if kind == "start"), None)

    pid, key = _wait_for(helper_in_flight, p)
    os.kill(pid, signal.SIGKILL)
    stdout, stderr = p.communicate(timeout=120)
    assert p.returncode == 0, stderr
    # found by the process's death (this message), not by the heartbeat's 30 s grace running out
    assert f"worker process {pid} died" in stderr and "queued again" in stderr
    lines = log.read_text().splitlines()
    ends = [line.split(" ", 2)[2] for line in lines if line.startswith("end ")]
    assert len(ends) == len(set(ends)) == 5  # nothing finished twice
    assert key in ends  # the lost trial's parameters ran again
    with open(out / "results.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert sorted(r["status"] for r in rows) == ["complete"] * 5 + ["lost"]


def _alive(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            return "\nState:\tZ" not in f.read()  # a zombie has exited
    except FileNotFoundError:
        return False


@pytest.mark.skipif(not os.path.isdir("/proc/self"), reason="reads process states from /proc")
def test_killed_master_takes_its_helper_down_and_a_rerun_finishes(tmp_path):
    """kill -9 of the master while its helper waits for the last trial (in flight in the
    master): the helper stops too instead of taking the trial over after the heartbeat's grace
    period beside a re-run; the re-run re-queues the lost trial and completes the total."""
    out, log = tmp_path / "s", tmp_path / "calls.log"
    args = [
        "--trials",
        "1",
        "--workers",
        "2",
        "--objective",
        f"{OBJ}:logged_sleepy",
        "--lr",
        "1e-4,1e-1",
        "--stages",
        "1",
        "--out",
        str(out),
    ]
    p = _cli(args, {"NNLAB_TEST_LOG": str(log), "NNLAB_TEST_SLEEP": "60"})

    def helper_started():
        if not (log.exists() and log.read_text().startswith(f"start {p.pid} ")):
            return None
        with open(f"/proc/{p.pid}/task/{p.pid}/children") as f:
            kids = [int(k) for k in f.read().split()]
        return kids[0] if kids else None

    helper = _wait_for(helper_started, p)
    time.sleep(3)  # the helper imports, finds the only trial in flight and waits
    p.send_signal(signal.SIGKILL)
    p.wait()
    t0 = time.time()
    while _alive(helper) and time.time() - t0 < 10:
        time.sleep(0.05)
    assert not _alive(helper), "the helper outlived its master"
    p = _cli(args, {"NNLAB_TEST_LOG": str(log), "NNLAB_TEST_SLEEP": "0.1"})
    stdout, stderr = p.communicate(timeout=120)
    assert p.returncode == 0, stderr
    lines = log.read_text().splitlines()
    assert [line.split()[0] for line in lines] == ["start", "start", "end"]
    assert lines[0].split(" ", 2)[2] == lines[2].split(" ", 2)[2]  # the lost trial ran again
    with open(out / "results.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert sorted(r["status"] for r in rows) == ["complete", "lost"]


def test_ctrl_c_with_workers_stops_quietly_and_a_rerun_finishes(tmp_path):
    """Ctrl-C reaches the master and its helper (one process group): both stop without a
    traceback, exit status 130; the trials they had in flight run again on the re-run."""
    out, log = tmp_path / "s", tmp_path / "calls.log"
    args = [
        "--trials",
        "3",
        "--workers",
        "2",
        "--objective",
        f"{OBJ}:logged_sleepy",
        "--lr",
        "1e-4,1e-1",
        "--stages",
        "1",
        "--out",
        str(out),
        "--quiet",
    ]
    env = {"NNLAB_TEST_LOG": str(log), "NNLAB_TEST_SLEEP": "3", "NNLAB_TEST_BARRIER": "2"}
    p = _cli(args, env, start_new_session=True)
    _wait_for(lambda: log.exists() and len({line.split()[1] for line in log.read_text().splitlines()}) == 2, p)
    os.killpg(p.pid, signal.SIGINT)
    stdout, stderr = p.communicate(timeout=60)
    assert p.returncode == 130 and "Traceback" not in stderr and "interrupted" in stderr, stderr
    p = _cli(args, dict(env, NNLAB_TEST_SLEEP="0.1", NNLAB_TEST_BARRIER="0"))
    stdout, stderr = p.communicate(timeout=120)
    assert p.returncode == 0, stderr
    with open(out / "results.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert sorted(r["status"] for r in rows) == ["complete"] * 3 + ["lost"] * 2


def test_a_surplus_trial_is_withdrawn_before_it_runs(tmp_path):
    """Two workers both saw one trial missing and both asked: the later one withdraws its trial
    (PRUNED, left out of the results); a queued configuration goes back to the queue."""
    from optuna.trial import TrialState

    s = _mem(tmp_path, "x", space=["lr=log:1e-4,1e-1"], objective=objectives.bowl, trials=2)
    study = s._study(0)
    first = study.ask()
    first.suggest_float("lr", 1e-4, 1e-1, log=True)
    study.tell(first, 0.5)
    other = study.ask()  # in flight on another worker
    mine = study.ask()
    assert not s._surplus(study, other, 2)
    assert s._surplus(study, mine, 2)
    assert study.trials[mine.number].state == TrialState.PRUNED
    assert not s._surplus(study, study.ask(), 3)  # with room for it, a trial is kept
    # A queued configuration withdrawn as surplus is queued again, not lost.
    study.enqueue_trial({"lr": 0.02}, user_attrs={"promoted_from": 7})
    queued = study.ask()
    assert s._surplus(study, queued, 1)
    waiting = study.get_trials(deepcopy=False, states=(TrialState.WAITING,))
    assert len(waiting) == 1 and waiting[0].user_attrs["promoted_from"] == 7
    assert waiting[0].system_attrs["fixed_params"] == {"lr": 0.02}
    rows = s.results()
    assert mine.number not in {r["trial"] for r in rows} and queued.number not in {r["trial"] for r in rows}


# ------------------------------------------------------------------------------------------
# Files and the command line on the digits
# ------------------------------------------------------------------------------------------
def test_cli_on_the_digits_writes_results_best_report_and_checkpoints(tmp_path, capsys):
    from nnlab.cli.main import main

    out = tmp_path / "tune"
    code = main(
        [
            "tune",
            "--trials",
            "3",
            "--model",
            "mlp",
            "--subset",
            "200",
            "--stages",
            "1",
            "--quiet",
            "--out",
            str(out),
            "--param",
            "lr=log:1e-3,1e-1",
            "--l2",
            "1e-6,1e-2",
            "--seed",
            "2",
            "--ensemble",
            "2",
        ]
    )
    text = capsys.readouterr().out
    assert code == 0, text
    assert "best val_accuracy=" in text and "lr" in text
    assert "top-2 ensemble (mean) accuracy by number of members  1:" in text and "2:" in text
    with open(out / "results.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 3
    assert {"stage", "trial", "epochs", "status", "val_accuracy", "lr", "l2"} <= set(rows[0])
    accs = [float(r["val_accuracy"]) for r in rows]
    assert accs == sorted(accs, reverse=True)
    best = json.loads((out / "best.json").read_text())
    assert best["value"] == pytest.approx(accs[0]) and set(best["params"]) == {"lr", "l2"}
    for r in rows:
        stats = json.loads((out / r["dir"] / "stats.json").read_text())
        assert stats["status"] == "complete" and stats["params"]["lr"] == pytest.approx(float(r["lr"]))
        assert (out / r["dir"] / "checkpoint.npz").exists()
    import nnlab

    ck = nnlab.load(out / best["checkpoint"])
    assert ck.model is not None
    for name in ("val_accuracy_vs_lr.png", "val_accuracy_vs_l2.png", "report.md"):
        assert (out / name).stat().st_size > 0
    assert "val_accuracy_vs_lr.png" in (out / "report.md").read_text()


def test_digits_trial_writes_statistics_each_epoch_and_resumes_from_a_lost_checkpoint(tmp_path, monkeypatch):
    """A trial killed after its first epoch left checkpoint.npz and history.json; continuing from
    that checkpoint gives exactly the uninterrupted trial."""
    from nnlab.train import callbacks
    from nnlab.tune import DigitsTask

    task = DigitsTask(model="mlp", subset=200)
    params = {"lr": 0.05, "l2": 1e-4}
    whole = task(params, epochs=3, trial_dir=tmp_path / "whole", seed=5)
    hist = json.loads((tmp_path / "whole" / "history.json").read_text())
    assert hist["epoch"] == [1, 2, 3] and len(hist["val_accuracy"]) == 3

    class Killed(callbacks.ModelCheckpoint):
        def on_epoch_end(self, epoch, logs=None):
            super().on_epoch_end(epoch, logs)
            raise KeyboardInterrupt  # the worker dies right after the first epoch's checkpoint

    monkeypatch.setattr(callbacks, "ModelCheckpoint", Killed)
    with pytest.raises(KeyboardInterrupt):
        task(params, epochs=3, trial_dir=tmp_path / "lost", seed=5)
    monkeypatch.undo()
    assert json.loads((tmp_path / "lost" / "history.json").read_text())["epoch"] == [1]
    # The retry is another trial with another seed: the checkpoint's state (weights, optimizer,
    # random streams) decides the continuation, so it ends where the lost trial would have.
    again = task(
        params, epochs=3, trial_dir=tmp_path / "retry", seed=6, resume=str(tmp_path / "lost" / "checkpoint.npz")
    )
    fresh = task(params, epochs=3, trial_dir=None, seed=6)
    assert fresh["loss"] != pytest.approx(whole["loss"], rel=1e-6)  # so the seed alone would show
    timing = {"epoch_seconds"}
    assert set(again) == set(whole) and "val_accuracy" in whole
    assert {k: v for k, v in again.items() if k not in timing} == pytest.approx(
        {k: v for k, v in whole.items() if k not in timing}, rel=1e-6
    )
    import nnlab

    a = nnlab.load(tmp_path / "whole" / "checkpoint.npz").model.state_dict()
    b = nnlab.load(tmp_path / "retry" / "checkpoint.npz").model.state_dict()
    for k in a:
        np.testing.assert_allclose(a[k], b[k], rtol=1e-6)


def test_a_retried_trial_is_given_the_lost_trials_checkpoint(tmp_path):
    calls = []

    def objective(params, epochs=1, trial_dir=None, seed=0, resume=None):
        calls.append(resume)
        if len(calls) == 2:  # the second trial dies after writing its first checkpoint
            (Path(trial_dir) / "checkpoint.npz").write_bytes(b"epoch 1")
            raise KeyboardInterrupt
        return 0.5

    out = tmp_path / "s"
    kw = dict(space=["lr=log:1e-4,1e-1"], objective=objective, trials=3, plots=False)
    with pytest.raises(KeyboardInterrupt):
        Search(out, **kw).run()
    r = Search(out, **kw).run()
    assert calls[:2] == [None, None] and len(calls) == 4
    assert calls[2] == str(out / "trials" / "s1-0001" / "checkpoint.npz") and calls[3] is None
    lost = next(row for row in r.rows if row["status"] == "lost")
    retry = next(row for row in r.rows if row["trial"] == 2)
    assert lost["trial"] == 1 and retry["lr"] == lost["lr"]
    stats = json.loads((out / retry["dir"] / "stats.json").read_text())
    assert stats["resumed_from"] == "trials/s1-0001/checkpoint.npz"


def test_report_plots_lr_and_l2_on_log_axes(tmp_path, monkeypatch):
    """One plot per numeric parameter, log x axis for log ranges (lr, L2), linear for dropout."""
    import matplotlib.axes
    from nnlab.tune.report import write_report

    scales = {}
    real = matplotlib.axes.Axes.set_xlabel

    def record(ax, label, *a, **kw):
        scales[label.split()[0]] = ax.get_xscale()
        return real(ax, label, *a, **kw)

    monkeypatch.setattr(matplotlib.axes.Axes, "set_xlabel", record)
    space = default_space()
    rng = np.random.default_rng(0)
    rows = [
        {
            "stage": 1,
            "trial": i,
            "epochs": 1,
            "status": "complete",
            "val_accuracy": float(rng.uniform()),
            "lr": 10 ** rng.uniform(-4, -1),
            "l2": 10 ** rng.uniform(-6, -2),
            "dropout": rng.uniform(0, 0.6),
        }
        for i in range(8)
    ]
    write_report(tmp_path, rows, space, "val_accuracy", [], None)
    assert scales == {"lr": "log", "l2": "log", "dropout": "linear"}
    text = (tmp_path / "report.md").read_text()
    for name in ("lr", "l2", "dropout"):
        assert f"](val_accuracy_vs_{name}.png)" in text and (tmp_path / f"val_accuracy_vs_{name}.png").stat().st_size


def test_failed_trials_do_not_count_towards_the_total_and_are_not_run_again(tmp_path):
    """A NaN metric (diverged) or an exception fails the trial with its reason; other
    configurations are sampled in their place until ``trials`` complete, failed ones never become
    the best, and a re-run neither retries them nor counts them."""
    calls = []

    def objective(params, epochs=1, trial_dir=None, seed=0):
        calls.append(params["lr"])
        if params["lr"] > 0.01:
            return {"val_accuracy": float("nan")}
        if params["lr"] < 5e-4:
            raise FloatingPointError("overflow in the loss")
        return {"val_accuracy": params["lr"]}

    kw = dict(space=["lr=log:1e-4,1e-1"], objective=objective, trials=6, seed=4, max_failures=100)
    r = _mem(tmp_path, "f", **kw).run()
    status = {row["trial"]: row for row in r.rows}
    complete = [row for row in r.rows if row["status"] == "complete"]
    assert len(complete) == 6 and len(calls) == len(r.rows) > 6 and r.stopped is None
    diverged = [row for row in r.rows if row["lr"] > 0.01]
    errors = [row for row in r.rows if row["lr"] < 5e-4]
    assert diverged and errors
    assert all(row["status"] == "fail" and "diverged" in row["error"] for row in diverged)
    assert all(row["status"] == "fail" and "FloatingPointError: overflow" in row["error"] for row in errors)
    assert r.best["value"] == max(row["lr"] for row in complete)
    assert status[r.best["trial"]]["status"] == "complete"
    # A re-run of a file-backed search with failures does not retry them, and a larger total
    # trains new configurations only.
    out = tmp_path / "file"
    first = Search(out, plots=False, **kw).run()
    n = len(calls)
    again = Search(out, plots=False, **kw).run()
    assert len(calls) == n and len(again.rows) == len(first.rows)
    more = Search(out, plots=False, **dict(kw, trials=7)).run()
    assert sum(row["status"] == "complete" for row in more.rows) == 7
    failed_lrs = {row["lr"] for row in first.rows if row["status"] == "fail"}
    assert not failed_lrs & set(calls[n:])


def test_a_search_whose_trials_all_fail_stops_after_max_failures(tmp_path):
    def broken(params, epochs=1, trial_dir=None, seed=0):
        raise RuntimeError("no such layer")

    r = _mem(tmp_path, "b", space=["lr=log:1e-4,1e-1"], objective=broken, trials=3).run()
    assert len(r.rows) == 3 and all(row["status"] == "fail" for row in r.rows) and r.best is None
    assert "stopped after 3 failed trials" in r.stopped


def test_unknown_model_parameter_fails_the_trial_with_a_reason(tmp_path):
    r = _mem(
        tmp_path,
        "bad",
        space=["lr=log:1e-3,1e-1", "momentum=uniform:0.5,0.99"],
        trials=1,
        task={"model": "mlp", "subset": 100},
    ).run()
    assert r.best is None
    assert r.rows[0]["status"] == "fail" and "momentum" in r.rows[0]["error"]


@pytest.mark.slow
def test_random_search_matches_a_6x6_grid_on_the_digits(tmp_path):
    space = ["lr=log:1e-3,3", "l2=log:1e-6,1e-1"]
    rand = _mem(tmp_path, "r", space=space, objective=objectives.tiny_digits, trials=20, seed=1).run()
    grid = _mem(tmp_path, "g", space=space, objective=objectives.tiny_digits, trials=36, sampler="grid").run()
    assert len(grid.rows) == 36 and len(rand.rows) == 20
    assert grid.best["value"] > 0.5  # the grid contains good settings: the comparison means something
    assert rand.best["value"] >= grid.best["value"] - 0.01, (rand.best, grid.best)


# ------------------------------------------------------------------------------------------
# Workers sharing one study on a database server
# ------------------------------------------------------------------------------------------
def _pg_url():
    url = os.environ.get("NNLAB_TEST_PG_URL")
    if not url:
        pytest.skip("NNLAB_TEST_PG_URL is not set: no PostgreSQL server (.ci/run starts one on loopback)")
    psycopg2 = pytest.importorskip("psycopg2", reason="psycopg2 (the PostgreSQL driver) is not installed")
    try:
        psycopg2.connect(url, connect_timeout=5).close()
    except Exception as e:  # noqa: BLE001
        pytest.skip(f"PostgreSQL at {url} cannot be reached: {str(e).strip()}")
    return url


def test_two_worker_processes_share_a_postgresql_study(tmp_path):
    url = _pg_url()
    study = "nnlab-test-" + uuid.uuid4().hex[:10]
    log = tmp_path / "calls.log"
    p = _cli(
        [
            "--trials",
            "6",
            "--workers",
            "2",
            "--storage",
            url,
            "--study",
            study,
            "--objective",
            f"{OBJ}:logged_sleepy",
            "--lr",
            "1e-4,1e-1",
            "--stages",
            "1",
            "--out",
            str(tmp_path / "s"),
        ],
        {"NNLAB_TEST_LOG": str(log), "NNLAB_TEST_SLEEP": "0.4", "NNLAB_TEST_BARRIER": "2"},
    )
    stdout, stderr = p.communicate(timeout=120)
    assert p.returncode == 0, stderr
    import optuna
    from nnlab.tune.storage import open_storage

    s = optuna.load_study(study_name=study + ".stage0", storage=open_storage(url))
    done = [t for t in s.trials if t.state == optuna.trial.TrialState.COMPLETE]
    assert len(done) == 6  # exactly the total: a surplus trial is withdrawn before it runs
    workers = {t.user_attrs["worker"] for t in done}
    assert len(workers) == 2, workers
    pids = {line.split()[1] for line in log.read_text().splitlines()}
    assert len(pids) == 2
