"""Running and caching experiments: one trained configuration -> one JSON record (+ its codes), on disk.

    res = run_experiment("csq", "digits", bits=32, seed=0, epochs=10)   # trains, or reads the cache
    res["metrics"]["map_all"], res["train_seconds"]
    q, db, yq, ydb = load_codes(res)                                    # redraw PR curves without training
    results = sweep(["csq", "lsh", "classifier"], "digits", bits=[16, 32], seeds=[0, 1], epochs=10)
    results = sweep([...], executor=ProcessPoolExecutor(4))      # or dask: Client(...).get_executor()

A configuration is (method, dataset, fast, split seed, bits, seed, epochs, backbone, val_fraction, the
method's full hyperparameters and training settings with its defaults filled in) plus a fingerprint of the
split's data, of the method's own source files (methods/<name>.py, losses/<name>.py) and the package version. Its SHA-256 is the cache key: change anything (a method's default
included) and the cache misses. The device is recorded, not keyed: a run is the same experiment on a CPU or
a GPU (their numbers differ only by floating-point rounding). Records live in $HASHING_CACHE_DIR, or
build/cache/ in the project by default: <key>.json (config, metrics, times, environment, history) and
<key>.npz (query and database codes as packed bits, with their labels).

Nothing is lost on an interrupt, and concurrent writers share the cache safely: the cache is a store.DiskCache
(the features cache is another). Each file is written to a temp file of its own (unique per process and call) in
the same folder, flushed, then renamed over the target (os.replace is atomic), the codes first and the record
last, so a record on disk always has its codes. A record holds the SHA-256 of its codes file ('codes_sha256'); a
record without codes, or a JSON/npz that is truncated, corrupt or does not match, is a miss (with a warning),
never a crash. A process that misses takes an exclusive lock on the key (flock on <cache>/.locks/<key>.lock,
released by the OS if the process dies) and looks again before it trains, so two processes asking for the same
key train it once and store one result.

The "classifier as hash" reference (method name CLASSIFIER = "classifier"): the same backbone with a softmax
head of C outputs trained by cross-entropy for the same epochs; the code of an input is the ±1 indicator
of its predicted class (length C, one +1) and, as a second row "classifier-top2", of its two most probable
classes (length C, two +1). Two one-hot codes are at Hamming distance 0 (same predicted class) or 2, so the
database falls into C huge tie groups per query: its mAP is *defined* by the tie rule. Under a stable or
"database order" tie rule the number would depend on how the database happens to be stored, and an
optimistic evaluator would credit it with a perfect ranking inside each predicted class. The workbook's
expected-tie mAP is the exact mean over random orders within tie groups, the fair value; the optimistic and
pessimistic bounds are reported beside it. This reference matters because under the standard
single-label protocol (queries and database from the same classes) retrieval reduces to classification:
a plain classifier's one-hot code is a strong baseline that several supervised hashing methods do not
beat (Sablayrolles et al., "How should we evaluate supervised hashing?", ICASSP 2017).
"""
from __future__ import annotations

import concurrent.futures
import contextlib
import functools
import io
import platform
import threading
import time
import zipfile
from pathlib import Path

import numpy as np
import torch
from torch import nn

from . import __version__, metrics
from .data import DATASETS, load_dataset
from .devices import pick_device
from .labels import class_ids
from .methods import TrainedMethod, get_method, list_methods
from .stats import paired_difference
from .store import DiskCache, cache_dir, canonical_json, fingerprint
from .training import forward_in_batches

__all__ = ["CLASSIFIER", "CACHE_VERSION", "CROSS_MODAL", "cache_dir", "experiment_config", "config_key",
           "run_experiment", "sweep", "load_codes", "result_rows", "summarise", "versus", "setting_id", "environment", "class_code",
           "fit_classifier", "ClassifierAsHash", "benchmark_methods", "REFERENCE_EPOCHS", "reference_codes"]

