"""A classification dataset with a single class is refused in one line (every model would reach
loss 0 by predicting it, and the report would then fail inside matplotlib)."""

import numpy as np
import pytest

from nnlab.cli.main import main
from nnlab.data import load_dataset
from nnlab.data.datasets import DataError


def _one_class(tmp_path):
    path = tmp_path / "one.npz"
    np.savez(path, X=np.random.default_rng(0).random((60, 4)).astype(np.float32), y=np.full(60, 3))
    return path


def test_load_dataset_refuses_a_single_class(tmp_path):
    with pytest.raises(
        DataError,
        match=r"one.npz: every sample has the same label \('3'\); a classifier needs at "
        r"least two classes",
    ):
        load_dataset(str(_one_class(tmp_path)))
    csv = tmp_path / "one.csv"
    csv.write_text("a,b,label\n" + "".join(f"{i},{i * 2},cat\n" for i in range(20)))
    with pytest.raises(DataError, match=r"same label \('cat'\)"):
        load_dataset(str(csv))


def test_train_on_a_single_class_exits_2_with_one_line(tmp_path, capsys):
    code = main(
        [
            "train",
            "--data",
            str(_one_class(tmp_path)),
            "--model",
            "mlp",
            "--epochs",
            "1",
            "--out",
            str(tmp_path / "run"),
        ]
    )
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "at least two classes" in err[0], err
    assert not (tmp_path / "run" / "checkpoint.npz").exists()
