"""The evaluation protocols of the deep-hashing papers, in one place: which images are queries, which train,
which form the database, and the K of the reported mAP@K.

    split = hu.load_dataset("cifar10", protocol="cifar10-1", seed=0)   # 1,000 / 5,000 / 59,000
    split.evaluate(hasher)             # metrics.evaluate with the protocol's K (here mAP@all = mAP@59000)
    split.save_indices("split.npz")    # reuse: hu.load_dataset("cifar10", protocol="cifar10-1", indices="split.npz")

CIFAR-style protocols draw from the official training and test files. "cifar10" (DPSH's protocol, and
DeepHash-pytorch's "cifar10", where its re-implementations of HashNet, CSQ and others run; HashNet's own paper
reports ImageNet, NUS-WIDE and MS-COCO only): the 60,000 images are pooled; 100 queries and 500 training images per
class are drawn from the pool, the rest (54,000) is the database. "cifar10-1": the same, but the database is everything
except the queries (59,000, training images included). "cifar10-2": the official 10,000 test images are the
queries, the 50,000 training images are both the training set and the database. All three report mAP over the
whole database: mAP@all, printed in papers as "MAP", "mAP@ALL" or mAP@54000 / @59000 / @50000 (some papers use
mAP@1000 on CIFAR-10 instead: those numbers are not comparable).

List-file protocols (NUS-WIDE-21, MS-COCO, ImageNet-100) come as three text files train.txt / test.txt /
database.txt, one image per line: `relative/path.jpg 0 1 0 ... 1` (a path, then the C-long 0/1 label vector);
the user supplies the images under a root folder. Reported as mAP@5000, mAP@5000 and mAP@1000.

Layer: above data (it registers load_protocol for 'cifar10', 'fashion-mnist' and the list-file sets into data's
registry when imported; hashing_utils/__init__.py imports it), formats (the CIFAR pickles, list files) and store.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from . import metrics
from .data import (FASHION_CLASSES, FAST_IMAGES, RetrievalSplit, load_fashion_fixture, load_idx_set,
                   register_dataset, register_protocol_loader, to_multi_hot)
from .formats import CIFAR10_FOLDER, ImageList, read_cifar10, read_list_file
from .store import find_data_file, fingerprint, missing_data_error


@dataclass(frozen=True)
class Protocol:
    """A CIFAR-style protocol over a training file and a test file with balanced classes.

    query_from / train_from: "pool" (training + test files pooled; queries drawn first, then training images from
    what is left) or "test" / "train" (that file). *_per_class None = every image of that file.
    database: "rest" (pool minus queries minus training), "rest+train" (pool minus queries), "train" (the
    training file). files_per_class: the per-class image counts of (training file, test file) the data must hold.
    topk None = mAP@all."""
    name: str
    query_from: str
    train_from: str
    database: str
    query_per_class: int | None
    train_per_class: int | None
    files_per_class: tuple
    n_classes: int
    topk: int | None
    papers_call_it: str
    used_by: str

    def sizes(self) -> dict:
        """The split sizes this protocol must produce: {'query', 'train', 'database'}."""
        c, (n_tr, n_te) = self.n_classes, self.files_per_class
        q = c * (self.query_per_class if self.query_per_class is not None else (n_te if self.query_from == "test"
                                                                                else n_tr + n_te))
        t = c * (self.train_per_class if self.train_per_class is not None else n_tr)
        pool = c * (n_tr + n_te)
        db = {"rest": pool - q - t, "rest+train": pool - q, "train": c * n_tr}[self.database]
        return {"query": q, "train": t, "database": db}

    def scaled(self, factor: float) -> "Protocol":
        """The same protocol with every per-class count times `factor` (for small test data): e.g.
        PROTOCOLS['cifar10'].scaled(0.01) expects 50 + 10 images per class and draws 1 query, 5 training."""
        def s(v):
            if v is None:
                return None
            out = v * factor
            if abs(out - round(out)) > 1e-9 or round(out) < 1:
                raise ValueError(f"scaled({factor}): {v} per class times {factor} is not a positive integer")
            return int(round(out))
        return dataclasses.replace(self, name=f"{self.name}×{factor:g}", query_per_class=s(self.query_per_class),
                                   train_per_class=s(self.train_per_class),
                                   files_per_class=tuple(s(v) for v in self.files_per_class))

    def on_files(self, files_per_class: tuple, n_classes: int, dataset: str) -> "Protocol":
        """The same rule on another data set's files (e.g. Fashion-MNIST's 6,000 + 1,000 per class)."""
        return dataclasses.replace(self, name=f"{self.name} rule on {dataset}",
                                   files_per_class=tuple(files_per_class), n_classes=n_classes)

    def describe(self) -> str:
        s = self.sizes()
        k = "mAP@all" if self.topk is None else f"mAP@{self.topk}"
        return (f"protocol {self.name}: {s['query']:,} queries ({self.query_from}), {s['train']:,} training "
                f"({self.train_from}), database {s['database']:,} ({self.database}); {k}")


@dataclass(frozen=True)
class ListProtocol:
    """A protocol given by list files train.txt / test.txt / database.txt; sizes None are not checked."""
    name: str
    n_classes: int
    n_train: int | None
    n_query: int | None
    n_database: int | None
    topk: int
    used_by: str

    def sizes(self) -> dict:
        return {"query": self.n_query, "train": self.n_train, "database": self.n_database}

    def resized(self, **sizes) -> "ListProtocol":
        """A copy with other expected sizes (n_classes, n_train, n_query, n_database) for small test sets."""
        return dataclasses.replace(self, name=f"{self.name} (resized)", **sizes)

    def describe(self) -> str:
        s = {k: f"{v:,}" if v else "as listed" for k, v in self.sizes().items()}
        return (f"protocol {self.name}: {s['query']} queries (test.txt), {s['train']} training (train.txt), "
                f"database {s['database']} (database.txt); mAP@{self.topk}")


_CIFAR = dict(files_per_class=(5000, 1000), n_classes=10, topk=None)
PROTOCOLS: dict = {
    "cifar10": Protocol("cifar10", "pool", "pool", "rest", 100, 500, **_CIFAR,
                        papers_call_it="mAP@all (MAP, mAP@54000)",
                        used_by="DPSH; DeepHash-pytorch 'cifar10' (its HashNet, CSQ runs)"),
    "cifar10-1": Protocol("cifar10-1", "pool", "pool", "rest+train", 100, 500, **_CIFAR,
                          papers_call_it="mAP@all (MAP, mAP@59000)", used_by="DeepHash-pytorch 'cifar10-1', DSDH"),
    "cifar10-2": Protocol("cifar10-2", "test", "train", "train", None, None, **_CIFAR,
                          papers_call_it="mAP@all (MAP, mAP@50000)",
                          used_by="DeepHash-pytorch 'cifar10-2', DCWH (50k database / 10k query)"),
    # sizes as in the list files that DeepHash-pytorch distributes; the database is not checked (releases differ)
    "nus-wide-21": ListProtocol("nus-wide-21", 21, 10500, 2100, None, 5000, "HashNet, CSQ, OrthoHash"),
    "ms-coco": ListProtocol("ms-coco", 80, 10000, 5000, None, 5000, "HashNet, CSQ, OrthoHash"),
    "imagenet-100": ListProtocol("imagenet-100", 100, 13000, 5000, None, 1000, "HashNet, CSQ, OrthoHash"),
}


def get_protocol(name: str):
    if name not in PROTOCOLS:
        raise ValueError(f"unknown protocol {name!r}; choose one of {', '.join(PROTOCOLS)}")
    return PROTOCOLS[name]


def protocol_table() -> str:
    """A Markdown table of the presets: sizes, where queries and database come from, the K of mAP@K."""
    rows = ["| protocol | queries | training | database | mAP@K | used by |", "|---|---|---|---|---|---|"]
    for p in PROTOCOLS.values():
        s = p.sizes()
        if isinstance(p, Protocol):
            src = {"pool": "pooled train+test", "test": "test file", "train": "training file"}
            db = {"rest": "the rest", "rest+train": "all but the queries", "train": "the training file"}[p.database]
            per = lambda v: f" ({v}/class)" if v else ""
            rows.append(f"| `{p.name}` | {s['query']:,}{per(p.query_per_class)} from {src[p.query_from]} | "
                        f"{s['train']:,}{per(p.train_per_class)} from {src[p.train_from]} | {s['database']:,}, "
                        f"{db} | {p.papers_call_it} | {p.used_by} |")
        else:
            rows.append(f"| `{p.name}` | {s['query']:,} (test.txt) | {s['train']:,} (train.txt) | database.txt | "
                        f"mAP@{p.topk} | {p.used_by} |")
    return "\n".join(rows)


# ----------------------------------------------------------------------------- drawing the indices
def draw_indices(protocol: Protocol, train_labels: np.ndarray, test_labels: np.ndarray, seed: int = 0) -> dict:
    """Indices of {'query', 'train', 'database'} into the pool = training file then test file (positions
    0..n_train-1 are training-file images). Per class: a seeded permutation of that class's pool (or file)
    positions, queries first, then training images. Checks the files and the resulting sizes."""
    train_labels, test_labels = np.asarray(train_labels), np.asarray(test_labels)
    n_tr_file, n_te_file = protocol.files_per_class
    for labels, per, part in ((train_labels, n_tr_file, "training file"), (test_labels, n_te_file, "test file")):
        counts = np.bincount(labels, minlength=protocol.n_classes)
        if len(counts) != protocol.n_classes or not bool((counts == per).all()):
            raise ValueError(f"{protocol.name}: the {part} holds {counts.tolist()} images per class; the protocol "
                             f"expects {per:,} for each of {protocol.n_classes} classes. Wrong or partial files? For "
                             "small test data use a scaled protocol, e.g. PROTOCOLS['cifar10'].scaled(0.01)")
    rng = np.random.default_rng(seed)
    pool_labels = np.concatenate([train_labels, test_labels])
    is_test = np.arange(len(pool_labels)) >= len(train_labels)
    query, train = [], []
    for c in range(protocol.n_classes):
        in_c = pool_labels == c
        q_cand = np.flatnonzero(in_c & (is_test if protocol.query_from == "test" else True))
        q_cand = rng.permutation(q_cand)
        nq = len(q_cand) if protocol.query_per_class is None else protocol.query_per_class
        query.append(q_cand[:nq])
        if protocol.train_from == "pool":
            t_cand = q_cand[nq:]
        else:
            t_cand = rng.permutation(np.flatnonzero(in_c & ~is_test))
        nt = len(t_cand) if protocol.train_per_class is None else protocol.train_per_class
        train.append(t_cand[:nt])
    query, train = np.sort(np.concatenate(query)), np.sort(np.concatenate(train))
    everything = np.arange(len(pool_labels))
    if protocol.database == "rest":
        db = np.setdiff1d(everything, np.concatenate([query, train]))
    elif protocol.database == "rest+train":
        db = np.setdiff1d(everything, query)
    else:
        db = np.flatnonzero(~is_test)
    out = {"query": query, "train": train, "database": db}
    check_sizes(protocol, {k: len(v) for k, v in out.items()})
    return out


def check_sizes(protocol, got: dict) -> None:
    """ValueError when the split's sizes differ from the protocol's (sizes None are not checked)."""
    want = protocol.sizes()
    bad = {k: (got[k], v) for k, v in want.items() if v is not None and got[k] != v}
    if bad:
        msg = ", ".join(f"{k} {g:,} (expected {w:,})" for k, (g, w) in bad.items())
        raise ValueError(f"{protocol.name}: the split has {msg}")


def labels_fingerprint(*labels) -> str:
    """SHA-256 (16 hex digits) of label arrays: ties saved indices to the data they index."""
    parts = []
    for y in labels:
        y = np.asarray(y)
        parts += [str(y.shape), y.astype(np.int64 if y.dtype.kind in "iub" else np.float32)]
    return fingerprint(*parts, digits=16)


def save_indices(split: "ProtocolSplit", path) -> Path:
    """Write the split's indices (npz) with its protocol, seed and a fingerprint of the labels."""
    path = Path(path)
    ix = split.indices
    np.savez(path, query=ix["query"], train=ix["train"], database=ix["database"],
             protocol=np.array(split.protocol.name), seed=np.array(split.seed),
             fingerprint=np.array(split.fingerprint))
    return path