CLASSIFIER = "classifier"
CACHE_VERSION = 1
# methods that need more than one image array (their cross_modal flag): they cannot run on an image benchmark
CROSS_MODAL = tuple(list_methods(cross_modal=True))
# One training budget for the CSQ reference that every method notebook compares with (trained once per
# data set / mode / code length and read back from the cache by the others); notebook 09's table uses the
# benchmark's own budget instead (it says why).
REFERENCE_EPOCHS = 12
METRIC_KEYS = ("map_all", "map_1000", "p_h2", "map_all_optimistic", "map_all_pessimistic")


def benchmark_methods() -> list[str]:
    """Every registered single-modality method (dchml excluded: it needs (image, text) pairs), then the
    classifier reference."""
    return list_methods(cross_modal=False) + [CLASSIFIER]



# ----------------------------------------------------------------------------- the classifier reference
def class_code(logits: torch.Tensor, k: int = 1) -> torch.Tensor:
    """(n, C) logits -> int8 (n, C) ±1 codes with +1 at the k most probable classes (ties: lowest index)."""
    if not 1 <= k <= logits.shape[1]:
        raise ValueError(f"k must be in 1..{logits.shape[1]} (the number of classes), got {k}")
    top = torch.topk(logits, k, dim=1, sorted=False).indices
    code = torch.full(logits.shape, -1, dtype=torch.int8)
    code.scatter_(1, top.cpu(), 1)
    return code


class ClassCode(nn.Module):
    """Linear(F, C) logits while training; in eval mode the ±1 top-k class code (so Hasher.encode and the
    training loop's validation mAP see the code that is evaluated)."""

    def __init__(self, in_features: int, n_classes: int, k: int = 1):
        super().__init__()
        self.linear = nn.Linear(in_features, n_classes)
        self.k = k

    def forward(self, f):
        logits = self.linear(f)
        return logits if self.training else class_code(logits.detach(), self.k).to(logits)


class ClassifierAsHash(TrainedMethod):
    """A softmax classifier on the hashing backbone; its code is the ±1 indicator of the top-k classes.
    Not registered (no @register: it is a reference, not a hashing method, so hu.list_methods() leaves it out
    and hu.fit does not know it): use fit_classifier() or run_experiment("classifier", ...)."""
    name = CLASSIFIER
    summary = "softmax classifier; code = ±1 one-hot of the predicted class (length C)"
    defaults = {"topk": 1}
    hparam_docs = {"topk": "the code has +1 at the k most probable classes"}

    def make_head(self, in_features):
        return ClassCode(in_features, self.n_classes, int(self.hparams["topk"]))

    def loss(self, z, y):
        # soft targets y / |Γ_i|: the same cross-entropy for single- and multi-label rows
        return -(torch.log_softmax(z, 1) * (y / y.sum(1, keepdim=True).clamp(min=1))).sum(1).mean()


def fit_classifier(X, y, seed: int = 0, topk: int = 1, **kwargs):
    """Train the classifier reference with hu.fit's loop (same backbone, validation split, optimiser).
    Returns a Hasher whose encode(x) is the ±1 top-k class code (n, C)."""
    n_classes = y.shape[1] if getattr(y, "ndim", 1) == 2 else int(np.max(np.asarray(y))) + 1
    kwargs.pop("bits", None)
    return ClassifierAsHash.fit(X, y, bits=max(n_classes, 2), seed=seed, topk=topk, **kwargs)


# ----------------------------------------------------------------------------- configuration and cache
@functools.lru_cache(maxsize=4)
def _split(dataset: str, fast: bool, split_seed: int):
    return load_dataset(dataset, fast=fast, seed=split_seed)


@functools.lru_cache(maxsize=4)
def _fingerprint(dataset: str, fast: bool, split_seed: int) -> dict:
    s = _split(dataset, fast, split_seed)
    return {"description": s.description, "n_train": len(s.x_train), "n_query": len(s.x_query),
            "n_db": len(s.x_db), "n_classes": s.n_classes,
            "sha256": fingerprint(s.x_train, s.y_train, s.x_query, s.y_query, s.y_db, digits=16)}


