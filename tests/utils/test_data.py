"""nnlab.utils.data: torch's Dataset/TensorDataset/DataLoader/random_split, yielding Tensors."""

import numpy as np
import pytest

import nnlab
from nnlab.utils.data import DataLoader, Dataset, Generator, TensorDataset, random_split


def _ds(n=10):
    return TensorDataset(nnlab.arange(n).float().unsqueeze(1), nnlab.arange(n))


def test_loader_defaults_follow_torch():
    dl = DataLoader(_ds(10), batch_size=4)
    batches = list(dl)
    assert [b[1].tolist() for b in batches] == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]  # no shuffle
    assert isinstance(batches[0][0], nnlab.Tensor) and batches[0][0].shape == (4, 1)
    assert len(dl) == 3 and dl.dataset.tensors[1].shape == (10,)
    assert len(DataLoader(_ds(10), batch_size=4, drop_last=True)) == 2
    assert [b[1].item() for b in DataLoader(_ds(3))] == [0, 1, 2]  # batch_size 1
    DataLoader(_ds(3), num_workers=2, pin_memory=True)


def test_seeded_shuffle_repeats_and_differs_per_epoch():
    def order(seed):
        dl = DataLoader(_ds(12), batch_size=12, shuffle=True, generator=Generator().manual_seed(seed))
        return [next(iter(dl))[1].tolist() for _ in range(2)]

    a, b = order(3), order(3)
    assert a == b and a[0] != a[1] and sorted(a[0]) == list(range(12)) and order(4) != a


def test_generic_dataset_is_collated():
    class Squares(Dataset):
        def __len__(self):
            return 5

        def __getitem__(self, i):
            return {"x": np.full(2, i, np.float32), "y": i * i}

    (b,) = [batch for batch in DataLoader(Squares(), batch_size=5)]
    assert b["x"].shape == (5, 2) and b["y"].tolist() == [0, 1, 4, 9, 16] and b["y"].dtype == np.int64


def test_random_split():
    parts = random_split(_ds(10), [7, 3], generator=Generator().manual_seed(0))
    idx = sorted(int(parts[0][i][1]) for i in range(7)) + sorted(int(parts[1][i][1]) for i in range(3))
    assert len(parts[0]) == 7 and sorted(idx) == list(range(10))
    assert [len(p) for p in random_split(_ds(10), [0.5, 0.5])] == [5, 5]
    with pytest.raises(ValueError, match="summing"):
        random_split(_ds(10), [3, 3])


def test_bad_arguments():
    with pytest.raises(ValueError, match="same first size"):
        TensorDataset(nnlab.zeros(3), nnlab.zeros(4))
    with pytest.raises(ValueError, match="batch_size"):
        DataLoader(_ds(), batch_size=0)
    with pytest.raises(NotImplementedError, match="samplers"):
        DataLoader(_ds(), sampler=[0, 1])