def load_indices(path, protocol, fingerprint: str) -> dict:
    """Read indices written by save_indices; refuse them for another protocol or other data."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"indices file {path} does not exist")
    with np.load(path, allow_pickle=False) as z:
        missing = {"query", "train", "database", "protocol", "fingerprint"} - set(z.files)
        if missing:
            raise ValueError(f"{path}: not an indices file of save_indices (missing {sorted(missing)})")
        if str(z["protocol"]) != protocol.name:
            raise ValueError(f"{path}: indices of protocol {str(z['protocol'])!r}, not {protocol.name!r}")
        if str(z["fingerprint"]) != fingerprint:
            raise ValueError(f"{path}: the indices were drawn on other data (label fingerprint "
                             f"{str(z['fingerprint'])} here {fingerprint})")
        out = {k: z[k].astype(np.int64) for k in ("query", "train", "database")}
    check_sizes(protocol, {k: len(v) for k, v in out.items()})
    return out


# ----------------------------------------------------------------------------- the split
@dataclass
class ProtocolSplit(RetrievalSplit):
    """A RetrievalSplit that knows its protocol: `topk` is the protocol's K (None = all), used by evaluate()."""
    protocol: object = None
    seed: int = 0
    indices: dict = dataclasses.field(default_factory=dict)
    fingerprint: str = ""

    @property
    def topk(self) -> int:
        """The K of the protocol's mAP@K; mAP@all is K = database size."""
        k = self.protocol.topk
        return len(self.y_db) if k is None else int(k)

    def evaluate(self, hasher_or_codes, db_codes=None, **kwargs) -> dict:
        """metrics.evaluate with topk = the protocol's K. Pass a Hasher (it encodes x_query and x_db) or
        (q_codes, db_codes). Adds 'map_protocol' (= map_<K>) and 'protocol'."""
        if db_codes is None:
            q_codes, db_codes = hasher_or_codes.encode(self.x_query), hasher_or_codes.encode(self.x_db)
        else:
            q_codes = hasher_or_codes
        out = metrics.evaluate(q_codes, db_codes, self.y_query, self.y_db, topk=self.topk, **kwargs)
        return {**out, "map_protocol": out[f"map_{self.topk}"], "protocol": self.protocol.name}

    def save_indices(self, path) -> Path:
        return save_indices(self, path)


