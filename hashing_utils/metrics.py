"""Retrieval metrics with explicit tie rules (the rules of notebook 00 and reference/evaluation.md).

Everything comes from two per-query histograms over the Hamming distance d = 0..K:

    n[q, d] = number of database items at distance d from query q   (a *tie group*)
    r[q, d] = how many of them are relevant to q (share at least one label)

Every tie rule has a closed form in (n, r), so mAP needs no per-query sort. With
P = items ranked before a group, R = relevant items among them, a group of n items holding r
relevant ones adds to the sum of precisions:

    optimistic  (relevant first)   sum_{i=1..r} (R+i)/(P+i)
    pessimistic (relevant last)    sum_{i=1..r} (R+i)/(P+n-r+i)
    expected    (random order)     sum_{p=1..n} (r/n) (R + 1 + (p-1)(r-1)/(n-1)) / (P+p)

each a difference of harmonic numbers H(m) = sum_{i<=m} 1/i. `stable` (ties by database index)
depends on the database order, so it takes a sort.

The histograms come from compiled kernels (_kernels.py: packed XOR + popcount, no sort, relevance from the
database sorted by label set), or from torch when numba is missing; the same numbers either way.
"""
from __future__ import annotations

import functools
import warnings

import numpy as np
import torch

from . import _kernels
from .labels import check_label_values

__all__ = [
    "TIE_RULES", "distance_histograms", "mean_average_precision", "average_precision",
    "precision_within_radius", "pr_curve_by_radius", "precision_recall_at_k", "evaluate",
]

TIE_RULES = ("stable", "optimistic", "pessimistic", "expected")


# ----------------------------------------------------------------------------- input checks
def _to_cpu(x, name: str):
    """numpy array or torch tensor (any device) -> CPU torch tensor. A device tensor is copied to the CPU once,
    here, explicitly: .numpy() on a CUDA/MPS tensor raises, and the engine is CPU code."""
    if isinstance(x, np.ndarray):
        if x.dtype == object or x.dtype.kind not in "biuf":
            raise TypeError(f"{name} must hold numbers, got a numpy array of dtype {x.dtype}")
        return torch.from_numpy(x)
    if isinstance(x, torch.Tensor):
        if x.device.type != "cpu":
            x = x.to("cpu")                # before any other op: nothing runs on the device
        return x.detach()
    return None


def _np(t: torch.Tensor) -> np.ndarray:
    """A CPU tensor as numpy, for the checks (numpy's elementwise int8 passes are several times faster here)."""
    return (t.to(torch.float32) if t.dtype == torch.bfloat16 else t).numpy()


def _check_finite(t: torch.Tensor, name: str):
    if t.is_floating_point():
        n_bad = t.numel() - int(np.count_nonzero(np.isfinite(_np(t))))
        if n_bad:
            raise ValueError(f"{name} contains {n_bad} NaN or infinite value(s); every entry must be a finite number")


def _as_codes(codes, name: str) -> torch.Tensor:
    """(n, K) ±1 codes (torch on any device, or numpy) -> CPU tensor of the same dtype, with a clear error for
    bad input. The same checks as codes.as_pm1, without its float32 copy: the packed kernels read int8 as it is."""
    t = _to_cpu(codes, name)
    if t is None:
        raise TypeError(f"{name} must be a torch tensor or numpy array of ±1, got {type(codes).__name__}")
    if t.ndim != 2:
        raise ValueError(f"{name} must have shape (n, bits); got shape {tuple(t.shape)}")
    if t.shape[0] == 0:
        raise ValueError(f"{name} is empty (shape {tuple(t.shape)}): need at least one code")
    if t.shape[1] == 0:
        raise ValueError(f"{name} has 0 bits (shape {tuple(t.shape)}): need at least one bit per code")
    if t.dtype == torch.bool or t.is_complex():
        raise TypeError(f"{name} must hold ±1 numbers, got dtype {t.dtype}")
    _check_finite(t, name)
    a = _np(t)
    bad = np.abs(a) != 1                       # int8 -128 stays -128 under abs: still caught
    if bad.any():
        example = float(a[bad][0])
        hint = " (0 is not a code value: binarise with hashing_utils.codes.binarize)" if example == 0 else ""
        raise ValueError(f"{name} must contain only -1 and +1; found {example:g}{hint}")
    return t


