import re

import pytest

from nnlab.cli.main import main


def test_hopfield_demo_writes_the_grid_and_prints_overlaps(tmp_path, capsys):
    code = main(["hopfield", "demo", "--out", str(tmp_path), "--n-patterns", "4", "--size", "14", "--noise", "0.1"])
    out = capsys.readouterr().out
    assert code == 0
    png = tmp_path / "recall_grid.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    means = dict(re.findall(r"^(\w+)\s+overlap after async recall:.*\(mean ([\d.]+)\)", out, re.M))
    assert set(means) == {"hebb", "storkey", "pinv"}
    assert float(means["pinv"]) == 1.0  # 4 digits are far below the projection rule's capacity
    assert "overlap of the cues with their patterns 0.80 0.80 0.80 0.80" in out


def test_hopfield_demo_bad_options_are_one_line_errors(tmp_path, capsys):
    assert main(["hopfield", "demo", "--out", str(tmp_path), "--n-patterns", "12"]) == 2
    assert "n_patterns must be 1-10" in capsys.readouterr().err
    with pytest.raises(SystemExit) as e:
        main(["hopfield", "demo", "--rule", "oja"])
    assert e.value.code == 2
    assert "invalid choice: 'oja'" in capsys.readouterr().err
