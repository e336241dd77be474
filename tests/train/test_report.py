import numpy as np
import pytest

import nnlab
from nnlab import nn, optim
from nnlab.data import load_dataset
from nnlab.report import Section, SECTION_PROVIDERS, register_section, write_report
from nnlab.train import Trainer


def _nontrivial_png(path):
    from PIL import Image

    assert path.is_file() and path.stat().st_size > 3000, path
    a = np.asarray(Image.open(path).convert("L"), dtype=np.float64)
    assert min(a.shape) > 100 and a.std() > 5, path


@pytest.fixture(scope="module")
def trained():
    splits = load_dataset("digits8x8", seed=0)
    nnlab.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 10))
    t = Trainer(
        model, nn.CrossEntropyLoss(), optim.Adam(model.parameters(), lr=0.01), regularizer=nn.Regularizer(l2=1e-3)
    )
    t.fit(splits.train, splits.dev, epochs=3, batch_size=64)
    return t, splits


def test_report_renders_every_picture(trained, tmp_path):
    t, splits = trained
    path = write_report(
        tmp_path, trainer=t, splits=splits, metrics={"test_accuracy": 0.9, "test_loss": 0.3}, config={"lr": 0.01}
    )
    html = (tmp_path / "report.html").read_text()
    assert path.endswith("report.html") and html.startswith("<!doctype html>") and html.rstrip().endswith("</html>")
    for png in ("loss.png", "accuracy.png", "confusion.png", "misclassified.png", "weights.png"):
        _nontrivial_png(tmp_path / png)
        assert f"src='{png}'" in html
    assert "90.00%" in html and "Sequential" in html


def test_first_layer_weights_are_unit_templates(trained):
    from nnlab.report.plots import first_layer_weights

    t, splits = trained
    images, title = first_layer_weights(t.model, splits.input_shape)
    assert images.shape == (32, 1, 8, 8)
    assert np.array_equal(images[3].ravel(), t.model.state_dict()["1.weight"][3])


def test_sections_can_be_added(trained, tmp_path):
    t, splits = trained

    def extra(run_dir, trainer, s):
        return [Section("Extra", text="from a provider <b>escaped</b>")]

    register_section(extra)
    try:
        write_report(tmp_path, trainer=t, splits=splits)
    finally:
        SECTION_PROVIDERS.remove(extra)
    html = (tmp_path / "report.html").read_text()
    assert "<h2>Extra</h2>" in html and "&lt;b&gt;escaped" in html


def test_confusion_caption_agrees_with_evaluate(trained, tmp_path):
    t, splits = trained
    write_report(tmp_path, trainer=t, splits=splits)
    html = (tmp_path / "report.html").read_text()
    acc = t.evaluate(splits.test)["accuracy"]
    n = len(splits.test)
    assert f"{n} examples, {round(acc * n)} correct, accuracy {acc * 100:.2f}%" in html


def test_a_run_without_any_finished_epoch_still_draws(tmp_path):
    import warnings
    from pathlib import Path
    from nnlab.report.plots import plot_accuracy, plot_loss
    from nnlab.train import History

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "no artists with labels" legend warning
        _nontrivial_png(Path(plot_accuracy(History(), tmp_path / "a.png")))
        _nontrivial_png(Path(plot_loss(History(), tmp_path / "l.png")))
