"""hashing_utils.experiments: the cache, the sweep, the classifier-as-hash reference, the benchmark runner."""
import csv
import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest
import scipy.stats
import torch

import hashing_utils as hu
from hashing_utils import experiments as hx


@pytest.fixture()
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("HASHING_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache"


def test_cache_hit_returns_the_same_numbers_without_training(cache, monkeypatch):
    first = hx.run_experiment("csq", "digits", bits=16, seed=0, epochs=2)
    assert not first["cached"]
    assert (cache / f"{first['key']}.json").exists() and (cache / f"{first['key']}.npz").exists()

    def no_training(*a, **k):
        raise AssertionError("a cached configuration was trained again")
    monkeypatch.setattr(hu.get_method("csq"), "fit", classmethod(no_training))
    second = hx.run_experiment("csq", "digits", bits=16, seed=0, epochs=2)
    assert second["cached"] and second["key"] == first["key"]
    assert second["metrics"] == first["metrics"]
    assert second["train_seconds"] == first["train_seconds"]
    # the stored codes reproduce the stored metrics
    q, db, yq, ydb = hx.load_codes(second)
    assert q.dtype == torch.int8 and q.shape[1] == 16 and set(q.unique().tolist()) <= {-1, 1}
    again = hu.metrics.evaluate(q, db, yq, ydb)
    for k, v in first["metrics"].items():
        assert again[k] == pytest.approx(v, abs=1e-12)


def test_a_changed_configuration_misses_the_cache(cache):
    base = hx.experiment_config("csq", "digits", bits=16, seed=0, epochs=2)
    keys = {hx.config_key(base)}
    for change in (dict(epochs=3), dict(seed=1), dict(bits=32), dict(hparams={"quant_weight": 0.01}),
                   dict(fast=True), dict(val_fraction=0.2)):
        kw = {"bits": 16, "seed": 0, "epochs": 2, **change}
        keys.add(hx.config_key(hx.experiment_config("csq", "digits", **kw)))
    assert len(keys) == 7
    # the method's default, filled in, is part of the key: stating it explicitly is the same configuration
    explicit = hx.experiment_config("csq", "digits", bits=16, seed=0, epochs=2,
                                    hparams={"quant_weight": hu.get_method("csq").defaults["quant_weight"]})
    assert hx.config_key(explicit) == hx.config_key(base)
    # LSH, PCA and ITQ are untrained: their epochs do not matter (a trained method's do, above)
    for free in ("lsh", "pca", "itq"):
        assert hx.config_key(hx.experiment_config(free, "digits", 16, 0, 2)) == \
            hx.config_key(hx.experiment_config(free, "digits", 16, 0, 9))
    a = hx.run_experiment("lsh", "digits", bits=16, seed=0)
    b = hx.run_experiment("lsh", "digits", bits=16, seed=1)
    assert not b["cached"] and a["key"] != b["key"]


def test_class_code_by_hand():
    logits = torch.tensor([[0.1, 2.0, -1.0], [3.0, 2.5, 0.0]])
    assert hx.class_code(logits, 1).tolist() == [[-1, 1, -1], [1, -1, -1]]
    assert hx.class_code(logits, 2).tolist() == [[1, 1, -1], [1, 1, -1]]
    with pytest.raises(ValueError, match="k must be in 1..3"):
        hx.class_code(logits, 4)


def test_classifier_reference_beats_chance_on_digits(cache):
    res = hx.run_experiment(hx.CLASSIFIER, "digits", seed=0, epochs=3)
    assert res["config"]["bits"] == 10                     # code length C, whatever bits asks for
    q, db, yq, ydb = hx.load_codes(res)
    assert (q == 1).sum(1).eq(1).all() and (db == 1).sum(1).eq(1).all()     # one-hot
    # chance: about 1/C = 0.1; LSH at 32 bits reaches about 0.5 on this split
    assert res["metrics"]["map_all"] > 0.8
    assert res["metrics"]["map_all_pessimistic"] <= res["metrics"]["map_all"] <= res["metrics"]["map_all_optimistic"]
    # every pair of one-hot codes lies within Hamming distance 2: the radius-2 ball is the whole database
    assert res["metrics"]["p_h2"] == pytest.approx(float((yq.double() @ ydb.double().T).mean()), abs=1e-9)
    q2, _, _, _ = hx.load_codes(res, "top2")
    assert (q2 == 1).sum(1).eq(2).all()
    assert "metrics_top2" in res


def test_bad_names_give_clear_errors(cache):
    with pytest.raises(ValueError, match="unknown method 'nope'"):
        hx.run_experiment("nope", "digits")
    with pytest.raises(ValueError, match="unknown dataset 'imagenet'"):
        hx.run_experiment("csq", "imagenet")
    with pytest.raises(ValueError, match="cross-modal"):
        hx.run_experiment("dchml", "digits")
    with pytest.raises(TypeError, match="unknown hyperparameter"):
        hx.run_experiment("csq", "digits", hparams={"margin": 0.3})
    with pytest.raises(ValueError, match="unknown method"):
        hx.sweep(["csq", "typo"], "digits", bits=[16])
    assert "dchml" not in hx.benchmark_methods() and hx.CLASSIFIER in hx.benchmark_methods()
    assert hx.CLASSIFIER not in hu.list_methods()


def test_summarise_mean_and_sample_std():
    rows = [{"method": "a", "bits": 16, "code_bits": 16, "seed": s, "map_all": v, "train_seconds": 1.0}
            for s, v in enumerate([0.5, 0.7, 0.9])]
    (row,) = hx.summarise(rows, keys=("map_all", "train_seconds"))
    assert row["n"] == 3 and row["map_all"] == pytest.approx(0.7) and row["map_all_std"] == pytest.approx(0.2)


def test_benchmark_runner_writes_csv_and_markdown(cache, tmp_path):
    path = Path(__file__).resolve().parent.parent / "benchmarks" / "run_benchmark.py"
    spec = importlib.util.spec_from_file_location("run_benchmark", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    out = tmp_path / "res" / "digits.csv"
    argv = ["--dataset", "digits", "--bits", "16", "--seeds", "0", "1", "--methods", "lsh", "classifier",
            "--epochs", "1", "--device", "cpu", "--out", str(out)]
    assert mod.main(argv) == 0
    rows = list(csv.DictReader(open(out)))
    assert {r["method"] for r in rows} == {"lsh", "classifier", "classifier-top2"} and len(rows) == 6
    assert all(r["torch"] == torch.__version__ and r["device"] == "cpu" for r in rows)
    md = out.with_suffix(".md").read_text()
    assert "run_benchmark.py --dataset digits" in md and f"torch {torch.__version__}" in md and " ± " in md
    # the seed-by-seed section: lsh minus the classifier over the two seeds, from the CSV by hand
    d = [float(a["map_all"]) - float(c["map_all"]) for a, c in zip(
        sorted((r for r in rows if r["method"] == "lsh"), key=lambda r: r["seed"]),
        sorted((r for r in rows if r["method"] == "classifier"), key=lambda r: r["seed"]))]
    mean, half = np.mean(d), scipy.stats.t.ppf(0.975, 1) * np.std(d, ddof=1) / np.sqrt(2)
    line = next(x for x in md.splitlines() if x.startswith("| lsh |") and "[" in x and "±" not in x)
    assert f"{mean:+.3f} [{mean - half:+.3f}, {mean + half:+.3f}]" in line, line
    assert ("below" in line) == (mean + half < 0) and ("**above**" in line) == (mean - half > 0)
    with pytest.raises(ValueError, match="cross-modal"):
        mod.main(["--dataset", "digits", "--methods", "dchml", "--out", str(out)])


# ----------------------------------------------------------------------------- nothing lost on interrupt
PACKAGE_ROOT = Path(hu.__file__).resolve().parent.parent
# threads=1: the thread count is part of a run's key, and the child Python below runs with OMP_NUM_THREADS=1 while
# this process may have more; the same explicit count gives both the same keys
SWEEP = dict(methods_=["csq"], dataset="digits", bits=[8, 16, 32], seeds=[0], epochs=2, fast=True, device="cpu",
             threads=1)


def _child_env(cache):
    """The environment of a child Python: this test's hashing_utils first on its path, the same cache."""
    import os
    env = {**os.environ, "HASHING_CACHE_DIR": str(cache), "OMP_NUM_THREADS": "1",
           "PYTHONPATH": os.pathsep.join(filter(None, [str(PACKAGE_ROOT), os.environ.get("PYTHONPATH")]))}
    return env


def _entries(cache):
    """{key: (json exists, npz exists)} of the finished entries, and the leftover temp files."""
    names = [p.name for p in cache.iterdir() if p.is_file()] if cache.exists() else []
    keys = {n.split(".")[0] for n in names if not n.startswith(".")}
    return {k: ((cache / f"{k}.json").exists(), (cache / f"{k}.npz").exists()) for k in keys}, \
        [n for n in names if n.endswith(".tmp")]


def test_damaged_cache_entries_are_misses_with_a_warning(cache):
    first = hx.run_experiment("lsh", "digits", bits=16, seed=0)
    record, codes = cache / f"{first['key']}.json", cache / f"{first['key']}.npz"
    assert json.loads(record.read_text())["codes_sha256"]
    good_record, good_codes = record.read_bytes(), codes.read_bytes()
    other = hx.run_experiment("lsh", "digits", bits=16, seed=1)        # a valid codes file of another key
    damages = {
        "truncated JSON": lambda: record.write_bytes(good_record[: len(good_record) // 2]),
        "JSON of another key": lambda: record.write_bytes((cache / f"{other['key']}.json").read_bytes()),
        "truncated npz": lambda: codes.write_bytes(good_codes[: len(good_codes) // 2]),
        "flipped byte in npz": lambda: codes.write_bytes(good_codes[:200] + bytes([good_codes[200] ^ 0xFF])
                                                         + good_codes[201:]),
        "npz of another key": lambda: codes.write_bytes((cache / f"{other['key']}.npz").read_bytes()),
    }
    for what, damage in damages.items():
        record.write_bytes(good_record), codes.write_bytes(good_codes)
        damage()
        with pytest.warns(RuntimeWarning, match="damaged.*treated as a miss"):
            again = hx.run_experiment("lsh", "digits", bits=16, seed=0)
        assert not again["cached"], what
        assert again["metrics"] == first["metrics"], what
        assert hx.run_experiment("lsh", "digits", bits=16, seed=0)["cached"], f"{what}: not written again"
    # a record whose codes are gone is a plain miss (the codes are written first, so only a deletion does it)
    codes.unlink()
    assert not hx.run_experiment("lsh", "digits", bits=16, seed=0)["cached"]
    # stray temp files of a killed writer do not count as entries and do not disturb
    (cache / f".{first['key']}.json.999.deadbeef.tmp").write_text("{")
    assert hx.run_experiment("lsh", "digits", bits=16, seed=0)["cached"]


def test_a_killed_sweep_resumes_from_the_runs_that_finished(cache):
    import signal
    import subprocess
    import sys
    script = ("import sys, hashing_utils.experiments as hx\n"
              f"hx.sweep(**{SWEEP!r}, progress=lambda m: print('FINISHED', m, flush=True))\n"
              "print('SWEEP DONE', flush=True)\n")
    child = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True,
                             env=_child_env(cache), cwd=PACKAGE_ROOT)
    lines = []
    for line in child.stdout:          # SIGKILL as soon as the first run has finished: no clean-up runs
        lines.append(line)
        if line.startswith("FINISHED"):
            child.send_signal(signal.SIGKILL)
            break
    child.wait(timeout=60)
    assert child.returncode == -signal.SIGKILL, lines
    entries, _ = _entries(cache)
    finished = [k for k, (has_json, has_npz) in entries.items() if has_json and has_npz]
    assert 1 <= len(finished) < 3, entries          # the first run is on disk, the sweep was cut short
    assert all(hx.experiment_cache(cache).get(k) is not None for k in finished)   # every record on disk is whole

    trained = []
    real_fit = hu.get_method("csq").fit.__func__
    def counting_fit(cls, X, y, bits=32, **kw):
        trained.append(bits)
        return real_fit(cls, X, y, bits=bits, **kw)
    import unittest.mock
    with unittest.mock.patch.object(hu.get_method("csq"), "fit", classmethod(counting_fit)):
        results = hx.sweep(**SWEEP)
    assert [r["cached"] for r in results] == [r["key"] in finished for r in results]
    assert sorted(trained) == sorted(r["config"]["bits"] for r in results if r["key"] not in finished)
    assert results[0]["cached"] and len(trained) == 3 - len(finished)


@pytest.mark.parametrize("lock", [True, False], ids=["locked", "lock-disabled"])
def test_two_processes_writing_the_same_key_leave_one_whole_record(cache, lock):
    import subprocess
    import sys
    # both children import first, then start the same run at the same moment (a line on stdin is the signal)
    script = ("import contextlib, json, sys, hashing_utils as hu, hashing_utils.experiments as hx\n"
              + ("" if lock else "hu.store.DiskCache.lock = lambda self, key: contextlib.nullcontext()\n")
              + "hx.experiment_config('csq', 'digits', 16, 0, 1, fast=True)\n"   # loads the data before the start
              "print('READY', flush=True); sys.stdin.readline()\n"
              "r = hx.run_experiment('csq', 'digits', bits=16, seed=0, epochs=1, fast=True, device='cpu')\n"
              "print(json.dumps({'key': r['key'], 'cached': r['cached'], 'metrics': r['metrics']}))\n")
    children = [subprocess.Popen([sys.executable, "-c", script], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                 text=True, env=_child_env(cache), cwd=PACKAGE_ROOT) for _ in range(2)]
    for c in children:
        assert c.stdout.readline().strip() == "READY"
    for c in children:
        c.stdin.write("go\n")
        c.stdin.flush()
    outs = [json.loads(c.communicate(timeout=120)[0].strip().splitlines()[-1]) for c in children]
    assert all(c.returncode == 0 for c in children)
    assert outs[0]["key"] == outs[1]["key"] and outs[0]["metrics"] == outs[1]["metrics"]
    if lock:        # the second waits for the first's lock, then reads its run: trained once
        assert sorted(o["cached"] for o in outs) == [False, True]
    entries, temps = _entries(cache)
    assert entries == {outs[0]["key"]: (True, True)} and temps == []
    hit = hx.experiment_cache(cache).get(outs[0]["key"])
    assert hit is not None and hit.record["metrics"] == outs[0]["metrics"]


def test_sweep_on_an_executor_keeps_the_serial_order_and_one_task_per_key(cache):
    from concurrent.futures import ThreadPoolExecutor
    sweep = dict(methods_=["lsh", "csq"], dataset="digits", bits=[8, 16], seeds=[0], epochs=1, fast=True,
                 device="cpu")
    submitted = []

    class Counting(ThreadPoolExecutor):
        def submit(self, fn, *args, **kwargs):
            submitted.append(args[0]["method"])
            return super().submit(fn, *args, **kwargs)

    messages = []
    with Counting(2) as pool:
        # lsh twice with different epochs: one configuration (LSH does not train), one task
        parallel = hx.sweep(**{**sweep, "methods_": ["lsh", "csq", "lsh"]}, executor=pool, progress=messages.append)
    assert sorted(submitted) == ["csq", "csq", "lsh", "lsh"]
    assert [r["config"]["method"] for r in parallel] == ["lsh"] * 2 + ["csq"] * 2 + ["lsh"] * 2
    assert parallel[0]["key"] == parallel[4]["key"] and len(messages) == 4
    serial = hx.sweep(**sweep)               # now all cached: the same records, in the same order
    assert [r["key"] for r in serial] == [r["key"] for r in parallel[:4]]
    assert [r["metrics"] for r in serial] == [r["metrics"] for r in parallel[:4]]
    with pytest.raises(TypeError, match="executor must be a concurrent.futures.Executor"):
        hx.sweep(**sweep, executor="dask")


def test_a_failing_run_on_an_executor_names_itself_and_keeps_the_others(cache, monkeypatch):
    from concurrent.futures import ThreadPoolExecutor
    real = hx._run_remote

    def failing(job):
        if job["bits"] == 16:
            raise RuntimeError("worker lost")
        return real(job)
    monkeypatch.setattr(hx, "_run_remote", failing)
    with ThreadPoolExecutor(2) as pool, pytest.raises(RuntimeError, match=r"1 of 2 runs failed \(lsh bits=16"):
        hx.sweep(["lsh"], "digits", bits=[8, 16], executor=pool)
    assert hx.run_experiment("lsh", "digits", bits=8, seed=0)["cached"]


def test_benchmark_docs_show_the_committed_results():
    """docs/benchmark.md copies the two tables of benchmarks/results/fashion-mnist.md: a re-run that changes the
    results must update the page (its sentences are read against these tables)."""
    root = Path(__file__).resolve().parent.parent
    results = (root / "benchmarks" / "results" / "fashion-mnist.md").read_text().splitlines()
    docs = (root / "docs" / "benchmark.md").read_text().splitlines()

    tables_r = [t for t in _tables(results) if t[0].startswith("| method | 16 bits")]
    tables_d = [t for t in _tables(docs) if t[0].startswith("| method | 16 bits")]
    assert tables_d == tables_r[:len(tables_d)] and len(tables_d) == 2, (len(tables_d), len(tables_r))


def _tables(lines):
    """The markdown tables of a file, each a list of its lines."""
    out, cur = [], []
    for line in lines + [""]:
        if line.startswith("|"):
            cur.append(line)
        elif cur:
            out.append(cur)
            cur = []
    return out


def test_versus_pairs_each_method_with_the_reference_by_seed():
    rows = [{"method": m, "bits": b, "seed": s, "map_all": v}
            for m, vals in (("classifier", (0.5, 0.6, 0.7)), ("classifier-top2", (0.1, 0.1, 0.1)),
                            ("csq", (0.6, 0.8, 0.75)))
            for b in (16, 32) for s, v in zip((0, 1, 2), vals)]
    diffs = hx.versus(rows)
    assert set(diffs) == {("csq", 16), ("csq", 32)}          # the reference and its variants are not compared
    d = np.array([0.1, 0.2, 0.05])                            # csq − classifier, seed by seed
    half = scipy.stats.t.ppf(0.975, 2) * d.std(ddof=1) / np.sqrt(3)
    assert np.isclose(diffs[("csq", 16)].mean, d.mean()) and np.isclose(diffs[("csq", 16)].low, d.mean() - half)
    with pytest.raises(ValueError, match="no 'classifier' rows"):
        hx.versus([r for r in rows if r["method"] == "csq"])
