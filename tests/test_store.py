"""hashing_utils.store: fingerprints, atomic writes, the missing-data error and DiskCache's guarantees (checked
against the bytes on disk, damaged entries, two writers)."""
import hashlib
import json
import threading

import numpy as np
import pytest
import torch

from hashing_utils import store


def test_fingerprint_is_sha256_of_the_parts_in_order():
    a = np.arange(6, dtype=np.int64).reshape(2, 3)
    want = hashlib.sha256(b"shape" + "é".encode() + a.tobytes() + torch.ones(3).numpy().tobytes()).hexdigest()
    assert store.fingerprint(b"shape", "é", a, torch.ones(3)) == want
    assert store.fingerprint(b"x", digits=16) == hashlib.sha256(b"x").hexdigest()[:16]
    # a non-contiguous view hashes as its C-order copy
    assert store.fingerprint(a.T) == store.fingerprint(np.ascontiguousarray(a.T))
    with pytest.raises(TypeError, match="fingerprint takes"):
        store.fingerprint(3)
    assert store.canonical_json({"b": 1, "a": [1, 2]}) == '{"a":[1,2],"b":1}'


def test_atomic_write_replaces_whole_and_leaves_no_temp(tmp_path, monkeypatch):
    target = tmp_path / "f.bin"
    store.atomic_write(target, b"old")
    store.atomic_write(target, b"new contents")
    assert target.read_bytes() == b"new contents" and sorted(p.name for p in tmp_path.iterdir()) == ["f.bin"]

    def fail(*a):
        raise OSError("disk full")
    monkeypatch.setattr(store.os, "replace", fail)
    with pytest.raises(OSError, match="disk full"):
        store.atomic_write(target, b"half")
    assert target.read_bytes() == b"new contents" and sorted(p.name for p in tmp_path.iterdir()) == ["f.bin"]


def test_missing_data_error_names_file_folders_fetch_and_fast_mode(monkeypatch, tmp_path):
    monkeypatch.setenv("HASHING_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("HASHING_OFFLINE", "1")
    e = store.missing_data_error("x", "'x/y.npz'", get="run `make data`", fast="hu.load_dataset('digits')")
    msg = str(e)
    assert isinstance(e, FileNotFoundError) and "'x/y.npz'" in msg and str(tmp_path) in msg
    assert str(store.PROJECT_DIR / "data") in msg and "run `make data`" in msg and "HASHING_OFFLINE=1" in msg
    assert "HASHING_FAST=1" in msg and "make lab-fast" in msg and "hu.load_dataset('digits')" in msg


@pytest.fixture()
def cache(tmp_path):
    return store.DiskCache(tmp_path / "c", ".bin", what="test cache", validate=lambda record, raw: None)


def test_disk_cache_round_trip_records_the_payloads_sha256(cache):
    assert cache.get("k") is None
    rec = cache.put("k", {"n": 3}, b"payload")
    assert rec == {"n": 3, "key": "k", "sha256": hashlib.sha256(b"payload").hexdigest()}
    assert json.loads(cache.record_path("k").read_text()) == rec
    hit = cache.get("k")
    assert hit.payload == b"payload" and hit.record == rec and hit.path == cache.payload_path("k")
    assert sorted(p.name for p in cache.folder.iterdir()) == ["k.bin", "k.json"]


@pytest.mark.parametrize("damage", ["flipped payload", "truncated record", "record of another key", "invalid"])
def test_a_damaged_entry_is_a_miss_with_a_warning(cache, damage):
    def validate(record, raw):
        if raw == b"rejected":
            raise ValueError("the validate hook refused it")
    cache.validate = validate
    cache.put("k", {}, b"payload")
    cache.put("other", {}, b"rejected" if damage == "invalid" else b"x")
    if damage == "flipped payload":
        cache.payload_path("k").write_bytes(b"paylOad")
    elif damage == "truncated record":
        cache.record_path("k").write_bytes(cache.record_path("k").read_bytes()[:10])
    elif damage == "record of another key":
        cache.record_path("k").write_bytes(cache.record_path("other").read_bytes())
    key = "other" if damage == "invalid" else "k"
    with pytest.warns(RuntimeWarning, match="test cache: .* is damaged .* treated as a miss"):
        assert cache.get(key) is None
    assert cache.get(key, quiet=True) is None


def test_the_lock_serialises_two_writers_of_one_key(cache):
    order = []

    def writer(tag):
        with cache.lock("k"):
            order.append(f"{tag} in")
            if cache.get("k", quiet=True) is None:      # look again under the lock: computed once
                order.append(f"{tag} computes")
                cache.put("k", {}, tag.encode())
            order.append(f"{tag} out")
    # flock is per open file description: two threads with their own handles exclude each other like processes
    threads = [threading.Thread(target=writer, args=(t,)) for t in ("a", "b")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len([o for o in order if o.endswith("computes")]) == 1
    assert [o.split()[1] for o in order if not o.endswith("computes")] == ["in", "out", "in", "out"]
