"""``nnlab.utils.data``: PyTorch's data utilities (Dataset, TensorDataset, DataLoader, random_split)
yielding Tensors, for code written against ``torch.utils.data``.

The loader shares nnlab's epoch order (``nnlab.data.loader.epoch_order``): the order of epoch e
is drawn from (seed, e) alone, so a seeded loader repeats its batches in a resumed run. As in
torch, ``shuffle`` is off by default; the seed comes from ``generator`` (``nnlab.Generator()
.manual_seed(s)``) or, without one, from nnlab's global generator when the loader is made (so
``nnlab.manual_seed`` reproduces the order). Batches are gathered with one fancy-indexing copy per
array for TensorDatasets and NumPy-backed datasets; other datasets are read item by item and
collated (stacked) as torch's default collate does.
"""

from __future__ import annotations

import bisect
import math
from typing import Callable, Sequence

import numpy as np

from nnlab.data.loader import epoch_order
from nnlab.engine.tensor import Tensor

__all__ = [
    "Dataset",
    "TensorDataset",
    "Subset",
    "ConcatDataset",
    "DataLoader",
    "random_split",
    "default_collate",
    "Generator",
]


class Generator:
    """A seed holder for ``DataLoader(generator=...)`` and ``random_split`` (torch.Generator)."""

    def __init__(self, device="cpu"):
        self._seed = int(np.random.SeedSequence().entropy % 2**63)

    def manual_seed(self, seed: int) -> "Generator":
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
            raise TypeError(f"Generator.manual_seed: expected an int, got {seed!r}")
        self._seed = int(seed) % 2**63
        return self

    def initial_seed(self) -> int:
        return self._seed


def _seed_from(generator) -> int:
    if generator is None:
        from nnlab.engine.random import get_rng

        return int(get_rng().integers(2**63))
    if isinstance(generator, Generator):
        return generator.initial_seed()
    if isinstance(generator, np.random.Generator):
        return int(generator.integers(2**63))
    raise TypeError(f"generator must be an nnlab.Generator or a numpy Generator, got {type(generator).__name__}")


class Dataset:
    """Map-style dataset: subclasses define ``__getitem__(i)`` and ``__len__``."""

    def __getitem__(self, index):
        raise NotImplementedError(f"{type(self).__name__} must define __getitem__")

    def __add__(self, other):
        return ConcatDataset([self, other])


def _array(x):
    return x.data if isinstance(x, Tensor) else np.asarray(x)


class TensorDataset(Dataset):
    """Samples are the i-th rows of the given tensors (all with the same first size)."""

    def __init__(self, *tensors):
        if not tensors:
            raise ValueError("TensorDataset: give at least one tensor")
        tensors = tuple(t if isinstance(t, Tensor) else Tensor(t) for t in tensors)
        sizes = [t.shape[0] if t.ndim else None for t in tensors]
        if None in sizes or len(set(sizes)) != 1:
            raise ValueError(
                f"TensorDataset: every tensor needs the same first size, got shapes {[tuple(t.shape) for t in tensors]}"
            )
        self.tensors = tensors

    def __getitem__(self, index):
        return tuple(t[index] for t in self.tensors)

    def __len__(self) -> int:
        return self.tensors[0].shape[0]

    def _batch(self, idx: np.ndarray):
        return tuple(Tensor(t.data[idx]) for t in self.tensors)


class Subset(Dataset):
    def __init__(self, dataset, indices: Sequence[int]):
        self.dataset, self.indices = dataset, np.asarray(indices, dtype=np.int64)

    def __getitem__(self, index):
        if isinstance(index, (list, np.ndarray)):
            return self.dataset[self.indices[np.asarray(index)]]
        return self.dataset[int(self.indices[index])]

    def __len__(self) -> int:
        return len(self.indices)

    def _batch(self, idx: np.ndarray):
        inner = getattr(self.dataset, "_batch", None)
        return inner(self.indices[idx]) if inner is not None else None


class ConcatDataset(Dataset):
    def __init__(self, datasets):
        self.datasets = list(datasets)
        self.cumulative_sizes = list(np.cumsum([len(d) for d in self.datasets]))

    def __len__(self) -> int:
        return int(self.cumulative_sizes[-1]) if self.cumulative_sizes else 0

    def __getitem__(self, index):
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError(f"ConcatDataset: index {index} out of range for {len(self)} samples")
        d = bisect.bisect_right(self.cumulative_sizes, index)
        start = 0 if d == 0 else int(self.cumulative_sizes[d - 1])
        return self.datasets[d][index - start]


