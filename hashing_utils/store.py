"""Where things live on disk and how they are written: the bottom of the data layer.

One owner for each of: the project / data / cache folders and the environment flags that move them
(HASHING_DATA_DIR, HASHING_CACHE_DIR, HASHING_OFFLINE; HASHING_FAST is read by the notebooks and only named here,
in the missing-data error's advice), atomic writes, SHA-256 fingerprints, the missing-data error, and DiskCache
(the on-disk cache of the experiments and of the frozen features).

Layering of the data layer (imports run downwards only; tests/test_imports.py checks that the package has no
cycle, counting imports inside functions):

    store        (this module: imports nothing from hashing_utils)
    formats      file-format readers: IDX, CIFAR pickles, list files, the Wikipedia release
    download     fetching files into a data folder (verified)
    data         RetrievalSplit, the data-set registry, load_dataset, the built-in and two-view sets
    protocols    the papers' protocols; registers its loaders into data's registry at import
    above them   experiments and features (each keeps a DiskCache), hierarchy (find_data_file), backbones and
                 models (offline(), for the one missing-weights policy)
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import os
import uuid
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

PROJECT_DIR = Path(__file__).resolve().parent.parent


# ----------------------------------------------------------------------------- environment and folders
def offline() -> bool:
    """True when $HASHING_OFFLINE is "1": nothing may be downloaded (tests, CI, an air-gapped machine)."""
    return os.environ.get("HASHING_OFFLINE", "0") == "1"


def data_dirs() -> list[Path]:
    """Folders searched for data files, in order: each folder of $HASHING_DATA_DIR (os.pathsep-separated),
    then the project's data/."""
    dirs = [Path(p) for p in os.environ.get("HASHING_DATA_DIR", "").split(os.pathsep) if p]
    return dirs + [PROJECT_DIR / "data"]


def default_data_dir() -> Path:
    """Where downloads go: the project's data/ (searched last by data_dirs())."""
    return PROJECT_DIR / "data"


def find_data_file(*relative: str) -> Path | None:
    """The first existing <dir>/<relative> over data_dirs() and the given relative paths, or None."""
    for d in data_dirs():
        for rel in relative:
            if (d / rel).exists():
                return d / rel
    return None


def cache_dir() -> Path:
    """$HASHING_CACHE_DIR, else <project>/build/cache: experiment records, and features/ below it."""
    return Path(os.environ.get("HASHING_CACHE_DIR") or PROJECT_DIR / "build" / "cache")


# ----------------------------------------------------------------------------- writing and hashing
def atomic_write(path: Path, data: bytes) -> None:
    """Write `data` to `path` so that a reader sees the old file or the whole new one, never a part: a temp
    file in the same folder (a rename is atomic only within one file system), named by pid + a random tag so
    that two writers never share one, flushed to disk, then os.replace. Killed mid-write, only the temp remains
    (a dot file ending in .tmp)."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _as_bytes(part) -> bytes:
    if isinstance(part, (bytes, bytearray, memoryview)):
        return bytes(part)
    if isinstance(part, str):
        return part.encode()
    if hasattr(part, "detach") and hasattr(part, "numpy"):        # a torch tensor, without importing torch
        part = part.detach().cpu().contiguous().numpy()
    if isinstance(part, np.ndarray):
        return np.ascontiguousarray(part).tobytes()
    raise TypeError(f"fingerprint takes bytes, str, numpy arrays or tensors, got {type(part).__name__}")


def fingerprint(*parts, digits: int | None = None) -> str:
    """SHA-256 (hex) of the parts fed in order: bytes as they are, str as UTF-8, an array or tensor as its
    raw bytes (C order; the caller adds shape and dtype when they matter). digits: keep the first `digits`
    hex digits (16 for data fingerprints, 24 for cache keys; None = all 64)."""
    h = hashlib.sha256()
    for part in parts:
        h.update(_as_bytes(part))
    return h.hexdigest() if digits is None else h.hexdigest()[:digits]


def canonical_json(obj) -> str:
    """The JSON that a cache key hashes: sorted keys, no spaces, str() for anything JSON cannot hold."""
    return json.dumps(obj, sort_keys=True, default=str, separators=(",", ":"))


# ----------------------------------------------------------------------------- the missing-data error
FAST_MODE_HINT = ("Or use fast mode, which needs no data file: set HASHING_FAST=1 before starting Python or "
                  "Jupyter (`make lab-fast` opens JupyterLab in fast mode){}.")


def missing_data_error(name: str, what: str, *, get: str = "", fast: str = "") -> FileNotFoundError:
    """The one error for data that is not on disk: names the data set and file, lists the folders searched,
    says why nothing was downloaded, how to get the file, and how to switch to fast mode instead.
    get: how to fetch it (default: put it in a data folder; data/README.md); fast: the call that needs no
    file (e.g. "hu.load_dataset('fashion-mnist', fast=True)")."""
    places = "\n  ".join(str(d) for d in data_dirs())
    why = "HASHING_OFFLINE=1 forbids downloading" if offline() else "it cannot be downloaded here"
    how = get or "put the files there (see data/README.md for the source)"
    in_code = f"; in code {fast}" if fast else ""
    return FileNotFoundError(
        f"{name}: {what} not found, and {why}. Folders searched (set HASHING_DATA_DIR to add yours):\n  {places}\n"
        f"To get it: {how}.\n" + FAST_MODE_HINT.format(in_code))


# ----------------------------------------------------------------------------- the on-disk cache
@dataclass
class CacheHit:
    """A cache entry that passed its checks: the record (JSON dict), the payload's bytes and path."""
    record: dict
    payload: bytes
    path: Path


