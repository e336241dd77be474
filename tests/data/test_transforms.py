import numpy as np
import pytest

from nnlab.data import transforms as T


@pytest.fixture
def batch():
    return np.random.default_rng(0).random((16, 3, 9, 11)).astype(np.float32)


def g(seed=0):
    return np.random.default_rng(seed)


ALL = [
    T.RandomHorizontalFlip(0.5),
    T.RandomVerticalFlip(0.5),
    T.RandomCrop((9, 11), padding=2),
    T.RandomTranslate(3),
    T.RandomRotation(20),
    T.RandomRotation(20, interpolation="nearest"),
    T.ColorJitter(0.3, 0.3, 0.3),
    T.RandomGrayscale(0.5),
]


@pytest.mark.parametrize("t", ALL, ids=repr)
def test_shape_dtype_determinism_and_no_inplace(t, batch):
    before = batch.copy()
    a, b = t(batch, g(1)), t(batch, g(1))
    assert a.shape == batch.shape and a.dtype == np.float32
    assert np.array_equal(a, b)
    assert np.array_equal(batch, before)
    assert not np.array_equal(a, t(batch, g(2)))  # randomness actually used
    assert repr(t).startswith(type(t).__name__ + "(")


@pytest.mark.parametrize("t", ALL, ids=repr)
def test_rejects_non_batches_and_non_generators(t, batch):
    with pytest.raises(ValueError, match=r"\(N, C, H, W\)"):
        t(batch[0], g())
    with pytest.raises(TypeError, match="Generator"):
        t(batch, 0)


def test_flips_are_mirror_images_per_item(batch):
    out = T.RandomHorizontalFlip(0.5)(batch, g(3))
    flipped = np.array([np.array_equal(o, x[:, :, ::-1]) for o, x in zip(out, batch)])
    kept = np.array([np.array_equal(o, x) for o, x in zip(out, batch)])
    assert np.all(flipped ^ kept) and flipped.any() and kept.any()
    assert np.array_equal(T.RandomVerticalFlip(1.0)(batch, g()), batch[:, :, ::-1, :])
    assert np.array_equal(T.RandomHorizontalFlip(0.0)(batch, g()), batch)


def test_crop_keeps_content_shifted():
    x = np.random.default_rng(0).random((32, 2, 6, 6)).astype(np.float32) + 1.0  # no zeros inside
    out = T.RandomCrop(6, padding=2)(x, g(5))
    shifts = set()
    for o, xi in zip(out, x):
        hits = [(dy, dx) for dy in range(-2, 3) for dx in range(-2, 3) if _matches_shift(o, xi, dy, dx)]
        assert len(hits) == 1
        shifts.add(hits[0])
    assert len(shifts) > 5  # different images get different shifts


def _matches_shift(o, x, dy, dx):
    """o equals x moved by (dy, dx) with zeros shifted in."""
    ref = np.zeros_like(x)
    h, w = x.shape[1:]
    ref[:, max(dy, 0) : h + min(dy, 0), max(dx, 0) : w + min(dx, 0)] = x[
        :, max(-dy, 0) : h + min(-dy, 0), max(-dx, 0) : w + min(-dx, 0)
    ]
    return np.array_equal(o, ref)


def test_smaller_crop_and_translate_bounds():
    x = np.arange(2 * 1 * 8 * 8, dtype=np.float32).reshape(2, 1, 8, 8)
    out = T.RandomCrop(5)(x, g())
    assert out.shape == (2, 1, 5, 5)
    for o, xi in zip(out, x):  # an unpadded crop is a contiguous window of the image
        top, left = divmod(int(o[0, 0, 0]) % 64, 8)
        assert np.array_equal(o[0], xi[0, top : top + 5, left : left + 5])
    t = T.RandomTranslate(2)(x + 1, g(7))
    assert t.shape == x.shape and (t == 0).sum() <= 2 * (8 * 8 - 6 * 6)
    with pytest.raises(ValueError, match="does not fit"):
        T.RandomCrop(12, padding=1)(x, g())


def test_rotation_matches_rot90_and_identity(batch):
    sq = batch[:, :, :9, :9]
    assert np.allclose(T.rotate(sq, np.full(16, np.pi / 2)), np.rot90(sq, axes=(2, 3)), atol=1e-5)
    assert np.allclose(T.rotate(sq, np.zeros(16)), sq, atol=1e-6)
    assert np.allclose(T.RandomRotation((0, 0))(batch, g()), batch, atol=1e-6)
    # small rotations keep the centre pixel and keep values within the input range
    out = T.RandomRotation(15)(sq, g(2))
    assert np.allclose(out[:, :, 4, 4], sq[:, :, 4, 4], atol=1e-5)
    assert out.min() >= 0 and out.max() <= 1 + 1e-6


def test_rotation_is_counter_clockwise_for_positive_angles():
    x = np.zeros((1, 1, 7, 7), np.float32)
    x[0, 0, 3, 6] = 1.0  # a dot to the right of the centre
    out = T.rotate(x, np.array([np.pi / 2]), "nearest")
    assert out[0, 0, 0, 3] == 1.0  # ends up above the centre


