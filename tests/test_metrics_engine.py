"""The compiled engine's paths (one word / several words, label-set groups, complemented relevance, batching)
against the torch backend and a direct count, and its AP@all closed forms against torch's."""
import numpy as np
import pytest
import torch

from hashing_utils import _kernels
from hashing_utils import metrics as M

pytestmark = pytest.mark.skipif(not _kernels.HAVE_NUMBA, reason="numba not installed")


def direct_histograms(q, db, yq, ydb):
    """Counts at each distance by explicit distances and relevance (no packing, no groups)."""
    k = q.shape[1]
    d = ((k - q.astype(np.int64) @ db.T.astype(np.int64)) // 2)
    rel = (yq[:, None] == ydb[None, :]) if yq.ndim == 1 else (yq @ ydb.T) > 0
    n = np.stack([np.bincount(row, minlength=k + 1) for row in d])
    r = np.stack([np.bincount(row[m], minlength=k + 1) for row, m in zip(d, rel)])
    return n, r


def case(rng, n_q, n_db, bits, n_classes, multi=False, density=0.3):
    q = rng.choice(np.array([-1, 1], np.int8), size=(n_q, bits))
    db = rng.choice(np.array([-1, 1], np.int8), size=(n_db, bits))
    if multi:
        yq = (rng.random((n_q, n_classes)) < density).astype(np.float32)
        yq[np.arange(n_q), rng.integers(0, n_classes, n_q)] = 1
        ydb = (rng.random((n_db, n_classes)) < density).astype(np.float32)
    else:
        yq, ydb = rng.integers(-2, n_classes - 2, n_q), rng.integers(-2, n_classes - 2, n_db)   # negative ids too
    return q, db, yq, ydb


@pytest.mark.parametrize("bits", [1, 7, 64, 65, 130])
@pytest.mark.parametrize("multi", [False, True])
def test_grouped_kernel_equals_direct_count_and_torch(bits, multi):
    rng = np.random.default_rng(bits + 100 * multi)
    # 203 queries: tiles of 64 and blocks of 4 both leave remainders
    q, db, yq, ydb = case(rng, 203, 517, bits, n_classes=6, multi=multi)
    n, r = M.distance_histograms(q, db, yq, ydb, backend="numba")
    n_ref, r_ref = direct_histograms(q, db, yq, ydb)
    assert np.array_equal(n.numpy(), n_ref) and np.array_equal(r.numpy(), r_ref)
    n_t, r_t = M.distance_histograms(q, db, yq, ydb, backend="torch")
    assert torch.equal(n, n_t) and torch.equal(r, r_t)


def test_complemented_relevance_and_batched_label_sets(monkeypatch):
    rng = np.random.default_rng(7)
    # multi-hot labels: for queries with several labels most of the database is relevant, so the kernel counts the
    # irrelevant blocks and subtracts; queries with one label keep the direct count in use
    q, db, yq, ydb = case(rng, 150, 400, 24, n_classes=5, multi=True, density=0.35)
    ydb[:20] = 0                                         # database rows with no label: relevant to nobody
    n_ref, r_ref = direct_histograms(q, db, yq, ydb)
    fractions = (yq @ ydb.T > 0).mean(1)
    assert (fractions > 0.5).any() and (fractions < 0.5).any()
    for pairs in (M._GROUP_PAIRS, 7, 1):                 # one kernel call, several, one label set per call
        monkeypatch.setattr(M, "_GROUP_PAIRS", pairs)
        n, r = M.distance_histograms(q, db, yq, ydb)
        assert np.array_equal(n.numpy(), n_ref) and np.array_equal(r.numpy(), r_ref)


def test_many_queries_of_one_class_and_classes_missing_on_either_side():
    rng = np.random.default_rng(8)
    q, db, _, _ = case(rng, 300, 256, 16, n_classes=3)
    yq = np.where(np.arange(300) < 290, 5, 9)            # 290 queries share a label set: several tiles
    ydb = rng.integers(3, 7, 256)                        # class 9 absent from the database, 3 and 4 from queries
    n, r = M.distance_histograms(q, db, yq, ydb)
    n_ref, r_ref = direct_histograms(q, db, yq, ydb)
    assert np.array_equal(n.numpy(), n_ref) and np.array_equal(r.numpy(), r_ref)


@pytest.mark.parametrize("ties", ["optimistic", "pessimistic", "expected"])
def test_compiled_ap_all_equals_torch_closed_forms(ties):
    g = torch.Generator().manual_seed(0)
    n = torch.randint(0, 40, (300, 33), generator=g)
    n[:, 5] = 0                                          # empty groups
    n[-1] = 0
    n[-1, 3] = int(n[0].sum())                           # every item in one group
    r = (n * torch.rand(300, 33, generator=g)).round().long()
    r[:3] = 0                                            # queries with nothing relevant: AP 0
    a = M._ap_from_histograms(n, r, None, ties)
    b = M._ap_from_histograms(n, r, None, ties, backend="torch")
    assert torch.allclose(a, b, rtol=0, atol=1e-12)
    assert torch.equal(a[:3], torch.zeros(3, dtype=torch.float64))


def test_harmonic_table_is_exact_enough():
    from fractions import Fraction
    h = _kernels.harmonic_table(200)
    exact = [Fraction(0)]
    for i in range(1, 201):
        exact.append(exact[-1] + Fraction(1, i))
    assert max(abs(float(e) - v) for e, v in zip(exact, h)) < 1e-15
    big = _kernels.harmonic_table(10 ** 6)
    ref = torch.digamma(torch.tensor([10.0 ** 6 + 1], dtype=torch.float64)) + 0.5772156649015329
    assert abs(big[-1] - float(ref)) < 1e-12
