"""Class hierarchies: semantic distances between labels, and hierarchy-aware retrieval metrics.

A hierarchy is given in one of three forms (`semantic_distances` turns each into a C×C matrix in [0, 1]):
- None: a flat hierarchy (every two different classes are equally unrelated): D = 1 − I;
- a sequence, index by class, of each class's parent group, e.g. ``["tops", "trouser", "tops", ...]``
  (a two-level tree: root → groups → classes), or of tuples of ancestors from the top down,
  ``[("clothing", "tops"), ...]`` (a deeper tree; every class at the same depth);
- a C×C semantic distance matrix (symmetric, zero diagonal, values in [0, 1]).

Semantic distance of two classes: the height of their lowest common ancestor (LCA) divided by the height
of the tree (a leaf has height 0). In a two-level tree: 0 for the same class, 1/2 for siblings (same parent
group), 1 for classes in different groups. Similarity is s = 1 − d.

Hierarchical precision (Deng, Berg & Fei-Fei 2011; used with CIFAR-100 by Barz & Denzler 2019 and the SHREWD
paper): for a query q and a ranking π of the database,
    HP@k(q) = Σ_{i≤k} s(y_q, y_π(i)) / max_π' Σ_{i≤k} s(y_q, y_π'(i)),
    AHP@K(q) = (1/K) Σ_{k=1..K} HP@k(q),          mAHP@K = mean over queries.
Ranking is by Hamming distance; the numerator is linear in the items ranked, so its exact expectation over a
uniformly random order inside each tie group is obtained by giving every item its tie group's mean
similarity (ties="expected", the default); ties="stable" orders ties by database index.
"""
from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from .codes import as_pm1, hamming_distance
from .formats import read_cifar_pickle
from .store import find_data_file
from .labels import single_label_ids

__all__ = ["semantic_distances", "pairwise_semantic_distance", "mean_class_hamming", "sibling_unrelated_ratio",
           "hierarchical_precision_at_k", "mean_average_hierarchical_precision", "group_names",
           "cifar100_hierarchy"]


def _paths(hierarchy, n_classes):
    """Each class's ancestor path (tuple of str, top-down, root excluded)."""
    if isinstance(hierarchy, (str, bytes)) or not isinstance(hierarchy, Sequence):
        raise TypeError("hierarchy must be None, a sequence of parent-group names (one per class) or a C×C "
                        f"distance matrix; got {type(hierarchy).__name__}")
    if len(hierarchy) == 0:
        raise ValueError("hierarchy is empty: give one parent group per class")
    if n_classes is not None and len(hierarchy) != n_classes:
        raise ValueError(f"hierarchy names {len(hierarchy)} parent groups but the labels have {n_classes} "
                         "classes: give exactly one parent per class, index by class")
    paths = []
    for c, p in enumerate(hierarchy):
        path = (p,) if isinstance(p, str) else tuple(p) if isinstance(p, (tuple, list)) else None
        if not path or not all(isinstance(a, str) and a for a in path):
            raise TypeError(f"hierarchy[{c}] = {p!r}: each class's parent must be a non-empty string (or a tuple "
                            "of ancestor names, top-down)")
        paths.append(path)
    depths = {len(p) for p in paths}
    if len(depths) != 1:
        raise ValueError(f"every class must sit at the same depth; got ancestor paths of lengths {sorted(depths)}")
    return paths


def semantic_distances(hierarchy, n_classes: int | None = None) -> torch.Tensor:
    """The C×C semantic distance matrix d_s(c, c') = height(LCA(c, c')) / height(tree), float32 in [0, 1].

    hierarchy: None (flat; needs n_classes), a sequence of parent groups (or ancestor tuples) index by class,
    or a C×C matrix (checked and returned as float32).
    """
    if hierarchy is None:
        if n_classes is None or int(n_classes) < 1:
            raise ValueError("a flat hierarchy (None) needs n_classes")
        return 1.0 - torch.eye(int(n_classes))
    if isinstance(hierarchy, (torch.Tensor, np.ndarray)) and np.ndim(hierarchy) == 2:
        d = torch.as_tensor(np.asarray(hierarchy, dtype=np.float64) if isinstance(hierarchy, np.ndarray)
                            else hierarchy.detach().double())
        if d.shape[0] != d.shape[1]:
            raise ValueError(f"a semantic distance matrix must be square (C×C); got {tuple(d.shape)}")
        if n_classes is not None and d.shape[0] != n_classes:
            raise ValueError(f"the distance matrix is {d.shape[0]}×{d.shape[0]} but the labels have "
                             f"{n_classes} classes")
        if not bool(torch.isfinite(d).all()):
            raise ValueError("the semantic distance matrix holds NaN or infinite values")
        if not torch.allclose(d, d.T, atol=1e-6):
            raise ValueError("the semantic distance matrix must be symmetric")
        if bool((d.diagonal().abs() > 1e-6).any()):
            raise ValueError("the semantic distance matrix must have a zero diagonal (a class is at distance 0 "
                             "from itself)")
        if bool((d < -1e-9).any()) or bool((d > 1 + 1e-9).any()):
            raise ValueError("semantic distances must lie in [0, 1] (they are matched to (1 - cos)/2); divide "
                             "the matrix by its maximum")
        return d.clamp(0, 1).float()
    if isinstance(hierarchy, (torch.Tensor, np.ndarray)):
        hierarchy = [str(h) if not isinstance(h, str) else h for h in np.asarray(hierarchy).tolist()]
    paths = _paths(hierarchy, n_classes)
    depth = len(paths[0])                  # ancestors below the root; leaves are at depth + 1
    height = depth + 1
    c = len(paths)
    d = torch.zeros(c, c)
    for i in range(c):
        for j in range(c):
            if i == j:
                continue
            common = 0
            while common < depth and paths[i][common] == paths[j][common]:
                common += 1
            d[i, j] = (height - common) / height   # the LCA sits at depth `common`
    return d


