"""File-format readers, in one place: (Fashion-)MNIST IDX files, CIFAR-10's python pickles, the list files of
NUS-WIDE / MS-COCO / ImageNet-100 (and the images they name), and the Wikipedia release (.mat + .list files in a
tar or zip). Each reader checks what it reads and names the file in its error; none downloads.

Layer: above store (data folders, fingerprints), below download, data and protocols (see store.py).
"""
from __future__ import annotations

import gzip
import io
import pickle
import re
import tarfile
import zipfile
from pathlib import Path

import numpy as np
import torch

from .store import data_dirs, fingerprint

# ----------------------------------------------------------------------------- IDX ((Fashion-)MNIST)
# name -> (torchvision's dataset class, the folder it or the original release uses)
TORCHVISION_LAYOUT = {"mnist": ("MNIST", "MNIST"), "fashion-mnist": ("FashionMNIST", "fashion-mnist"),
                      "cifar10": ("CIFAR10", "cifar-10-batches-py"), "cifar100": ("CIFAR100", "cifar-100-python")}
IDX_FILES = ["train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"]


def read_idx(raw: bytes, name: str = "IDX file") -> np.ndarray:
    """Parse the (Fashion-)MNIST IDX format: bytes 0-3 = 0, 0, 0x08 (uint8), ndim; then ndim big-endian
    uint32 sizes; then the data. A wrong header or a length that does not match the sizes is a ValueError."""
    if len(raw) < 4 or raw[:3] != b"\x00\x00\x08" or not 1 <= raw[3] <= 4:
        raise ValueError(f"{name}: not an IDX file of unsigned bytes (bad header): the file is corrupt or is not "
                         "an MNIST-format file; delete it and fetch it again")
    ndim = raw[3]
    head = 4 + 4 * ndim
    dims = tuple(int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim)) if len(raw) >= head else ()
    expected = head + int(np.prod(dims)) if dims else head
    if len(raw) != expected:
        raise ValueError(f"{name}: {len(raw):,} bytes where the header promises {expected:,} (shape {dims}): the "
                         "file is truncated or corrupt; delete it and fetch it again")
    return np.frombuffer(raw, np.uint8, offset=head).reshape(dims)


def read_idx_file(path: Path) -> np.ndarray:
    """read_idx of a file, raw or .gz; a .gz that does not decompress is a ValueError naming the file."""
    path = Path(path)
    try:
        raw = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
    except (OSError, EOFError, gzip.BadGzipFile) as e:
        raise ValueError(f"{path}: cannot be decompressed ({e}); the file is truncated or corrupt: delete it and "
                         "fetch it again") from e
    return read_idx(raw, str(path))


def find_idx_files(name: str) -> dict | None:
    """The four IDX files of 'mnist' or 'fashion-mnist' ({file name: path}, raw or .gz) from the first data folder
    that holds all four: <dir>/<FashionMNIST|MNIST>/raw/ (torchvision's layout) or <dir>/<fashion-mnist|MNIST>/.
    None when no folder has any; FileNotFoundError when a folder holds only some of them."""
    cls, folder = TORCHVISION_LAYOUT[name]
    for d in data_dirs():
        for sub in dict.fromkeys((f"{cls}/raw", folder)):
            found = {f: next((p for p in (d / sub / f, d / sub / f"{f}.gz") if p.is_file()), None) for f in IDX_FILES}
            if all(found.values()):
                return found
            if any(found.values()):
                missing = [f for f, p in found.items() if p is None]
                raise FileNotFoundError(f"{name}: {d / sub} holds only some of the four files; missing: "
                                        f"{', '.join(missing)} (raw or .gz)")
    return None


def read_idx_set(files: dict, name: str) -> tuple:
    """(x_train (n, 28, 28) uint8, y_train int64, x_test, y_test) from find_idx_files' four files."""
    x_tr, y_tr, x_te, y_te = (read_idx_file(files[f]) for f in IDX_FILES)
    for x, y, part in ((x_tr, y_tr, "train"), (x_te, y_te, "t10k")):
        if x.ndim != 3 or y.ndim != 1 or len(x) != len(y):
            raise ValueError(f"{name}: {part} images {x.shape} and labels {y.shape} do not match")
    return x_tr, y_tr.astype(np.int64), x_te, y_te.astype(np.int64)


# ----------------------------------------------------------------------------- CIFAR-10 (python pickles)
CIFAR10_FOLDER = "cifar-10-batches-py"
CIFAR10_FILES = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch", "batches.meta"]