def _float(codes: torch.Tensor) -> torch.Tensor:
    """Checked ±1 codes as float32, for the matmul paths (K - b^T b' = 2 d_H is exact in float32)."""
    return codes.to(torch.float32)


def _as_labels(labels, n: int, name: str, codes_name: str) -> torch.Tensor:
    """(n,) integer class ids or (n, C) multi-hot (torch on any device, numpy or a list)
    -> CPU int64 (n,) or float32 (n, C); the label checks are labels.check_label_values."""
    t = _to_cpu(labels, name)
    if t is None:
        try:
            t = torch.as_tensor(labels)
        except (TypeError, ValueError, RuntimeError) as e:
            raise TypeError(f"{name} must be (n,) class ids or (n, C) multi-hot numbers; "
                            f"could not read a {type(labels).__name__}: {e}") from None
    return check_label_values(t, n, name, codes_name)


def _prepare(q_codes, db_codes, q_labels, db_labels):
    """Checked CPU copies: codes float32 ±1 (n, K); labels int64 (n,) or float32 multi-hot (n, C).

    Rules for multi-hot labels: a query row with no label at all is an error (nothing can be relevant to it, so
    its AP would be a convention, not a measurement); a database row with no label is allowed (an item relevant
    to no query, a distractor)."""
    q = _as_codes(q_codes, "q_codes")
    db = _as_codes(db_codes, "db_codes")
    if q.shape[1] != db.shape[1]:
        raise ValueError(f"q_codes has {q.shape[1]} bits but db_codes has {db.shape[1]}: "
                         "queries and database must use the same code length")
    ql = _as_labels(q_labels, q.shape[0], "q_labels", "q_codes")
    dl = _as_labels(db_labels, db.shape[0], "db_labels", "db_codes")
    if ql.ndim != dl.ndim:
        raise ValueError("q_labels and db_labels must be both class ids (n,) or both multi-hot (n, C); "
                         f"got shapes {tuple(ql.shape)} and {tuple(dl.shape)}")
    if ql.ndim == 2:
        if ql.shape[1] != dl.shape[1]:
            raise ValueError(f"q_labels has {ql.shape[1]} classes but db_labels has {dl.shape[1]}")
        empty = int((ql.sum(1) == 0).sum())
        if empty:
            raise ValueError(f"q_labels: {empty} of {ql.shape[0]} query rows have no label at all; nothing can be "
                             "relevant to such a query: drop those rows (e.g. q_labels.sum(1) > 0)")
    return q, db, ql, dl


def _warn_no_relevant(total_rel: torch.Tensor):
    """The documented rule for a query with no relevant item in the whole database: AP = 0 and recall = 0
    (it still counts in the mean), announced by a warning that says how many such queries there are."""
    missing = int((total_rel == 0).sum())
    if missing:
        warnings.warn(f"{missing} of {total_rel.shape[0]} queries have no relevant item in the database; "
                      "they count as AP = 0 and recall = 0", RuntimeWarning, stacklevel=3)


def _relevance(ql_block: torch.Tensor, dl: torch.Tensor) -> torch.Tensor:
    """(B, N) bool: share at least one label."""
    if ql_block.ndim == 1:
        return ql_block[:, None] == dl[None, :]
    return (ql_block @ dl.T) > 0


def _check_ties(ties: str):
    if ties not in TIE_RULES:
        raise ValueError(f"ties must be one of {TIE_RULES}, got {ties!r}")


# ----------------------------------------------------------------------------- histograms
def distance_histograms(q_codes, db_codes, q_labels, db_labels, backend: str = "auto"):
    """Per-query counts of database items, and of relevant ones, at each Hamming distance.

    Returns (n, r): int64 tensors of shape (n_queries, K + 1).
    backend 'numba' (default when installed): XOR + popcount of packed codes, counted without a sort;
    relevance from the database sorted by label set (see _kernels).
    backend 'torch': per block of queries a matmul, key = 2d + relevant, one bincount.
    """
    q, db, ql, dl = _prepare(q_codes, db_codes, q_labels, db_labels)
    return _histograms(q, db, ql, dl, backend=backend)


