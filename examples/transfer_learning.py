"""Transfer learning on the bundled digits: pretrain on 0-4, then learn 5-9 from 50 examples per class.

Four ways to use the small labelled set, all with the same number of epochs on it:

1. from scratch: random initialisation, train everything;
2. fine-tune: start from the 0-4 network's convolutional trunk with a new classifier, train the
   classifier with a larger learning rate and the trunk with a smaller one (parameter groups);
3. frozen trunk: the same, but the trunk is frozen (no gradient, no update);
4. feature extraction: run the frozen trunk once over the data and train only a linear
   classifier on the extracted features.

The trunk is the convolutional part: the FC layers after it are specific to digits 0-4 (a linear
classifier on the 64 FC features of the 0-4 network reaches only ~0.5-0.7 on 5-9, against ~0.93
on the convolutional features), as the notes say: the more the new task differs, the more of
the upper layers must be retrained.

Run: python examples/transfer_learning.py
"""

from __future__ import annotations

import os
import time

# The GEMMs of this small network are too small to gain from BLAS threads, and on a busy machine
# threads that wait for each other made a run 15x slower (49 s against 3 s): use one.
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy as np  # noqa: E402  (after the thread settings, which numpy reads at import)

import nnlab  # noqa: E402
from nnlab import nn, optim  # noqa: E402
from nnlab.data import load_dataset  # noqa: E402
from nnlab.nn import transfer  # noqa: E402
from nnlab.train import Trainer  # noqa: E402


class SmallCNN(nn.Module):
    """[CONV3-8 -> RELU -> POOL2] -> [CONV3-16 -> RELU -> POOL2] -> FC 64 -> RELU -> FC classes."""

    def __init__(self, num_classes: int = 5):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 8, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2, 2),
            nn.Conv2d(8, 16, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2, 2),
        )
        self.flatten = nn.Flatten()
        self.classifier = nn.Sequential(nn.Linear(16 * 7 * 7, 64), nn.ReLU(), nn.Linear(64, num_classes))

    def trunk(self):
        """Everything but the last layer: the shared feature extractor."""
        return nn.Sequential(self.features, self.flatten, self.classifier[0], self.classifier[1])

    def forward(self, x):
        return self.classifier(self.flatten(self.features(x)))


def split_digits(seed: int = 0, per_class: int = 50):
    """(pretraining set: the training split's 0-4, small 5-9 training set drawn from the training
    split's 5-9, 5-9 test set from the held-out dev and test splits); labels 5-9 become 0-4."""
    data = load_dataset("mnist5k", seed=seed)
    tr = data.train
    X_out = np.concatenate([data.dev.X, data.test.X])
    y_out = np.concatenate([data.dev.y, data.test.y])
    low = tr.y < 5
    rng = np.random.default_rng(seed)
    pick = np.concatenate([rng.choice(np.flatnonzero(tr.y == c), per_class, replace=False) for c in range(5, 10)])
    high = y_out >= 5
    return (tr.X[low], tr.y[low]), (tr.X[pick], tr.y[pick] - 5), (X_out[high], y_out[high] - 5)


def _fit(model, params, data, epochs, seed, batch_size=25):
    trainer = Trainer(model, nn.CrossEntropyLoss(), optim.Adam(params, lr=3e-3), seed=seed)
    trainer.fit(data, epochs=epochs, batch_size=batch_size)
    return trainer


def run(
    seeds=(0, 1, 2, 3, 4), pretrain_epochs: int = 3, epochs: int = 3, per_class: int = 50, verbose: bool = True
) -> dict:
    """Pretrain once, then train each variant once per seed; returns mean 5-9 test accuracies
    (and the per-seed lists under "<variant>_runs") plus timings."""
    say = print if verbose else (lambda *a, **k: None)
    t0 = time.perf_counter()
    pre, small, test = split_digits(0, per_class)
    say(
        f"pretraining set (digits 0-4): {len(pre[1])}; new task (5-9): {len(small[1])} labelled, "
        f"{len(test[1])} test images"
    )
    nnlab.manual_seed(0)
    base = SmallCNN(5)
    _fit(base, base.parameters(), pre, pretrain_epochs, 0, batch_size=64)
    results = {"pretrain_seconds": time.perf_counter() - t0}
    runs = {"scratch": [], "finetune": [], "frozen": [], "features": []}
    for seed in seeds:
        # 1. from scratch
        nnlab.manual_seed(seed + 1)
        net = SmallCNN(5)
        runs["scratch"].append(_fit(net, net.parameters(), small, epochs, seed).evaluate(test)["accuracy"])

        # 2. fine-tune: pretrained conv trunk, new classifier; the trunk learns 3x more slowly
        nnlab.manual_seed(seed + 1)
        net = SmallCNN(5)
        net.features.load_state_dict(base.features.state_dict())
        groups = transfer.param_groups(net, {"features": 1e-3, "classifier": 3e-3})
        runs["finetune"].append(_fit(net, groups, small, epochs, seed).evaluate(test)["accuracy"])

        # 3. frozen trunk: the notes' recipe, only the new classifier is trained
        nnlab.manual_seed(seed + 1)
        net = SmallCNN(5)
        net.features.load_state_dict(base.features.state_dict())
        transfer.freeze(net, "features")
        runs["frozen"].append(
            _fit(net, transfer.trainable_parameters(net), small, epochs, seed).evaluate(test)["accuracy"]
        )

        # 4. feature extraction: run the frozen trunk once, train a linear classifier on the features
        nnlab.manual_seed(seed + 1)
        trunk = nn.Sequential(base.features, base.flatten)
        f_small, f_test = transfer.extract_features(trunk, small[0]), transfer.extract_features(trunk, test[0])
        head = nn.Linear(f_small.shape[1], 5, init="xavier")
        runs["features"].append(
            _fit(head, head.parameters(), (f_small, small[1]), epochs, seed).evaluate((f_test, test[1]))["accuracy"]
        )
    for k, v in runs.items():
        results[k] = float(np.mean(v))
        results[k + "_runs"] = v
    results["seconds"] = time.perf_counter() - t0

    say(f"mean 5-9 test accuracy over seeds {tuple(seeds)}, {epochs} epochs on {len(small[1])} examples:")
    say(f"  from scratch                  {results['scratch']:.3f}")
    say(f"  fine-tuned pretrained trunk   {results['finetune']:.3f}")
    say(f"  frozen trunk, new classifier  {results['frozen']:.3f}")
    say(f"  linear on extracted features  {results['features']:.3f}")
    say(f"total {results['seconds']:.1f} s (pretraining {results['pretrain_seconds']:.1f} s)")
    return results


if __name__ == "__main__":
    run()