def read_cifar_pickle(path: Path) -> dict:
    """One file of CIFAR's python version (a pickled dict), keys decoded to str. The format is a Python pickle:
    open only files from the official archive."""
    try:
        with open(path, "rb") as f:
            d = pickle.load(f, encoding="bytes")
    except (OSError, EOFError, pickle.UnpicklingError, ValueError) as e:
        raise ValueError(f"{path}: cannot be read as a CIFAR batch ({e}); the file is truncated or corrupt") from e
    if not isinstance(d, dict):
        raise ValueError(f"{path}: not a CIFAR batch (a {type(d).__name__}, expected a dict)")
    return {k.decode() if isinstance(k, bytes) else k: v for k, v in d.items()}


def read_cifar10(folder) -> tuple:
    """Read cifar-10-batches-py/: returns (x_train (50000, 3, 32, 32) uint8, y_train (50000,) int64,
    x_test, y_test, class names). Checks every file is there and every batch's shape."""
    folder = Path(folder)
    missing = [f for f in CIFAR10_FILES if not (folder / f).is_file()]
    if missing:
        raise FileNotFoundError(f"cifar10: {folder} lacks {', '.join(missing)}; it must hold the python version "
                                f"of CIFAR-10 (cifar-10-python.tar.gz from https://www.cs.toronto.edu/~kriz/cifar.html, "
                                f"unpacked): {', '.join(CIFAR10_FILES)}")

    def batch(name):
        d = read_cifar_pickle(folder / name)
        if "data" not in d or "labels" not in d:
            raise ValueError(f"{folder / name}: a CIFAR-10 batch needs the keys 'data' and 'labels'")
        x, y = np.asarray(d["data"]), np.asarray(d["labels"], dtype=np.int64)
        if x.ndim != 2 or x.shape[1] != 3072 or len(x) != len(y):
            raise ValueError(f"{folder / name}: data {x.shape} and labels {y.shape}: expected (n, 3072) and (n,)")
        return x.astype(np.uint8).reshape(-1, 3, 32, 32), y
    parts = [batch(f"data_batch_{i}") for i in range(1, 6)]
    x_te, y_te = batch("test_batch")
    meta = read_cifar_pickle(folder / "batches.meta")
    names = [n.decode() if isinstance(n, bytes) else str(n) for n in meta.get("label_names", [])]
    if len(names) != 10:
        raise ValueError(f"{folder / 'batches.meta'}: expected 10 label_names, got {len(names)}")
    return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts]), x_te, y_te, names


# ----------------------------------------------------------------------------- list files and their images
def read_list_file(path, n_classes: int | None = None) -> tuple[list, torch.Tensor]:
    """Parse `path 0 1 0 ...` lines: returns (paths, labels float32 (n, C) multi-hot). Blank lines are skipped."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"list file {path} does not exist")
    paths, rows = [], []
    for no, line in enumerate(path.read_text().splitlines(), 1):
        parts = line.split()
        if not parts:
            continue
        if len(parts) < 2:
            raise ValueError(f"{path}:{no}: expected 'image_path 0 1 ...' (a path, then a 0/1 label vector), got "
                             f"{line!r}")
        try:
            vec = [int(v) for v in parts[1:]]
        except ValueError:
            raise ValueError(f"{path}:{no}: the label vector must be 0/1 integers, got {' '.join(parts[1:])!r}") \
                from None
        if any(v not in (0, 1) for v in vec):
            raise ValueError(f"{path}:{no}: the label vector must hold only 0 and 1")
        if rows and len(vec) != len(rows[0]):
            raise ValueError(f"{path}:{no}: {len(vec)} labels where the first line has {len(rows[0])}")
        paths.append(parts[0])
        rows.append(vec)
    if not rows:
        raise ValueError(f"list file {path} is empty")
    y = torch.tensor(rows, dtype=torch.float32)
    if n_classes is not None and y.shape[1] != n_classes:
        raise ValueError(f"{path}: label vectors have {y.shape[1]} entries, the protocol has {n_classes} classes")
    return paths, y


class ImageList(torch.utils.data.Dataset):
    """Images named in a list file, read lazily from `root`: item i -> float32 (3, size, size) in [0, 1].
    `size` None keeps each image's own size (then items may differ in shape)."""

    def __init__(self, root, paths: list, size: int | None = 224):
        self.root, self.paths, self.size = Path(root), list(paths), size

    def __len__(self):
        return len(self.paths)

    def __getitem__(self, i):
        from PIL import Image
        path = self.root / self.paths[i]
        try:
            with Image.open(path) as im:
                im = im.convert("RGB")
                if self.size is not None:
                    im = im.resize((self.size, self.size), Image.BILINEAR)
                a = np.asarray(im, dtype=np.uint8)
        except FileNotFoundError:
            raise FileNotFoundError(f"image {path} (line {i + 1} of its list file) does not exist under the root "
                                    f"{self.root}; pass root= the folder the list's paths are relative to") from None
        except OSError as e:
            raise ValueError(f"image {path}: cannot be read ({e})") from e
        return torch.from_numpy(a.copy()).permute(2, 0, 1).float().div_(255.0)

    def fingerprint(self) -> str:
        """SHA-256 (16 hex digits) of the root, each path, its size in bytes and modification time (cheap; no
        pixels read)."""
        lines = []
        for p in self.paths:
            st = (self.root / p).stat()
            lines.append(f"{p}|{st.st_size}|{st.st_mtime_ns}\n")
        return fingerprint(f"{self.root.resolve()}|{self.size}", *lines, digits=16)

    def tensor(self) -> torch.Tensor:
        """Every image at once, (n, 3, size, size): for small sets only."""
        return torch.stack([self[i] for i in range(len(self))]) if len(self) else torch.empty(0, 3, 0, 0)