def _split_from_pool(name, protocol, x_pool, y_pool, idx, classes, seed, fingerprint, description, image_shape):
    y = to_multi_hot(y_pool, protocol.n_classes)
    take = lambda part: (x_pool[torch.from_numpy(idx[part])], y[torch.from_numpy(idx[part])])
    (xt, yt), (xq, yq), (xd, yd) = take("train"), take("query"), take("database")
    return ProtocolSplit(name, xt, yt, xq, yq, xd, yd, classes, description, image_shape=image_shape,
                         extra={"protocol": protocol.name, "topk": protocol.topk}, protocol=protocol, seed=seed,
                         indices=idx, fingerprint=fingerprint)


# ----------------------------------------------------------------------------- CIFAR-10 (python pickle format)
def _cifar10_folder(root) -> Path:
    if root is not None:
        root = Path(root)
        return root if (root / "data_batch_1").exists() or root.name == CIFAR10_FOLDER else root / CIFAR10_FOLDER
    found = find_data_file(CIFAR10_FOLDER)
    if found is None:
        raise missing_data_error("cifar10", f"the folder '{CIFAR10_FOLDER}/'", fast=FAST_IMAGES,
                                 get="download cifar-10-python.tar.gz from https://www.cs.toronto.edu/~kriz/cifar.html "
                                     "and unpack it in one of the folders (hu.load_dataset('cifar10') without a "
                                     "protocol fetches it through torchvision when online)")
    return found