class DiskCache:
    """Entries <folder>/<key><suffix> (the payload, bytes) and <folder>/<key>.json (a record: a dict holding
    'key' and the payload's SHA-256 under `digest_field`).

    Guarantees: every file goes through atomic_write (a temp file of its own, then a rename), the payload
    first and the record last, so a record on disk always has its payload; get() checks the record's key,
    the payload's SHA-256 and `validate(record, payload)`, and a damaged entry (truncated, corrupt, of another
    key) is a miss with a RuntimeWarning, never a crash; lock(key) is an exclusive per-key lock (flock on
    <folder>/.locks/<key>.lock, dropped by the OS when the process dies) under which a process that missed
    looks again, computes and stores, so two processes compute a key once."""

    def __init__(self, folder, suffix: str, *, what: str = "cache", digest_field: str = "sha256",
                 validate=None):
        self.folder, self.suffix, self.what = Path(folder), suffix, what
        self.digest_field, self.validate = digest_field, validate

    def payload_path(self, key: str) -> Path:
        return self.folder / f"{key}{self.suffix}"

    def record_path(self, key: str) -> Path:
        return self.folder / f"{key}.json"

    def get(self, key: str, quiet: bool = False) -> CacheHit | None:
        """The entry of `key`, or None: absent (a plain miss) or damaged (a miss with a warning unless quiet).
        A record written without a digest (older versions) is checked by `validate` alone."""
        record_path, payload_path = self.record_path(key), self.payload_path(key)
        if not record_path.exists() or not payload_path.exists():
            return None
        try:
            record = json.loads(record_path.read_text())
            if not isinstance(record, dict) or record.get("key") != key:
                raise ValueError("not a record of this key")
            raw = payload_path.read_bytes()
            digest = record.get(self.digest_field)
            if digest is not None and fingerprint(raw) != digest:
                raise ValueError(f"the {self.suffix} file is not the one this record was written with")
            if self.validate is not None:
                self.validate(record, raw)
        except Exception as e:      # whatever a reader raises on damaged bytes (json, zip, npy, our checks)
            if not quiet:
                warnings.warn(f"{self.what}: {record_path.name} / {payload_path.name} in {self.folder} is damaged "
                              f"({type(e).__name__}: {e}); treated as a miss, the entry is computed again",
                              RuntimeWarning, stacklevel=3)
            return None
        return CacheHit(record, raw, payload_path)

    def put(self, key: str, record: dict, payload: bytes) -> dict:
        """Store the payload, then the record with 'key' and the payload's SHA-256 added; returns that record."""
        self.folder.mkdir(parents=True, exist_ok=True)
        record = {**record, "key": key, self.digest_field: fingerprint(payload)}
        atomic_write(self.payload_path(key), payload)
        atomic_write(self.record_path(key), json.dumps(record, indent=1, default=str).encode())
        return record

    @contextlib.contextmanager
    def lock(self, key: str):
        """An exclusive lock on `key` while a process computes and stores it. Best effort: without fcntl
        (Windows) or a writable folder it does not lock, and the atomic writes alone keep every entry whole."""
        try:
            import fcntl
            (self.folder / ".locks").mkdir(parents=True, exist_ok=True)
            handle = open(self.folder / ".locks" / f"{key}.lock", "a")
        except (ImportError, OSError):
            yield
            return
        with handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)
