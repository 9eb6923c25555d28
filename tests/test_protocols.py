"""Paper protocols on generated data: a tiny CIFAR-10 in its pickle format and a list-file set of PNG images."""
import numpy as np
import pytest
import torch

import hashing_utils as hu
from datafakes import write_fake_cifar10, write_fake_list_set
from hashing_utils import protocols as P


def test_preset_sizes_are_the_papers():
    assert P.PROTOCOLS["cifar10"].sizes() == {"query": 1000, "train": 5000, "database": 54000}
    assert P.PROTOCOLS["cifar10-1"].sizes() == {"query": 1000, "train": 5000, "database": 59000}
    assert P.PROTOCOLS["cifar10-2"].sizes() == {"query": 10000, "train": 50000, "database": 50000}
    assert [P.PROTOCOLS[k].topk for k in ("nus-wide-21", "ms-coco", "imagenet-100")] == [5000, 5000, 1000]
    assert all(P.PROTOCOLS[k].topk is None for k in ("cifar10", "cifar10-1", "cifar10-2"))
    table = P.protocol_table()
    assert "54,000" in table and "59,000" in table and "mAP@1000" in table


@pytest.mark.parametrize("name", ["cifar10", "cifar10-1", "cifar10-2"])
def test_full_size_indices_on_labels(name):
    # the real protocol sizes, drawn on label arrays of CIFAR-10's shape (no images needed)
    rng = np.random.default_rng(0)
    y_tr, y_te = rng.permutation(np.repeat(np.arange(10), 5000)), rng.permutation(np.repeat(np.arange(10), 1000))
    p = P.PROTOCOLS[name]
    ix = P.draw_indices(p, y_tr, y_te, seed=3)
    assert {k: len(v) for k, v in ix.items()} == p.sizes()
    pool = np.concatenate([y_tr, y_te])
    q, t, db = ix["query"], ix["train"], ix["database"]
    assert len(np.intersect1d(q, db)) == 0 and len(np.intersect1d(q, t)) == 0
    per_q = np.bincount(pool[q], minlength=10)
    per_t = np.bincount(pool[t], minlength=10)
    if name == "cifar10-2":
        assert np.array_equal(q, np.arange(50000, 60000)) and np.array_equal(t, np.arange(50000))
        assert np.array_equal(db, t)
    else:
        assert (per_q == 100).all() and (per_t == 500).all()
        want_db = np.setdiff1d(np.arange(60000), q if name == "cifar10-1" else np.concatenate([q, t]))
        assert np.array_equal(db, want_db)
    again = P.draw_indices(p, y_tr, y_te, seed=3)
    assert all(np.array_equal(ix[k], again[k]) for k in ix)
    if name != "cifar10-2":
        other = P.draw_indices(p, y_tr, y_te, seed=4)
        assert not np.array_equal(ix["query"], other["query"])


@pytest.fixture(scope="module")
def fake_cifar(tmp_path_factory):
    return write_fake_cifar10(tmp_path_factory.mktemp("c") / "cifar-10-batches-py", 50, 10, seed=0)


@pytest.mark.parametrize("name", ["cifar10", "cifar10-1", "cifar10-2"])
def test_fake_cifar_pickles_under_scaled_protocol(fake_cifar, name):
    p = P.PROTOCOLS[name].scaled(0.01)
    split = hu.load_dataset("cifar10", protocol=p, root=fake_cifar.parent, seed=1)
    s = p.sizes()
    assert (len(split.x_query), len(split.x_train), len(split.x_db)) == (s["query"], s["train"], s["database"])
    assert split.x_train.shape[1:] == (3, 32, 32) and split.x_train.dtype == torch.float32
    assert float(split.x_train.max()) <= 1 and float(split.x_train.min()) >= 0
    # images match the pickles: the pool is the five training batches then the test batch
    x_tr, y_tr, x_te, y_te, names = P.read_cifar10(fake_cifar)
    pool = np.concatenate([x_tr, x_te]).astype(np.float32) / 255
    assert np.allclose(split.x_query.numpy(), pool[split.indices["query"]])
    assert torch.equal(split.y_db.argmax(1), torch.from_numpy(np.concatenate([y_tr, y_te])[split.indices["database"]]))
    assert names[0] == "airplane" and split.class_names == names
    assert split.topk == len(split.x_db)                    # mAP@all