def _resolve(protocol) -> Protocol:
    p = get_protocol(protocol) if isinstance(protocol, str) else protocol
    if not isinstance(p, Protocol):
        raise ValueError(f"protocol {getattr(p, 'name', p)!r} is a list-file protocol: load it with "
                         f"hu.load_dataset({getattr(p, 'name', p)!r}, protocol=..., root=..., lists=...)")
    return p


def _pooled_split(dataset, p, x_tr, y_tr, x_te, y_te, classes, seed, indices, source, image_shape):
    fp = labels_fingerprint(y_tr, y_te)
    idx = load_indices(indices, p, fp) if indices is not None else draw_indices(p, y_tr, y_te, seed)
    x_pool = torch.cat([x_tr, x_te])
    desc = f"{dataset} under {p.describe()} (seed {seed}); data: {source}"
    return _split_from_pool(dataset, p, x_pool, np.concatenate([y_tr, y_te]), idx, classes, seed, fp, desc,
                            image_shape)


def load_cifar10(protocol="cifar10", seed: int = 0, root=None, indices=None) -> ProtocolSplit:
    """CIFAR-10 under a protocol (name or Protocol, e.g. PROTOCOLS['cifar10'].scaled(0.01) for small data).
    root: the cifar-10-batches-py folder or its parent (default: searched in $HASHING_DATA_DIR, then data/).
    indices: a file of save_indices to reuse instead of drawing. Images float32 in [0, 1], (n, 3, 32, 32)."""
    p = _resolve(protocol)
    folder = _cifar10_folder(root)
    x_tr, y_tr, x_te, y_te, names = read_cifar10(folder)
    img = lambda x: torch.from_numpy(x.astype(np.float32)).div_(255.0)
    return _pooled_split("cifar10", p, img(x_tr), y_tr, img(x_te), y_te, names, seed, indices,
                         f"CIFAR-10 files in {folder}", (32, 32))


