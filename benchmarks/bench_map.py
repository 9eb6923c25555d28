"""Speed of mAP@all (ties="expected") against a per-query numpy argsort loop, measured in the same run.

    python benchmarks/bench_map.py [--queries 10000] [--db 50000] [--bits 64] [--loop-queries 1000]

The reference loop (what many public evaluators do: one argsort per query) is timed on --loop-queries queries and
scaled linearly to all queries. Codes are class centres with 12% bit flips (10 classes), like trained codes with
many ties. Prints one Markdown table row set and the ratio; numbers go in the README.
"""
import argparse
import os
import platform
import time

import numpy as np
import torch

from hashing_utils import metrics


def argsort_loop_map(q, db, yq, ydb):
    """The reference: per query, distances, a stable argsort, cumulative precision (ties by database index)."""
    k = q.shape[1]
    aps = np.empty(len(q))
    for i in range(len(q)):
        d = (k - db @ q[i]) // 2
        rel = (ydb[np.argsort(d, kind="stable")] == yq[i])
        hits = np.cumsum(rel)
        n = hits[-1]
        aps[i] = (hits[rel] / (np.flatnonzero(rel) + 1)).sum() / n if n else 0.0
    return aps.mean()


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--queries", type=int, default=10_000)
    p.add_argument("--db", type=int, default=50_000)
    p.add_argument("--bits", type=int, default=64)
    p.add_argument("--loop-queries", type=int, default=1_000)
    p.add_argument("--repeat", type=int, default=3)
    a = p.parse_args()
    rng = np.random.default_rng(0)
    centres = rng.choice([-1, 1], size=(10, a.bits)).astype(np.int8)
    yq, ydb = rng.integers(0, 10, a.queries), rng.integers(0, 10, a.db)
    flip = lambda y: np.where(rng.random((len(y), a.bits)) < 0.12, -centres[y], centres[y]).astype(np.int8)
    q, db = flip(yq), flip(ydb)

    metrics.mean_average_precision(q[:10], db[:100], yq[:10], ydb[:100])     # compile the kernel once
    engine = []
    for _ in range(a.repeat):
        t = time.perf_counter()
        m = metrics.mean_average_precision(q, db, yq, ydb, ties="expected")
        engine.append(time.perf_counter() - t)
    n_loop = min(a.loop_queries, a.queries)
    qi, dbi = q[:n_loop].astype(np.int32), db.astype(np.int32)
    t = time.perf_counter()
    m_loop = argsort_loop_map(qi, dbi, yq[:n_loop], ydb)
    loop = (time.perf_counter() - t) * a.queries / n_loop
    m_stable = metrics.mean_average_precision(q[:n_loop], db, yq[:n_loop], ydb, ties="stable")
    assert abs(m_loop - m_stable) < 1e-9, (m_loop, m_stable)                   # the same quantity, two ways
    best = min(engine)
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__}, "
          f"numba kernel: {metrics._kernels.HAVE_NUMBA}")
    print(f"task: mAP@all, {a.queries} queries x {a.db} database items, {a.bits} bits")
    print("| what | seconds |")
    print("|---|---|")
    print(f"| hashing_utils.metrics, ties='expected' (best of {a.repeat}) | {best:.2f} |")
    print(f"| per-query numpy argsort loop (timed on {n_loop} queries, scaled) | {loop:.1f} |")
    print(f"speed-up: {loop / best:.0f}x   (mAP expected {m:.4f}; loop and stable rule agree on {n_loop} queries)")


if __name__ == "__main__":
    main()
