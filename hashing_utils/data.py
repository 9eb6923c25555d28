"""Named retrieval data sets with a documented train / query / database split and fixed seeds.

Every split stores labels as multi-hot float32 (n, C); single-label data is the special case with
one 1 per row. Inputs are float32 in [0, 1]: flat (n, d) for `digits`, (n, 1, 28, 28) or
(n, 3, 32, 32) for the torchvision sets.

Data files are looked for in, in order: the folders in $HASHING_DATA_DIR (os.pathsep-separated),
the project's `data/`, and a `shared/data` folder beside the project (development checkouts).
Nothing is downloaded unless the files are missing and $HASHING_OFFLINE is not "1".
"""
from __future__ import annotations

import gzip
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

PROJECT_DIR = Path(__file__).resolve().parent.parent
FASHION_CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                   "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]
# the natural two-level hierarchy of Fashion-MNIST (parent group of each class, index by class)
FASHION_HIERARCHY = ["tops", "trouser", "tops", "dress", "tops", "footwear", "tops", "footwear", "bag", "footwear"]

DATASETS = ("digits", "digits-mosaic", "mnist", "fashion-mnist", "cifar10", "cifar100")


@dataclass
class RetrievalSplit:
    """A retrieval benchmark: train on (x_train, y_train); rank x_db for every x_query."""
    name: str
    x_train: torch.Tensor
    y_train: torch.Tensor
    x_query: torch.Tensor
    y_query: torch.Tensor
    x_db: torch.Tensor
    y_db: torch.Tensor
    class_names: list
    description: str
    image_shape: tuple = ()
    extra: dict = field(default_factory=dict)

    @property
    def n_classes(self) -> int:
        return self.y_train.shape[1]

    @property
    def multi_label(self) -> bool:
        return bool((self.y_train.sum(1) > 1).any() or (self.y_db.sum(1) > 1).any())

    def summary(self) -> str:
        return (f"{self.name}: train {len(self.x_train)}, query {len(self.x_query)}, database {len(self.x_db)}, "
                f"{self.n_classes} classes, input {tuple(self.x_train.shape[1:])}"
                f"{', multi-label' if self.multi_label else ''}")


def to_multi_hot(y, n_classes: int | None = None) -> torch.Tensor:
    """(n,) class ids -> (n, C) float32 multi-hot; a (n, C) 0/1 matrix passes through (as float32)."""
    y = torch.as_tensor(np.asarray(y) if not isinstance(y, torch.Tensor) else y)
    if y.ndim == 2:
        if not bool(((y == 0) | (y == 1)).all()):
            raise ValueError("a (n, C) label matrix must be multi-hot (only 0 and 1)")
        if n_classes is not None and y.shape[1] != n_classes:
            raise ValueError(f"labels have {y.shape[1]} columns, expected {n_classes} classes")
        return y.to(torch.float32)
    if y.ndim != 1:
        raise ValueError(f"labels must be (n,) class ids or (n, C) multi-hot, got shape {tuple(y.shape)}")
    if y.is_floating_point() and not bool((y == y.round()).all()):
        raise ValueError("class ids must be integers")
    y = y.to(torch.int64)
    if len(y) and int(y.min()) < 0:
        raise ValueError("class ids must be non-negative")
    c = int(y.max()) + 1 if n_classes is None else n_classes
    if len(y) and int(y.max()) >= c:
        raise ValueError(f"class id {int(y.max())} is out of range for {c} classes")
    return torch.nn.functional.one_hot(y, c).to(torch.float32)


def class_ids(y: torch.Tensor) -> torch.Tensor:
    """(n, C) multi-hot -> (n,) ids of the first positive class (for colouring plots)."""
    return y.argmax(1) if y.ndim == 2 else y


def _stratified_pick(labels: np.ndarray, per_class: int | None, rng: np.random.Generator, fraction=None):
    """Indices holding `per_class` items of every class (or `fraction` of each class)."""
    picked = []
    for c in np.unique(labels):
        idx = np.flatnonzero(labels == c)
        k = per_class if per_class is not None else int(round(fraction * len(idx)))
        picked.append(rng.permutation(idx)[:k])
    return np.sort(np.concatenate(picked))


