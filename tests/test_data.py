import numpy as np
import pytest
import torch

import hashing_utils as hu
from hashing_utils import data


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


def test_missing_files_offline_give_a_clear_error(monkeypatch, tmp_path):
    monkeypatch.setenv("HASHING_OFFLINE", "1")
    monkeypatch.setattr(data, "data_dirs", lambda: [tmp_path])
    with pytest.raises(FileNotFoundError, match="HASHING_DATA_DIR"):
        hu.load_dataset("cifar10")


def test_unknown_dataset_is_named():
    with pytest.raises(ValueError, match="unknown dataset 'imagenet'"):
        hu.load_dataset("imagenet")


def test_fashion_mnist_split_when_present():
    if data.find_data_file("FashionMNIST/raw/train-images-idx3-ubyte", "fashion-mnist/train-images-idx3-ubyte.gz") is None:
        pytest.skip("Fashion-MNIST files not present")
    s = hu.load_dataset("fashion-mnist", fast=True)
    assert s.x_train.shape == (1000, 1, 28, 28) and s.x_query.shape == (200, 1, 28, 28)
    assert s.x_db.shape[0] == 5000 and (s.y_train.sum(0) == 100).all()
    assert 0 <= float(s.x_train.min()) and float(s.x_train.max()) <= 1
