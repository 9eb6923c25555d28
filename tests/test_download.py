"""hashing_utils.download against a local HTTP server on 127.0.0.1 serving a small generated release: a good
archive is verified and converted into the loader's layout; a corrupted one, wrong contents, an unreachable
server, a missing file and HASHING_OFFLINE=1 give a clear error and leave nothing behind. No internet."""
import functools
import hashlib
import http.server
import io
import socket
import tarfile
import threading
from dataclasses import replace

import numpy as np
import pytest

import hashing_utils as hu
from hashing_utils import download as dl
from hashing_utils.__main__ import main as cli


def _release(n_train=6, n_test=3, seed=0) -> tuple[bytes, dict]:
    """A .tar.gz laid out like the SVCL release (features + lists, random values) and the arrays the loader
    should get from it."""
    import scipy.io
    rng = np.random.default_rng(seed)
    img = rng.random((n_train + n_test, 128))
    img /= img.sum(1, keepdims=True)
    txt = rng.dirichlet(np.ones(10), n_train + n_test)
    cats = rng.integers(1, 11, n_train + n_test)
    mat = io.BytesIO()
    scipy.io.savemat(mat, {"I_tr": img[:n_train], "T_tr": txt[:n_train], "I_te": img[n_train:], "T_te": txt[n_train:]})
    lists = {name: "".join(f"t{i:04x}\timg{i:04x}\t{c}\n" for i, c in zip(rows, cats[rows]))
             for name, rows in (("trainset_txt_img_cat.list", range(n_train)),
                                ("testset_txt_img_cat.list", range(n_train, n_train + n_test)))}
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name, data in [("raw_features.mat", mat.getvalue())] + [(k, v.encode()) for k, v in lists.items()]:
            info = tarfile.TarInfo(f"wikipedia_dataset/{name}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    expected = {"img_sift_bow128": img.astype(np.float32), "txt_lda10": txt.astype(np.float32),
                "labels": (cats - 1).astype(np.uint8), "is_train": np.arange(n_train + n_test) < n_train,
                "class_names": np.array(dl.WIKIPEDIA_CLASSES)}
    return buf.getvalue(), expected


@pytest.fixture()
def server(tmp_path):
    """http://127.0.0.1:<port>/ serving tmp_path/www (quietly), shut down after the test."""
    www = tmp_path / "www"
    www.mkdir()

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_GET(self):
            if self.path == "/cut-short.tar.gz":      # promises 100 kB, sends 100 bytes, hangs up
                self.send_response(200)
                self.send_header("Content-Length", "100000")
                self.end_headers()
                self.wfile.write(b"x" * 100)
                self.close_connection = True
                return
            super().do_GET()
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(www)))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield www, f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture()
def online(monkeypatch):
    monkeypatch.setenv("HASHING_OFFLINE", "0")


def _source(url, archive, expected, **changes):
    return replace(dl.SOURCES["wikipedia"], url=url, archive_sha256=hashlib.sha256(archive).hexdigest(),
                   content_sha256=dl.content_sha256(expected), **changes)


def _left_behind(folder):
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*")) if folder.exists() else []


def test_download_verifies_and_converts_into_the_loaders_layout(server, tmp_path, online, monkeypatch):
    www, base = server
    archive, expected = _release()
    (www / "wiki.tar.gz").write_bytes(archive)
    data = tmp_path / "data"
    logs = []
    path = dl.download_wikipedia(data, source=_source(f"{base}/wiki.tar.gz", archive, expected), log=logs.append)
    assert path == data / "wikipedia" / "wikipedia_sift128_lda10.npz"
    assert _left_behind(data) == ["wikipedia", "wikipedia/SOURCE.txt", "wikipedia/wikipedia_sift128_lda10.npz"]
    assert hashlib.sha256(archive).hexdigest() in (data / "wikipedia" / "SOURCE.txt").read_text()
    with np.load(path) as z:
        assert sorted(z.files) == sorted(expected)
        for k, v in expected.items():
            assert np.array_equal(z[k], v), k
    # the loader reads it where it looks (HASHING_DATA_DIR), with the standard protocol's split
    monkeypatch.setenv("HASHING_DATA_DIR", str(data))
    split = hu.data.load_wikipedia()
    assert len(split.y_train) == 6 and len(split.y_query) == 3 and split.image_train.shape[1] == 128
    assert split.text_query.shape[1] == 10 and split.class_names == dl.WIKIPEDIA_CLASSES
    assert np.array_equal(split.y_query.argmax(1).numpy(), expected["labels"][6:])
    # there already: kept, not fetched again (the server is not asked)
    (www / "wiki.tar.gz").unlink()
    assert dl.download_wikipedia(data, source=_source(f"{base}/wiki.tar.gz", archive, expected), log=logs.append) == path