def random_split(dataset, lengths, generator=None):
    """Split into non-overlapping Subsets of the given lengths (or fractions summing to 1)."""
    n = len(dataset)
    lengths = list(lengths)
    if lengths and all(isinstance(v, float) for v in lengths) and math.isclose(sum(lengths), 1.0):
        counts = [int(math.floor(n * f)) for f in lengths]
        for i in range(n - sum(counts)):  # hand out the remainder round-robin, as torch does
            counts[i % len(counts)] += 1
        lengths = counts
    if any(isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 0 for v in lengths) or sum(lengths) != n:
        raise ValueError(
            f"random_split: lengths must be non-negative ints summing to the dataset's "
            f"size {n} (or fractions summing to 1), got {lengths}"
        )
    order = np.random.default_rng(_seed_from(generator)).permutation(n)
    out, start = [], 0
    for k in lengths:
        out.append(Subset(dataset, order[start : start + k]))
        start += k
    return out


def default_collate(samples):
    """Stack a list of samples: tensors/arrays/numbers into one Tensor, tuples and dicts field by
    field (torch's default_collate)."""
    first = samples[0]
    if isinstance(first, (tuple, list)):
        return (
            type(first)(default_collate([s[i] for s in samples]) for i in range(len(first)))
            if isinstance(first, tuple)
            else [default_collate([s[i] for s in samples]) for i in range(len(first))]
        )
    if isinstance(first, dict):
        return {k: default_collate([s[k] for s in samples]) for k in first}
    if isinstance(first, (Tensor, np.ndarray, np.generic)):
        return Tensor(np.stack([_array(s) for s in samples]))
    if isinstance(first, bool):
        return Tensor(np.array(samples, dtype=np.bool_))
    if isinstance(first, int):
        return Tensor(np.array(samples, dtype=np.int64))
    if isinstance(first, float):
        return Tensor(np.array(samples, dtype=np.float32))
    return samples


class DataLoader:
    """Batches of a Dataset as Tensors (torch.utils.data.DataLoader).

    Args:
        dataset: a map-style dataset (``__getitem__`` + ``__len__``), e.g. a TensorDataset.
        batch_size: samples per batch (default 1, as torch); None yields single samples.
        shuffle: a fresh order each epoch (off by default, as torch).
        drop_last: drop a final batch smaller than ``batch_size``.
        generator: an ``nnlab.Generator`` (or numpy Generator) that seeds the order.
        collate_fn: turns a list of samples into a batch (default: stack into Tensors).
        num_workers, pin_memory, persistent_workers, prefetch_factor, timeout: accepted for
            compatibility; nnlab loads in the calling thread (its batches are slices of arrays).
    """

    def __init__(
        self,
        dataset,
        batch_size: int | None = 1,
        shuffle: bool = False,
        sampler=None,
        batch_sampler=None,
        num_workers: int = 0,
        collate_fn: Callable | None = None,
        pin_memory: bool = False,
        drop_last: bool = False,
        timeout: float = 0,
        worker_init_fn=None,
        generator=None,
        *,
        prefetch_factor=None,
        persistent_workers: bool = False,
        seed: int | None = None,
    ):
        if not hasattr(dataset, "__getitem__") or not hasattr(dataset, "__len__"):
            raise TypeError(f"DataLoader: dataset must define __getitem__ and __len__, got {type(dataset).__name__}")
        if batch_size is not None and (
            isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1
        ):
            raise ValueError(f"DataLoader: batch_size must be a positive int or None, got {batch_size!r}")
        if isinstance(num_workers, bool) or not isinstance(num_workers, (int, np.integer)) or num_workers < 0:
            raise ValueError(f"DataLoader: num_workers must be a non-negative int, got {num_workers!r}")
        if sampler is not None or batch_sampler is not None:
            raise NotImplementedError(
                "DataLoader: custom samplers are not supported; use shuffle= "
                "and generator= (or a Subset for a fixed set of indices)"
            )
        if collate_fn is not None and not callable(collate_fn):
            raise TypeError(f"DataLoader: collate_fn must be callable, got {type(collate_fn).__name__}")
        self.dataset = dataset
        self.batch_size = None if batch_size is None else int(batch_size)
        self.shuffle, self.drop_last = bool(shuffle), bool(drop_last)
        self.num_workers = int(num_workers)
        self.collate_fn = collate_fn
        self.generator = generator
        self.seed = int(seed) if seed is not None else _seed_from(generator) if shuffle else 0
        self.epoch = 0

    def __len__(self) -> int:
        n = len(self.dataset)
        if self.batch_size is None:
            return n
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def __iter__(self):
        e = self.epoch
        self.epoch += 1
        n = len(self.dataset)
        order = epoch_order(n, self.shuffle, self.seed, e)
        if self.batch_size is None:
            for i in order:
                yield self.dataset[int(i)]
            return
        fast = getattr(self.dataset, "_batch", None) if self.collate_fn is None else None
        collate = self.collate_fn or default_collate
        for b in range(len(self)):
            idx = order[b * self.batch_size : (b + 1) * self.batch_size]
            batch = fast(idx) if fast is not None else None
            if batch is None:
                batch = collate([self.dataset[int(i)] for i in idx])
            yield batch

    def __repr__(self) -> str:
        return (
            f"DataLoader(dataset={type(self.dataset).__name__} of {len(self.dataset)}, "
            f"batch_size={self.batch_size}, shuffle={self.shuffle}, drop_last={self.drop_last})"
        )