def _code_fingerprint(cls) -> str:
    """SHA-256 of the method's own source files (its methods/ and losses/ modules): editing a method's code
    invalidates its cached runs. Shared modules are not hashed (bump CACHE_VERSION when they change results)."""
    import inspect
    mod = inspect.getmodule(cls)
    files = [inspect.getsourcefile(cls)]
    loss = Path(files[0]).parent.parent / "losses" / Path(files[0]).name
    if mod is not None and mod.__name__.startswith(__package__ + ".methods") and loss.exists():
        files.append(str(loss))
    return fingerprint(*(Path(f).read_bytes() for f in files), digits=16)


def _check_names(method: str, dataset: str) -> None:
    if dataset not in DATASETS:
        raise ValueError(f"unknown dataset {dataset!r}; choose one of {', '.join(DATASETS)}")
    if method in CROSS_MODAL:
        raise ValueError(f"{method} is cross-modal: it needs (X_image, X_text) pairs and cannot run on the "
                         f"single-modality data set {dataset!r}; run it on paired data (see its notebook)")
    if method != CLASSIFIER and method not in list_methods():
        raise ValueError(f"unknown method {method!r}; choose one of {', '.join(benchmark_methods())}")


def experiment_config(method: str, dataset: str = "digits", bits: int = 32, seed: int = 0, epochs=None, *,
                      fast: bool = False, split_seed: int = 0, hparams: dict | None = None,
                      backbone: str = "auto", val_fraction: float = 0.1, threads: int | None = None) -> dict:
    """The full configuration of one run, defaults filled in (what the cache key hashes).

    threads: torch's intra-op thread count the run uses (None: this process's, torch.get_num_threads()). It is
    part of the key because CPU reductions are split by thread, so the same seed gives other bits at another
    thread count; a sweep's worker runs with the thread count of the process that submitted the job."""
    _check_names(method, dataset)
    cls = ClassifierAsHash if method == CLASSIFIER else get_method(method)
    hparams = dict(hparams or {})
    unknown = set(hparams) - set(cls.defaults)
    if unknown:
        raise TypeError(f"{method}: unknown hyperparameter(s) {sorted(unknown)}; "
                        f"it takes {sorted(cls.defaults) or 'none'}")
    training = {**cls.train_defaults, **({} if epochs is None else {"epochs": int(epochs)})}
    if not cls.trainable:
        training = {}                 # training-free (lsh, pca, itq): epochs etc. do not change the run
    return {
        "cache_version": CACHE_VERSION, "hashing_utils": __version__,
        "method": method, "code": _code_fingerprint(cls), "dataset": dataset, "fast": bool(fast), "split_seed": int(split_seed),
        "data": _fingerprint(dataset, bool(fast), int(split_seed)),
        "bits": int(_fingerprint(dataset, bool(fast), int(split_seed))["n_classes"]) if method == CLASSIFIER
        else int(bits),
        "seed": int(seed), "backbone": backbone, "val_fraction": float(val_fraction),
        "training": training, "hparams": {**cls.defaults, **hparams},
        "threads": check_threads(threads),
    }


def check_threads(threads) -> int:
    """threads, or torch.get_num_threads() for None, as a positive int (ValueError/TypeError otherwise)."""
    if threads is None:
        return torch.get_num_threads()
    if isinstance(threads, bool) or not isinstance(threads, (int, np.integer)):
        raise TypeError(f"threads must be a positive integer or None, got {threads!r}")
    if threads < 1:
        raise ValueError(f"threads must be >= 1, got {threads}")
    return int(threads)


@contextlib.contextmanager
def torch_threads(n: int):
    """torch.set_num_threads(n) for the block, the previous count restored after."""
    before = torch.get_num_threads()
    if n != before:
        torch.set_num_threads(n)
    try:
        yield
    finally:
        if torch.get_num_threads() != before:
            torch.set_num_threads(before)


def config_key(config: dict) -> str:
    """SHA-256 (24 hex digits) of the configuration's canonical JSON."""
    return fingerprint(canonical_json(config), digits=24)


