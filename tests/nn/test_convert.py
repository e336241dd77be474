"""FC-to-conv conversion on a scaled-down version of the notes' 224-in-384 example.

The notes: a 224 window whose trunk downsamples by 32 (five 2x2 pools) slides over a 384 image;
the converted network gives (384 - 224)/32 + 1 = 6 x 6 scores in one pass. Here: a 22x22 window,
a trunk of two unpadded 3x3 convolutions and two 2x2 pools (total stride 4), a 22 + 4*5 = 42 image,
again 6 x 6 positions.
"""

import time

import numpy as np
import pytest

import nnlab
from nnlab import nn, zoo
from nnlab.nn.convert import to_fully_convolutional, total_stride

GRID, STRIDE = 6, 4


def _net(pad, window):
    nnlab.manual_seed(0)
    s = ((window - 3 + 2 * pad + 1) // 2 - 3 + 2 * pad + 1) // 2
    return nn.Sequential(
        nn.Conv2d(3, 16, 3, padding=pad),
        nn.ReLU(),
        nn.MaxPool2d(2, 2),
        nn.Conv2d(16, 32, 3, padding=pad),
        nn.ReLU(),
        nn.MaxPool2d(2, 2),
        nn.Flatten(),
        nn.Linear(32 * s * s, 64),
        nn.ReLU(),
        nn.Dropout(0.5),
        nn.Linear(64, 10),
    ).eval()


def _windows(x, window):
    return [
        x[:, :, STRIDE * i : STRIDE * i + window, STRIDE * j : STRIDE * j + window]
        for i in range(GRID)
        for j in range(GRID)
    ]


def _scores(model, fcn, window):
    big = window + STRIDE * (GRID - 1)
    x = np.random.default_rng(1).standard_normal((1, 3, big, big)).astype(np.float32)
    with nnlab.no_grad():
        dense = fcn(nnlab.tensor(x)).data
        each = np.stack([model(nnlab.tensor(w)).data[0] for w in _windows(x, window)])
    return x, dense, each.T.reshape(1, 10, GRID, GRID)


def _one_blas_thread():
    # Both sides are timed with one BLAS thread: on a loaded machine a multithreaded GEMM can stall
    # for tens of milliseconds, which would measure the scheduler rather than the work done.
    from threadpoolctl import threadpool_limits

    return threadpool_limits(1)


def _median_ms(fn, repeats=5):
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return 1e3 * float(np.median(times))


def test_unpadded_trunk_equals_each_cropped_window_and_is_faster():
    model = _net(pad=0, window=22)
    fcn = to_fully_convolutional(model, (3, 22, 22))
    assert total_stride(model) == STRIDE
    x, dense, each = _scores(model, fcn, 22)
    assert dense.shape == (1, 10, GRID, GRID)
    np.testing.assert_allclose(dense, each, rtol=1e-5, atol=1e-5 * np.abs(each).max())
    crops = _windows(x, 22)
    with nnlab.no_grad(), _one_blas_thread():
        one_pass = _median_ms(lambda: fcn(nnlab.tensor(x)))
        per_window = _median_ms(lambda: [model(nnlab.tensor(c)) for c in crops])
    assert one_pass < per_window, (one_pass, per_window)


def test_padded_trunk_differs_at_window_borders():
    """With zero padding the crop's border sees zeros, the big image sees neighbours: not exact.
    Measured on this network: max |difference| ~3.4 on scores of magnitude ~11 (about 30%)."""
    model = _net(pad=1, window=16)
    fcn = to_fully_convolutional(model, (3, 16, 16))
    _, dense, each = _scores(model, fcn, 16)
    assert dense.shape == each.shape == (1, 10, GRID, GRID)
    rel = np.abs(dense - each).max() / np.abs(each).max()
    assert rel > 1e-2  # far beyond float32 rounding: a real difference, as documented
    assert rel < 1.0  # yet the same order: the dense map is still a usable approximation


def test_converted_layers_hold_the_fc_weights():
    model = _net(pad=0, window=22)
    fcn = to_fully_convolutional(model, (3, 22, 22))
    convs = [m for m in fcn if type(m).__name__ == "Conv2d"]
    fc1, fc2 = model[7], model[10]
    assert convs[2].weight.shape == (64, 32, 4, 4) and convs[3].weight.shape == (10, 64, 1, 1)
    np.testing.assert_array_equal(convs[2].weight.data.reshape(64, -1), fc1.weight.data)
    np.testing.assert_array_equal(convs[3].bias.data, fc2.bias.data)
    assert convs[0] is model[0]  # the trunk is shared, not copied
    with nnlab.no_grad():
        x = nnlab.tensor(np.ones((2, 3, 22, 22), dtype=np.float32))
        np.testing.assert_allclose(fcn(x).data.reshape(2, 10), model(x).data, rtol=1e-5, atol=1e-5)


def test_zoo_model_converts():
    model = zoo.lenet5()
    fcn = to_fully_convolutional(model, (1, 32, 32))  # checks the 32x32 equivalence itself
    with nnlab.no_grad():
        out = fcn(nnlab.tensor(np.zeros((1, 1, 48, 48), dtype=np.float32)))
    assert out.shape == (1, 10, 5, 5)  # (48 - 32) / 4 + 1
    assert total_stride(model) == 4


def test_conversion_errors():
    with pytest.raises(ValueError, match="has no Linear layer"):
        to_fully_convolutional(nn.Sequential(nn.Conv2d(1, 2, 3)), (1, 5, 5))
    with pytest.raises(TypeError, match="cannot convert a BatchNorm1d"):
        to_fully_convolutional(
            nn.Sequential(nn.Conv2d(1, 2, 3), nn.Flatten(), nn.Linear(18, 4), nn.BatchNorm1d(4), nn.Linear(4, 2)),
            (1, 5, 5),
        )
    with pytest.raises(ValueError, match="expected a Flatten"):
        to_fully_convolutional(nn.Sequential(nn.Linear(4, 2)), (1, 2, 2))
    with pytest.raises(ValueError, match=r"input_shape must be \(C, H, W\)"):
        to_fully_convolutional(zoo.lenet5(), (32, 32))


def test_float64_and_frozen_heads_convert_faithfully():
    nnlab.manual_seed(1)
    model = _net(pad=0, window=22).double()
    model[7].bias.requires_grad = False
    model[10].weight.requires_grad = False
    fcn = to_fully_convolutional(model, (3, 22, 22))
    convs = [m for m in fcn if type(m).__name__ == "Conv2d"]
    assert all(c.weight.dtype == np.float64 and c.bias.dtype == np.float64 for c in convs)
    assert [(c.weight.requires_grad, c.bias.requires_grad) for c in convs[2:]] == [(True, False), (False, True)]
    x = np.random.default_rng(2).standard_normal((2, 3, 22 + 4 * 3, 22 + 4 * 3))
    with nnlab.no_grad():
        dense = fcn(nnlab.tensor(x)).data
        assert dense.dtype == np.float64 and dense.shape == (2, 10, 4, 4)
        # exact up to float64 rounding at every window position
        for i, j in [(0, 0), (3, 1), (2, 3)]:
            crop = x[:, :, 4 * i : 4 * i + 22, 4 * j : 4 * j + 22]
            np.testing.assert_allclose(dense[:, :, i, j], model(nnlab.tensor(crop)).data, rtol=1e-12, atol=1e-12)