def test_indices_saved_and_reused(fake_cifar, tmp_path):
    p = P.PROTOCOLS["cifar10"].scaled(0.01)
    a = hu.load_dataset("cifar10", protocol=p, root=fake_cifar, seed=7)
    f = a.save_indices(tmp_path / "ix.npz")
    b = hu.load_dataset("cifar10", protocol=p, root=fake_cifar, seed=0, indices=f)
    assert torch.equal(a.x_query, b.x_query) and torch.equal(a.x_db, b.x_db)
    c = hu.load_dataset("cifar10", protocol=p, root=fake_cifar, seed=0)
    assert not torch.equal(a.x_query, c.x_query)
    with pytest.raises(ValueError, match="protocol"):
        hu.load_dataset("cifar10", protocol=P.PROTOCOLS["cifar10-1"].scaled(0.01), root=fake_cifar, indices=f)
    other = write_fake_cifar10(tmp_path / "other", 50, 10, seed=9)
    with pytest.raises(ValueError, match="other data"):
        hu.load_dataset("cifar10", protocol=p, root=other, indices=f)


def test_evaluation_uses_the_protocols_k(fake_cifar):
    split = hu.load_dataset("cifar10", protocol=P.PROTOCOLS["cifar10"].scaled(0.01), root=fake_cifar)
    h = hu.fit("itq", split.x_train, bits=8, seed=0)
    out = split.evaluate(h)
    q, db = h.encode(split.x_query), h.encode(split.x_db)
    assert out["map_protocol"] == pytest.approx(hu.metrics.mean_average_precision(q, db, split.y_query, split.y_db))
    assert out["map_protocol"] == pytest.approx(out["map_all"]) and out["protocol"].startswith("cifar10")


def test_wrong_sizes_and_missing_files(fake_cifar, tmp_path):
    # the full protocol on the tiny files: a clear size error that points to scaled()
    with pytest.raises(ValueError, match=r"expects 5,000 .*scaled"):
        hu.load_dataset("cifar10", protocol="cifar10", root=fake_cifar)
    with pytest.raises(FileNotFoundError, match="test_batch"):
        (tmp_path / "cifar-10-batches-py").mkdir()
        hu.load_dataset("cifar10", protocol="cifar10", root=tmp_path)
    bad = write_fake_cifar10(tmp_path / "bad", 50, 10)
    (bad / "data_batch_3").write_bytes(b"\x80\x04 truncated")
    with pytest.raises(ValueError, match="data_batch_3"):
        hu.load_dataset("cifar10", protocol=P.PROTOCOLS["cifar10"].scaled(0.01), root=bad)
    with pytest.raises(ValueError, match="unknown protocol"):
        hu.load_dataset("cifar10", protocol="cifar-10")
    with pytest.raises(ValueError, match="not a positive integer"):
        P.PROTOCOLS["cifar10"].scaled(0.003)