_GROUP_PAIRS = 1 << 22      # (query label sets x database label sets) handled per kernel call: bounds memory


def _label_groups(ql: torch.Tensor, dl: torch.Tensor):
    """Rows grouped by label set: (query group id (n_q,), db group id (n_db,), unique query label sets,
    unique db label sets) as numpy; label sets are class ids, or multi-hot rows packed into uint64 words."""
    if ql.ndim == 1:
        qv, dv = ql.numpy(), dl.numpy()
    else:
        qv, dv = _kernels.pack_rows(ql.numpy() > 0), _kernels.pack_rows(dl.numpy() > 0)
    uq, qg = np.unique(qv, axis=0, return_inverse=True)
    ud, dg = np.unique(dv, axis=0, return_inverse=True)
    return qg.reshape(-1), dg.reshape(-1), uq, ud


def _group_relevance(uq: np.ndarray, ud: np.ndarray) -> np.ndarray:
    """(len(uq), len(ud)) bool: label sets that share a label."""
    if uq.ndim == 1:
        return uq[:, None] == ud[None, :]
    rel = np.zeros((uq.shape[0], ud.shape[0]), dtype=bool)
    for w in range(uq.shape[1]):
        rel |= (uq[:, None, w] & ud[None, :, w]) != 0
    return rel


