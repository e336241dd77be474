import subprocess
import sys

import numpy as np
import pytest

pytest.importorskip("sklearn", reason="nnlab.forest needs scikit-learn (the forest extra)")

from sklearn.base import clone  # noqa: E402
from sklearn.datasets import load_digits  # noqa: E402

from nnlab.forest import CascadeForest, extract_windows  # noqa: E402

SMALL = dict(n_estimators=(1, 1), n_trees=10, max_layers=4, patience=1, random_state=0)


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    rng = np.random.default_rng(0)
    idx = rng.permutation(len(X))
    return X[idx[:500]], y[idx[:500]], X[idx[500:800]], y[idx[500:800]]


@pytest.mark.parametrize("class_vectors", ["kfold", "oob"])
def test_cascade_learns_digits_and_records_each_level(digits, class_vectors):
    Xtr, ytr, Xte, yte = digits
    m = CascadeForest(class_vectors=class_vectors, **SMALL).fit(Xtr, ytr)
    assert m.score(Xte, yte) > 0.88
    P = m.predict_proba(Xte)
    assert P.shape == (len(Xte), 10)
    np.testing.assert_allclose(P.sum(1), 1.0)
    np.testing.assert_array_equal(m.predict(Xte), m.classes_[P.argmax(1)])
    assert 1 <= m.n_layers_ <= len(m.layers_) <= 4
    levels = m.layers_
    assert [rec["layer"] for rec in levels] == list(range(1, len(levels) + 1))
    assert levels[0]["n_features"] == 64 and all(rec["n_features"] == 64 + 2 * 10 for rec in levels[1:])
    # the kept depth is the first level with the best estimate; growth stopped after `patience` misses
    accs = [rec["train_accuracy"] for rec in levels]
    assert m.n_layers_ == int(np.argmax(accs)) + 1
    assert len(levels) == 4 or len(levels) == m.n_layers_ + 1
    assert [rec["kept"] for rec in levels] == [i < m.n_layers_ for i in range(len(levels))]
    per_forest = 10 * (3 if class_vectors == "kfold" else 1)
    assert m.n_trees_ == m.n_layers_ * 2 * per_forest


@pytest.mark.parametrize("class_vectors", ["kfold", "oob"])
def test_class_vectors_are_out_of_fold_not_in_sample(class_vectors):
    """On random labels a forest fits its own training samples almost perfectly; class vectors
    that never saw their sample's label score at chance, and the cascade stays shallow."""
    rng = np.random.default_rng(1)
    X, y = rng.standard_normal((300, 10)), rng.integers(0, 2, 300)
    m = CascadeForest(
        class_vectors=class_vectors, n_estimators=(1, 1), n_trees=20, max_layers=5, patience=2, random_state=0
    ).fit(X, y)
    assert m.layers_[0]["train_accuracy"] < 0.62
    from sklearn.ensemble import RandomForestClassifier

    assert RandomForestClassifier(20, random_state=0).fit(X, y).score(X, y) > 0.9  # what leaking would show
    assert m.n_layers_ <= 2


def test_validation_fraction_judges_levels_on_held_out_data(digits):
    Xtr, ytr, Xte, yte = digits
    m = CascadeForest(validation_fraction=0.25, **SMALL).fit(Xtr, ytr)
    vals = [rec["val_accuracy"] for rec in m.layers_]
    assert all(isinstance(v, float) and 0.8 < v <= 1 for v in vals)
    assert m.n_layers_ == int(np.argmax(vals)) + 1 and m.best_score_ == max(vals)


def test_labels_are_kept_as_given_and_sklearn_can_clone_it(digits):
    Xtr, ytr, Xte, yte = digits
    names = np.array(list("abcdefghij"))
    m = CascadeForest(**SMALL, n_jobs=2).fit(Xtr, names[ytr])
    assert set(m.predict(Xte[:20])) <= set(names)
    assert m._levels[0][0][0].n_jobs == 2
    c = clone(m)
    assert c.get_params()["n_trees"] == 10 and not hasattr(c, "classes_")


def test_extract_windows_matches_a_loop():
    rng = np.random.default_rng(0)
    imgs = rng.random((2, 3, 6, 5)).astype(np.float32)
    w = extract_windows(imgs, 3, stride=2)
    expect = [
        imgs[n, :, i : i + 3, j : j + 3].ravel() for n in range(2) for i in range(0, 4, 2) for j in range(0, 3, 2)
    ]
    np.testing.assert_array_equal(w.reshape(-1, 27), np.array(expect))
    assert w.shape == (2, 4, 27)


