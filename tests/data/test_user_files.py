"""User data (.npz, .csv, image folders) and the one-line errors for bad input."""

import numpy as np
import pytest

import nnlab.data as nd

PIL = pytest.importorskip("PIL", reason="image folders need Pillow")
from PIL import Image  # noqa: E402


def _one_line(excinfo):
    msg = str(excinfo.value)
    assert "\n" not in msg and len(msg) > 20
    return msg


# ---------------------------------------------------------------- names and paths
def test_unknown_name_lists_known_ones():
    with pytest.raises(nd.DataError) as e:
        nd.load_dataset("mnist-full")
    msg = _one_line(e)
    for name in ("mnist5k", "digits8x8", "spiral", "moons"):
        assert name in msg


def test_missing_file_is_file_not_found_and_data_error(tmp_path):
    for target in (tmp_path / "nope.npz", tmp_path / "nope.csv", tmp_path / "no_folder" / "x"):
        with pytest.raises(FileNotFoundError) as e:
            nd.load_dataset(target)
        assert isinstance(e.value, nd.DataError)
        assert "no such file" in _one_line(e)


def test_unsupported_suffix(tmp_path):
    f = tmp_path / "data.txt"
    f.write_text("1,2,3\n")
    with pytest.raises(nd.DataError, match="unsupported file type"):
        nd.load_dataset(f)


# ---------------------------------------------------------------- npz
def test_npz_images_get_a_channel_axis_and_string_labels_are_mapped(tmp_path):
    X = np.random.default_rng(0).integers(0, 2, (60, 5, 5)).astype(np.float64)
    y = np.array(["cat", "dog", "emu"] * 20)
    np.savez(tmp_path / "d.npz", X=X, y=y)
    s = nd.load_dataset(tmp_path / "d.npz", splits=(40, 10, 10))
    assert s.input_shape == (1, 5, 5) and s.num_classes == 3 and s.class_names == ["cat", "dog", "emu"]
    assert s.name == "d" and s.sizes() == (40, 10, 10)
    assert sum(len(p) for p in s) == 60


def test_npz_missing_keys_and_garbage(tmp_path):
    np.savez(tmp_path / "a.npz", data=np.zeros((3, 2)), labels=np.zeros(3))
    with pytest.raises(nd.DataError) as e:
        nd.load_dataset(tmp_path / "a.npz")
    assert "'X' and 'y'" in _one_line(e) and "data" in str(e.value)
    (tmp_path / "b.npz").write_bytes(b"garbage")
    with pytest.raises(nd.DataError, match="not an .npz archive"):
        nd.load_dataset(tmp_path / "b.npz")
    np.savez(tmp_path / "c.npz", X=np.zeros((3, 2)), y=np.zeros(4))
    with pytest.raises(nd.DataError, match="shape"):
        nd.load_dataset(tmp_path / "c.npz")
    np.savez(tmp_path / "d.npz", X=np.zeros((3, 2)), y=np.array([0.5, 1, 2]))
    with pytest.raises(nd.DataError, match="non-integer"):
        nd.load_dataset(tmp_path / "d.npz")


# ---------------------------------------------------------------- csv
def _write(path, text):
    path.write_text(text)
    return path


def test_csv_with_header_and_named_label(tmp_path):
    rows = "\n".join(f"{i},{i * 0.5},{'ab'[i % 2]},{i % 3}" for i in range(30))
    f = _write(tmp_path / "t.csv", "a,b,kind,extra\n" + rows + "\n")
    s = nd.load_dataset(f, label_column="kind", splits=(20, 5, 5))
    assert s.input_shape == (3,) and s.class_names == ["a", "b"]
    # the label column is removed from the features, the others stay in order
    X = np.concatenate([p.X for p in s])
    assert np.allclose(np.sort(X[:, 1]), np.arange(30) * 0.5)