# ----------------------------------------------------------------------------- data folders
def data_dirs() -> list[Path]:
    """Folders searched for data files, in order."""
    dirs = [Path(p) for p in os.environ.get("HASHING_DATA_DIR", "").split(os.pathsep) if p]
    dirs += [PROJECT_DIR / "data", PROJECT_DIR.parent / "shared" / "data"]
    return dirs


def find_data_file(*relative: str) -> Path | None:
    """The first existing <dir>/<relative> over data_dirs() and the given relative paths."""
    for d in data_dirs():
        for rel in relative:
            if (d / rel).exists():
                return d / rel
    return None


def _offline() -> bool:
    return os.environ.get("HASHING_OFFLINE", "0") == "1"


_TV = {"mnist": ("MNIST", "MNIST"), "fashion-mnist": ("FashionMNIST", "fashion-mnist"),
       "cifar10": ("CIFAR10", "cifar-10-batches-py"), "cifar100": ("CIFAR100", "cifar-100-python")}
_IDX_FILES = ["train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"]


def _torchvision_root(name: str) -> Path:
    """A root folder that torchvision can read `name` from without downloading."""
    cls, folder = _TV[name]
    if name in ("mnist", "fashion-mnist"):
        ready = find_data_file(f"{cls}/raw/{_IDX_FILES[0]}")
        if ready is not None:
            return ready.parent.parent.parent
        # Raw .gz files (e.g. shared/data/fashion-mnist/): decompress them where torchvision looks.
        gz = find_data_file(f"{folder}/{_IDX_FILES[0]}.gz", f"{cls}/raw/{_IDX_FILES[0]}.gz")
        if gz is not None:
            target = PROJECT_DIR / "data" / cls / "raw"
            target.mkdir(parents=True, exist_ok=True)
            for f in _IDX_FILES:
                with gzip.open(gz.parent / f"{f}.gz", "rb") as src, open(target / f, "wb") as dst:
                    shutil.copyfileobj(src, dst)
            return PROJECT_DIR / "data"
    else:
        ready = find_data_file(folder)
        if ready is not None:
            return ready.parent
    if _offline():
        places = ", ".join(str(d) for d in data_dirs())
        raise FileNotFoundError(
            f"{name}: data files not found and HASHING_OFFLINE=1 forbids downloading. Put torchvision's "
            f"'{cls}/raw/' files (or for Fashion-MNIST/MNIST the four *-ubyte.gz files in '{folder}/') under one "
            f"of: {places}; or set HASHING_DATA_DIR to the folder that holds them.")
    return PROJECT_DIR / "data"


def _load_torchvision(name: str):
    import torchvision
    root = _torchvision_root(name)
    cls = getattr(torchvision.datasets, _TV[name][0])
    download = not _offline()
    try:
        train = cls(root=str(root), train=True, download=download)
        test = cls(root=str(root), train=False, download=download)
    except Exception as e:  # no network, or a partial folder
        raise FileNotFoundError(f"{name}: could not load from {root} ({e}). Download the data, or set "
                                f"HASHING_DATA_DIR to a folder that holds it.") from e

    def arrays(ds):
        x = torch.as_tensor(np.asarray(ds.data), dtype=torch.float32) / 255.0
        x = x[:, None] if x.ndim == 3 else x.permute(0, 3, 1, 2)
        return x.contiguous(), np.asarray(ds.targets, dtype=np.int64)
    return arrays(train), arrays(test), list(train.classes)


# ----------------------------------------------------------------------------- data sets
def load_digits(query_fraction: float = 0.2, seed: int = 0) -> RetrievalSplit:
    """scikit-learn's bundled 8x8 digits (1,797 images, 10 classes), no download.
    Query: a stratified `query_fraction` held out; train = database = the rest."""
    from sklearn.datasets import load_digits as _digits
    d = _digits()
    x = torch.as_tensor(d.data, dtype=torch.float32) / 16.0
    y = d.target.astype(np.int64)
    rng = np.random.default_rng(seed)
    q = _stratified_pick(y, None, rng, fraction=query_fraction)
    rest = np.setdiff1d(np.arange(len(y)), q)
    yy = to_multi_hot(y, 10)
    return RetrievalSplit(
        "digits", x[rest], yy[rest], x[q], yy[q], x[rest], yy[rest], [str(i) for i in range(10)],
        f"sklearn digits; {len(q)} stratified queries held out (seed {seed}); training set = database",
        image_shape=(8, 8))