def test_multi_grained_scanning_on_8x8_images(digits):
    Xtr, ytr, Xte, yte = digits
    img_tr, img_te = Xtr.reshape(-1, 8, 8) / 16, Xte.reshape(-1, 8, 8) / 16
    m = CascadeForest(scanning=[4], scan_trees=5, scan_stride=2, **{**SMALL, "random_state": 123456}).fit(img_tr, ytr)
    # 3x3 window positions x (rf + crf) x 10 classes
    assert m.layers_[0]["n_features"] == 9 * 2 * 10
    assert m.score(img_te, yte) > 0.8
    with pytest.raises(ValueError, match="fitted on images of shape"):
        m.predict(np.zeros((2, 7, 7)))


@pytest.mark.parametrize(
    "kwargs, X, y, match",
    [
        (dict(n_estimators=0), None, None, "n_estimators must be an int >= 1 or a pair"),
        (dict(n_estimators=(0, 0)), None, None, "n_estimators must be"),
        (dict(class_vectors="bagging"), None, None, "class_vectors must be 'kfold' or 'oob'"),
        (dict(k=1), None, None, "k must be an int >= 2"),
        (dict(n_trees=0), None, None, "n_trees must be an int >= 1"),
        (dict(patience=0), None, None, "patience must be an int >= 1"),
        (dict(validation_fraction=1.5), None, None, "validation_fraction must be None or a fraction"),
        (dict(scanning=[0]), None, None, "scanning must be None or a list of window sizes"),
        (dict(scanning=[3]), np.zeros((10, 64)), None, r"scanning needs images of shape \(n, H, W\)"),
        (dict(), np.full((10, 4), np.nan), None, "X contains NaN"),
        (dict(), np.zeros((10, 4)), np.zeros(9), "y must be a vector with one label per sample"),
        (dict(), np.zeros((10, 4)), np.zeros(10), "needs at least 2 classes"),
    ],
)
def test_bad_arguments_are_named(kwargs, X, y, match):
    X = np.random.default_rng(0).random((10, 4)) if X is None else X
    y = np.arange(10) % 2 if y is None else y
    with pytest.raises(ValueError, match=match):
        CascadeForest(**{**dict(n_trees=2), **kwargs}).fit(X, y)


def test_predict_needs_fit_and_the_same_features(digits):
    Xtr, ytr, _, _ = digits
    with pytest.raises(RuntimeError, match="call fit first"):
        CascadeForest().predict(Xtr)
    m = CascadeForest(**SMALL).fit(Xtr[:100], ytr[:100])
    with pytest.raises(ValueError, match="X has 63 features, the cascade was fitted on 64"):
        m.predict(Xtr[:5, :63])


def test_missing_scikit_learn_is_a_clear_import_error():
    code = (
        "import sys; sys.modules['sklearn'] = None\n"
        "try:\n    import nnlab.forest\nexcept ImportError as e:\n    print(e)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert "nnlab.forest needs scikit-learn" in out.stdout and "nnlab[forest]" in out.stdout, out


def test_compare_redraws_its_figures_from_results(tmp_path, capsys):
    import json
    from nnlab.forest import compare

    rows = [
        {"dataset": "digits", "model": m, "seed": s, "accuracy": a, "trees": t, "wall": 1.0, "layers": 2}
        for s in range(2)
        for m, a, t in (
            ("cascade", 0.98, 2400),
            ("random forest", 0.975, 2400),
            ("random forest", 0.97, 400),
            ("nnlab mlp", 0.96, 0),
        )
    ]
    depth = [
        {
            "dataset": "digits",
            "n_train": n,
            "seed": s,
            "layers": 1 + (n > 200),
            "cascade": 0.9,
            "forest400": 0.9,
            "level_accuracy": [0.9],
        }
        for n in (100, 400)
        for s in range(2)
    ]
    (tmp_path / "results.json").write_text(json.dumps({"compare": rows, "depth": depth}))
    assert compare.main(["--out", str(tmp_path), "--redraw"]) == 0
    out = capsys.readouterr().out
    assert "cascade         98.00 +- 0.00" in out and "RF, 400 trees   97.00" in out
    assert (tmp_path / "compare.png").stat().st_size > 1000 and (tmp_path / "depth.png").stat().st_size > 1000