def test_csv_default_last_column_without_header(tmp_path):
    f = _write(tmp_path / "t.csv", "".join(f"{i},{-i},{i % 2}\n" for i in range(20)))
    d = nd.load_csv(f)
    assert d.input_shape == (2,) and d.num_classes == 2
    assert np.array_equal(d.y, np.arange(20) % 2)
    d = nd.load_csv(f, label_column=0)
    assert d.num_classes == 20


def test_csv_non_numeric_cell_names_row_and_column(tmp_path):
    f = _write(tmp_path / "t.csv", "x,y,label\n1,2,0\n3,oops,1\n")
    with pytest.raises(nd.DataError) as e:
        nd.load_csv(f)
    msg = _one_line(e)
    assert "row 3" in msg and "column 2" in msg and "'y'" in msg and "oops" in msg
    g = _write(tmp_path / "u.csv", "1,2,0\n3,4,1\n5,,1\n")
    with pytest.raises(nd.DataError, match="row 3, column 2"):
        nd.load_csv(g)


def test_csv_missing_label_column(tmp_path):
    f = _write(tmp_path / "t.csv", "x,y,label\n1,2,0\n3,4,1\n")
    with pytest.raises(nd.DataError) as e:
        nd.load_csv(f, label_column="target")
    assert "'target' not found" in _one_line(e) and "label" in str(e.value)
    with pytest.raises(nd.DataError, match="out of range"):
        nd.load_csv(f, label_column=7)
    g = _write(tmp_path / "u.csv", "1,2,0\n3,4,1\n")
    with pytest.raises(nd.DataError, match="no header"):
        nd.load_csv(g, label_column="label")


def test_csv_ragged_empty_and_single_column(tmp_path):
    with pytest.raises(nd.DataError, match="row 2 has 2 cells, expected 3"):
        nd.load_csv(_write(tmp_path / "r.csv", "1,2,0\n3,1\n"))
    with pytest.raises(nd.DataError, match="empty"):
        nd.load_csv(_write(tmp_path / "e.csv", ""))
    with pytest.raises(nd.DataError, match="feature column"):
        nd.load_csv(_write(tmp_path / "s.csv", "1\n2\n"))


# ---------------------------------------------------------------- image folders
def _img(path, size=(6, 4), mode="L", value=128):
    path.parent.mkdir(parents=True, exist_ok=True)
    color = value if mode == "L" else (value, 0, 255 - value)
    Image.new(mode, size, color).save(path)


def test_image_folder_grayscale(tmp_path):
    for k, cls in enumerate(["cat", "dog"]):
        for i in range(5):
            _img(tmp_path / cls / f"{i}.png", value=50 * k + i)
    d = nd.load_image_folder(tmp_path)
    assert d.X.shape == (10, 1, 4, 6) and d.class_names == ["cat", "dog"]  # size is (W, H) in Pillow
    assert np.allclose(d.X[d.y == 1].mean(axis=(1, 2, 3)), (50 + np.arange(5)) / 255)
    s = nd.load_dataset(tmp_path, splits=(6, 2, 2))
    assert s.num_classes == 2 and s.input_shape == (1, 4, 6)


def test_image_folder_rgb_jpeg_and_resize(tmp_path):
    _img(tmp_path / "a" / "0.jpg", size=(10, 10), mode="RGB", value=200)
    _img(tmp_path / "b" / "0.png", size=(7, 5), mode="L")
    d = nd.load_image_folder(tmp_path, image_size=8)
    assert d.X.shape == (2, 3, 8, 8)  # one colour image makes the set RGB
    assert abs(d.X[0, 0].mean() - 200 / 255) < 0.05 and abs(d.X[0, 2].mean() - 55 / 255) < 0.05
    g = nd.load_image_folder(tmp_path, image_size=(4, 3), color="grayscale")
    assert g.X.shape == (2, 1, 4, 3)


def test_image_folder_without_classes(tmp_path):
    _img(tmp_path / "loose.png")
    with pytest.raises(nd.DataError) as e:
        nd.load_dataset(tmp_path)
    assert "no class sub-folders" in _one_line(e)


