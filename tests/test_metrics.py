"""The evaluation engine against brute force, for every tie rule, K and backend."""
import numpy as np
import pytest
import torch

import hashing_utils as hu
from hashing_utils import metrics as M

from conftest import brute_force_ap


def random_case(rng, n_db, bits=4, n_classes=3, multi=False):
    db = rng.choice([-1, 1], size=(n_db, bits)).astype(np.int8)
    q = rng.choice([-1, 1], size=(1, bits)).astype(np.int8)
    if multi:
        ydb = (rng.random((n_db, n_classes)) < 0.4).astype(np.float32)
        yq = (rng.random((1, n_classes)) < 0.5).astype(np.float32)
        yq[0, rng.integers(n_classes)] = 1                   # a query has at least one label (else an error)
        rel = ((ydb @ yq.T)[:, 0] > 0).astype(int)
    else:
        ydb = rng.integers(0, n_classes, n_db)
        yq = rng.integers(0, n_classes, 1)
        rel = (ydb == yq[0]).astype(int)
    dist = ((bits - db.astype(int) @ q[0].astype(int)) // 2).tolist()
    return q, db, yq, ydb, dist, rel.tolist()


@pytest.mark.filterwarnings("ignore:.*no relevant item")
@pytest.mark.parametrize("ties", M.TIE_RULES)
@pytest.mark.parametrize("backend", ["numba", "torch"])
def test_ap_matches_brute_force_on_tiny_cases(ties, backend, monkeypatch):
    if backend == "torch":
        monkeypatch.setattr(M._kernels, "HAVE_NUMBA", False)
    rng = np.random.default_rng(1)
    for trial in range(40):
        n = int(rng.integers(2, 8))
        q, db, yq, ydb, dist, rel = random_case(rng, n, multi=trial % 3 == 0)
        for topk in (None, 1, 2, 3, n - 1, n + 5):
            got = M.mean_average_precision(q, db, yq, ydb, topk=topk, ties=ties)
            want = brute_force_ap(dist, rel, topk, ties)
            assert got == pytest.approx(want, abs=1e-10), (ties, topk, dist, rel)


def test_expected_lies_between_the_bounds_and_ties_matter():
    rng = np.random.default_rng(2)
    centres = rng.choice([-1, 1], size=(10, 16))
    y_db = np.repeat(np.arange(10), 200)
    flips = rng.random((2000, 16)) < 0.12
    db = np.where(flips, -centres[y_db], centres[y_db])
    y_q = rng.integers(0, 10, 100)
    q = np.where(rng.random((100, 16)) < 0.12, -centres[y_q], centres[y_q])
    vals = {t: M.mean_average_precision(q, db, y_q, y_db, topk=100, ties=t) for t in M.TIE_RULES}
    assert vals["pessimistic"] < vals["expected"] < vals["optimistic"]
    assert vals["optimistic"] - vals["pessimistic"] > 0.02


def test_backends_agree_on_histograms(monkeypatch):
    g = torch.Generator().manual_seed(0)
    q = torch.randint(0, 2, (50, 70), generator=g) * 2 - 1          # 70 bits: two 64-bit words
    db = torch.randint(0, 2, (300, 70), generator=g) * 2 - 1
    yq = (torch.rand(50, 5, generator=g) < 0.3).float()
    yq[torch.arange(50), torch.randint(0, 5, (50,), generator=g)] = 1   # every query has a label
    ydb = (torch.rand(300, 5, generator=g) < 0.3).float()
    a = M.distance_histograms(q, db, yq, ydb, backend="numba")
    b = M.distance_histograms(q, db, yq, ydb, backend="torch")
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])
    d = hu.codes.hamming_distance(q, db).long()
    rel = (yq @ ydb.T) > 0
    for i in range(5):
        assert torch.equal(a[0][i], torch.bincount(d[i], minlength=71))
        assert torch.equal(a[1][i], torch.bincount(d[i][rel[i]], minlength=71))


def test_precision_within_radius_and_pr_by_radius_brute_force():
    rng = np.random.default_rng(3)
    q = rng.choice([-1, 1], size=(30, 8)); db = rng.choice([-1, 1], size=(200, 8))
    yq = rng.integers(0, 4, 30); ydb = rng.integers(0, 4, 200)
    d = (8 - q @ db.T) // 2
    rel = yq[:, None] == ydb[None, :]
    for r in (0, 1, 2, 8):
        ball = d <= r
        prec = [rel[i][ball[i]].mean() if ball[i].any() else 0.0 for i in range(30)]
        assert M.precision_within_radius(q, db, yq, ydb, radius=r) == pytest.approx(np.mean(prec))
    curve = M.pr_curve_by_radius(q, db, yq, ydb)
    recall2 = np.mean([(rel[i] & (d[i] <= 2)).sum() / rel[i].sum() for i in range(30)])
    assert curve["recall"][2] == pytest.approx(recall2)
    assert curve["recall"][-1] == pytest.approx(1.0)


