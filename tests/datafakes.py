"""Writers of small fake data sets in the real on-disk formats, for tests only (nothing here ships in the package):
a CIFAR-10 in its python-pickle layout, a list-file set of PNG images, and (Fashion-)MNIST IDX files."""
from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np


def write_fake_cifar10(folder, per_class_train: int = 5, per_class_test: int = 1, seed: int = 0) -> Path:
    """Write a tiny CIFAR-10 in the official pickle layout: 10 classes, random images whose mean colour depends on
    the class; per_class_train images per class spread over the five training batches."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)

    def make(per):
        y = np.repeat(np.arange(10), per)
        rng.shuffle(y)
        x = (rng.integers(0, 64, size=(len(y), 3072)) + (y[:, None] * 19)).astype(np.uint8)
        return x, y
    x, y = make(per_class_train)
    for i, part in enumerate(np.array_split(np.arange(len(y)), 5), 1):
        with open(folder / f"data_batch_{i}", "wb") as f:
            pickle.dump({b"batch_label": f"training batch {i} of 5".encode(), b"labels": y[part].tolist(),
                         b"data": x[part], b"filenames": [f"img{j}.png".encode() for j in part]}, f)
    x, y = make(per_class_test)
    with open(folder / "test_batch", "wb") as f:
        pickle.dump({b"batch_label": b"testing batch 1 of 1", b"labels": y.tolist(), b"data": x,
                     b"filenames": [f"t{j}.png".encode() for j in range(len(y))]}, f)
    with open(folder / "batches.meta", "wb") as f:
        pickle.dump({b"label_names": [n.encode() for n in ("airplane", "automobile", "bird", "cat", "deer", "dog",
                                                           "frog", "horse", "ship", "truck")],
                     b"num_cases_per_batch": 10000, b"num_vis": 3072}, f)
    return folder


def write_fake_list_set(folder, n_classes: int = 3, n_train: int = 6, n_query: int = 3, n_database: int = 9,
                        size: int = 12, seed: int = 0) -> Path:
    """A generated list-file set: PNG images under folder/images/ and train/test/database.txt with multi-hot
    label vectors (each image gets 1-2 labels; its colour follows its first label)."""
    from PIL import Image
    folder = Path(folder)
    (folder / "images").mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    for part, n in (("train", n_train), ("test", n_query), ("database", n_database)):
        lines = []
        for i in range(n):
            y = np.zeros(n_classes, dtype=int)
            y[rng.choice(n_classes, size=rng.integers(1, 3), replace=False)] = 1
            first = int(np.flatnonzero(y)[0])
            a = (rng.integers(0, 60, size=(size, size, 3)) + 60 * first).clip(0, 255).astype(np.uint8)
            rel = f"images/{part}_{i}.png"
            Image.fromarray(a).save(folder / rel)
            lines.append(rel + " " + " ".join(map(str, y)))
        (folder / f"{part}.txt").write_text("\n".join(lines) + "\n")
    return folder


def write_idx(path, array) -> None:
    """An IDX file of unsigned bytes: 0, 0, 8, ndim, the sizes (big-endian uint32), the data."""
    header = bytes([0, 0, 8, array.ndim]) + b"".join(int(n).to_bytes(4, "big") for n in array.shape)
    Path(path).write_bytes(header + array.astype(np.uint8).tobytes())


def write_fake_mnist(root, n_train: int = 20, n_test: int = 10) -> Path:
    """The four MNIST IDX files of random images under <root>/MNIST/raw/ (torchvision's layout); returns that folder."""
    raw = Path(root) / "MNIST" / "raw"
    raw.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        write_idx(raw / f"{prefix}-images-idx3-ubyte", rng.integers(0, 256, (n, 28, 28)))
        write_idx(raw / f"{prefix}-labels-idx1-ubyte", np.arange(n) % 10)
    return raw