def test_image_folder_empty_class(tmp_path):
    _img(tmp_path / "a" / "0.png")
    (tmp_path / "b").mkdir()
    with pytest.raises(nd.DataError, match="no PNG/JPEG"):
        nd.load_image_folder(tmp_path)


def test_image_folder_mixed_sizes_need_image_size(tmp_path):
    _img(tmp_path / "a" / "0.png", size=(6, 4))
    _img(tmp_path / "b" / "1.png", size=(8, 8))
    with pytest.raises(nd.DataError) as e:
        nd.load_image_folder(tmp_path)
    msg = _one_line(e)
    assert "image_size" in msg and "6x4" in msg and "8x8" in msg
    assert nd.load_image_folder(tmp_path, image_size=(5, 5)).X.shape == (2, 1, 5, 5)


def test_image_folder_unreadable_image(tmp_path):
    _img(tmp_path / "a" / "0.png")
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "broken.png").write_bytes(b"\x89PNG not really")
    with pytest.raises(nd.DataError) as e:
        nd.load_image_folder(tmp_path)
    assert "broken.png" in _one_line(e) and "cannot read" in str(e.value)


def test_load_images_for_prediction(tmp_path):
    _img(tmp_path / "a.png", size=(28, 28), value=0)
    dark_on_light = Image.new("L", (28, 28), 255)
    dark_on_light.paste(0, (10, 10, 18, 18))
    dark_on_light.save(tmp_path / "b.png")
    X = nd.load_images([tmp_path / "a.png", tmp_path / "b.png"])
    assert X.shape == (2, 1, 28, 28) and X.dtype == np.float32
    auto = nd.load_images([tmp_path / "a.png", tmp_path / "b.png"], invert="auto")
    assert np.array_equal(auto[0], X[0])  # already light-on-dark: untouched
    assert np.allclose(auto[1], 1 - X[1]) and auto[1, 0, 0, 0] == 0 and auto[1, 0, 14, 14] == 1
    assert nd.load_images([tmp_path / "a.png"], image_size=8).shape == (1, 1, 8, 8)
    with pytest.raises(FileNotFoundError) as e:
        nd.load_images([tmp_path / "missing.png"])
    assert isinstance(e.value, nd.DataError) and "missing.png" in _one_line(e)
    _img(tmp_path / "small.png", size=(8, 8))
    with pytest.raises(nd.DataError, match="image_size"):
        nd.load_images([tmp_path / "a.png", tmp_path / "small.png"])


def test_csv_negative_and_float_labels(tmp_path):
    d = nd.load_csv(_write(tmp_path / "pm.csv", "1,2,-1\n3,4,1\n5,6,-1\n"))
    assert d.class_names == ["-1", "1"] and list(d.y) == [0, 1, 0]
    d = nd.load_csv(_write(tmp_path / "f.csv", "1,2,2.0\n3,4,0.0\n"))
    assert list(d.y) == [2, 0] and d.num_classes == 3
    with pytest.raises(nd.DataError, match="non-integer values such as 0.5"):
        nd.load_csv(_write(tmp_path / "g.csv", "1,2,0.5\n3,4,1\n"))


def test_sparse_integer_labels_are_renumbered_not_expanded(tmp_path):
    # codes such as 10/20/1e9 must not make a billion empty classes
    d = nd.load_csv(_write(tmp_path / "s.csv", "1,2,1000000000\n3,4,20\n5,6,20\n"))
    assert d.class_names == ["20", "1000000000"] and list(d.y) == [1, 0, 0] and d.num_classes == 2
    # dense labels with a gap keep their values (a missing digit stays in place)
    d = nd.load_csv(_write(tmp_path / "d.csv", "1,2,3\n3,4,0\n5,6,1\n"))
    assert list(d.y) == [3, 0, 1] and d.num_classes == 4


