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
"""
from __future__ import annotations

import numpy as np
import torch

from . import _kernels
from .codes import as_pm1

__all__ = [
    "TIE_RULES", "distance_histograms", "mean_average_precision", "average_precision",
    "precision_within_radius", "pr_curve_by_radius", "precision_recall_at_k", "evaluate",
]

TIE_RULES = ("stable", "optimistic", "pessimistic", "expected")


# ----------------------------------------------------------------------------- input checks
def _as_labels(labels, n: int, name: str) -> torch.Tensor:
    """(n,) integer class ids or (n, C) multi-hot -> int64 (n,) or float32 (n, C)."""
    if isinstance(labels, np.ndarray):
        labels = torch.from_numpy(labels)
    if not isinstance(labels, torch.Tensor):
        labels = torch.as_tensor(labels)
    if labels.ndim not in (1, 2):
        raise ValueError(f"{name} must be (n,) class ids or (n, C) multi-hot; got shape {tuple(labels.shape)}")
    if labels.shape[0] != n:
        raise ValueError(f"{name} has {labels.shape[0]} rows but there are {n} codes")
    if labels.ndim == 1:
        if labels.is_floating_point() and not bool((labels == labels.round()).all()):
            raise ValueError(f"{name}: single-label ids must be integers")
        return labels.to(torch.int64)
    lab = labels.to(torch.float32)
    if not bool(((lab == 0) | (lab == 1)).all()):
        raise ValueError(f"{name}: a (n, C) label matrix must be multi-hot (only 0 and 1)")
    return lab


def _prepare(q_codes, db_codes, q_labels, db_labels):
    q = as_pm1(q_codes, "q_codes")
    db = as_pm1(db_codes, "db_codes")
    if q.shape[1] != db.shape[1]:
        raise ValueError(f"query codes have {q.shape[1]} bits but database codes have {db.shape[1]}")
    ql = _as_labels(q_labels, q.shape[0], "q_labels")
    dl = _as_labels(db_labels, db.shape[0], "db_labels")
    if ql.ndim != dl.ndim:
        raise ValueError("q_labels and db_labels must be both class ids (n,) or both multi-hot (n, C); "
                         f"got shapes {tuple(ql.shape)} and {tuple(dl.shape)}")
    if ql.ndim == 2 and ql.shape[1] != dl.shape[1]:
        raise ValueError(f"q_labels has {ql.shape[1]} classes but db_labels has {dl.shape[1]}")
    return q, db, ql, dl


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
    backend 'numba' (default when installed): one compiled pass over all pairs, XOR + popcount.
    backend 'torch': per block of queries a matmul, key = 2d + relevant, one bincount.
    """
    q, db, ql, dl = _prepare(q_codes, db_codes, q_labels, db_labels)
    return _histograms(q, db, ql, dl, backend=backend)


def _label_bits(labels: torch.Tensor, n_classes: int) -> np.ndarray:
    if labels.ndim == 1:
        onehot = np.zeros((labels.shape[0], n_classes), dtype=bool)
        onehot[np.arange(labels.shape[0]), labels.numpy()] = True
        return onehot
    return labels.numpy() > 0


def _histograms(q, db, ql, dl, block_size=512, backend: str = "auto"):
    k = q.shape[1]
    if backend == "auto":
        backend = "numba" if _kernels.HAVE_NUMBA else "torch"
    if backend == "numba":
        if ql.ndim == 1 and (int(ql.min()) < 0 or int(dl.min()) < 0):
            raise ValueError("class ids must be non-negative")
        n_classes = int(max(ql.max(), dl.max())) + 1 if ql.ndim == 1 else ql.shape[1]
        counts = _kernels.histograms_packed(
            _kernels.pack_rows(q.numpy() > 0), _kernels.pack_rows(db.numpy() > 0),
            _kernels.pack_rows(_label_bits(ql, n_classes)), _kernels.pack_rows(_label_bits(dl, n_classes)), k)
        counts = torch.from_numpy(counts)
        return counts.sum(2), counts[:, :, 1].contiguous()
    if backend != "torch":
        raise ValueError(f"backend must be 'auto', 'numba' or 'torch', got {backend!r}")
    nbins = 2 * (k + 1)
    counts = torch.empty(q.shape[0], k + 1, 2, dtype=torch.int64)
    db_t = db.T.contiguous()
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


