"""Full-mode data for an online user: `python -m hashing_utils download wikipedia|fashion-mnist|all` (`make data`).

Wikipedia image–text features (notebook 07): the data set's original public release by SVCL, UC San Diego
(Rasiwasia et al., "A new approach to cross-modal multimedia retrieval", ACM MM 2010), the archive of its features
and splits. From it the loader's file is made:

    raw_features.mat: I_tr (2173, 128), I_te (693, 128)   image SIFT bag-of-visual-words (rows sum to 1)
                      T_tr (2173, 10),  T_te (693, 10)     text LDA topic proportions
    trainset_txt_img_cat.list / testset_txt_img_cat.list: "<text id>\\t<image id>\\t<category 1..10>" per pair
    -> <data>/wikipedia/wikipedia_sift128_lda10.npz: img_sift_bow128 (2866, 128) float32, txt_lda10 (2866, 10),
       labels (2866,) uint8 0..9, is_train (the 2,173 training rows first), class_names (10,)

How it is verified: the archive is downloaded to a temp file beside the target, its SHA-256 computed once it
is complete; when the source pins the archive's SHA-256 it must match. The converted arrays must then match a
pinned content SHA-256 (over names, dtypes, shapes and bytes of the arrays, so it does not depend on how the
npz's zip is written) before the npz is renamed into place. Any failure (offline, unreachable, HTTP error,
checksum mismatch, unexpected contents) raises DownloadError naming the file, the source URL and the target
folder, and leaves nothing behind: no partial archive, no partial npz.

Fashion-MNIST (full mode) comes through torchvision's own download (it checks each file's MD5).

Layer: above store and formats, below data (which calls download_wikipedia / download_torchvision when a file is
missing and HASHING_OFFLINE is not "1"); see store.py.
"""
from __future__ import annotations

import http.client
import io
import os
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .formats import (TORCHVISION_LAYOUT, WIKIPEDIA_CLASSES, find_idx_files, read_archive_members,
                      wikipedia_arrays)
from .store import atomic_write, default_data_dir, fingerprint, offline

__all__ = ["DownloadError", "Source", "SOURCES", "download", "download_wikipedia", "download_torchvision",
           "download_fashion_mnist", "fetch", "content_sha256", "default_data_dir", "wikipedia_arrays",
           "WIKIPEDIA_CLASSES", "WIKIPEDIA_FILE"]

# the loader's file, relative to a data folder (data.load_wikipedia reads it)
WIKIPEDIA_FILE = "wikipedia/wikipedia_sift128_lda10.npz"


class DownloadError(OSError):
    """A download or its verification failed; the message names the file, the source and the target folder."""


@dataclass(frozen=True)
class Source:
    """Where a data set's release lives and what it must hash to. archive_sha256 None: not pinned (the
    archive's digest is printed and written to SOURCE.txt, and the converted content is what is checked)."""
    url: str
    archive_sha256: str | None
    content_sha256: str | None
    target: str                 # the loader's file, relative to the data folder
    homepage: str = ""


SOURCES = {
    "wikipedia": Source(
        url="http://www.svcl.ucsd.edu/projects/crossmodal/wiki_nodata_top10cats.tar.gz",
        # The archive's own digest could not be known offline (no copy of it was at hand): not pinned.
        archive_sha256=None,
        # SHA-256 of the arrays of the development copy of wikipedia_sift128_lda10.npz (made from the MATLAB
        # repackaging of these features, float64 -> float32), by content_sha256() below.
        content_sha256="851a59990b2e2b54702b5e1409cb55bacf88f6d683a27fa3253cae4d1e4e8984",
        target=WIKIPEDIA_FILE,
        homepage="http://www.svcl.ucsd.edu/projects/crossmodal/"),
}


def content_sha256(arrays: dict) -> str:
    """SHA-256 over the arrays in name order: name, dtype, shape, then the bytes (text arrays as their
    strings joined by newlines, so '<U9' and '<U10' of the same names agree)."""
    parts = []
    for name in sorted(arrays):
        a = np.asarray(arrays[name])
        parts.append(name.encode() + b"\0")
        if a.dtype.kind in "US":
            parts.append(b"str" + repr(a.shape).encode() + "\n".join(map(str, a.ravel())).encode())
        else:
            parts += [a.dtype.str.encode() + repr(a.shape).encode(), a]
    return fingerprint(*parts)


def fetch(url: str, target: Path, sha256: str | None = None, timeout: float = 60.0) -> str:
    """Download `url` to `target` through a temp file in the same folder; check its SHA-256 (if given)
    before renaming it into place. Returns the SHA-256. On any failure nothing is left at `target`."""
    name, folder = target.name, target.parent
    if offline():
        raise DownloadError(f"{name}: not downloaded from {url} into {folder}: HASHING_OFFLINE=1 forbids "
                            "downloading. Unset it, or fetch the file by hand (see the README's Data section).")
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / f".{name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.part"
    try:
        try:
            with urllib.request.urlopen(url, timeout=timeout) as response, open(tmp, "wb") as f:
                size, promised = 0, response.headers.get("Content-Length")
                while chunk := response.read(1 << 20):
                    f.write(chunk)
                    size += len(chunk)
            if promised is not None and promised.isdigit() and size != int(promised):
                # http.client returns a short body without an error when the server hangs up early
                raise http.client.IncompleteRead(b"", int(promised) - size)
        # offline, refused, HTTP 404, timeout, a connection cut short (IncompleteRead)
        except (urllib.error.URLError, OSError, ValueError, http.client.HTTPException) as e:
            raise DownloadError(f"{name}: the download from {url} into {folder} failed ({e}). Check the network "
                                "and the address, or fetch the file by hand (see the README's Data section).") from e
        digest = fingerprint(tmp.read_bytes())
        if sha256 is not None and digest != sha256:
            raise DownloadError(f"{name}: the file from {url} has SHA-256 {digest}, expected {sha256}: it is "
                                f"corrupt or not the release this project knows; nothing was kept in {folder}.")
        os.replace(tmp, target)
        return digest
    finally:
        tmp.unlink(missing_ok=True)


