"""ONNX export: every zoo model at a small input runs in onnxruntime and matches nnlab within 1e-5
(relative to the output's scale); unknown layers are refused by name."""

import inspect

import numpy as np
import pytest

import nnlab
from nnlab import nn, zoo

pytest.importorskip("onnx", reason="ONNX export needs the onnx extra")
ort = pytest.importorskip("onnxruntime", reason="the exported graphs are checked in onnxruntime")
from nnlab.onnx import ExportError, export  # noqa: E402

# small builds: the zoo's architectures with narrow classifier heads and small inputs
SMALL = {
    "alexnet": dict(input_size=67),
    "zfnet": dict(input_size=65),
    "googlenet": dict(input_size=32),
    "vgg11": dict(input_size=32, hidden=32),
    "vgg13": dict(input_size=32, hidden=32),
    "vgg16": dict(input_size=32, hidden=32),
    "vgg19": dict(input_size=32, hidden=32),
}


def _roundtrip(model, x, path):
    export(model, x, path)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    got = session.run(None, {"input": x})[0]
    with nnlab.no_grad():
        want = model.eval()(nnlab.tensor(x)).data
    return got, want


@pytest.mark.slow
@pytest.mark.parametrize("name", zoo.names())
def test_zoo_models_match_onnxruntime(name, tmp_path):
    nnlab.manual_seed(0)
    builder = zoo.get(name)
    params = inspect.signature(builder).parameters
    kw = dict(num_classes=10, **SMALL.get(name, {"input_size": 32} if "input_size" in params else {}))
    model = builder(**kw).eval()
    size = kw.get("input_size", params["input_size"].default if "input_size" in params else 32)
    cin = params["in_channels"].default if "in_channels" in params else 3
    x = np.random.default_rng(0).standard_normal((2, cin, size, size)).astype(np.float32)
    got, want = _roundtrip(model, x, tmp_path / f"{name}.onnx")
    assert got.shape == want.shape
    assert np.abs(got - want).max() <= 1e-5 * max(1.0, np.abs(want).max()), np.abs(got - want).max()


def test_layers_and_glue_ops(tmp_path):
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(3, 4, 3, stride=2, padding=1)
            self.bn = nn.BatchNorm2d(4)
            self.pool = nn.AvgPool2d(3, 2, ceil_mode=True)
            self.fc = nn.Linear(4 * 2 * 2 + 4, 5)
            self.drop = nn.Dropout(0.5)

        def forward(self, x):
            h = nnlab.nn.functional.relu(self.bn(self.conv(x)))
            a = self.pool(h)
            b = nnlab.nn.functional.max_pool2d(h, 2)
            flat = nnlab.cat([a.flatten(1), b.view(b.size(0), -1)[:, :4]], dim=1)
            return nn.functional.log_softmax(self.fc(self.drop(flat)), dim=1)

    nnlab.manual_seed(0)
    net = Net()
    net.bn.running_mean[:] = [0.1, -0.2, 0.3, 0.0]
    net.bn.running_var[:] = [0.5, 2.0, 1.0, 1.5]
    x = np.random.default_rng(1).standard_normal((3, 3, 8, 8)).astype(np.float32)
    got, want = _roundtrip(net, x, tmp_path / "net.onnx")
    np.testing.assert_allclose(got, want, atol=1e-5)


def test_a_layer_that_cannot_be_exported_is_named(tmp_path):
    model = nn.Sequential(nn.Linear(4, 6), nn.Maxout(6, 2, pieces=2))
    with pytest.raises(ExportError, match=r"^1 \(Maxout\): this layer cannot be exported to ONNX"):
        export(model, np.zeros((1, 4), np.float32), tmp_path / "m.onnx")