def test_color_jitter():
    rng = np.random.default_rng(0)
    x = rng.random((50, 3, 4, 4)).astype(np.float32) * 0.5 + 0.25
    b = T.ColorJitter(brightness=0.4, clip=None)(x, g(1))
    ratio = (b / x).reshape(50, -1)
    assert np.allclose(ratio, ratio[:, :1], rtol=1e-5)  # one factor per image
    assert 0.6 - 1e-6 <= ratio.min() and ratio.max() <= 1.4 + 1e-6 and ratio.std() > 0.05
    c = T.ColorJitter(contrast=0.5, clip=None)(x, g(1))
    gray_mean = lambda a: T._gray(a).mean(axis=(1, 2, 3))
    assert np.allclose(gray_mean(c), gray_mean(x), atol=1e-5)  # contrast keeps mean brightness
    s = T.ColorJitter(saturation=1.0, clip=None)(x, g(1))
    assert np.allclose(T._gray(s), T._gray(x), atol=1e-5)  # saturation keeps luma
    gray_in = np.repeat(x[:, :1], 3, axis=1)
    assert np.allclose(T.ColorJitter(saturation=1.0)(gray_in, g()), gray_in)
    clipped = T.ColorJitter(brightness=5.0)(x, g(3))
    assert clipped.min() >= 0 and clipped.max() <= 1


def test_grayscale():
    x = np.random.default_rng(0).random((4, 3, 5, 5)).astype(np.float32)
    gray = T.Grayscale()(x)
    assert gray.shape == (4, 1, 5, 5)
    assert np.allclose(gray[:, 0], 0.299 * x[:, 0] + 0.587 * x[:, 1] + 0.114 * x[:, 2], atol=1e-6)
    three = T.Grayscale(3)(x)
    assert three.shape == x.shape and np.array_equal(three[:, 0], three[:, 2])
    one = x[:, :1]
    assert np.array_equal(T.Grayscale()(one), one)
    rg = T.RandomGrayscale(1.0)(x, g())
    assert np.allclose(rg, three)


def test_compose_order_and_repr(batch):
    c = T.Compose([T.RandomHorizontalFlip(1.0), T.RandomCrop((9, 11), padding=0)])
    assert np.array_equal(c(batch, g()), batch[..., ::-1])
    assert "RandomHorizontalFlip(p=1.0)" in repr(c) and "RandomCrop" in repr(c)
    with pytest.raises(TypeError, match="item 0"):
        T.Compose([42])


def test_bad_arguments():
    with pytest.raises(ValueError, match="probability"):
        T.RandomHorizontalFlip(1.5)
    with pytest.raises(ValueError, match="interpolation"):
        T.RandomRotation(10, interpolation="cubic")
    with pytest.raises(ValueError, match="brightness"):
        T.ColorJitter(brightness=-1)
    with pytest.raises(ValueError, match="num_output_channels"):
        T.Grayscale(2)


def test_trainer_augments_training_batches_only():
    """Trainer.fit(augment=...) transforms every training batch (seeded per batch) and never the
    validation data; the data set itself is left untouched."""
    import nnlab
    from nnlab import nn, optim
    from nnlab.train import Trainer

    seen = []

    def spy(x, rng):
        seen.append(x.shape[0])
        return T.RandomHorizontalFlip(0.5)(x, rng)

    rng = np.random.default_rng(0)
    X = rng.random((40, 1, 6, 6)).astype(np.float32)
    y = rng.integers(0, 3, 40)
    Xv = rng.random((25, 1, 6, 6)).astype(np.float32)
    yv = rng.integers(0, 3, 25)
    X_before = X.copy()
    nnlab.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU(), nn.Flatten(), nn.Linear(32, 3))
    trainer = Trainer(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.1), seed=0)
    history = trainer.fit((X, y), val=(Xv, yv), epochs=2, batch_size=16, augment=spy)
    assert seen == [16, 16, 8] * 2  # training batches only, both epochs
    assert "val_loss" in history.history
    np.testing.assert_array_equal(X, X_before)
    seen.clear()
    trainer.evaluate((Xv, yv))
    assert seen == []


def test_sizes_are_not_truncated_and_jitter_refuses_out_of_range_input():
    for bad in (2.5, (3.7, 4), (3,), "3"):
        with pytest.raises(ValueError, match=r"RandomCrop: size must be an int or a \(height, width\) pair of ints"):
            T.RandomCrop(bad)
    with pytest.raises(ValueError, match="RandomTranslate: max_shift must be"):
        T.RandomTranslate(1.5)
    pixels = np.random.default_rng(0).integers(0, 256, (2, 3, 4, 4)).astype(np.float32)  # 0-255 images
    with pytest.raises(ValueError, match=r"ColorJitter: input values span \[.*255\], outside clip=\(0.0, 1.0\)"):
        T.ColorJitter(brightness=0.2)(pixels, g())
    out = T.ColorJitter(brightness=0.2, clip=(0, 255))(pixels, g())
    assert out.max() <= 255 and out.max() > 1
    assert T.ColorJitter(brightness=0.2, clip=None)(pixels - 128, g()).min() < 0
