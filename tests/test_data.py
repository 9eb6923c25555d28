import numpy as np
import pytest
import torch

import hashing_utils as hu
from datafakes import write_fake_mnist
from hashing_utils import data, formats, store


@pytest.fixture()
def only_data_dir(monkeypatch, tmp_path):
    """tmp_path is the only data folder (HASHING_DATA_DIR, and a project without data/), offline."""
    monkeypatch.setenv("HASHING_OFFLINE", "1")
    monkeypatch.setenv("HASHING_DATA_DIR", str(tmp_path))
    monkeypatch.setattr(store, "PROJECT_DIR", tmp_path / "project")
    return tmp_path


def test_digits_split_is_disjoint_stratified_and_seeded(digits):
    assert digits.summary().startswith("digits: train 1438, query 359, database 1438")
    # no query image is in the database (compare rows exactly)
    db = {tuple(r) for r in digits.x_db.numpy().round(4)}
    leaked = sum(tuple(r) in db for r in digits.x_query.numpy().round(4))
    assert leaked <= 2                                   # sklearn digits has a few exact duplicate images
    per_class = digits.y_query.sum(0)
    assert per_class.min() >= 34 and per_class.max() <= 38
    again = hu.load_dataset("digits")
    assert torch.equal(again.x_query, digits.x_query)
    other = hu.load_dataset("digits", seed=1)
    assert not torch.equal(other.x_query, digits.x_query)


def test_labels_are_multi_hot_and_conversions_check_input():
    assert data.to_multi_hot([0, 2, 1]).tolist() == [[1, 0, 0], [0, 0, 1], [0, 1, 0]]
    with pytest.raises(ValueError, match="out of range"):
        data.to_multi_hot([0, 3], n_classes=3)
    with pytest.raises(ValueError, match="non-negative"):
        data.to_multi_hot([0, -1])
    with pytest.raises(ValueError, match="multi-hot"):
        data.to_multi_hot(np.array([[0, 2]]))


def test_mosaics_carry_the_union_of_their_tiles():
    imgs = torch.zeros(3, 2, 2)
    for i in range(3):
        imgs[i] = i + 1                                  # tile i is filled with value i+1
    x, y = data.make_mosaics(imgs, np.array([0, 1, 2]), 50, 3, seed=0)
    for m in range(50):
        present = {int(v) - 1 for v in x[m].unique().tolist() if v > 0}
        assert set(torch.nonzero(y[m]).flatten().tolist()) == present
        assert 1 <= len(present) <= 3


def test_digits_mosaic_is_multi_label():
    s = hu.load_dataset("digits-mosaic", fast=True)
    assert s.multi_label and s.x_train.shape == (1000, 256) and s.x_query.shape == (200, 256)


def test_missing_files_offline_give_a_clear_error(only_data_dir):
    with pytest.raises(FileNotFoundError, match="HASHING_DATA_DIR") as e:
        hu.load_dataset("cifar10")
    # the file, every folder searched, how to get it, and how to switch to fast mode
    msg = str(e.value)
    assert "cifar-10-batches-py" in msg and str(only_data_dir) in msg and str(only_data_dir / "project" / "data") in msg
    assert "HASHING_OFFLINE=1 forbids downloading" in msg and "To get it:" in msg
    assert "HASHING_FAST=1" in msg and "make lab-fast" in msg and "fast=True" in msg
    for name, file in (("fashion-mnist", "ubyte"), ("wikipedia", "wikipedia_sift128_lda10.npz"),
                       ("mirflickr25k-text", "mirflickr25k_tags1386_labels24.npz")):
        with pytest.raises(FileNotFoundError, match=file) as e:
            hu.load_dataset(name)
        assert "HASHING_FAST=1" in str(e.value) and str(only_data_dir) in str(e.value), name


def test_unknown_dataset_is_named():
    with pytest.raises(ValueError, match="unknown dataset 'imagenet'"):
        hu.load_dataset("imagenet")


def test_fast_fashion_mnist_needs_no_file_and_no_network(only_data_dir):
    # no data folder with anything in it
    s = hu.load_dataset("fashion-mnist", fast=True)
    assert s.x_train.shape == (1000, 1, 28, 28) and s.x_query.shape == (200, 1, 28, 28)
    assert s.x_db.shape[0] == 5000 and (s.y_train.sum(0) == 100).all() and (s.y_query.sum(0) == 20).all()
    assert 0 <= float(s.x_train.min()) and float(s.x_train.max()) <= 1
    assert s.class_names[0] == "T-shirt/top" and not s.multi_label
    # queries come from the test file, training and database images from the training file
    assert set(s.extra["train_index"]) <= set(s.extra["db_index"])
    again = hu.load_dataset("fashion-mnist", fast=True)
    assert torch.equal(again.x_train, s.x_train)
    other = hu.load_dataset("fashion-mnist", fast=True, seed=1)
    assert not torch.equal(other.x_query, s.x_query)
    with pytest.raises(ValueError, match="n_train_per_class=600.*holds 500"):
        hu.load_dataset("fashion-mnist", fast=True, n_train_per_class=600)