def test_cifar10_missing_offline_names_the_folders(monkeypatch, tmp_path):
    monkeypatch.setenv("HASHING_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("HASHING_OFFLINE", "1")
    monkeypatch.setattr(hu.store, "PROJECT_DIR", tmp_path)
    with pytest.raises(FileNotFoundError, match="cifar-10-batches-py"):
        hu.load_dataset("cifar10", protocol="cifar10")


def test_fashion_stand_in_fast(tmp_path):
    s = hu.load_dataset("fashion-mnist", protocol="cifar10", fast=True, seed=0)
    assert (len(s.x_query), len(s.x_train), len(s.x_db)) == (100, 500, 5400)
    assert "fashion-mnist" in s.description and s.topk == 5400
    s2 = hu.load_dataset("fashion-mnist", protocol="cifar10-2", fast=True)
    assert (len(s2.x_query), len(s2.x_train), len(s2.x_db)) == (1000, 5000, 5000)


@pytest.fixture(scope="module")
def list_set(tmp_path_factory):
    return write_fake_list_set(tmp_path_factory.mktemp("l"), n_classes=3, n_train=6, n_query=3, n_database=9)


def test_list_file_set_loads(list_set):
    p = P.PROTOCOLS["nus-wide-21"].resized(n_classes=3, n_train=6, n_query=3, n_database=9)
    s = hu.load_dataset("nus-wide-21", protocol=p, root=list_set, size=8)
    assert (len(s.x_train), len(s.x_query), len(s.x_db)) == (6, 3, 9)
    assert s.topk == 5000 and set(s.y_db.sum(1).tolist()) <= {1.0, 2.0}
    img = s.x_query[0]
    assert img.shape == (3, 8, 8) and img.dtype == torch.float32 and 0 <= float(img.min()) <= float(img.max()) <= 1
    paths, y = P.read_list_file(list_set / "database.txt")
    assert torch.equal(y, s.y_db) and s.x_db.paths == paths
    from PIL import Image
    with Image.open(list_set / paths[0]) as im:
        ref = torch.from_numpy(np.asarray(im.convert("RGB").resize((8, 8), Image.BILINEAR)).copy())
    assert torch.allclose(s.x_db[0], ref.permute(2, 0, 1).float() / 255)
    # encodable through the frozen path: a whole tensor of the images
    assert s.x_train.tensor().shape == (6, 3, 8, 8)


def test_list_file_errors(list_set, tmp_path):
    p = P.PROTOCOLS["ms-coco"].resized(n_classes=3, n_train=6, n_query=3, n_database=None)
    with pytest.raises(ValueError, match="3 entries, the protocol has 80 classes"):
        hu.load_dataset("ms-coco", protocol="ms-coco", root=list_set)
    with pytest.raises(ValueError, match="expected 10,000"):
        hu.load_dataset("ms-coco", protocol=P.PROTOCOLS["ms-coco"].resized(n_classes=3), root=list_set)
    with pytest.raises(ValueError, match="pass root"):
        hu.load_dataset("ms-coco", protocol=p)
    # without protocol=, a list-file set is read under its own preset (registered by protocols.py)
    with pytest.raises(ValueError, match="3 entries, the protocol has 21 classes"):
        hu.load_dataset("nus-wide-21", root=list_set)
    with pytest.raises(ValueError, match="no fast mode"):
        hu.load_dataset("nus-wide-21", root=list_set, fast=True)
    bad = tmp_path / "bad.txt"
    bad.write_text("images/a.png 0 1 2\n")
    with pytest.raises(ValueError, match="only 0 and 1"):
        P.read_list_file(bad)
    bad.write_text("images/a.png 0 1\nimages/b.png 1\n")
    with pytest.raises(ValueError, match=":2: 1 labels"):
        P.read_list_file(bad)
    with pytest.raises(FileNotFoundError, match="list file"):
        P.read_list_file(tmp_path / "none.txt")
    import shutil
    broken = tmp_path / "broken"
    shutil.copytree(list_set, broken)
    (broken / "images" / "test_1.png").unlink()
    with pytest.raises(FileNotFoundError, match="1 of the 3 images in test.txt"):
        hu.load_dataset("ms-coco", protocol=p, root=broken)


def test_protocol_benchmark_runs_and_says_which_data(tmp_path):
    import importlib.util
    from pathlib import Path
    path = Path(__file__).resolve().parent.parent / "benchmarks" / "run_protocol.py"
    spec = importlib.util.spec_from_file_location("run_protocol", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    out = tmp_path / "p.csv"
    assert mod.main(["--dataset", "fashion-mnist", "--fast", "--backbone", "pixels", "--methods", "itq",
                     "--bits", "16", "--seeds", "0", "--out", str(out)]) == 0
    md = out.with_suffix(".md").read_text()
    assert "NOT CIFAR-10" in md and "not compared" in md and "comparable" in md
    rows = out.read_text().splitlines()
    assert len(rows) == 2 and rows[1].startswith("fashion-mnist,fast subset,cifar10")