@pytest.mark.parametrize("damage", ["flipped byte", "truncated", "wrong contents"])
def test_a_corrupted_or_wrong_archive_is_rejected_and_leaves_nothing(server, tmp_path, online, damage):
    www, base = server
    archive, expected = _release()
    source = _source(f"{base}/wiki.tar.gz", archive, expected)
    if damage == "flipped byte":
        served = archive[:100] + bytes([archive[100] ^ 0xFF]) + archive[101:]
    elif damage == "truncated":
        served = archive[: len(archive) // 2]
    else:       # a well-formed archive of other numbers, its own SHA-256 pinned: the content check refuses it
        served, _ = _release(seed=1)
        source = replace(source, archive_sha256=hashlib.sha256(served).hexdigest())
    (www / "wiki.tar.gz").write_bytes(served)
    data = tmp_path / "data"
    match = "content SHA-256" if damage == "wrong contents" else "SHA-256 .* expected"
    with pytest.raises(dl.DownloadError, match=match) as err:
        dl.download_wikipedia(data, source=source, log=lambda m: None)
    message = str(err.value)
    assert source.url in message and str(data / "wikipedia") in message
    assert _left_behind(data) == ["wikipedia"]          # the empty target folder, no partial file


def test_an_unpinned_archive_with_bad_contents_names_the_archive(server, tmp_path, online):
    www, base = server
    (www / "wiki.tar.gz").write_bytes(b"this is not an archive")
    archive, expected = _release()
    source = replace(_source(f"{base}/wiki.tar.gz", archive, expected), archive_sha256=None)
    with pytest.raises(dl.DownloadError, match="wiki.tar.gz.*not the expected release"):
        dl.download_wikipedia(tmp_path / "data", source=source, log=lambda m: None)
    assert _left_behind(tmp_path / "data") == ["wikipedia"]


def test_unreachable_missing_cut_short_and_offline_give_a_clear_error(server, tmp_path, online, monkeypatch):
    _, base = server
    archive, expected = _release()
    with socket.socket() as s:          # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]
    data = tmp_path / "data"
    for url, match in ((f"http://127.0.0.1:{closed}/wiki.tar.gz", "refused|failed"),
                       (f"{base}/missing.tar.gz", "404|Not Found"),
                       (f"{base}/cut-short.tar.gz", "IncompleteRead|failed")):
        with pytest.raises(dl.DownloadError, match=match) as err:
            dl.download_wikipedia(data, source=_source(url, archive, expected), log=lambda m: None)
        assert url in str(err.value) and str(data / "wikipedia") in str(err.value)
        assert _left_behind(data) == ["wikipedia"]
    monkeypatch.setenv("HASHING_OFFLINE", "1")
    with pytest.raises(dl.DownloadError, match="HASHING_OFFLINE=1 forbids downloading"):
        dl.download_wikipedia(data, source=_source(f"{base}/wiki.tar.gz", archive, expected), log=lambda m: None)
    with pytest.raises(ValueError, match="unknown data set 'imagenet'"):
        dl.download("imagenet")


def test_the_command_line_reports_a_failed_download(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("HASHING_OFFLINE", "1")
    assert cli(["download", "wikipedia", "--dir", str(tmp_path / "data")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: wiki_nodata_top10cats.tar.gz: not downloaded")
    assert dl.SOURCES["wikipedia"].url in err and str(tmp_path / "data" / "wikipedia") in err


def test_the_loader_downloads_only_when_online(tmp_path, monkeypatch):
    calls = []
    monkeypatch.setenv("HASHING_DATA_DIR", str(tmp_path / "empty"))
    monkeypatch.setattr(hu.store, "PROJECT_DIR", tmp_path / "project")        # no data/ of the checkout either
    monkeypatch.setattr(dl, "download_wikipedia", lambda *a, **k: calls.append(1) or None)
    monkeypatch.setenv("HASHING_OFFLINE", "1")
    with pytest.raises(FileNotFoundError, match="wikipedia_sift128_lda10.npz"):
        hu.data.load_wikipedia()
    assert calls == []
    monkeypatch.setenv("HASHING_OFFLINE", "0")
    with pytest.raises(FileNotFoundError):
        hu.data.load_wikipedia()
    assert calls == [1]


def test_the_pinned_digest_is_that_of_the_development_copy():
    """Where the full file is at hand (HASHING_DATA_DIR), converting it back through the release's layout gives
    the pinned content SHA-256: the converter and the pin agree on real data."""
    path = hu.data.find_data_file(hu.data.WIKIPEDIA_FILE)
    if path is None:
        pytest.skip("the Wikipedia file is not in HASHING_DATA_DIR or data/")
    with np.load(path) as z:
        arrays = {k: z[k] for k in z.files}
    assert dl.content_sha256(arrays) == dl.SOURCES["wikipedia"].content_sha256
    import scipy.io
    tr = arrays["is_train"]
    mat = io.BytesIO()
    scipy.io.savemat(mat, {"I_tr": arrays["img_sift_bow128"][tr].astype(np.float64),
                           "T_tr": arrays["txt_lda10"][tr].astype(np.float64),
                           "I_te": arrays["img_sift_bow128"][~tr].astype(np.float64),
                           "T_te": arrays["txt_lda10"][~tr].astype(np.float64)})
    lists = {f"{n}set_txt_img_cat.list": "".join(f"t\ti\t{c + 1}\n" for c in arrays["labels"][rows]).encode()
             for n, rows in (("train", tr), ("test", ~tr))}
    converted = dl.wikipedia_arrays({"raw_features.mat": mat.getvalue(), **lists})
    assert dl.content_sha256(converted) == dl.SOURCES["wikipedia"].content_sha256


def test_an_archive_fetched_by_hand_is_verified_and_converted(tmp_path, monkeypatch):
    monkeypatch.setenv("HASHING_OFFLINE", "1")                   # a local file needs no network
    archive, expected = _release()
    copy = tmp_path / "wiki.tar.gz"
    copy.write_bytes(archive)
    source = _source("http://127.0.0.1:9/unused.tar.gz", archive, expected)
    path = dl.download_wikipedia(tmp_path / "data", source=source, archive=copy, log=lambda m: None)
    with np.load(path) as z:
        assert np.array_equal(z["labels"], expected["labels"])
    assert copy.exists()                                        # the user's copy is left alone
    copy.write_bytes(archive[:-10])
    with pytest.raises(dl.DownloadError, match="wiki.tar.gz: SHA-256"):
        dl.download_wikipedia(tmp_path / "other", source=source, archive=copy, log=lambda m: None)
    assert _left_behind(tmp_path / "other") == ["wikipedia"]