def test_fixture_is_small_and_its_checksum_is_checked(monkeypatch, tmp_path):
    assert data.FASHION_FIXTURE.stat().st_size <= 3_000_000
    z = data.load_fashion_fixture()
    assert z["train_images"].shape == (5000, 28, 28) and z["train_images"].dtype == np.uint8
    assert z["test_images"].shape == (1000, 28, 28)
    assert np.bincount(z["train_labels"]).tolist() == [500] * 10
    assert len(set(z["train_index"].tolist())) == 5000 and int(z["test_index"].max()) < 10_000
    bad = tmp_path / "fixture.npz"
    raw = bytearray(data.FASHION_FIXTURE.read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    bad.write_bytes(bytes(raw))
    monkeypatch.setattr(data, "FASHION_FIXTURE", bad)
    with pytest.raises(ValueError, match="SHA-256 .* does not match"):
        data.load_fashion_fixture()


def _original_fashion_files():
    return formats.find_idx_files("fashion-mnist")


def test_fixture_equals_the_original_files_when_present():
    files = _original_fashion_files()
    if files is None:
        pytest.skip("the full Fashion-MNIST files are not in HASHING_DATA_DIR or data/")
    z = data.load_fashion_fixture()
    for part, prefix in (("train", "train"), ("test", "t10k")):
        images = formats.read_idx_file(files[f"{prefix}-images-idx3-ubyte"])
        labels = formats.read_idx_file(files[f"{prefix}-labels-idx1-ubyte"])
        assert np.array_equal(images[z[f"{part}_index"]], z[f"{part}_images"])
        assert np.array_equal(labels[z[f"{part}_index"]], z[f"{part}_labels"])


def test_data_folders_are_searched_in_order_and_nothing_beside_the_project(monkeypatch, tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    for d in (a, b):
        (d / "wikipedia").mkdir(parents=True)
        (d / "wikipedia" / "x.npz").write_bytes(b"")
    monkeypatch.setenv("HASHING_DATA_DIR", f"{a}{__import__('os').pathsep}{b}")
    assert data.data_dirs() == [a, b, data.PROJECT_DIR / "data"]
    assert data.find_data_file("wikipedia/x.npz") == a / "wikipedia" / "x.npz"
    monkeypatch.delenv("HASHING_DATA_DIR")
    assert data.data_dirs() == [data.PROJECT_DIR / "data"]


def test_idx_files_are_read_and_checked(only_data_dir):
    raw = write_fake_mnist(only_data_dir)
    s = hu.load_dataset("mnist", n_train_per_class=2, n_query_per_class=1)
    assert s.x_train.shape == (20, 1, 28, 28) and s.x_query.shape == (10, 1, 28, 28)
    # truncated: the header promises more bytes than the file has
    f = raw / "train-images-idx3-ubyte"
    f.write_bytes(f.read_bytes()[:-100])
    with pytest.raises(ValueError, match="train-images-idx3-ubyte: .* truncated or corrupt"):
        hu.load_dataset("mnist")
    # not an IDX file at all
    f.write_bytes(b"<html>404</html>")
    with pytest.raises(ValueError, match="bad header"):
        hu.load_dataset("mnist")
    # a truncated .gz
    f.unlink()
    gz = raw / "train-images-idx3-ubyte.gz"
    import gzip
    gz.write_bytes(gzip.compress(np.random.default_rng(1).bytes(5000))[:2000])
    with pytest.raises(ValueError, match="cannot be decompressed"):
        hu.load_dataset("mnist")
    # three of the four files
    gz.unlink()
    with pytest.raises(FileNotFoundError, match="missing: train-images-idx3-ubyte"):
        hu.load_dataset("mnist")


def test_every_loader_is_reached_through_the_registry():
    names = data.dataset_names()
    assert set(data.DATASETS) <= set(names) and data.dataset_names("image") == data.DATASETS
    assert data.dataset_names("two-view") == ("wikipedia", "digits-two-view")
    assert {"nus-wide-21", "ms-coco", "imagenet-100"} <= set(data.dataset_names("list-file"))   # from protocols.py
    two = hu.load_dataset("digits-two-view", seed=1)
    assert isinstance(two, data.CrossModalSplit)
    assert torch.equal(two.image_query, data.load_two_view("digits-two-view", seed=1).image_query)
    with pytest.raises(ValueError, match="unknown two-view data set 'digits'"):
        data.load_two_view("digits")
    with pytest.raises(ValueError, match="no protocol presets for data set 'digits'.*cifar10"):
        hu.load_dataset("digits", protocol="cifar10")
    with pytest.raises(ValueError, match="registered already"):
        data.register_dataset("digits", lambda fast, seed: None)
    with pytest.raises(ValueError, match="kind must be one of"):
        data.register_dataset("x-new", lambda fast, seed: None, kind="video")


def test_cifar100_hierarchy_is_read_from_the_official_pickles(tmp_path):
    import pickle

    from hashing_utils import hierarchy
    folder = tmp_path / "cifar-100-python"
    folder.mkdir()
    # the official layout: byte-string keys, fine and coarse labels per training image, the names in meta
    with open(folder / "train", "wb") as f:
        pickle.dump({b"fine_labels": [0, 1, 2, 1], b"coarse_labels": [1, 0, 1, 0], b"data": np.zeros((4, 3072))}, f)
    with open(folder / "meta", "wb") as f:
        pickle.dump({b"fine_label_names": [b"apple", b"bear", b"cloud"],
                     b"coarse_label_names": [b"mammals", b"plants"]}, f)
    parents, coarse = hierarchy.cifar100_hierarchy(folder)
    assert coarse == ["mammals", "plants"] and parents == ["plants", "mammals", "plants"]
    (folder / "meta").write_bytes(b"\x80\x04 truncated")
    with pytest.raises(ValueError, match="meta: cannot be read"):
        hierarchy.cifar100_hierarchy(folder)