# ----------------------------------------------------------------------------- the Wikipedia release
WIKIPEDIA_CLASSES = ["art", "biology", "geography", "history", "literature", "media", "music", "royalty",
                     "sport", "warfare"]


def read_archive_members(archive: Path) -> dict[str, bytes]:
    """{base name: bytes} of the regular files in a .tar(.gz) or .zip, read in memory (nothing is extracted to
    disk, so member paths cannot escape the folder)."""
    out = {}
    if tarfile.is_tarfile(archive):
        with tarfile.open(archive) as tar:
            for m in tar.getmembers():
                if m.isfile():
                    out[Path(m.name).name] = tar.extractfile(m).read()
    elif zipfile.is_zipfile(archive):
        with zipfile.ZipFile(archive) as z:
            for info in z.infolist():
                if not info.is_dir():
                    out[Path(info.filename).name] = z.read(info)
    else:
        raise ValueError("neither a tar nor a zip archive")
    return out


def read_category_list(raw: bytes, what: str) -> np.ndarray:
    """Categories (1..10) of a *_txt_img_cat.list file: '<text id> <image id> <category>' per line."""
    cats = []
    for i, line in enumerate(raw.decode("utf-8", "replace").splitlines(), 1):
        if line.strip():
            fields = re.split(r"\s+", line.strip())
            if len(fields) < 3 or not fields[-1].isdigit():
                raise ValueError(f"{what}, line {i}: expected '<text> <image> <category>', got {line!r}")
            cats.append(int(fields[-1]))
    return np.array(cats, dtype=np.int64)


def wikipedia_arrays(members: dict[str, bytes]) -> dict:
    """The loader's arrays from the release's raw_features.mat and its two lists (see download.py's doc)."""
    import scipy.io
    need = ["raw_features.mat", "trainset_txt_img_cat.list", "testset_txt_img_cat.list"]
    missing = [n for n in need if n not in members]
    if missing:
        raise ValueError(f"the archive lacks {', '.join(missing)}")
    mat = scipy.io.loadmat(io.BytesIO(members["raw_features.mat"]))
    parts = {k: np.asarray(mat[k], dtype=np.float64) for k in ("I_tr", "T_tr", "I_te", "T_te") if k in mat}
    if len(parts) < 4:
        raise ValueError(f"raw_features.mat lacks {sorted({'I_tr', 'T_tr', 'I_te', 'T_te'} - set(parts))}")
    y_tr = read_category_list(members["trainset_txt_img_cat.list"], "trainset_txt_img_cat.list")
    y_te = read_category_list(members["testset_txt_img_cat.list"], "testset_txt_img_cat.list")
    for split, y in (("tr", y_tr), ("te", y_te)):
        if not len(parts[f"I_{split}"]) == len(parts[f"T_{split}"]) == len(y):
            raise ValueError(f"I_{split}, T_{split} and the {split} list disagree on the number of pairs: "
                             f"{len(parts[f'I_{split}'])}, {len(parts[f'T_{split}'])}, {len(y)}")
    labels = np.concatenate([y_tr, y_te]) - 1
    if labels.min() < 0 or labels.max() >= len(WIKIPEDIA_CLASSES):
        raise ValueError(f"categories must be 1..{len(WIKIPEDIA_CLASSES)}, got {labels.min() + 1}..{labels.max() + 1}")
    return {"img_sift_bow128": np.concatenate([parts["I_tr"], parts["I_te"]]).astype(np.float32),
            "txt_lda10": np.concatenate([parts["T_tr"], parts["T_te"]]).astype(np.float32),
            "labels": labels.astype(np.uint8),
            "is_train": np.arange(len(labels)) < len(y_tr),
            "class_names": np.array(WIKIPEDIA_CLASSES)}