def environment(device=None) -> dict:
    """Where a run happens: torch version, device, threads, python, platform."""
    dev = torch.device(device) if device is not None else torch.device("cpu")
    name = torch.cuda.get_device_name(dev) if dev.type == "cuda" else dev.type
    return {"torch": torch.__version__, "device": name, "threads": torch.get_num_threads(),
            "python": platform.python_version(), "platform": platform.platform(terse=True),
            "hashing_utils": __version__}


def _codes_bytes(codes: dict) -> bytes:
    """The codes file's bytes: ±1 codes as packed bits (with their widths), labels as uint8."""
    arrays = {}
    for k, v in codes.items():
        v = v.numpy() if isinstance(v, torch.Tensor) else np.asarray(v)
        if "codes" in k:
            arrays[k] = np.packbits(v > 0, axis=1)
            arrays[k + "_bits"] = np.array(v.shape[1])
        else:
            arrays[k] = v.astype(np.uint8)
    # np.savez stamps each member with the current time; a fixed stamp makes equal codes equal bytes (so two
    # processes that store the same run write the same file, and the record's SHA-256 fits either)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for k, v in arrays.items():
            info = zipfile.ZipInfo(f"{k}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            with zf.open(info, "w") as f:
                np.lib.format.write_array(f, np.asarray(v), allow_pickle=False)
    return buf.getvalue()


_CODE_ARRAYS = ("q_codes", "db_codes", "y_query", "y_db")


def _check_entry(record: dict, raw: bytes) -> None:
    """Raise unless the record has metrics and the npz bytes are a complete codes file (reading every array
    checks the zip's CRCs): the experiment cache's validate hook."""
    if "metrics" not in record:
        raise ValueError("a record without metrics")
    with np.load(io.BytesIO(raw), allow_pickle=False) as z:
        missing = [k for k in _CODE_ARRAYS if k not in z.files]
        if missing:
            raise ValueError(f"missing arrays {missing}")
        for k in z.files:
            z[k]


def experiment_cache(folder=None) -> DiskCache:
    """The experiment cache in `folder` (default cache_dir()): <key>.npz (codes) and <key>.json (the record, with
    'codes_sha256'), with DiskCache's guarantees (atomic writes, per-key lock, damaged entry = miss + warning)."""
    return DiskCache(cache_dir() if folder is None else folder, ".npz", what="experiment cache",
                     digest_field="codes_sha256", validate=_check_entry)


def _read_cached(key: str, folder: Path, quiet: bool = False) -> dict | None:
    """The cached result of `key` in `folder` as run_experiment returns it ('cached': True, 'codes_path'), or
    None: absent, or damaged (then with a warning unless quiet)."""
    hit = experiment_cache(folder).get(key, quiet=quiet)
    return None if hit is None else {**hit.record, "cached": True, "codes_path": str(hit.path)}


def load_codes(result: dict, variant: str = "") -> tuple:
    """(q_codes, db_codes, y_query, y_db) of a cached run: int8 ±1 codes and float32 multi-hot labels.
    variant "top2" gives the classifier's top-2 codes."""
    path = Path(result["codes_path"]) if "codes_path" in result else cache_dir() / f"{result['key']}.npz"
    if not path.exists():
        path = cache_dir() / f"{result['key']}.npz"
    z = np.load(path)
    suffix = f"_{variant}" if variant else ""

    def unpack(name):
        b = np.unpackbits(z[name], axis=1)[:, :int(z[name + "_bits"])]
        return torch.from_numpy(b.astype(np.int8) * 2 - 1)
    return (unpack(f"q_codes{suffix}"), unpack(f"db_codes{suffix}"),
            torch.from_numpy(z["y_query"].astype(np.float32)), torch.from_numpy(z["y_db"].astype(np.float32)))


def _evaluate(q, db, yq, ydb) -> dict:
    return {k: float(v) for k, v in metrics.evaluate(q, db, yq, ydb, topk=1000, radius=2).items()}


def run_experiment(method: str, dataset: str = "digits", bits: int = 32, seed: int = 0, epochs=None, *,
                   fast: bool = False, split_seed: int = 0, hparams: dict | None = None, backbone: str = "auto",
                   val_fraction: float = 0.1, device=None, cache: bool = True, refresh: bool = False,
                   progress: bool = False, threads: int | None = None) -> dict:
    """Train one configuration (or read it from the cache) and evaluate it on the split's queries/database.

    Returns {'key', 'config', 'metrics' (map_all, map_1000, p_h2, map_all_optimistic, map_all_pessimistic),
    'train_seconds' (hu.fit wall time, set-up stages included), 'encode_seconds', 'environment', 'history',
    'cached' (True when read from disk), 'codes_path'}; the classifier also has 'metrics_top2'.
    cache=False neither reads nor writes; refresh=True retrains and overwrites. threads: see experiment_config
    (the run sets torch's thread count to it and restores it after).
    """
    config = experiment_config(method, dataset, bits, seed, epochs, fast=fast, split_seed=split_seed,
                               hparams=hparams, backbone=backbone, val_fraction=val_fraction, threads=threads)
    key = config_key(config)
    folder = cache_dir()
    if cache and not refresh:
        hit = _read_cached(key, folder)
        if hit is not None:
            return hit
    if not cache:
        result, _ = _train_and_encode(config, key, hparams, device, progress)
        return {**result, "cached": False, "codes_path": str(folder / f"{key}.npz")}
    store = experiment_cache(folder)
    with store.lock(key):
        if not refresh:                 # another process may have stored it while this one waited
            hit = _read_cached(key, folder, quiet=True)
            if hit is not None:
                return hit
        result, raw = _train_and_encode(config, key, hparams, device, progress)
        result = store.put(key, result, raw)
    return {**result, "cached": False, "codes_path": str(store.payload_path(key))}


def _train_and_encode(config: dict, key: str, hparams, device, progress) -> tuple[dict, bytes]:
    """Train one configuration and evaluate it, with torch at the configuration's thread count:
    (the record, the codes file's bytes)."""
    with torch_threads(config["threads"]):
        return _train_and_encode_here(config, key, hparams, device, progress)


def _train_and_encode_here(config: dict, key: str, hparams, device, progress) -> tuple[dict, bytes]:
    method = config["method"]
    dev = pick_device(device) if not isinstance(device, torch.device) else device
    split = _split(config["dataset"], config["fast"], config["split_seed"])
    y_train = split.y_train if split.multi_label else class_ids(split.y_train)
    kw = dict(seed=config["seed"], device=dev, backbone=config["backbone"], val_fraction=config["val_fraction"],
              progress=progress, **config["training"], **(hparams or {}))
    cls = ClassifierAsHash if method == CLASSIFIER else get_method(method)
    start = time.perf_counter()
    hasher = cls.fit(split.x_train, y_train, bits=config["bits"], **kw)
    train_seconds = time.perf_counter() - start

    start = time.perf_counter()
    codes = {}
    if method == CLASSIFIER:
        # logits once, then the top-1 and top-2 codes from them
        head = hasher.model.head
        net = nn.Sequential(hasher.model.backbone, head.linear)
        for name, x in (("q", split.x_query), ("db", split.x_db)):
            logits = forward_in_batches(net, x, dev)
            codes[f"{name}_codes"] = class_code(logits, 1)
            codes[f"{name}_codes_top2"] = class_code(logits, 2)
    else:
        codes["q_codes"], codes["db_codes"] = hasher.encode(split.x_query), hasher.encode(split.x_db)
    encode_seconds = time.perf_counter() - start
    result = {"key": key, "config": config, "metrics": _evaluate(codes["q_codes"], codes["db_codes"],
                                                                 split.y_query, split.y_db)}
    if method == CLASSIFIER:
        result["metrics_top2"] = _evaluate(codes["q_codes_top2"], codes["db_codes_top2"], split.y_query,
                                           split.y_db)
    history = {k: v for k, v in (hasher.history or {}).items() if k in ("epoch", "loss", "val_map")}
    result.update({"train_seconds": train_seconds, "encode_seconds": encode_seconds,
                   "environment": environment(dev), "history": history,
                   "date": time.strftime("%Y-%m-%d %H:%M:%S")})
    return result, _codes_bytes({**codes, "y_query": split.y_query, "y_db": split.y_db})


def reference_codes(method: str, dataset: str, bits: int = 32, *, fast: bool, seed: int = 0, device=None):
    """The reference a method notebook compares with ("csq" or "lsh", or any method), trained with the one
    shared budget REFERENCE_EPOCHS on load_dataset(dataset, fast=fast, seed=0) and cached, so that every
    notebook shows the same numbers and only the first one pays for the training.
    Returns (result, q_codes, db_codes, y_query, y_db): the run record and int8 ±1 codes (n, bits)."""
    res = run_experiment(method, dataset, bits, seed, REFERENCE_EPOCHS, fast=fast, device=device)
    return (res, *load_codes(res))


def sweep(methods_: list, dataset: str = "digits", bits=(16, 32, 64), seeds=(0,), epochs=None, *,
          fast: bool = False, hparams: dict | None = None, device=None, progress=None, executor=None,
          **kwargs) -> list[dict]:
    """run_experiment over methods × bits × seeds (the classifier once per seed: its code length is C).
    hparams: {method: {name: value}} for per-method settings. progress: a callable(message) or None, called
    as each run finishes. Returns the list of results in that order (the serial order, whatever the executor).

    executor: None runs one after another in this process. Any concurrent.futures.Executor runs the runs
    that the cache does not hold yet in parallel, one task per distinct configuration:
    ProcessPoolExecutor(n) on one multi-core machine, dask.distributed's Client(...).get_executor() on a
    cluster (or anything whose submit() returns a concurrent.futures.Future). A worker stores its run in its
    own cache ($HASHING_CACHE_DIR there) and sends the record and the codes back; they are stored in this
    process's cache too, so a shared cache folder and per-worker folders both end with every run here. The
    numbers equal the serial sweep's: each run is the same seeded computation wherever it happens, at this
    process's torch thread count (threads=n in kwargs sets another)."""
    for m in methods_:
        _check_names(m, dataset)
    if executor is not None and not callable(getattr(executor, "submit", None)):
        raise TypeError(f"executor must be a concurrent.futures.Executor (something with submit() returning a "
                        f"Future), e.g. ProcessPoolExecutor(2) or dask's Client.get_executor(); got "
                        f"{type(executor).__name__}")
    if "progress" in kwargs or "executor" in kwargs:
        raise TypeError("progress and executor are sweep()'s own arguments")
    hparams = hparams or {}
    # every job carries this process's thread count: a worker with another count (a 1-thread Dask worker) then
    # computes the same bits as the serial sweep, and the key says which count the numbers belong to
    kwargs.setdefault("threads", torch.get_num_threads())
    jobs = [dict(method=m, dataset=dataset, bits=32 if b is None else b, seed=s, epochs=epochs, fast=fast,
                 hparams=hparams.get(m), device=device, **kwargs)
            for m in methods_ for b in ([None] if m == CLASSIFIER else bits) for s in seeds]

    def report(res, done=None):
        if progress:
            count = "" if done is None else f"[{done}/{len(jobs)}] "
            c = res["config"]
            progress(f"{count}{c['method']:>16} bits={c['bits']:>3} seed={c['seed']} "
                     f"mAP@all={res['metrics']['map_all']:.4f} train {res['train_seconds']:.1f}s"
                     f"{' (cached)' if res['cached'] else ''}")

    if executor is None:
        out = []
        for job in jobs:
            out.append(run_experiment(**job))
            report(out[-1])
        return out

    # one task per distinct configuration the cache lacks (equal keys: LSH at any epochs, repeated entries)
    keys = [config_key(experiment_config(j["method"], j["dataset"], j["bits"], j["seed"], j["epochs"],
                                         fast=j["fast"], split_seed=j.get("split_seed", 0), hparams=j["hparams"],
                                         backbone=j.get("backbone", "auto"),
                                         val_fraction=j.get("val_fraction", 0.1), threads=j["threads"]))
            for j in jobs]
    use_cache, refresh = kwargs.get("cache", True), kwargs.get("refresh", False)
    done: dict = {}
    if use_cache and not refresh:
        for k in dict.fromkeys(keys):
            hit = _read_cached(k, cache_dir())
            if hit is not None:
                done[k] = hit
    pending = {}
    for job, k in zip(jobs, keys):
        if k not in done and k not in pending.values():
            pending[executor.submit(_run_remote, job)] = k
    finished = len(jobs) - sum(keys.count(k) for k in set(pending.values()))
    for k in dict.fromkeys(keys):
        if k in done:
            report(done[k], finished)
    errors = []
    for future in concurrent.futures.as_completed(pending):
        k = pending[future]
        try:
            res, raw = future.result()
        except Exception as e:          # keep the runs that finished; say which failed at the end
            errors.append((k, e))
            continue
        done[k] = _adopt(res, raw, replace=refresh) if use_cache and raw is not None else res
        finished += keys.count(k)
        report(done[k], finished)
    if errors:
        failed = [j for j, k in zip(jobs, keys) if k in dict(errors)]
        names = ", ".join(f"{j['method']} bits={j['bits']} seed={j['seed']}" for j in failed)
        raise RuntimeError(f"{len(errors)} of {len(pending)} runs failed ({names}); the others are in the "
                           f"cache. First error: {errors[0][1]!r}") from errors[0][1]
    return [done[k] for k in keys]


# One run at a time per process: torch's and numba's thread pools must not be entered by two Python threads at
# once (numba's workqueue layer aborts the process), so a thread-based executor (ThreadPoolExecutor, a Dask worker
# with threads_per_worker > 1) runs its tasks one after another; processes are what run in parallel.
_ONE_RUN_PER_PROCESS = threading.Lock()


def _run_remote(job: dict) -> tuple[dict, bytes | None]:
    """One sweep task on a worker: run_experiment there, then (record, codes file bytes) to send back."""
    with _ONE_RUN_PER_PROCESS:
        res = run_experiment(**job)
    path = Path(res["codes_path"])
    return res, (path.read_bytes() if job.get("cache", True) and path.exists() else None)


def _adopt(res: dict, raw: bytes, replace: bool = False) -> dict:
    """Store a worker's result in this process's cache (unless the key is there already: one result per key;
    replace=True, after a refresh, stores it anyway) and return it with the local codes path; 'cached' says
    whether the worker read it or trained it."""
    folder, key = cache_dir(), res["key"]
    store = experiment_cache(folder)
    with store.lock(key):
        hit = None if replace else _read_cached(key, folder, quiet=True)
        if hit is None:
            record = store.put(key, {k: v for k, v in res.items() if k not in ("cached", "codes_path")}, raw)
            hit = {**record, "codes_path": str(store.payload_path(key))}
    return {**hit, "cached": res["cached"]}


def setting_id(config: dict) -> str:
    """A short id of a run's whole configuration except its seed: runs with equal ids differ only by seed (what
    summarise averages over, and what a paired comparison pairs)."""
    return config_key({k: v for k, v in config.items() if k != "seed"})[:12]


def _changed_hparams(config: dict) -> dict:
    """The hyperparameters of a run that differ from its method's defaults (today's defaults)."""
    cls = ClassifierAsHash if config["method"] == CLASSIFIER else get_method(config["method"])
    return {k: v for k, v in config["hparams"].items() if k not in cls.defaults or v != cls.defaults[k]}


# what a row measures (or records about one run), as opposed to what configures it
RUN_FIELDS = METRIC_KEYS + ("seed", "train_seconds", "encode_seconds", "key", "cached", "date", "torch", "device",
                            "threads")


def result_rows(results: list[dict], bits_for_classifier=None) -> list[dict]:
    """Flat rows of a list of results: method, dataset, bits, code_bits, seed, one field per hyperparameter
    that differs from the method's default, 'setting' (those as text, or 'default'), 'setting_id' (the whole
    configuration but the seed), the metrics, train_seconds and the cache 'key'. The classifier gives two rows
    ('classifier', 'classifier-top2'), repeated for every `bits_for_classifier` value if given (it is a
    reference for each code length; its own code length is C)."""
    rows = []
    for r in results:
        c = r["config"]
        changed = _changed_hparams(c)
        config_fields = {"dataset": c["dataset"], **{k: v for k, v in changed.items() if k not in _ROW_NAMES},
                         "setting": ", ".join(f"{k}={v}" for k, v in sorted(changed.items())) or "default",
                         "setting_id": setting_id(c)}
        variants = [(c["method"], r["metrics"])]
        if "metrics_top2" in r:
            variants.append((f"{c['method']}-top2", r["metrics_top2"]))
        for name, m in variants:
            for b in (bits_for_classifier or [c["bits"]]) if c["method"] == CLASSIFIER else [c["bits"]]:
                rows.append({"method": name, "bits": b, "code_bits": c["bits"], **config_fields, "seed": c["seed"],
                             **m, "train_seconds": r["train_seconds"], "key": r["key"]})
    return rows


_ROW_NAMES = ("method", "bits", "code_bits", "dataset", "setting", "setting_id", "n") + RUN_FIELDS


def versus(rows: list[dict], reference: str = CLASSIFIER, metric: str = "map_all",
           confidence: float = 0.95) -> dict:
    """Every method against a reference row at each code length, paired by seed: {(method, bits):
    stats.PairedDifference of method − reference} (mean, t-interval, n, verdict; one seed ranks nothing).
    rows: result_rows(results, bits) (the classifier's rows repeat at every code length). The reference and its
    variants (e.g. classifier-top2) are left out. Taught in: notebooks/09, "Against the classifier, seed by seed"."""
    by_seed: dict = {}
    for r in rows:
        by_seed.setdefault((r["method"], r["bits"]), {})[r["seed"]] = r[metric]
    if not any(m == reference for m, _ in by_seed):
        raise ValueError(f"no {reference!r} rows to compare with; methods: {sorted({m for m, _ in by_seed})}")
    return {(m, b): paired_difference(v, by_seed[(reference, b)], confidence=confidence, names=(m, reference))
            for (m, b), v in by_seed.items() if not m.startswith(reference) and (reference, b) in by_seed}


def summarise(rows, keys=METRIC_KEYS + ("train_seconds",)):
    """Mean and (sample) std over seeds of each configuration: rows with '<key>', '<key>_std' and 'n'.

    A group is one (method, bits, setting_id): the whole configuration but the seed, so runs with different
    hyperparameters, epochs or data are never pooled (rows without 'setting_id', made by hand, group by
    (method, bits)). Each summary row keeps the fields that are equal across its group (method, bits,
    dataset, the changed hyperparameters, ...). rows: a list of dicts (result_rows) -> a list of dicts; a
    pandas DataFrame (hu.ablation's) -> a DataFrame."""
    if hasattr(rows, "to_dict") and hasattr(rows, "columns"):
        import pandas as pd
        return pd.DataFrame(summarise(rows.to_dict("records"), keys))
    groups: dict = {}
    for r in rows:
        groups.setdefault((r["method"], r["bits"], r.get("setting_id")), []).append(r)
    out = []
    for rs in groups.values():
        first = rs[0]
        row = {k: v for k, v in first.items()
               if k not in RUN_FIELDS and k not in keys and all(_same(r.get(k), v) for r in rs)}
        row["n"] = len(rs)
        for k in keys:
            v = np.array([r[k] for r in rs], dtype=float)
            row[k] = float(v.mean())
            row[k + "_std"] = float(v.std(ddof=1)) if len(v) > 1 else 0.0
        out.append(row)
    return out


def _same(a, b) -> bool:
    return a == b or (a != a and b != b)      # NaN == NaN here (a DataFrame's empty cells)
