"""Named retrieval data sets with a documented train / query / database split and fixed seeds, and the registry
that hu.load_dataset dispatches through.

Every split stores labels as multi-hot float32 (n, C); single-label data is the special case with
one 1 per row. Inputs are float32 in [0, 1]: flat (n, d) for `digits`, (n, 1, 28, 28) or
(n, 3, 32, 32) for the torchvision sets.

Data files are looked for in, in order: the folders in $HASHING_DATA_DIR (os.pathsep-separated), then the
project's `data/` (store.data_dirs()); when they are missing and $HASHING_OFFLINE is not "1", torchvision
downloads them into `data/`. Fast mode's Fashion-MNIST is a small checksummed subset shipped inside the package
(fixtures/fashion_mnist_subset.npz, MIT licence, see fixtures/README.md): it needs no file and no network.

The registry: register_dataset(name, loader, kind=...) adds a data set that load_dataset(name, ...) reaches;
register_protocol_loader(name, loader) adds what load_dataset(name, protocol=...) calls. This module registers
the built-in image sets (DATASETS) and the two-view sets (load_wikipedia, load_digits_two_view,
load_mirflickr_text); protocols.py registers the paper protocols and the list-file sets when the package is
imported (hashing_utils/__init__.py imports it).

Layer: above store, formats and download; below protocols, experiments, features and the methods (store.py
draws the whole data layer). Nothing here imports a module above it, not even inside a function.
"""
from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from . import download
from .formats import TORCHVISION_LAYOUT, find_idx_files, read_idx_set
from .labels import class_ids, to_multi_hot  # noqa: F401  (labels.py owns them; re-exported as hu.data.*)
from .store import PROJECT_DIR, data_dirs, default_data_dir, find_data_file, fingerprint, missing_data_error, offline

__all__ = ["RetrievalSplit", "CrossModalSplit", "load_dataset", "register_dataset", "register_protocol_loader",
           "dataset_names", "DATASETS", "to_multi_hot", "class_ids", "make_mosaics", "load_digits",
           "load_digits_mosaic", "load_torchvision_split", "load_idx_set", "load_fashion_subset",
           "load_fashion_fixture", "load_wikipedia", "load_digits_two_view", "load_two_view", "load_mirflickr_text",
           "stratified_pick", "check_count", "FASHION_CLASSES", "FASHION_HIERARCHY", "FASHION_FIXTURE",
           "WIKIPEDIA_FILE", "MIRFLICKR_FILE", "PROJECT_DIR", "data_dirs", "find_data_file"]

FASHION_CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                   "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]
# the natural two-level hierarchy of Fashion-MNIST (parent group of each class, index by class)
FASHION_HIERARCHY = ["tops", "trouser", "tops", "dress", "tops", "footwear", "tops", "footwear", "bag", "footwear"]

# the built-in single-view image sets: what experiments and the benchmarks run on (no file needed for the first two
# and for fast-mode Fashion-MNIST)
DATASETS = ("digits", "digits-mosaic", "mnist", "fashion-mnist", "cifar10", "cifar100")
# the fast-mode hint of the missing-data error, for the image sets
FAST_IMAGES = "hu.load_dataset('fashion-mnist', fast=True)"

# The Fashion-MNIST subset in the package (made by tools/make_fashion_fixture.py from the original files):
# 500 training and 100 test images per class, uint8, with their positions in the original files.
FASHION_FIXTURE = Path(__file__).resolve().parent / "fixtures" / "fashion_mnist_subset.npz"
FASHION_FIXTURE_SHA256 = "b3400405fb50d878c76fd6e5a3ada24b6a3fb3437fd5f52b88b68305d8f434b6"


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


def stratified_pick(labels: np.ndarray, per_class: int | None, rng: np.random.Generator, fraction=None):
    """Sorted indices holding `per_class` items of every class (or `fraction` of each class), drawn by `rng`."""
    picked = []
    for c in np.unique(labels):
        idx = np.flatnonzero(labels == c)
        k = per_class if per_class is not None else int(round(fraction * len(idx)))
        picked.append(rng.permutation(idx)[:k])
    return np.sort(np.concatenate(picked))