def test_missing_labels_and_non_finite_npz_features(tmp_path):
    with pytest.raises(nd.DataError, match="label of sample 1 is empty") as e:
        nd.load_csv(_write(tmp_path / "e.csv", "x,y,label\n1,2,\n3,4,b\n"))
    assert "\n" not in str(e.value)
    with pytest.raises(nd.DataError, match="finite class indices"):
        nd.load_csv(_write(tmp_path / "n.csv", "1,2,nan\n3,4,1\n"))
    np.savez(tmp_path / "nan.npz", X=np.array([[1.0, 2.0], [np.nan, 0.0]]), y=np.array([0, 1]))
    with pytest.raises(nd.DataError, match="NaN or infinite values .first in sample 1"):
        nd.load_npz(tmp_path / "nan.npz")


def test_csv_with_another_separator_says_so(tmp_path):
    with pytest.raises(nd.DataError, match="separate cells with ';'"):
        nd.load_csv(_write(tmp_path / "semi.csv", "a;b;label\n1;2;0\n3;4;1\n"))


def test_csv_header_with_numbered_feature_columns(tmp_path):
    d = nd.load_csv(_write(tmp_path / "n.csv", "0,1,label\n0.5,1,3\n2,3,1\n"))
    assert d.class_names == ["0", "1", "2", "3"] and list(d.y) == [3, 1] and d.X.tolist() == [[0.5, 1], [2, 3]]
    # text labels throughout: the first row is data, not a header
    d = nd.load_csv(_write(tmp_path / "t.csv", "0,1,cat\n2,3,dog\n"))
    assert len(d) == 2 and d.class_names == ["cat", "dog"]


def test_csv_label_column_named_in_the_header_is_found_anywhere(tmp_path):
    # Kaggle-style MNIST CSV: the label first, then pixel columns
    d = nd.load_csv(_write(tmp_path / "k.csv", "label,pixel0,pixel1\n7,0,255\n3,10,20\n7,1,2\n"))
    assert d.class_names == ["3", "7"] and list(d.y) == [1, 0, 1]
    assert d.X.tolist() == [[0, 255], [10, 20], [1, 2]]
    d = nd.load_csv(_write(tmp_path / "n.csv", "Class,0,1\n1,0.5,1\n0,2,3\n"))  # numbered features
    assert list(d.y) == [1, 0] and d.X.tolist() == [[0.5, 1], [2, 3]]
    # two label-like names: ambiguous, so the last column, as without a header
    d = nd.load_csv(_write(tmp_path / "two.csv", "y,a,target\n1,2,0\n0,3,1\n"))
    assert list(d.y) == [0, 1] and d.X.tolist() == [[1, 2], [0, 3]]
    assert list(nd.load_csv(tmp_path / "two.csv", label_column="y").y) == [1, 0]


def test_16_bit_grayscale_images_keep_their_depth(tmp_path):
    from PIL import Image

    ramp = np.linspace(0, 65535, 64).reshape(8, 8).astype(np.uint16)
    for cls, img in (("a", ramp), ("b", ramp[::-1])):
        (tmp_path / cls).mkdir()
        Image.fromarray(img).save(tmp_path / cls / "1.png")
    assert Image.open(tmp_path / "a" / "1.png").mode.startswith("I")
    d = nd.load_image_folder(tmp_path)
    assert d.X.shape == (2, 1, 8, 8)
    np.testing.assert_allclose(d.X[0, 0], ramp / 65535.0, atol=1e-6)  # convert("L") made all but 0 white
    d = nd.load_image_folder(tmp_path, image_size=4, color="rgb")
    assert d.X.shape == (2, 3, 4, 4) and 0.1 < d.X.mean() < 0.9 and np.array_equal(d.X[:, 0], d.X[:, 2])


def test_exif_orientation_is_applied(tmp_path):
    from PIL import Image

    a = np.zeros((4, 6), np.uint8)
    a[0, :] = 255  # a bright top row
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 degrees clockwise to display"
    Image.fromarray(a).save(tmp_path / "cam.png", exif=exif)
    X = nd.load_images([tmp_path / "cam.png"])
    assert X.shape == (1, 1, 6, 4)
    assert X[0, 0, :, -1].min() > 0.9 and X[0, 0, :, :-1].max() < 0.1  # the top row is now the right column
