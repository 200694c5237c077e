"""The dataset reader on the real Fashion-MNIST files, and on broken copies of them."""

import gzip
import shutil

import numpy as np
import pytest

from edgeport import runtime
from edgeport.runtime.fashion_mnist import SYSTEM_DIRS, find_data_dir


@pytest.mark.parametrize("split, count", [("train", 60_000), ("test", 10_000)])
def test_real_split_has_the_published_shape_and_balance(split, count):
    images, labels = runtime.load_fashion_mnist(split)
    assert images.shape == (count, 28, 28) and images.dtype == np.uint8
    assert labels.shape == (count,) and labels.dtype == np.uint8
    # Fashion-MNIST is balanced by construction: 6,000 training and 1,000 test images per class.
    assert np.bincount(labels, minlength=10).tolist() == [count // 10] * 10
    assert images.max() == 255 and images.min() == 0


def test_first_test_image_is_the_tutorials_ankle_boot():
    _, labels = runtime.load_fashion_mnist("test")
    assert runtime.CLASS_NAMES[labels[0]] == "Ankle boot"
    assert len(runtime.CLASS_NAMES) == 10


def test_preprocess_scales_pixels_to_unit_range():
    x = runtime.preprocess(np.array([[0, 51, 255]], dtype=np.uint8))
    assert x.dtype == np.float32
    np.testing.assert_allclose(x, [[0.0, 0.2, 1.0]], rtol=1e-6)


@pytest.fixture
def data_copy(tmp_path):
    source = find_data_dir()
    for f in source.glob("*-ubyte.gz"):
        shutil.copy(f, tmp_path / f.name)
    return tmp_path


def test_env_variable_and_data_dir_are_honoured(data_copy, monkeypatch):
    monkeypatch.setenv("FASHION_MNIST_DIR", str(data_copy))
    assert find_data_dir() == data_copy
    images, _ = runtime.load_fashion_mnist("test")
    assert len(images) == 10_000


def test_missing_directory_names_it_and_says_how_to_get_the_data(tmp_path):
    missing = tmp_path / "nowhere"
    with pytest.raises(runtime.DataError, match=r"not found in .*nowhere.*apt-get install dataset-fashion-mnist"):
        runtime.load_fashion_mnist("test", data_dir=missing)


def test_nothing_installed_anywhere_is_a_clear_error(monkeypatch):
    monkeypatch.delenv("FASHION_MNIST_DIR", raising=False)
    monkeypatch.setattr("edgeport.runtime.fashion_mnist.SYSTEM_DIRS", ())
    with pytest.raises(runtime.DataError, match="Fashion-MNIST not found"):
        runtime.load_fashion_mnist("train")
    assert SYSTEM_DIRS  # the real search path is untouched


def test_truncated_gzip_is_reported_by_file(data_copy):
    path = data_copy / "t10k-images-idx3-ubyte.gz"
    path.write_bytes(path.read_bytes()[:100_000])
    with pytest.raises(runtime.DataError, match=r"t10k-images-idx3-ubyte.gz is not a readable gzip file"):
        runtime.load_fashion_mnist("test", data_dir=data_copy)


def test_truncated_payload_is_reported_by_file(data_copy):
    path = data_copy / "t10k-labels-idx1-ubyte.gz"
    raw = gzip.decompress(path.read_bytes())
    path.write_bytes(gzip.compress(raw[:-10]))
    with pytest.raises(runtime.DataError, match=r"t10k-labels-idx1-ubyte.gz holds 9998 bytes, expected 10008"):
        runtime.load_fashion_mnist("test", data_dir=data_copy)


def test_wrong_magic_number_is_reported(data_copy):
    # The labels file where the images file should be: a real IDX file, but the wrong one.
    shutil.copy(data_copy / "t10k-labels-idx1-ubyte.gz", data_copy / "t10k-images-idx3-ubyte.gz")
    with pytest.raises(runtime.DataError, match=r"t10k-images-idx3-ubyte.gz has magic number 2049, expected 2051"):
        runtime.load_fashion_mnist("test", data_dir=data_copy)


def test_unknown_split_is_rejected():
    with pytest.raises(ValueError, match="split must be 'train' or 'test'; got 'validation'"):
        runtime.load_fashion_mnist("validation")