def load_fashion_protocol(protocol="cifar10", seed: int = 0, fast: bool = False, indices=None) -> ProtocolSplit:
    """A CIFAR-style protocol's rule applied to Fashion-MNIST (a stand-in where CIFAR-10 is absent).
    Full: the 60,000 + 10,000 images (6,000 + 1,000 per class); e.g. 'cifar10' gives 1,000 / 5,000 / 64,000.
    fast: the packaged subset (500 + 100 per class) under the protocol scaled by 0.1 (10 queries and 50 training
    images per class for 'cifar10'), which is exactly CIFAR-10's per-class file sizes × 0.1."""
    p = _resolve(protocol)
    if fast:
        z = load_fashion_fixture()
        x_tr, y_tr, x_te, y_te = z["train_images"], z["train_labels"], z["test_images"], z["test_labels"]
        p = p.scaled(0.1).on_files((500, 100), 10, "the fashion-mnist subset") \
            if p.files_per_class == (5000, 1000) else p
        source = "Fashion-MNIST subset shipped in the package (500 + 100 images per class)"
    else:
        x_tr, y_tr, x_te, y_te = load_idx_set("fashion-mnist")
        p = p.on_files((6000, 1000), 10, "fashion-mnist")
        source = "Fashion-MNIST (60,000 + 10,000 images), standing in for CIFAR-10"
    img = lambda x: torch.from_numpy(np.asarray(x).astype(np.float32))[:, None].div_(255.0)
    return _pooled_split("fashion-mnist", p, img(x_tr), np.asarray(y_tr, np.int64), img(x_te),
                         np.asarray(y_te, np.int64), list(FASHION_CLASSES), seed, indices, source, (28, 28))