def group_names(hierarchy) -> list:
    """The top-level group of each class (for plot annotations); None -> each class its own group."""
    if hierarchy is None or isinstance(hierarchy, (torch.Tensor, np.ndarray)) and np.ndim(hierarchy) == 2:
        return None
    return [p if isinstance(p, str) else p[0] for p in hierarchy]


def pairwise_semantic_distance(y_a: torch.Tensor, y_b: torch.Tensor, distances: torch.Tensor) -> torch.Tensor:
    """d_s between the labels of two sets of samples: (n, C), (m, C) multi-hot, D (C, C) -> (n, m).

    For multi-label samples, the distance of two label sets is that of their closest pair of labels
    (so it is 0 exactly when the samples share a label, the relevance rule of the metrics).
    """
    distances = distances.to(y_a.device, torch.float32 if not y_a.dtype.is_floating_point else y_a.dtype)
    ya, yb = y_a.to(distances.dtype), y_b.to(distances.dtype)
    if bool((ya.sum(1) == 1).all()) and bool((yb.sum(1) == 1).all()):
        return distances[ya.argmax(1)][:, yb.argmax(1)]
    if bool((ya.sum(1) == 0).any()) or bool((yb.sum(1) == 0).any()):
        raise ValueError("every sample needs at least one label to have a semantic distance")
    big = distances.max() + 1
    # m[j, c] = min over labels c' of sample j of D[c, c']
    m = torch.where(yb[:, None, :] > 0, distances[None], big).amin(2)            # (m, C)
    return torch.where(ya[:, None, :] > 0, m[None], big).amin(2)                 # (n, m)


def mean_class_hamming(codes, labels, n_classes: int | None = None) -> torch.Tensor:
    """(C, C) mean Hamming distance between the codes of class c and those of class c' (diagonal: mean over
    pairs of different items of the same class). codes (n, K) ±1, labels (n,) ids or (n, C) one-hot."""
    b = as_pm1(codes).float()
    y = single_label_ids(labels, "labels: the hierarchical metrics")
    c = int(n_classes or int(y.max()) + 1)
    k = b.shape[1]
    onehot = torch.nn.functional.one_hot(y, c).float()                  # (n, C)
    sums = onehot.T @ b                                                 # (C, K): Σ codes per class
    counts = onehot.sum(0)
    inner = sums @ sums.T                                               # Σ_{i∈c, j∈c'} b_i·b_j
    pairs = counts[:, None] * counts[None]
    # the diagonal leaves out each item paired with itself (inner product K, distance 0)
    inner = inner - torch.diag(counts * k)
    pairs = pairs - torch.diag(counts)
    return ((k - inner / pairs.clamp_min(1)) / 2).where(pairs > 0, torch.nan)


def sibling_unrelated_ratio(class_distance: torch.Tensor, semantic: torch.Tensor) -> dict:
    """Mean code distance between sibling classes (0 < d_s < max) over that between unrelated classes
    (d_s = max), from a (C, C) class distance matrix and the (C, C) semantic distances.
    Returns {'sibling': ..., 'unrelated': ..., 'ratio': ...}."""
    s = semantic.float()
    off = ~torch.eye(len(s), dtype=torch.bool)
    top = s[off].max()
    sib = off & (s > 0) & (s < top)
    unr = off & (s == top)
    if not bool(sib.any()):
        raise ValueError("the hierarchy has no sibling classes (a flat hierarchy): the ratio is undefined")
    cd = torch.as_tensor(class_distance).float()
    out = {"sibling": float(cd[sib].mean()), "unrelated": float(cd[unr].mean())}
    out["ratio"] = out["sibling"] / out["unrelated"]
    return out