@pytest.mark.parametrize("ties", ["stable", "optimistic", "pessimistic"])
def test_precision_at_k_brute_force(ties):
    rng = np.random.default_rng(4)
    q = rng.choice([-1, 1], size=(20, 6)); db = rng.choice([-1, 1], size=(60, 6))
    yq = rng.integers(0, 3, 20); ydb = rng.integers(0, 3, 60)
    d = (6 - q @ db.T) // 2
    rel = (yq[:, None] == ydb[None, :]).astype(int)
    key = {"stable": lambda i, j: (d[i, j], j), "optimistic": lambda i, j: (d[i, j], -rel[i, j], j),
           "pessimistic": lambda i, j: (d[i, j], rel[i, j], j)}[ties]
    ks = [1, 5, 17, 60]
    got = M.precision_recall_at_k(q, db, yq, ydb, ks=ks, ties=ties)
    for col, k in enumerate(ks):
        p = [rel[i][sorted(range(60), key=lambda j: key(i, j))[:k]].sum() / k for i in range(20)]
        assert got["precision"][col] == pytest.approx(np.mean(p))


def test_expected_precision_at_k_is_mean_of_bounds_for_one_group():
    q = np.ones((1, 4)); db = np.ones((10, 4))                       # all ten items tied at distance 0
    yq = np.array([0]); ydb = np.array([0] * 4 + [1] * 6)
    got = M.precision_recall_at_k(q, db, yq, ydb, ks=[5])
    assert got["precision"][0] == pytest.approx(4 / 10)


def test_codes_with_zero_and_bad_shapes_are_rejected():
    q = torch.ones(3, 8); db = torch.ones(5, 8)
    with pytest.raises(ValueError, match="only -1 and \\+1.*binarize"):
        M.mean_average_precision(torch.zeros(3, 8), db, [0, 1, 2], [0] * 5)
    with pytest.raises(ValueError, match="bits"):
        M.mean_average_precision(q, torch.ones(5, 16), [0, 1, 2], [0] * 5)
    with pytest.raises(ValueError, match="q_labels has 4 rows but q_codes has 3"):
        M.mean_average_precision(q, db, [0, 1, 2, 3], [0] * 5)
    with pytest.raises(ValueError, match="both class ids"):
        M.mean_average_precision(q, db, [0, 1, 2], np.eye(5))
    with pytest.raises(ValueError, match="multi-hot"):
        M.mean_average_precision(q, db, np.full((3, 2), 2.0), np.ones((5, 2)))
    with pytest.raises(ValueError, match="ties must be one of"):
        M.mean_average_precision(q, db, [0, 1, 2], [0] * 5, ties="random")
    with pytest.raises(ValueError, match="topk"):
        M.mean_average_precision(q, db, [0, 1, 2], [0] * 5, topk=0)
    with pytest.raises(ValueError, match="shape \\(n, bits\\)"):
        M.mean_average_precision(torch.ones(8), db, [0], [0] * 5)


def test_evaluate_reports_consistent_numbers():
    rng = np.random.default_rng(5)
    q = rng.choice([-1, 1], size=(40, 12)); db = rng.choice([-1, 1], size=(300, 12))
    yq = rng.integers(0, 3, 40); ydb = rng.integers(0, 3, 300)
    rep = M.evaluate(q, db, yq, ydb, topk=50)
    assert rep["map_all"] == pytest.approx(M.mean_average_precision(q, db, yq, ydb))
    assert rep["map_50"] == pytest.approx(M.mean_average_precision(q, db, yq, ydb, topk=50))
    assert rep["p_h2"] == pytest.approx(M.precision_within_radius(q, db, yq, ydb, 2))
    assert rep["map_all_pessimistic"] <= rep["map_all"] <= rep["map_all_optimistic"]


def test_evaluation_leaves_torch_thread_count_alone():
    # numba's OpenMP layer used to reset torch's thread count after the first evaluation, which slowed training
    # several-fold on small machines; the engine must not change it
    import torch
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        codes = torch.randint(0, 2, (50, 32)) * 2 - 1
        labels = torch.randint(0, 5, (50,))
        hu.metrics.mean_average_precision(codes, codes, labels, labels)
        assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(before)