def make_mosaics(images: torch.Tensor, labels: np.ndarray, n_mosaics: int, n_classes: int,
                 min_tiles: int = 2, max_tiles: int = 4, seed: int = 0):
    """Multi-label images: a 2x2 grid filled with 2-4 random real images (blank tiles elsewhere);
    the label is the union of the tiles' labels.

    images: (n, h, w) -> mosaics (n_mosaics, 2h, 2w); labels (n,) -> multi-hot (n_mosaics, C).
    """
    if not 1 <= min_tiles <= max_tiles <= 4:
        raise ValueError("need 1 <= min_tiles <= max_tiles <= 4")
    rng = np.random.default_rng(seed)
    n, h, w = images.shape
    out = torch.zeros(n_mosaics, 2 * h, 2 * w)
    y = torch.zeros(n_mosaics, n_classes)
    for m in range(n_mosaics):
        k = rng.integers(min_tiles, max_tiles + 1)
        slots = rng.permutation(4)[:k]
        for s, i in zip(slots, rng.integers(0, n, size=k)):
            r, c = divmod(int(s), 2)
            out[m, r * h:(r + 1) * h, c * w:(c + 1) * w] = images[i]
            y[m, labels[i]] = 1
    return out, y


def load_digits_mosaic(n_train: int = 2000, n_query: int = 300, seed: int = 0) -> RetrievalSplit:
    """Multi-label mosaics of sklearn digits (16x16, flattened to 256). Query mosaics are built only from
    held-out digit images (the digits split's queries), train/database mosaics from the rest."""
    base = load_digits(seed=seed)
    to_img = lambda x: x.view(-1, 8, 8)
    xt, yt = make_mosaics(to_img(base.x_train), class_ids(base.y_train).numpy(), n_train, 10, seed=seed)
    xq, yq = make_mosaics(to_img(base.x_query), class_ids(base.y_query).numpy(), n_query, 10, seed=seed + 1)
    xt, xq = xt.flatten(1), xq.flatten(1)
    return RetrievalSplit(
        "digits-mosaic", xt, yt, xq, yq, xt, yt, base.class_names,
        f"2x2 mosaics of 2-4 sklearn digits, label = union; {n_query} query mosaics from held-out digits; "
        "training set = database", image_shape=(16, 16))


def load_torchvision_split(name: str, n_train_per_class: int = 500, n_query_per_class: int = 100,
                           n_db: int | None = None, seed: int = 0) -> RetrievalSplit:
    """The CIFAR-style protocol on a torchvision set: queries = n_query_per_class per class from the
    official test set; training = n_train_per_class per class from the training set; database = the
    whole training set (training images included), or a seeded random n_db of it."""
    (xtr, ytr), (xte, yte), classes = _load_torchvision(name)
    rng = np.random.default_rng(seed)
    q = _stratified_pick(yte, n_query_per_class, rng)
    t = _stratified_pick(ytr, n_train_per_class, rng)
    db = np.arange(len(ytr)) if n_db is None or n_db >= len(ytr) else np.sort(rng.permutation(len(ytr))[:n_db])
    c = len(classes)
    return RetrievalSplit(
        name, xtr[t], to_multi_hot(ytr[t], c), xte[q], to_multi_hot(yte[q], c), xtr[db], to_multi_hot(ytr[db], c),
        classes, f"{name}: {n_query_per_class}/class test queries, {n_train_per_class}/class training images, "
        f"database {len(db)} training images (seed {seed})", image_shape=tuple(xtr.shape[2:]))


def load_dataset(name: str, fast: bool = False, seed: int = 0, **kwargs) -> RetrievalSplit:
    """Load a named split. fast=True shrinks the torchvision sets (100 train and 20 query images per class,
    a 5,000-image database); digits are small already and stay whole."""
    if name == "digits":
        return load_digits(seed=seed, **kwargs)
    if name == "digits-mosaic":
        if fast:
            kwargs = {"n_train": 1000, "n_query": 200, **kwargs}
        return load_digits_mosaic(seed=seed, **kwargs)
    if name in _TV:
        if fast:
            kwargs = {"n_train_per_class": 100, "n_query_per_class": 20, "n_db": 5000, **kwargs}
        return load_torchvision_split(name, seed=seed, **kwargs)
    raise ValueError(f"unknown dataset {name!r}; choose one of {DATASETS}")