def hierarchical_precision_at_k(q_codes, db_codes, q_labels, db_labels, hierarchy=None, k: int = 250,
                                ties: str = "expected", block_size: int = 256) -> torch.Tensor:
    """HP@1..k of every query: (n_query, k) float64. See the module docstring for the definition."""
    if ties not in ("expected", "stable"):
        raise ValueError(f"ties must be 'expected' or 'stable', got {ties!r}")
    q, db = as_pm1(q_codes, "q_codes"), as_pm1(db_codes, "db_codes")
    yq = single_label_ids(q_labels, "q_labels: the hierarchical metrics")
    ydb = single_label_ids(db_labels, "db_labels: the hierarchical metrics")
    if len(yq) != len(q) or len(ydb) != len(db):
        raise ValueError("codes and labels must have the same number of rows")
    n_classes = max(int(yq.max()), int(ydb.max())) + 1
    if hierarchy is None or not isinstance(hierarchy, (torch.Tensor, np.ndarray)) or np.ndim(hierarchy) != 2:
        n_cls = len(hierarchy) if hierarchy is not None else n_classes
        d = semantic_distances(hierarchy, n_cls)
    else:
        d = semantic_distances(hierarchy)
    if n_classes > len(d):
        raise ValueError(f"labels hold class {n_classes - 1} but the hierarchy covers {len(d)} classes")
    sim = (1.0 - d.double())                                            # (C, C)
    k = int(k)
    if not 1 <= k <= len(db):
        raise ValueError(f"k must be in 1..{len(db)} (database size), got {k}")
    # ideal denominator: the k most similar database items, per query class
    counts = torch.bincount(ydb, minlength=len(d)).double()
    ideal = torch.empty(len(d), k, dtype=torch.float64)
    for c in range(len(d)):
        order = torch.argsort(sim[c], descending=True)
        s_sorted = torch.repeat_interleave(sim[c][order], counts[order].long())[:k]
        ideal[c] = torch.cumsum(s_sorted, 0)
    out = torch.empty(len(q), k, dtype=torch.float64)
    ks = torch.arange(1, k + 1, dtype=torch.float64)
    bits = q.shape[1]
    for s in range(0, len(q), block_size):
        dist = hamming_distance(q[s:s + block_size], db).long()         # (b, n_db)
        s_items = sim[yq[s:s + block_size]][:, ydb]                     # (b, n_db)
        if ties == "stable":
            order = torch.sort(dist, dim=1, stable=True).indices[:, :k]
            num = torch.cumsum(torch.gather(s_items, 1, order), 1)
        else:
            # per-distance histograms: count and similarity sum of the items at each Hamming distance
            n_d = torch.zeros(len(dist), bits + 1, dtype=torch.float64).scatter_add_(
                1, dist, torch.ones_like(s_items))
            s_d = torch.zeros(len(dist), bits + 1, dtype=torch.float64).scatter_add_(1, dist, s_items)
            cum_n, cum_s = torch.cumsum(n_d, 1), torch.cumsum(s_d, 1)
            g = torch.searchsorted(cum_n, ks.expand(len(dist), k).contiguous())   # group holding rank k
            prev_n = torch.where(g > 0, torch.gather(cum_n, 1, (g - 1).clamp_min(0)), 0.0)
            prev_s = torch.where(g > 0, torch.gather(cum_s, 1, (g - 1).clamp_min(0)), 0.0)
            mean_s = torch.gather(s_d, 1, g) / torch.gather(n_d, 1, g).clamp_min(1)
            num = prev_s + (ks - prev_n) * mean_s
        den = ideal[yq[s:s + block_size]]
        out[s:s + block_size] = torch.where(den > 0, num / den.clamp_min(1e-300), 1.0)
    return out


def mean_average_hierarchical_precision(q_codes, db_codes, q_labels, db_labels, hierarchy=None, k: int = 250,
                                        ties: str = "expected") -> float:
    """mAHP@k = mean over queries of (1/k) Σ_{k'≤k} HP@k'. hierarchy: None (flat), parents per class, or a
    C×C distance matrix. With a flat hierarchy (and ≥ k items per class) it is the mean of precision@1..k."""
    hp = hierarchical_precision_at_k(q_codes, db_codes, q_labels, db_labels, hierarchy, k, ties)
    return float(hp.mean())


def cifar100_hierarchy(data_file=None):
    """CIFAR-100's two-level tree (100 classes in 20 superclasses) read from the python-version files:
    returns (parents, coarse_names), parents index by fine class as torchvision orders the classes;
    None when the files are not found."""
    folder = find_data_file("cifar-100-python") if data_file is None else Path(data_file)
    if folder is None:
        return None
    train, meta = read_cifar_pickle(folder / "train"), read_cifar_pickle(folder / "meta")
    text = lambda names: [n.decode() if isinstance(n, bytes) else str(n) for n in names]
    coarse_names = text(meta["coarse_label_names"])
    parents = [None] * len(meta["fine_label_names"])
    for fine, coarse in zip(train["fine_labels"], train["coarse_labels"]):
        parents[fine] = coarse_names[coarse]
    return parents, coarse_names
