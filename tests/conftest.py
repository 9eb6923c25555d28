import itertools

import numpy as np
import pytest


def brute_force_ap(dist, rel, topk=None, ties="expected"):
    """AP@K of one query by explicit ranking; 'expected' enumerates every order within tie groups."""
    n = len(dist)
    k = n if topk is None else min(topk, n)

    def ap(order):
        hits, s = 0, 0.0
        for pos, i in enumerate(order[:k], 1):
            if rel[i]:
                hits += 1
                s += hits / pos
        return s / hits if hits else 0.0

    idx = range(n)
    if ties == "stable":
        return ap(sorted(idx, key=lambda i: (dist[i], i)))
    if ties == "optimistic":
        return ap(sorted(idx, key=lambda i: (dist[i], -rel[i], i)))
    if ties == "pessimistic":
        return ap(sorted(idx, key=lambda i: (dist[i], rel[i], i)))
    groups = {}
    for i in idx:
        groups.setdefault(dist[i], []).append(i)
    perms = [list(itertools.permutations(groups[d])) for d in sorted(groups)]
    values = [ap([i for p in combo for i in p]) for combo in itertools.product(*perms)]
    return float(np.mean(values))


@pytest.fixture(scope="session")
def digits():
    import hashing_utils as hu
    return hu.load_dataset("digits")