def download_wikipedia(data_dir: Path | str | None = None, *, source: Source = SOURCES["wikipedia"],
                       archive: Path | str | None = None, force: bool = False, log=print) -> Path:
    """Fetch the Wikipedia release (or read `archive`, a copy fetched by hand), verify it, convert it into
    <data_dir>/wikipedia/wikipedia_sift128_lda10.npz (data_dir: default_data_dir()). Returns the npz's path;
    an existing one is kept unless force."""
    data_dir = Path(data_dir) if data_dir is not None else default_data_dir()
    target = data_dir / source.target
    if target.exists() and not force:
        log(f"wikipedia: {target} is there already (force=True / --force fetches it again)")
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    origin = str(archive) if archive is not None else source.url
    # a download lands beside the target (verified, then renamed from its temp name) and is removed once read
    fetched = target.parent / Path(source.url).name if archive is None else None
    try:
        if fetched is not None:
            log(f"wikipedia: downloading {source.url}")
            digest = fetch(source.url, fetched, source.archive_sha256)
            path = fetched
        else:
            path = Path(archive)
            try:
                digest = fingerprint(path.read_bytes())
            except OSError as e:
                raise DownloadError(f"{path}: cannot be read ({e}); nothing was written to {target.parent}") from e
            if source.archive_sha256 is not None and digest != source.archive_sha256:
                raise DownloadError(f"{path.name}: SHA-256 {digest}, expected {source.archive_sha256} (the release "
                                    f"at {source.url}); nothing was written to {target.parent}")
        try:
            arrays = wikipedia_arrays(read_archive_members(path))
        except Exception as e:      # any reader's error (tar, gzip, zip, MATLAB, our checks): not the release
            raise DownloadError(f"{path.name}: the archive from {origin} is not the expected release ({e}); "
                                f"nothing was written to {target.parent}") from e
        got = content_sha256(arrays)
        if source.content_sha256 is not None and got != source.content_sha256:
            raise DownloadError(f"{target.name}: the arrays converted from {origin} have content SHA-256 {got}, "
                                f"expected {source.content_sha256}; nothing was written to {target.parent}")
        buf = io.BytesIO()
        np.savez_compressed(buf, **arrays)
        atomic_write(target, buf.getvalue())
        status = lambda pinned: "verified" if pinned else "not pinned"
        note = (f"source: {origin}\nrelease: {source.url} (homepage {source.homepage})\n"
                f"date: {time.strftime('%Y-%m-%d %H:%M:%S')}\n"
                f"archive sha256: {digest} ({status(source.archive_sha256)})\n"
                f"content sha256: {got} ({status(source.content_sha256)})\n")
        atomic_write(target.parent / "SOURCE.txt", note.encode())
        log(f"wikipedia: {target} written ({len(arrays['labels'])} pairs); archive SHA-256 {digest} "
            f"({status(source.archive_sha256)}), content SHA-256 ({status(source.content_sha256)})")
        return target
    finally:
        if fetched is not None:
            fetched.unlink(missing_ok=True)


def download_torchvision(name: str, data_dir: Path | str | None = None) -> Path:
    """torchvision's own download of 'mnist', 'fashion-mnist', 'cifar10' or 'cifar100' (it checks each file's
    MD5) into `data_dir` (default: the project's data/). Returns that folder; FileNotFoundError when it fails."""
    import torchvision
    if name not in TORCHVISION_LAYOUT:
        raise ValueError(f"no torchvision download for {name!r}; choose one of {', '.join(TORCHVISION_LAYOUT)}")
    cls = getattr(torchvision.datasets, TORCHVISION_LAYOUT[name][0])
    root = Path(data_dir) if data_dir is not None else default_data_dir()
    try:
        for train in (True, False):
            cls(root=str(root), train=train, download=True)
    except Exception as e:  # no network, or a failed checksum
        raise FileNotFoundError(f"{name}: the download into {root} failed ({e}). Fetch the files by hand, or set "
                                "HASHING_DATA_DIR to a folder that holds them (see data/README.md).") from e
    return root


def download_fashion_mnist(log=print) -> None:
    """The four Fashion-MNIST files through torchvision (MD5-checked) into the project's data/."""
    if find_idx_files("fashion-mnist") is not None:
        log("fashion-mnist: the four files are there already")
        return
    if offline():
        raise DownloadError(f"fashion-mnist: not downloaded into {default_data_dir()}: HASHING_OFFLINE=1 forbids "
                            "downloading")
    log("fashion-mnist: downloading through torchvision")
    download_torchvision("fashion-mnist")


def download(name: str, data_dir=None, force: bool = False, archive=None, log=print) -> None:
    """'wikipedia', 'fashion-mnist' or 'all'; archive: a local copy of the Wikipedia release to use instead."""
    names = ("wikipedia", "fashion-mnist")
    if name not in names + ("all",):
        raise ValueError(f"unknown data set {name!r} to download; choose one of {', '.join(names + ('all',))}")
    for n in names if name == "all" else (name,):
        if n == "wikipedia":
            download_wikipedia(data_dir, archive=archive, force=force, log=log)
        else:
            download_fashion_mnist(log=log)