def _histograms_numba(q, db, ql, dl):
    k, n_db = q.shape[1], db.shape[0]
    qg, dg, uq, ud = _label_groups(ql, dl)
    q_order, db_order = np.argsort(qg, kind="stable"), np.argsort(dg, kind="stable")
    qw = _kernels.pack_rows(q.numpy()[q_order] > 0)
    dw = _kernels.pack_rows(db.numpy()[db_order] > 0)
    if qw.shape[1] == 1:                                   # codes of <= 64 bits: one word, the fast loop
        qw, dw, kernel = qw[:, 0].copy(), dw[:, 0].copy(), _kernels.grouped_histograms_1w
    else:
        kernel = _kernels.grouped_histograms_nw
    db_sizes = np.bincount(dg, minlength=len(ud))
    db_starts = np.concatenate([[0], np.cumsum(db_sizes)]).astype(np.int64)
    q_sizes = np.bincount(qg, minlength=len(uq))
    q_starts = np.concatenate([[0], np.cumsum(q_sizes)]).astype(np.int64)
    n_out = np.empty((q.shape[0], k + 1), np.int64)
    r_out = np.empty((q.shape[0], k + 1), np.int64)
    step = max(1, _GROUP_PAIRS // max(1, len(ud)))
    for g0 in range(0, len(uq), step):                     # batches of query label sets
        g1 = min(g0 + step, len(uq))
        rel = _group_relevance(uq[g0:g1], ud)
        # count the relevant blocks, or the irrelevant ones when they are fewer (relevant = total - counted)
        complement = (rel.astype(np.int64) @ db_sizes) > n_db / 2
        take = rel ^ complement[:, None]
        # tiles: runs of at most TILE queries that share one label set
        sizes = q_sizes[g0:g1]
        n_tiles = -(-sizes // _kernels.TILE)
        tg = np.repeat(np.arange(g1 - g0), n_tiles)
        offset = np.arange(n_tiles.sum()) - np.repeat(np.cumsum(n_tiles) - n_tiles, n_tiles)
        first = q_starts[g0:g1][tg] + offset * _kernels.TILE
        last = np.minimum(first + _kernels.TILE, q_starts[g0 + 1:g1 + 1][tg])
        q0, q1 = q_starts[g0], q_starts[g1]
        tiles = np.stack([first - q0, last - q0, tg], 1).astype(np.int64)
        total, counted = kernel(qw[q0:q1], dw, k, tiles, take, db_starts)
        flip = np.repeat(complement, sizes)[:, None]
        n_out[q_order[q0:q1]] = total
        r_out[q_order[q0:q1]] = np.where(flip, total - counted, counted)
    return torch.from_numpy(n_out), torch.from_numpy(r_out)


def _histograms(q, db, ql, dl, block_size=512, backend: str = "auto"):
    k = q.shape[1]
    if backend == "auto":
        backend = "numba" if _kernels.HAVE_NUMBA else "torch"
    if backend == "numba":
        if not _kernels.HAVE_NUMBA:
            raise ValueError("backend='numba' asked for, but numba is not installed (pip install numba)")
        return _histograms_numba(q, db, ql, dl)
    if backend != "torch":
        raise ValueError(f"backend must be 'auto', 'numba' or 'torch', got {backend!r}")
    nbins = 2 * (k + 1)
    counts = torch.empty(q.shape[0], k + 1, 2, dtype=torch.int64)
    q, db_t = _float(q), _float(db).T.contiguous()
    for s in range(0, q.shape[0], block_size):
        qb = q[s:s + block_size]
        b = qb.shape[0]
        key = torch.sub(k, qb @ db_t)                       # = 2 d, exact in float32 for K < 2^24
        key.add_(_relevance(ql[s:s + block_size], dl))      # 2 d + [relevant]
        key = key.to(torch.int64)
        key.add_(torch.arange(b).mul_(nbins)[:, None])      # one bincount for the whole block
        counts[s:s + b] = torch.bincount(key.view(-1), minlength=b * nbins).view(b, k + 1, 2)
    return counts.sum(2), counts[:, :, 1].contiguous()


# ----------------------------------------------------------------------------- closed forms
def _harmonic_diff(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """H(a) - H(b) = sum_{i=b+1..a} 1/i, float64, for integer a >= b >= 0."""
    return torch.digamma(a + 1.0) - torch.digamma(b + 1.0)


def _group_precision_sum(n, r, P, R, ties):
    """Sum of precisions of the relevant items of whole tie groups (all float64 tensors)."""
    if ties == "optimistic":
        return r + (R - P) * _harmonic_diff(P + r, P)
    if ties == "pessimistic":
        return r + (R - P - n + r) * _harmonic_diff(P + n, P + n - r)
    # expected: sum_p (r/n)(R + 1 + (p-1)(r-1)/(n-1))/(P+p), with sum_p (p-1)/(P+p) = n - (P+1) A
    a = _harmonic_diff(P + n, P)
    frac = torch.where(n > 1, (r - 1) / (n - 1).clamp(min=1), torch.zeros_like(r))
    s = (r / n.clamp(min=1)) * ((R + 1) * a + frac * (n - (P + 1) * a))
    return torch.where(r > 0, s, torch.zeros_like(s))


def _log_comb(n, k):
    return torch.lgamma(n + 1) - torch.lgamma(k + 1) - torch.lgamma(n - k + 1)


@functools.lru_cache(maxsize=8)
def _harmonic(n_db: int) -> np.ndarray:
    return _kernels.harmonic_table(n_db)


def _ap_from_histograms(n: torch.Tensor, r: torch.Tensor, topk: int | None, ties: str,
                        backend: str = "auto") -> torch.Tensor:
    """AP per query (float64, (n_q,)) from the tie-group histograms, for optimistic/pessimistic/expected.
    AP@all goes through the compiled kernel when numba is there (backend 'auto'), else through torch."""
    n_db = int(n[0].sum())
    if (topk is None or topk >= n_db) and backend != "torch" and _kernels.HAVE_NUMBA:
        # one compiled pass per query with a table of harmonic numbers: ~50x less than the tensor code below
        rule = {"optimistic": 0, "pessimistic": 1, "expected": 2}[ties]
        return torch.from_numpy(_kernels.ap_all(np.ascontiguousarray(n.to(torch.int64).numpy()),
                                                np.ascontiguousarray(r.to(torch.int64).numpy()),
                                                _harmonic(int(n.sum(1).max())), rule))
    n = n.to(torch.float64)
    r = r.to(torch.float64)
    before_n = torch.cumsum(n, 1) - n      # P: items ranked before each group
    before_r = torch.cumsum(r, 1) - r      # R: relevant items before each group
    if topk is None or topk >= n_db:
        total_rel = r.sum(1)
        s = _group_precision_sum(n, r, before_n, before_r, ties).sum(1)
        return torch.where(total_rel > 0, s / total_rel.clamp(min=1), torch.zeros_like(s))

    kcut = float(topk)
    full = (before_n + n) <= kcut                          # groups entirely inside the top K
    s_full = torch.where(full, _group_precision_sum(n, r, before_n, before_r, ties), 0.0).sum(1)
    # the group where the cut falls: the first group that is not entirely inside
    g = (~full & (n > 0)).to(torch.int8).argmax(1, keepdim=True)
    gn, gr = n.gather(1, g)[:, 0], r.gather(1, g)[:, 0]
    P, R = before_n.gather(1, g)[:, 0], before_r.gather(1, g)[:, 0]
    t = kcut - P                                           # items of that group kept, 1..n-1

    if ties == "optimistic":
        j = torch.minimum(gr, t)
        s_cut = j + (R - P) * _harmonic_diff(P + j, P)
        denom = R + j
        return torch.where(denom > 0, (s_full + s_cut) / denom.clamp(min=1), torch.zeros_like(s_full))
    if ties == "pessimistic":
        j = (t - (gn - gr)).clamp(min=0)
        s_cut = j + (R - P - gn + gr) * _harmonic_diff(P + gn - gr + j, P + gn - gr)
        denom = R + j
        return torch.where(denom > 0, (s_full + s_cut) / denom.clamp(min=1), torch.zeros_like(s_full))

    # expected: j relevant kept is hypergeometric(n, r, t); given j, they are spread uniformly over
    # the t kept positions. Sum over j with its weight, one flat array over (query, j).
    j_lo = (t - (gn - gr)).clamp(min=0)
    j_hi = torch.minimum(gr, t)
    width = (j_hi - j_lo + 1).to(torch.int64)
    qi = torch.repeat_interleave(torch.arange(n.shape[0]), width)
    offs = torch.arange(int(width.sum())) - torch.repeat_interleave(torch.cumsum(width, 0) - width, width)
    j = j_lo[qi] + offs.to(torch.float64)
    N_, K_, T_ = gn[qi], gr[qi], t[qi]
    log_w = _log_comb(K_, j) + _log_comb(N_ - K_, T_ - j) - _log_comb(N_, T_)
    a_t = _harmonic_diff(P[qi] + T_, P[qi])
    frac = torch.where(T_ > 1, (j - 1) / (T_ - 1).clamp(min=1), torch.zeros_like(j))
    s_cut = (j / T_) * ((R[qi] + 1) * a_t + frac * (T_ - (P[qi] + 1) * a_t))
    s_cut = torch.where(j > 0, s_cut, torch.zeros_like(s_cut))
    denom = R[qi] + j
    term = torch.where(denom > 0, (s_full[qi] + s_cut) / denom.clamp(min=1), torch.zeros_like(j))
    return torch.zeros(n.shape[0], dtype=torch.float64).index_add_(0, qi, torch.exp(log_w) * term)


def _ap_stable(q, db, ql, dl, topk, block_size=256):
    """AP per query with ties ordered by database index (a stable sort of the distances)."""
    k, n_db = q.shape[1], db.shape[0]
    kcut = n_db if topk is None else min(topk, n_db)
    q, db = _float(q), _float(db)
    out = torch.empty(q.shape[0], dtype=torch.float64)
    total_rel = torch.empty(q.shape[0], dtype=torch.int64)
    for s in range(0, q.shape[0], block_size):
        dist = (k - q[s:s + block_size] @ db.T)
        order = torch.sort(dist, dim=1, stable=True).indices[:, :kcut]
        rel_all = _relevance(ql[s:s + block_size], dl)
        total_rel[s:s + block_size] = rel_all.sum(1)
        rel = rel_all.gather(1, order).to(torch.float64)
        hits = torch.cumsum(rel, 1)
        prec = hits / torch.arange(1, kcut + 1, dtype=torch.float64)
        n_rel = hits[:, -1]
        out[s:s + block_size] = torch.where(n_rel > 0, (prec * rel).sum(1) / n_rel.clamp(min=1), 0.0)
    return out, total_rel


# ----------------------------------------------------------------------------- public metrics
def average_precision(q_codes, db_codes, q_labels, db_labels, topk: int | None = None,
                      ties: str = "expected") -> torch.Tensor:
    """AP@K of every query (float64, (n_q,)). See mean_average_precision."""
    _check_ties(ties)
    if topk is not None and (not isinstance(topk, (int, np.integer)) or topk < 1):
        raise ValueError(f"topk must be a positive integer or None (all), got {topk!r}")
    q, db, ql, dl = _prepare(q_codes, db_codes, q_labels, db_labels)
    if ties == "stable":
        ap, total_rel = _ap_stable(q, db, ql, dl, topk)
        _warn_no_relevant(total_rel)
        return ap
    n, r = _histograms(q, db, ql, dl)
    _warn_no_relevant(r.sum(1))
    return _ap_from_histograms(n, r, topk, ties)


def mean_average_precision(q_codes, db_codes, q_labels, db_labels, topk: int | None = None,
                           ties: str = "expected") -> float:
    """mAP@K: mean over queries of AP@K = (1/R_K) sum_{k<=K, rel(k)} precision@k, where R_K is the number
    of relevant items in the top K (a query with R_K = 0 counts as AP = 0). topk=None is mAP@all.

    q_codes (n_q, K), db_codes (n_db, K): ±1 (int8 or float, torch or numpy).
    q_labels/db_labels: (n,) class ids or (n, C) multi-hot; relevant = share at least one label.
    ties: 'stable' (database order), 'optimistic', 'pessimistic', or 'expected' (exact expectation
    over a uniformly random order inside each group of equal distance).
    Tensors may sit on any device: each is copied to the CPU once. Bad input (empty sets, NaN/inf, codes not ±1,
    mismatched rows or widths, a multi-hot query row with no label) is a ValueError/TypeError naming the argument;
    a query with no relevant item in the database counts as AP = 0, with a RuntimeWarning giving how many.
    """
    return float(average_precision(q_codes, db_codes, q_labels, db_labels, topk, ties).mean())


def _ball_counts(q_codes, db_codes, q_labels, db_labels):
    q, db, ql, dl = _prepare(q_codes, db_codes, q_labels, db_labels)
    n, r = _histograms(q, db, ql, dl)
    return torch.cumsum(n, 1).to(torch.float64), torch.cumsum(r, 1).to(torch.float64), r.sum(1).to(torch.float64)


def _pr_by_radius(cum_n, cum_r, total_rel):
    """(n_q, K+1) precision and recall of every Hamming ball; an empty ball has precision 0."""
    precision = torch.where(cum_n > 0, cum_r / cum_n.clamp(min=1), torch.zeros_like(cum_r))
    recall = torch.where(total_rel[:, None] > 0, cum_r / total_rel.clamp(min=1)[:, None], torch.zeros_like(cum_r))
    return precision, recall


def precision_within_radius(q_codes, db_codes, q_labels, db_labels, radius: int = 2) -> float:
    """P@H<=r: mean over queries of (relevant / retrieved) in the Hamming ball of radius r.
    A query whose ball is empty contributes precision 0 (and is still counted)."""
    cum_n, cum_r, total = _ball_counts(q_codes, db_codes, q_labels, db_labels)
    if not isinstance(radius, (int, np.integer)) or radius < 0:
        raise ValueError(f"radius must be a non-negative integer, got {radius!r}")
    radius = min(int(radius), cum_n.shape[1] - 1)
    precision, _ = _pr_by_radius(cum_n, cum_r, total)
    return float(precision[:, radius].mean())


def pr_curve_by_radius(q_codes, db_codes, q_labels, db_labels) -> dict:
    """Precision and recall of the Hamming ball of radius r = 0..K, averaged over queries.
    Returns {'radius': (K+1,), 'precision': (K+1,), 'recall': (K+1,)} as numpy arrays."""
    cum_n, cum_r, total = _ball_counts(q_codes, db_codes, q_labels, db_labels)
    _warn_no_relevant(total)
    precision, recall = _pr_by_radius(cum_n, cum_r, total)
    return {"radius": np.arange(cum_n.shape[1]), "precision": precision.mean(0).numpy(),
            "recall": recall.mean(0).numpy()}


def _relevant_in_top(n, r, ks, ties):
    """Relevant items among the first k (float64 (n_q, len(ks))) under a tie rule (not stable)."""
    n = n.to(torch.float64)
    r = r.to(torch.float64)
    cum_n, cum_r = torch.cumsum(n, 1), torch.cumsum(r, 1)
    out = []
    for k in ks:
        g = (cum_n >= k).to(torch.int8).argmax(1, keepdim=True)
        gn, gr = n.gather(1, g)[:, 0], r.gather(1, g)[:, 0]
        P = (cum_n.gather(1, g) - n.gather(1, g))[:, 0]
        R = (cum_r.gather(1, g) - r.gather(1, g))[:, 0]
        t = k - P
        if ties == "optimistic":
            kept = torch.minimum(gr, t)
        elif ties == "pessimistic":
            kept = (t - (gn - gr)).clamp(min=0)
        else:
            kept = t * gr / gn.clamp(min=1)
        out.append(R + kept)
    return torch.stack(out, 1)


def precision_recall_at_k(q_codes, db_codes, q_labels, db_labels, ks=None, ties: str = "expected") -> dict:
    """PR curve by rank: precision@k and recall@k for k in `ks` (default: 20 points up to the database
    size), averaged over queries. Returns {'k', 'precision', 'recall'} as numpy arrays."""
    _check_ties(ties)
    q, db, ql, dl = _prepare(q_codes, db_codes, q_labels, db_labels)
    n_db = db.shape[0]
    if ks is None:
        ks = np.unique(np.linspace(1, n_db, 20).round().astype(int))
    ks = [int(k) for k in ks]
    if any(k < 1 or k > n_db for k in ks):
        raise ValueError(f"every k must be in 1..{n_db} (the database size)")
    if ties == "stable":
        dist = q.shape[1] - _float(q) @ _float(db).T
        order = torch.sort(dist, dim=1, stable=True).indices
        hits = torch.cumsum(_relevance(ql, dl).gather(1, order).to(torch.float64), 1)
        rel_top = hits[:, [k - 1 for k in ks]]
        total = hits[:, -1]
    else:
        n, r = _histograms(q, db, ql, dl)
        rel_top = _relevant_in_top(n, r, ks, ties)
        total = r.sum(1).to(torch.float64)
    _warn_no_relevant(total)
    kk = torch.tensor(ks, dtype=torch.float64)
    recall = torch.where(total[:, None] > 0, rel_top / total.clamp(min=1)[:, None], torch.zeros_like(rel_top))
    return {"k": np.array(ks), "precision": (rel_top / kk).mean(0).numpy(), "recall": recall.mean(0).numpy()}


def evaluate(q_codes, db_codes, q_labels, db_labels, topk: int = 1000, radius: int = 2,
             ties: str = "expected") -> dict:
    """The workbook's standard report from one pass over the distances:
    mAP@all, mAP@topk, P@H<=radius, and the optimistic / pessimistic bounds of mAP@all."""
    _check_ties(ties)
    if ties == "stable":
        raise ValueError("evaluate() reports tie-free quantities; use mean_average_precision(ties='stable')")
    q, db, ql, dl = _prepare(q_codes, db_codes, q_labels, db_labels)
    n, r = _histograms(q, db, ql, dl)
    _warn_no_relevant(r.sum(1))
    cum_n, cum_r = torch.cumsum(n, 1).to(torch.float64), torch.cumsum(r, 1).to(torch.float64)
    precision, _ = _pr_by_radius(cum_n, cum_r, r.sum(1).to(torch.float64))
    return {
        "map_all": float(_ap_from_histograms(n, r, None, ties).mean()),
        f"map_{topk}": float(_ap_from_histograms(n, r, topk, ties).mean()),
        f"p_h{radius}": float(precision[:, min(radius, q.shape[1])].mean()),
        "map_all_optimistic": float(_ap_from_histograms(n, r, None, "optimistic").mean()),
        "map_all_pessimistic": float(_ap_from_histograms(n, r, None, "pessimistic").mean()),
    }