# ----------------------------------------------------------------------------- full-size image files
def _fetch_hint(name: str) -> str:
    make = " (`make data` fetches Fashion-MNIST)" if name == "fashion-mnist" else ""
    return (f"run once without HASHING_OFFLINE=1 and the loader downloads them through torchvision into "
            f"{default_data_dir()}{make}, or put the files in one of the folders above (see data/README.md)")


def load_idx_set(name: str) -> tuple:
    """'mnist' or 'fashion-mnist' from its four IDX files (found by formats.find_idx_files; downloaded through
    torchvision when absent and online): (x_train (60000, 28, 28) uint8, y_train int64, x_test, y_test)."""
    files = find_idx_files(name)
    if files is None:
        if offline():
            raise missing_data_error(name, "the four *-ubyte(.gz) files", get=_fetch_hint(name), fast=FAST_IMAGES)
        download.download_torchvision(name)
        files = find_idx_files(name)
    return read_idx_set(files, name)


def _load_torchvision(name: str):
    """((x_train, y_train), (x_test, y_test), class names): x float32 in [0, 1], (n, c, h, w); y int64."""
    if name in ("mnist", "fashion-mnist"):
        x_tr, y_tr, x_te, y_te = load_idx_set(name)
        images = lambda x: torch.from_numpy(x.astype(np.float32))[:, None].div_(255.0)
        classes = FASHION_CLASSES if name == "fashion-mnist" else [str(i) for i in range(10)]
        return (images(x_tr), y_tr), (images(x_te), y_te), list(classes)
    import torchvision
    cls, folder = TORCHVISION_LAYOUT[name]
    found = find_data_file(folder)
    if found is None and offline():
        raise missing_data_error(name, f"the folder '{folder}/'", get=_fetch_hint(name), fast=FAST_IMAGES)
    root = found.parent if found is not None else default_data_dir()
    try:
        # download=False still checks every file's MD5: a truncated or corrupt file is refused here
        train = getattr(torchvision.datasets, cls)(root=str(root), train=True, download=found is None)
        test = getattr(torchvision.datasets, cls)(root=str(root), train=False, download=False)
    except Exception as e:
        raise ValueError(f"{name}: could not read {root / folder} ({e}); a file is missing, truncated or corrupt "
                         "(torchvision checks each file's MD5): delete the folder and fetch it again") from e

    def arrays(ds):
        x = torch.as_tensor(np.asarray(ds.data), dtype=torch.float32) / 255.0
        x = x[:, None] if x.ndim == 3 else x.permute(0, 3, 1, 2)
        return x.contiguous(), np.asarray(ds.targets, dtype=np.int64)
    return arrays(train), arrays(test), list(train.classes)


def load_fashion_fixture() -> dict:
    """The Fashion-MNIST subset shipped in the package, after checking its SHA-256: a dict of numpy arrays
    train_images (5000, 28, 28) uint8, train_labels, train_index (positions in the original training file),
    test_images (1000, 28, 28), test_labels, test_index, class_names."""
    if not FASHION_FIXTURE.is_file():
        raise FileNotFoundError(f"the Fashion-MNIST subset {FASHION_FIXTURE} is missing from the package; "
                                "reinstall it, or rebuild it with tools/make_fashion_fixture.py")
    raw = FASHION_FIXTURE.read_bytes()
    digest = fingerprint(raw)
    if digest != FASHION_FIXTURE_SHA256:
        raise ValueError(f"{FASHION_FIXTURE}: SHA-256 {digest} does not match the expected {FASHION_FIXTURE_SHA256}: "
                         "the file is corrupt or was changed; restore it with `git checkout` or rebuild it with "
                         "tools/make_fashion_fixture.py")
    with np.load(io.BytesIO(raw), allow_pickle=False) as z:
        return {k: z[k] for k in z.files}