def _ap_from_histograms(n: torch.Tensor, r: torch.Tensor, topk: int | None, ties: str) -> torch.Tensor:
    """AP per query (float64, (n_q,)) from the tie-group histograms, for optimistic/pessimistic/expected."""
    n = n.to(torch.float64)
    r = r.to(torch.float64)
    n_db = n[0].sum()
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
    out = torch.empty(q.shape[0], dtype=torch.float64)
    for s in range(0, q.shape[0], block_size):
        dist = (k - q[s:s + block_size] @ db.T)
        order = torch.sort(dist, dim=1, stable=True).indices[:, :kcut]
        rel = _relevance(ql[s:s + block_size], dl).gather(1, order).to(torch.float64)
        hits = torch.cumsum(rel, 1)
        prec = hits / torch.arange(1, kcut + 1, dtype=torch.float64)
        n_rel = hits[:, -1]
        out[s:s + block_size] = torch.where(n_rel > 0, (prec * rel).sum(1) / n_rel.clamp(min=1), 0.0)
    return out


# ----------------------------------------------------------------------------- public metrics
def average_precision(q_codes, db_codes, q_labels, db_labels, topk: int | None = None,
                      ties: str = "expected") -> torch.Tensor:
    """AP@K of every query (float64, (n_q,)). See mean_average_precision."""
    _check_ties(ties)
    if topk is not None and (not isinstance(topk, (int, np.integer)) or topk < 1):
        raise ValueError(f"topk must be a positive integer or None (all), got {topk!r}")
    q, db, ql, dl = _prepare(q_codes, db_codes, q_labels, db_labels)
    if ties == "stable":
        return _ap_stable(q, db, ql, dl, topk)
    n, r = _histograms(q, db, ql, dl)
    return _ap_from_histograms(n, r, topk, ties)


def mean_average_precision(q_codes, db_codes, q_labels, db_labels, topk: int | None = None,
                           ties: str = "expected") -> float:
    """mAP@K: mean over queries of AP@K = (1/R_K) sum_{k<=K, rel(k)} precision@k, where R_K is the number
    of relevant items in the top K (a query with R_K = 0 counts as AP = 0). topk=None is mAP@all.

    q_codes (n_q, K), db_codes (n_db, K): ±1 (int8 or float, torch or numpy).
    q_labels/db_labels: (n,) class ids or (n, C) multi-hot; relevant = share at least one label.
    ties: 'stable' (database order), 'optimistic', 'pessimistic', or 'expected' (exact expectation
    over a uniformly random order inside each group of equal distance).
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
        dist = q.shape[1] - q @ db.T
        order = torch.sort(dist, dim=1, stable=True).indices
        hits = torch.cumsum(_relevance(ql, dl).gather(1, order).to(torch.float64), 1)
        rel_top = hits[:, [k - 1 for k in ks]]
        total = hits[:, -1]
    else:
        n, r = _histograms(q, db, ql, dl)
        rel_top = _relevant_in_top(n, r, ks, ties)
        total = r.sum(1).to(torch.float64)
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
    cum_n, cum_r = torch.cumsum(n, 1).to(torch.float64), torch.cumsum(r, 1).to(torch.float64)
    precision, _ = _pr_by_radius(cum_n, cum_r, r.sum(1).to(torch.float64))
    return {
        "map_all": float(_ap_from_histograms(n, r, None, ties).mean()),
        f"map_{topk}": float(_ap_from_histograms(n, r, topk, ties).mean()),
        f"p_h{radius}": float(precision[:, min(radius, q.shape[1])].mean()),
        "map_all_optimistic": float(_ap_from_histograms(n, r, None, "optimistic").mean()),
        "map_all_pessimistic": float(_ap_from_histograms(n, r, None, "pessimistic").mean()),
    }