# ----------------------------------------------------------------------------- list-file data sets
def load_list_dataset(protocol, root=None, lists=None, size: int | None = 224) -> ProtocolSplit:
    """A list-file data set (NUS-WIDE-21, MS-COCO, ImageNet-100, or a ListProtocol) with the images under
    `root`. lists: the folder holding train.txt / test.txt / database.txt (default: root), or a dict
    {'train': path, 'test': path, 'database': path}. x_* are lazy ImageList datasets (item: (3, size, size))."""
    p = get_protocol(protocol) if isinstance(protocol, str) else protocol
    if not isinstance(p, ListProtocol):
        raise ValueError(f"protocol {p.name!r} is not a list-file protocol; choose one of "
                         f"{', '.join(k for k, v in PROTOCOLS.items() if isinstance(v, ListProtocol))}")
    if root is None:
        raise ValueError(f"{p.name}: pass root= the folder that holds the images (they cannot be downloaded here)")
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"{p.name}: image root {root} is not a folder")
    if not isinstance(lists, dict):
        folder = Path(lists) if lists is not None else root
        lists = {k: folder / f"{k}.txt" for k in ("train", "test", "database")}
    parts = {k: read_list_file(lists[k], p.n_classes) for k in ("train", "test", "database")}
    check_sizes(p, {"train": len(parts["train"][1]), "query": len(parts["test"][1]),
                    "database": len(parts["database"][1])})
    for k, (paths, _) in parts.items():
        absent = [q for q in paths if not (root / q).is_file()]
        if absent:
            raise FileNotFoundError(f"{p.name}: {len(absent)} of the {len(paths)} images in {k}.txt are missing "
                                    f"under {root} (first: {absent[0]})")
    (pt, yt), (pq, yq), (pd, yd) = parts["train"], parts["test"], parts["database"]
    mk = lambda paths: ImageList(root, paths, size)
    return ProtocolSplit(p.name, mk(pt), yt, mk(pq), yq, mk(pd), yd, [str(i) for i in range(p.n_classes)],
                         f"{p.name} under {p.describe()}; images under {root}", image_shape=(size, size) if size else (),
                         extra={"protocol": p.name, "topk": p.topk}, protocol=p, seed=0,
                         indices={}, fingerprint=labels_fingerprint(yt, yq, yd))


# ----------------------------------------------------------------------------- the entry point
def load_protocol(name: str, protocol, seed: int = 0, fast: bool = False, **kwargs) -> ProtocolSplit:
    """hu.load_dataset(name, protocol=...) lands here. name: 'cifar10', 'fashion-mnist' (stand-in), or a
    list-file set 'nus-wide-21' / 'ms-coco' / 'imagenet-100' (kwargs root=, lists=, size=)."""
    pname = protocol if isinstance(protocol, str) else getattr(protocol, "name", protocol)
    if name == "cifar10":
        if fast:
            raise ValueError("cifar10 with a protocol has no fast mode (the protocol fixes the sizes); use "
                             "hu.load_dataset('fashion-mnist', protocol=..., fast=True) or a scaled protocol")
        return load_cifar10(protocol, seed=seed, **kwargs)
    if name == "fashion-mnist":
        return load_fashion_protocol(protocol, seed=seed, fast=fast, **kwargs)
    if name in PROTOCOLS and isinstance(PROTOCOLS[name], ListProtocol):
        p = get_protocol(protocol) if isinstance(protocol, str) else protocol
        if not isinstance(p, ListProtocol):
            raise ValueError(f"{name} is a list-file data set; pass protocol={name!r}, not {pname!r}")
        return load_list_dataset(p, **kwargs)
    raise ValueError(f"no protocol presets for data set {name!r}; protocols exist for cifar10 (and fashion-mnist "
                     f"as its stand-in) and the list-file sets nus-wide-21, ms-coco, imagenet-100")


def _list_set(name):
    def load(fast, seed, **kwargs):
        if fast:
            raise ValueError(f"{name} has no fast mode (its list files fix the sizes)")
        return load_list_dataset(name, **kwargs)
    return load


LIST_SETS = tuple(k for k, v in PROTOCOLS.items() if isinstance(v, ListProtocol))
for _name in ("cifar10", "fashion-mnist") + LIST_SETS:
    register_protocol_loader(_name, lambda protocol, _n=_name, **kw: load_protocol(_n, protocol, **kw))
for _name in LIST_SETS:     # hu.load_dataset('nus-wide-21', root=...) reads it under its own protocol
    register_dataset(_name, _list_set(_name), kind="list-file",
                     summary=f"{_name}: images under root= named by train/test/database.txt ({PROTOCOLS[_name].used_by})")
