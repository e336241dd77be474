"""Model ensembles: train several models, average their predictions at test time.

Independent models make partly independent mistakes, so the average of their class
probabilities is right more often than a typical member (the notes: a few percent, more with more
members and more diversity, with diminishing returns). Members come from

- one configuration with different initializations (``train_members``),
- the top-k configurations of a search (``from_search``; no extra training),
- the checkpoints (snapshots) of one run (``Snapshots`` callback, ``from_checkpoints``): cheap,
  less diverse.

The price is test time: every member runs on every input.
"""

from __future__ import annotations

import copy
import math
from pathlib import Path

import numpy as np

from nnlab.train.callbacks import Callback

__all__ = ["Ensemble", "train_members", "from_checkpoints", "from_search", "Snapshots"]


def _softmax(z):
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


class Ensemble:
    """Several classifiers combined by averaging probabilities (``"mean"``) or majority vote (``"vote"``).

    Args:
        members: Modules returning class scores (logits) or probabilities, or ``nnlab.load``
            Checkpoints (their preprocessor is applied to the input of that member).
        method: "mean" (average probabilities; default) or "vote" (each member's argmax is one vote;
            ties go to the class with the higher mean probability).
        preprocessors: optional per-member preprocessors (overrides a Checkpoint's).
        logits: members output logits (softmax applied); False if they output probabilities.
    """

    METHODS = ("mean", "vote")

    def __init__(self, members, method: str = "mean", preprocessors=None, logits: bool = True, batch_size: int = 1000):
        members = list(members)
        if not members:
            raise ValueError("Ensemble: needs at least one member, got none")
        if method not in self.METHODS:
            raise ValueError(f"Ensemble: method must be 'mean' or 'vote', got {method!r}")
        self.models, self.preprocessors = [], []
        for i, m in enumerate(members):
            model = getattr(m, "model", m) if not hasattr(m, "forward") else m
            if not hasattr(model, "forward"):
                raise TypeError(f"Ensemble: member {i} is a {type(m).__name__}, expected a Module or a Checkpoint")
            self.models.append(model)
            self.preprocessors.append(getattr(m, "preprocessor", None) if model is not m else None)
        if preprocessors is not None:
            preprocessors = list(preprocessors)
            if len(preprocessors) != len(self.models):
                raise ValueError(f"Ensemble: {len(self.models)} members but {len(preprocessors)} preprocessors")
            self.preprocessors = preprocessors
        self.method, self.logits, self.batch_size = method, logits, int(batch_size)

    def __len__(self) -> int:
        return len(self.models)

    def member_probs(self, X) -> np.ndarray:
        """(members, N, classes) probabilities of every member."""
        from nnlab.train.trainer import predict

        X = np.asarray(getattr(X, "X", X))
        out = []
        for model, prep in zip(self.models, self.preprocessors):
            Xi = prep.transform(X) if prep is not None else X
            scores = predict(model, Xi, batch_size=self.batch_size, softmax=False)
            if scores.ndim != 2:
                raise ValueError(f"Ensemble: members must output (N, classes) scores, got shape {scores.shape}")
            out.append(_softmax(scores.astype(np.float64)) if self.logits else scores.astype(np.float64))
        shapes = {p.shape for p in out}
        if len(shapes) > 1:
            raise ValueError(f"Ensemble: members disagree on the output shape: {sorted(shapes)}")
        return np.stack(out)

    def _check_method(self, method):
        method = method or self.method
        if method not in self.METHODS:
            raise ValueError(f"Ensemble: method must be 'mean' or 'vote', got {method!r}")
        return method

    def _first(self, probs, k):
        if k is None:
            return probs
        if isinstance(k, bool) or int(k) != k or not 1 <= k <= len(probs):
            raise ValueError(f"Ensemble: k must be an integer in 1..{len(probs)}, got {k!r}")
        return probs[: int(k)]

    @staticmethod
    def combine(probs: np.ndarray, method: str = "mean") -> np.ndarray:
        """Classes from (members, N, classes) probabilities: argmax of the mean, or majority vote
        (ties go to the class with the higher mean probability)."""
        mean = probs.mean(axis=0)
        if method == "mean":
            return mean.argmax(axis=1)
        votes = probs.argmax(axis=2)  # (members, N)
        counts = np.zeros(mean.shape)
        np.add.at(counts, (np.broadcast_to(np.arange(votes.shape[1]), votes.shape), votes), 1)
        # Mean probabilities are < 1, so they only decide between classes with equal vote counts.
        return (counts + mean).argmax(axis=1)

    def predict_proba(self, X, k: int | None = None) -> np.ndarray:
        """Mean class probabilities of the first ``k`` members (all by default)."""
        return self._first(self.member_probs(X), k).mean(axis=0)

    def predict(self, X, method: str | None = None, k: int | None = None) -> np.ndarray:
        """Predicted classes of the first ``k`` members combined by ``method``."""
        method = self._check_method(method)
        return self.combine(self._first(self.member_probs(X), k), method)

    @staticmethod
    def _labels(X, y):
        if y is None:
            if not hasattr(X, "y"):
                raise ValueError("Ensemble: labels y are needed (or pass a dataset with .y)")
            y = X.y
        return np.asarray(y)

    def accuracy(self, X, y=None, method: str | None = None, k: int | None = None) -> float:
        y = self._labels(X, y)
        return float(np.mean(self.predict(X, method, k) == y))

    def evaluate(self, X, y=None, method: str | None = None) -> dict:
        """Accuracy of the ensemble with 1..M members and of each member, from one pass per member."""
        y = self._labels(X, y)
        method = self._check_method(method)
        probs = self.member_probs(X)
        if len(y) != probs.shape[1]:
            raise ValueError(f"Ensemble: {probs.shape[1]} inputs but {len(y)} labels")
        curve = [float(np.mean(self.combine(probs[:k], method) == y)) for k in range(1, len(probs) + 1)]
        members = [float(np.mean(p.argmax(axis=1) == y)) for p in probs]
        return {
            "method": method,
            "accuracy": curve[-1],
            "by_members": curve,
            "members": members,
            "members_mean": float(np.mean(members)),
            "members_best": float(max(members)),
        }

    def member_accuracies(self, X, y=None) -> list[float]:
        return self.evaluate(X, y)["members"]

    def accuracy_curve(self, X, y=None, method: str | None = None) -> list[float]:
        """Accuracy of the ensemble of the first 1, 2, ..., M members."""
        return self.evaluate(X, y, method)["by_members"]

    def report_line(self, X, y=None, method: str | None = None) -> str:
        """One line: accuracy against the number of members, and the members' own accuracies."""
        r = self.evaluate(X, y, method)
        steps = "  ".join(f"{k}:{a:.4f}" for k, a in enumerate(r["by_members"], 1))
        return (
            f"ensemble ({r['method']}) accuracy by number of members  {steps}  | members mean "
            f"{r['members_mean']:.4f}, best {r['members_best']:.4f}"
        )


