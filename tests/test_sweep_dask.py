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
    worker_env = {"PYTHONPATH": os.pathsep.join([str(PACKAGE_ROOT), os.environ.get("PYTHONPATH", "")]),
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
