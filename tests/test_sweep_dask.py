"""hx.sweep(..., executor=...) on a Dask cluster: two worker processes on 127.0.0.1 give the serial sweep's results.

Needs the [cluster] extra (dask[distributed]); `make install` installs it, so `make test` runs this. No network:
the scheduler and the workers listen on the loopback only, and the dashboard is off."""
import os
from pathlib import Path

import pytest

import hashing_utils as hu
from hashing_utils import experiments as hx

distributed = pytest.importorskip("distributed", reason="the [cluster] extra is not installed: "
                                                        "pip install -e '.[cluster]' (make install does)")

PACKAGE_ROOT = Path(hu.__file__).resolve().parent.parent
# lsh and csq at two code lengths, 1 epoch on digits: four runs, a few seconds of training in all
SWEEP = dict(methods_=["lsh", "csq"], dataset="digits", bits=[8, 16], seeds=[0], epochs=1, fast=True, device="cpu")


def test_dask_sweep_equals_the_serial_sweep(tmp_path, monkeypatch):
    monkeypatch.setenv("HASHING_CACHE_DIR", str(tmp_path / "serial"))
    serial = hx.sweep(**SWEEP)

    # The workers import the hashing_utils this test imported (a worktree on PYTHONPATH or an editable install),
    # keep a cache of their own (as on a cluster without a shared file system), and this process keeps another.
    monkeypatch.setenv("HASHING_CACHE_DIR", str(tmp_path / "client"))
    worker_env = {"PYTHONPATH": os.pathsep.join(filter(None, [str(PACKAGE_ROOT), os.environ.get("PYTHONPATH")])),
                  "HASHING_CACHE_DIR": str(tmp_path / "workers"), "OMP_NUM_THREADS": "1"}
    messages = []
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                                  dashboard_address=None, env=worker_env) as cluster, \
            distributed.Client(cluster) as client:
        files = client.run(getattr, hx, "__file__")
        assert len(files) == 2 and set(files.values()) == {hx.__file__}
        parallel = hx.sweep(**SWEEP, executor=client.get_executor(), progress=messages.append)
        # run again: everything is in this process's cache now, nothing goes to the workers
        again = hx.sweep(**SWEEP, executor=client.get_executor())

    assert [r["key"] for r in parallel] == [r["key"] for r in serial]          # the serial order
    for s, p, a in zip(serial, parallel, again):
        assert p["metrics"] == s["metrics"] and p["config"] == s["config"]
        assert not p["cached"] and a["cached"]
        for x, y in zip(hx.load_codes(s), hx.load_codes(p)):
            assert (x == y).all()
        assert Path(p["codes_path"]).parent == tmp_path / "client"
    # one result per key, in the workers' cache and in this one; progress once per run, as each finished
    for folder in ("client", "workers"):
        assert sorted(p.stem for p in (tmp_path / folder).glob("*.json")) == sorted(r["key"] for r in serial)
    assert len(messages) == len(serial) and messages[-1].startswith(f"[{len(serial)}/{len(serial)}]")


def test_one_thread_workers_reproduce_a_two_thread_serial_sweep_for_every_trainable_method(tmp_path, monkeypatch):
    """CPU reductions are split by thread, so the same seed gives other bits at another thread count. A sweep's
    jobs carry the submitting process's thread count, the worker runs at it, and the count is in the cache key:
    1-thread Dask workers equal a 2-thread serial sweep exactly, codes bit for bit, every trainable method at
    2 epochs (the classifier reference included; dchml is cross-modal and has no single-modality sweep)."""
    import torch
    trainable = hu.list_methods(trainable=True, cross_modal=False) + [hx.CLASSIFIER]
    sweep = dict(methods_=trainable, dataset="digits", bits=[16], seeds=[0], epochs=2, fast=True, device="cpu",
                 hparams={"psldh": {"cat_iters": 50}, "shc": {"cycles": 4}})
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        monkeypatch.setenv("HASHING_CACHE_DIR", str(tmp_path / "serial"))
        serial = hx.sweep(**sweep)
        monkeypatch.setenv("HASHING_CACHE_DIR", str(tmp_path / "client"))
        worker_env = {"PYTHONPATH": os.pathsep.join(filter(None, [str(PACKAGE_ROOT), os.environ.get("PYTHONPATH")])),
                      "HASHING_CACHE_DIR": str(tmp_path / "workers"), "OMP_NUM_THREADS": "1"}
        with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=True, host="127.0.0.1",
                                      dashboard_address=None, env=worker_env) as cluster, \
                distributed.Client(cluster) as client:
            assert list(client.run(torch.get_num_threads).values()) == [1]      # the worker's own count
            parallel = hx.sweep(**sweep, executor=client.get_executor())
    finally:
        torch.set_num_threads(before)
    assert [r["config"]["method"] for r in serial] == trainable
    for s, p in zip(serial, parallel):
        assert s["config"]["threads"] == p["config"]["threads"] == 2 and s["key"] == p["key"]
        assert not p["cached"] and p["metrics"] == s["metrics"], s["config"]["method"]
        for x, y in zip(hx.load_codes(s), hx.load_codes(p)):
            assert torch.equal(x, y), s["config"]["method"]
    # the thread count is in the key: a 1-thread run is another experiment, never served from the 2-thread one
    one = hx.experiment_config("orthohash", "digits", 16, 0, 2, fast=True, threads=1)
    two = hx.experiment_config("orthohash", "digits", 16, 0, 2, fast=True, threads=2)
    assert hx.config_key(one) != hx.config_key(two)