# ----------------------------------------------------------------------------- data sets
def check_count(arg: str, value, least: int = 1) -> None:
    """TypeError unless `value` is an integer, ValueError unless it is >= least: the loaders' size arguments."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{arg} must be an integer, got {value!r}")
    if value < least:
        raise ValueError(f"{arg} must be >= {least}, got {value}")


def load_digits(query_fraction: float = 0.2, seed: int = 0) -> RetrievalSplit:
    """scikit-learn's bundled 8x8 digits (1,797 images, 10 classes), no download.
    Query: a stratified `query_fraction` held out; train = database = the rest."""
    if not (isinstance(query_fraction, (int, float)) and 0 < query_fraction < 1):
        raise ValueError(f"query_fraction must be a number in (0, 1), got {query_fraction!r}")
    from sklearn.datasets import load_digits as _digits
    d = _digits()
    x = torch.as_tensor(d.data, dtype=torch.float32) / 16.0
    y = d.target.astype(np.int64)
    rng = np.random.default_rng(seed)
    q = stratified_pick(y, None, rng, fraction=query_fraction)
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
    check_count("n_train", n_train)
    check_count("n_query", n_query)
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
    check_count("n_train_per_class", n_train_per_class)
    check_count("n_query_per_class", n_query_per_class)
    if n_db is not None:
        check_count("n_db", n_db)
    (xtr, ytr), (xte, yte), classes = _load_torchvision(name)
    rng = np.random.default_rng(seed)
    q = stratified_pick(yte, n_query_per_class, rng)
    t = stratified_pick(ytr, n_train_per_class, rng)
    db = np.arange(len(ytr)) if n_db is None or n_db >= len(ytr) else np.sort(rng.permutation(len(ytr))[:n_db])
    c = len(classes)
    return RetrievalSplit(
        name, xtr[t], to_multi_hot(ytr[t], c), xte[q], to_multi_hot(yte[q], c), xtr[db], to_multi_hot(ytr[db], c),
        classes, f"{name}: {n_query_per_class}/class test queries, {n_train_per_class}/class training images, "
        f"database {len(db)} training images (seed {seed})", image_shape=tuple(xtr.shape[2:]))


def load_fashion_subset(n_train_per_class: int = 100, n_query_per_class: int = 20, n_db: int | None = None,
                        seed: int = 0) -> RetrievalSplit:
    """Fashion-MNIST's fast split, from the subset shipped in the package (no file, no network): queries =
    n_query_per_class per class of its 1,000 test images; training = n_train_per_class per class of its 5,000
    training images; database = those 5,000 training images (training images included), or a seeded n_db."""
    z = load_fashion_fixture()
    limits = {"n_train_per_class": (n_train_per_class, 500), "n_query_per_class": (n_query_per_class, 100),
              "n_db": (n_db if n_db is not None else 5000, 5000)}
    for arg, (value, most) in limits.items():
        if not isinstance(value, (int, np.integer)) or not 1 <= value <= most:
            raise ValueError(f"{arg}={value!r}: the packaged Fashion-MNIST subset holds {most} "
                             f"{'images' if arg == 'n_db' else 'images per class'}; ask for 1..{most}, or load the "
                             "full data set with fast=False")
    images = lambda x: torch.from_numpy(x.astype(np.float32))[:, None].div_(255.0)
    xtr, ytr = images(z["train_images"]), z["train_labels"].astype(np.int64)
    xte, yte = images(z["test_images"]), z["test_labels"].astype(np.int64)
    rng = np.random.default_rng(seed)
    q = stratified_pick(yte, n_query_per_class, rng)
    t = stratified_pick(ytr, n_train_per_class, rng)
    db = np.arange(len(ytr)) if n_db is None or n_db >= len(ytr) else np.sort(rng.permutation(len(ytr))[:n_db])
    classes = [str(c) for c in z["class_names"]]
    return RetrievalSplit(
        "fashion-mnist", xtr[t], to_multi_hot(ytr[t], 10), xte[q], to_multi_hot(yte[q], 10), xtr[db],
        to_multi_hot(ytr[db], 10), classes,
        f"fashion-mnist (packaged subset of 5,000 training / 1,000 test images): {n_query_per_class}/class test "
        f"queries, {n_train_per_class}/class training images, database {len(db)} training images (seed {seed})",
        image_shape=(28, 28), extra={"train_index": z["train_index"][t], "query_index": z["test_index"][q],
                                     "db_index": z["train_index"][db]})


# ----------------------------------------------------------------------------- the registry and load_dataset
@dataclass(frozen=True)
class DatasetEntry:
    """A registered data set: load(fast=..., seed=..., **kwargs) returns its split. kind: 'image' (a RetrievalSplit
    of images or flat vectors), 'two-view' (a CrossModalSplit), 'text' (a RetrievalSplit of text features) or
    'list-file' (a protocol's list files under a root)."""
    name: str
    load: Callable
    kind: str
    summary: str = ""


_REGISTRY: dict[str, DatasetEntry] = {}
_PROTOCOL_LOADERS: dict[str, Callable] = {}
KINDS = ("image", "two-view", "text", "list-file")


def register_dataset(name: str, load: Callable, *, kind: str = "image", summary: str = "") -> None:
    """Make load_dataset(name, fast=..., seed=..., **kwargs) call load(fast=fast, seed=seed, **kwargs)."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
    if name in _REGISTRY and _REGISTRY[name].load is not load:
        raise ValueError(f"a data set {name!r} is registered already")
    _REGISTRY[name] = DatasetEntry(name, load, kind, summary)


def register_protocol_loader(name: str, load: Callable) -> None:
    """Make load_dataset(name, protocol=p, fast=..., seed=..., **kwargs) call load(p, seed=seed, fast=fast,
    **kwargs) (protocols.py registers the paper protocols this way)."""
    _PROTOCOL_LOADERS[name] = load


def dataset_names(kind: str | None = None) -> tuple:
    """The registered data-set names (of one kind, or all), in registration order."""
    return tuple(n for n, e in _REGISTRY.items() if kind is None or e.kind == kind)


def load_dataset(name: str, fast: bool = False, seed: int = 0, protocol=None, **kwargs):
    """Load a named split. fast=True gives the small split of fast mode: for Fashion-MNIST the subset shipped
    in the package (100 train and 20 query images per class, a 5,000-image database; nothing to download),
    for MNIST and CIFAR the same sizes drawn from the full files; digits are small already and stay whole.
    Besides DATASETS: the two-view sets 'wikipedia' and 'digits-two-view' (a CrossModalSplit) and
    'mirflickr25k-text'; with the protocols registered, the list-file sets 'nus-wide-21', 'ms-coco',
    'imagenet-100' (root=...). protocol: a paper protocol ('cifar10', 'cifar10-1', 'cifar10-2', 'nus-wide-21',
    'ms-coco', 'imagenet-100'), see hashing_utils/protocols.py; the split then carries the protocol's mAP@K."""
    if not isinstance(name, str):
        raise TypeError(f"name must be a data set name (str), one of {DATASETS}; got {type(name).__name__}")
    if not isinstance(fast, (bool, np.bool_)) and fast not in (0, 1):
        raise TypeError(f"fast must be True or False, got {fast!r}")
    check_count("seed", seed, least=0)
    if protocol is not None:
        if name not in _PROTOCOL_LOADERS:
            raise ValueError(f"no protocol presets for data set {name!r}; protocols exist for "
                             f"{', '.join(_PROTOCOL_LOADERS) or 'none (hashing_utils.protocols is not imported)'}")
        return _PROTOCOL_LOADERS[name](protocol, seed=seed, fast=bool(fast), **kwargs)
    if name not in _REGISTRY:
        raise ValueError(f"unknown dataset {name!r}; choose one of {', '.join(_REGISTRY)}")
    return _REGISTRY[name].load(fast=bool(fast), seed=seed, **kwargs)


def _digits(fast, seed, **kwargs):
    return load_digits(seed=seed, **kwargs)


def _digits_mosaic(fast, seed, **kwargs):
    return load_digits_mosaic(seed=seed, **({"n_train": 1000, "n_query": 200, **kwargs} if fast else kwargs))


def _torchvision_set(name):
    def load(fast, seed, **kwargs):
        if fast and name == "fashion-mnist":
            return load_fashion_subset(seed=seed, **kwargs)
        if fast:
            kwargs = {"n_train_per_class": 100, "n_query_per_class": 20, "n_db": 5000, **kwargs}
        return load_torchvision_split(name, seed=seed, **kwargs)
    return load


register_dataset("digits", _digits, summary="sklearn's 8x8 digits, 1,797 images, 10 classes (no file)")
register_dataset("digits-mosaic", _digits_mosaic, summary="2x2 mosaics of digits, multi-label (no file)")
for _name in DATASETS[2:]:
    register_dataset(_name, _torchvision_set(_name), summary=f"{_name} through torchvision's files")


# ----------------------------------------------------------------------------- two-view (cross-modal) data
WIKIPEDIA_FILE = download.WIKIPEDIA_FILE
MIRFLICKR_FILE = "mirflickr25k/mirflickr25k_tags1386_labels24.npz"


@dataclass
class CrossModalSplit:
    """Paired two-view data: row i of image_* and text_* is the same item. Labels multi-hot float32 (n, C)."""
    name: str
    image_train: torch.Tensor
    text_train: torch.Tensor
    y_train: torch.Tensor
    image_query: torch.Tensor
    text_query: torch.Tensor
    y_query: torch.Tensor
    image_db: torch.Tensor
    text_db: torch.Tensor
    y_db: torch.Tensor
    class_names: list
    description: str

    @property
    def train(self) -> tuple:
        """(X_image, X_text) of the training pairs, the X that hu.fit('dchml', X, y) takes."""
        return self.image_train, self.text_train

    def query(self, modality: str) -> torch.Tensor:
        return self._view("query", modality)

    def db(self, modality: str) -> torch.Tensor:
        return self._view("db", modality)

    def _view(self, part, modality):
        if modality not in ("image", "text"):
            raise ValueError(f"modality must be 'image' or 'text', got {modality!r}")
        return getattr(self, f"{modality}_{part}")

    @property
    def n_classes(self) -> int:
        return self.y_train.shape[1]

    def summary(self) -> str:
        return (f"{self.name}: {len(self.y_train)} training pairs, {len(self.y_query)} query pairs, database "
                f"{len(self.y_db)} pairs, {self.n_classes} classes; image view {self.image_train.shape[1]}-d, "
                f"text view {self.text_train.shape[1]}-d")


def load_wikipedia() -> CrossModalSplit:
    """The standard Wikipedia protocol: the 2,173 training pairs are also the database, the 693 test pairs the
    queries. Image = 128-d SIFT bag-of-words (rows sum to 1), text = 10-d LDA topic proportions."""
    path = find_data_file(WIKIPEDIA_FILE)
    if path is None and not offline():      # the original release, SHA-256 verified (hashing_utils/download.py)
        path = download.download_wikipedia()
    if path is None:
        raise missing_data_error("Wikipedia", f"'{WIKIPEDIA_FILE}'", fast="hu.load_dataset('digits-two-view')",
                                 get="`python -m hashing_utils download wikipedia` (or `make data`) on a machine "
                                     "with network, or put the file in one of the folders, keeping the sub-folder")
    with np.load(path, allow_pickle=False) as d:
        img = torch.as_tensor(d["img_sift_bow128"], dtype=torch.float32)
        txt = torch.as_tensor(d["txt_lda10"], dtype=torch.float32)
        labels = d["labels"].astype(np.int64)
        is_train = d["is_train"].astype(bool)
        names = [str(c) for c in d["class_names"]]
    y = to_multi_hot(labels, len(names))
    tr, te = np.flatnonzero(is_train), np.flatnonzero(~is_train)
    return CrossModalSplit("wikipedia", img[tr], txt[tr], y[tr], img[te], txt[te], y[te], img[tr], txt[tr], y[tr],
                           names, "Wikipedia (Rasiwasia et al. 2010): 2,173 training pairs = database, 693 query "
                           "pairs; image 128-d SIFT BoW, text 10-d LDA topics")


def _partners(labels: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """For every item, a different item of the same class (a random derangement within each class)."""
    out = np.empty(len(labels), dtype=np.int64)
    for c in np.unique(labels):
        idx = np.flatnonzero(labels == c)
        if len(idx) < 2:
            raise ValueError(f"class {c} has fewer than two items; cannot pair different images")
        perm = rng.permutation(len(idx))
        out[idx[perm]] = idx[np.roll(perm, 1)]     # a cycle: nobody is paired with itself
    return out


def load_digits_two_view(noise: float = 1.0, seed: int = 0) -> CrossModalSplit:
    """Two views of sklearn's 8x8 digits, after the noisy-MNIST multi-view benchmark (Wang et al. 2015):
    view "image" = the digit (64-d, in [0, 1]); view "text" = a different image of the same class from the same
    part of the split, plus independent uniform noise U(0, noise) per pixel, clipped to [0, 1]. The two views of
    a pair share only the class. Split as hu.load_dataset('digits'): 359 query pairs held out, 1,438 training
    pairs = database. (It stands in for real image–text data when the Wikipedia file is absent.)"""
    if not (isinstance(noise, (int, float)) and np.isfinite(noise) and noise >= 0):
        raise ValueError(f"noise must be a finite number >= 0, got {noise!r}")
    base = load_digits(seed=seed)
    rng = np.random.default_rng(seed + 101)
    parts = {}
    for part in ("train", "query"):
        x, y = getattr(base, f"x_{part}"), getattr(base, f"y_{part}")
        partner = _partners(y.argmax(1).numpy(), rng)
        noisy = x[partner] + noise * torch.as_tensor(rng.random(x.shape), dtype=torch.float32)
        parts[part] = (x, noisy.clamp(0, 1), y)
    (xi, xt, y), (qi, qt, qy) = parts["train"], parts["query"]
    return CrossModalSplit("digits-two-view", xi, xt, y, qi, qt, qy, xi, xt, y, base.class_names,
                           f"sklearn digits, two views: a digit / a different digit of the same class + U(0, {noise}) "
                           f"noise; {len(qy)} query pairs, {len(y)} training pairs = database (seed {seed})")


def load_two_view(name: str, seed: int = 0) -> CrossModalSplit:
    """A registered two-view data set: 'wikipedia' or 'digits-two-view' (load_dataset reaches them too)."""
    two_view = dataset_names("two-view")
    if name not in two_view:
        raise ValueError(f"unknown two-view data set {name!r}; choose {' or '.join(repr(n) for n in two_view)}")
    return load_dataset(name, seed=seed)


def load_mirflickr_text(n_query: int = 2000, n_train: int = 5000, seed: int = 0) -> RetrievalSplit:
    """MIRFlickr-25K text side (20,015 items, 1,386 binary tags, 24 multi-hot labels). Protocol of the
    cross-modal papers: `n_query` random queries, the rest is the database, `n_train` training items drawn from
    the database (the papers use 10,000; 5,000 keeps a CPU exercise short)."""
    path = find_data_file(MIRFLICKR_FILE)
    if path is None:
        raise missing_data_error("MIRFlickr-25K", f"'{MIRFLICKR_FILE}'", fast=FAST_IMAGES,
                                 get="put the file in one of the folders, keeping the sub-folder (data/README.md "
                                     "names the source)")
    with np.load(path, allow_pickle=False) as d:
        x = torch.as_tensor(d["tags_bow"], dtype=torch.float32)
        y = torch.as_tensor(d["labels"], dtype=torch.float32)
        names = [str(c) for c in d["class_names"]]
    rng = np.random.default_rng(seed)
    perm = rng.permutation(len(x))
    q, db = np.sort(perm[:n_query]), np.sort(perm[n_query:])
    t = np.sort(rng.permutation(db)[:n_train])
    return RetrievalSplit("mirflickr25k-text", x[t], y[t], x[q], y[q], x[db], y[db], names,
                          f"MIRFlickr-25K tags: {n_query} queries, database {len(db)}, {n_train} training items "
                          f"from the database (seed {seed})")


register_dataset("wikipedia", lambda fast, seed: load_wikipedia(), kind="two-view",
                 summary="Wikipedia image-text pairs (SIFT BoW + LDA topics), the file from `make data`")
register_dataset("digits-two-view", lambda fast, seed, **kw: load_digits_two_view(seed=seed, **kw), kind="two-view",
                 summary="two views of sklearn's digits (no file)")
register_dataset("mirflickr25k-text", lambda fast, seed, **kw: load_mirflickr_text(seed=seed, **kw), kind="text",
                 summary="MIRFlickr-25K tags, 24 multi-hot labels (a file)")
