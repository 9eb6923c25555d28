"""Build the Fashion-MNIST subset that fast mode and the tests read, from the four original files.

    python tools/make_fashion_fixture.py --source DIR     # DIR holds train-/t10k-*-idx?-ubyte(.gz)

Picks, with a fixed seed, 500 training images and 100 test images of every class (6,000 images, 28x28
uint8) and writes hashing_utils/fixtures/fashion_mnist_subset.npz: `train_images`, `train_labels`,
`train_index` (positions in the original train-*-ubyte files), `test_images`, `test_labels`, `test_index`
(positions in t10k-*), `class_names`. The zip is written with fixed timestamps, so the same source files
give the same bytes; the script prints the SHA-256 that hashing_utils/data.py checks on load.
"""
from __future__ import annotations

import argparse
import gzip
import hashlib
import io
import sys
import zipfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from hashing_utils.data import FASHION_CLASSES, FASHION_FIXTURE  # noqa: E402
from hashing_utils.formats import read_idx  # noqa: E402

SEED = 20171  # the subset's seed (Fashion-MNIST was released in 2017)
TRAIN_PER_CLASS, TEST_PER_CLASS = 500, 100


def _open(source: Path, stem: str) -> bytes:
    for name in (stem, stem + ".gz"):
        p = source / name
        if p.exists():
            raw = p.read_bytes()
            return gzip.decompress(raw) if name.endswith(".gz") else raw
    raise SystemExit(f"{stem}(.gz) not found in {source}")


def pick(labels: np.ndarray, per_class: int, rng: np.random.Generator) -> np.ndarray:
    """`per_class` seeded random positions of every class, sorted."""
    return np.sort(np.concatenate([rng.choice(np.flatnonzero(labels == c), per_class, replace=False)
                                   for c in range(10)]))


def write_npz(path: Path, arrays: dict) -> None:
    """np.savez_compressed with fixed zip timestamps (reproducible bytes)."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        for name, a in arrays.items():
            buf = io.BytesIO()
            np.lib.format.write_array(buf, np.asarray(a), allow_pickle=False)
            info = zipfile.ZipInfo(name + ".npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(info, buf.getvalue(), compresslevel=9)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--source", required=True, type=Path, help="folder with the original Fashion-MNIST files")
    p.add_argument("--out", type=Path, default=FASHION_FIXTURE)
    args = p.parse_args()
    rng = np.random.default_rng(SEED)
    arrays = {}
    for part, prefix, per_class in (("train", "train", TRAIN_PER_CLASS), ("test", "t10k", TEST_PER_CLASS)):
        images = read_idx(_open(args.source, f"{prefix}-images-idx3-ubyte"), f"{prefix}-images")
        labels = read_idx(_open(args.source, f"{prefix}-labels-idx1-ubyte"), f"{prefix}-labels")
        idx = pick(labels, per_class, rng)
        arrays.update({f"{part}_images": images[idx], f"{part}_labels": labels[idx],
                       f"{part}_index": idx.astype(np.int32)})
    arrays["class_names"] = np.array(FASHION_CLASSES)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    write_npz(args.out, arrays)
    digest = hashlib.sha256(args.out.read_bytes()).hexdigest()
    print(f"wrote {args.out} ({args.out.stat().st_size / 1e6:.2f} MB), sha256 {digest}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