def train_members(
    make_trainer, train, val=None, seeds=(0, 1, 2, 3, 4), epochs: int = 5, batch_size: int = 64, callbacks=None
) -> list:
    """Train one configuration once per seed; ``make_trainer(seed) -> Trainer`` builds the model
    (seed ``nnlab.manual_seed(seed)`` inside, so the initializations differ). Returns the trainers."""
    trainers = []
    for s in seeds:
        tr = make_trainer(int(s))
        tr.fit(train, val, epochs=epochs, batch_size=batch_size, callbacks=callbacks)
        trainers.append(tr)
    return trainers


def from_checkpoints(paths, method: str = "mean") -> Ensemble:
    """An ensemble of saved models (``nnlab.save`` or training checkpoints)."""
    from nnlab.train.checkpoint import load

    paths = [Path(p) for p in paths]
    if not paths:
        raise ValueError("from_checkpoints: no checkpoint paths given")
    return Ensemble([load(p) for p in paths], method=method)


def from_search(search_dir, k: int = 5, method: str = "mean", stage: int | None = None) -> Ensemble:
    """The top-``k`` trials of a search (last stage with results, or ``stage``), from their checkpoints."""
    from nnlab.tune.results import load_results

    out = Path(search_dir)
    rows = [r for r in load_results(out) if r.get("status") == "complete" and r.get("dir")]
    if stage is None and rows:
        stage = max(r["stage"] for r in rows)
    rows = [r for r in rows if r["stage"] == stage and (out / r["dir"] / "checkpoint.npz").exists()]
    if not rows:
        raise ValueError(
            f"from_search: {out} has no completed trials with checkpoints" + (f" in stage {stage}" if stage else "")
        )
    rows = rows[:k]  # results.csv is sorted best first within a stage
    return from_checkpoints([out / r["dir"] / "checkpoint.npz" for r in rows], method=method)


class Snapshots(Callback):
    """Keep a copy of the weights every ``every`` epochs (in memory, and as files when ``folder``
    is given): the checkpoints of one run as ensemble members (``ensemble()``)."""

    def __init__(self, every: int = 1, folder=None, keep_last: int | None = None):
        if int(every) < 1:
            raise ValueError(f"Snapshots: every must be a positive integer, got {every!r}")
        self.every, self.folder, self.keep_last = int(every), folder, keep_last
        self.states: list[dict] = []
        self.paths: list[str] = []

    def on_epoch_end(self, epoch, logs=None):
        if (epoch + 1) % self.every:
            return
        self.states.append({k: np.array(v, copy=True) for k, v in self.model.state_dict().items()})
        if self.folder is not None:
            from nnlab.train.checkpoint import save

            Path(self.folder).mkdir(parents=True, exist_ok=True)
            self.paths.append(
                save(
                    self.model,
                    Path(self.folder) / f"snapshot-{epoch + 1:03d}.npz",
                    builder=getattr(self.trainer, "builder", None),
                )
            )
        if self.keep_last is not None:
            del self.states[: -self.keep_last]

    def models(self) -> list:
        out = []
        for s in self.states:
            m = copy.deepcopy(self.model)
            m.load_state_dict(s)
            m.eval()
            out.append(m)
        return out

    def ensemble(self, method: str = "mean") -> Ensemble:
        if not self.states:
            raise ValueError("Snapshots: no snapshots taken yet (train for at least `every` epochs)")
        return Ensemble(self.models(), method=method)
