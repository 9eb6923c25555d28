import itertools
import math

import numpy as np
import pytest
import torch

import hashing_utils as hu
from hashing_utils import hierarchy as H
from hashing_utils.losses import shrewd as S


def _codes(n, k, seed):
    g = torch.Generator().manual_seed(seed)
    return torch.where(torch.rand(n, k, generator=g) > 0.5, 1, -1).to(torch.int8)


# ----------------------------------------------------------------------------- hierarchy
def test_fashion_semantic_distances_by_hand():
    d = H.semantic_distances(hu.data.FASHION_HIERARCHY)
    names = hu.data.FASHION_CLASSES
    i = {n: c for c, n in enumerate(names)}
    assert d.shape == (10, 10) and torch.all(d.diagonal() == 0)
    assert d[i["T-shirt/top"], i["Pullover"]] == 0.5        # both tops: LCA height 1 of 2
    assert d[i["Sandal"], i["Ankle boot"]] == 0.5           # both footwear
    assert d[i["T-shirt/top"], i["Trouser"]] == 1.0         # LCA = root
    assert d[i["Bag"], i["Sneaker"]] == 1.0
    assert torch.equal(d, d.T)


def test_deeper_tree_and_flat():
    d = H.semantic_distances([("a", "x"), ("a", "x"), ("a", "y"), ("b", "z")])
    # height 3: siblings under x -> 1/3, cousins under a -> 2/3, across the root -> 1
    assert torch.allclose(d[0], torch.tensor([0, 1 / 3, 2 / 3, 1.0]))
    assert torch.allclose(d[2, 3], torch.tensor(1.0))
    assert torch.equal(H.semantic_distances(None, 3), 1 - torch.eye(3))
    m = np.array([[0, 0.2], [0.2, 0]])
    assert torch.allclose(H.semantic_distances(m), torch.tensor(m, dtype=torch.float32))


@pytest.mark.parametrize("bad, n, err, match", [
    (["a", "b"], 3, ValueError, "one parent per class"),
    (["a", 3, "b"], 3, TypeError, "non-empty string"),
    ([("a", "x"), "b"], 2, ValueError, "same depth"),
    (np.array([[0, 1], [0.5, 0]]), 2, ValueError, "symmetric"),
    (np.array([[0, 2.0], [2.0, 0]]), 2, ValueError, r"\[0, 1\]"),
    (np.array([[1, 0.5], [0.5, 0]]), 2, ValueError, "zero diagonal"),
    (np.zeros((2, 3)), 2, ValueError, "square"),
    ("tops", 1, TypeError, "sequence"),
    (None, None, ValueError, "n_classes"),
])
def test_bad_hierarchy_errors(bad, n, err, match):
    with pytest.raises(err, match=match):
        H.semantic_distances(bad, n)


def test_fit_rejects_bad_hierarchy_before_training():
    x = torch.rand(40, 8)
    y = torch.arange(40) % 4
    with pytest.raises(ValueError, match="one parent per class"):
        hu.fit("shrewd", x, y, bits=8, hierarchy=["a", "a", "b"], epochs=1)


def test_pairwise_semantic_distance_multilabel_is_min_over_label_pairs():
    g = torch.Generator().manual_seed(1)
    d = H.semantic_distances(["p", "p", "q", "r", "r"])
    y = (torch.rand(7, 5, generator=g) > 0.6).float()
    y[y.sum(1) == 0, 0] = 1
    got = H.pairwise_semantic_distance(y, y, d)
    for a in range(7):
        for b in range(7):
            want = min(float(d[c, e]) for c in range(5) for e in range(5) if y[a, c] and y[b, e])
            assert got[a, b].item() == pytest.approx(want)
    assert torch.all(got[(y @ y.T) > 0] == 0)


def test_mean_class_hamming_and_ratio_against_loop():
    codes, labels = _codes(30, 12, 2), torch.arange(30) % 3
    got = H.mean_class_hamming(codes, labels)
    dist = hu.codes.hamming_distance(codes, codes).double()
    for a in range(3):
        for b in range(3):
            vals = [dist[i, j] for i in range(30) for j in range(30) if labels[i] == a and labels[j] == b and i != j]
            assert got[a, b].item() == pytest.approx(float(np.mean(vals)), rel=1e-5)
    cd = torch.tensor([[0, 2.0, 6.0], [2.0, 0, 8.0], [6.0, 8.0, 0]])
    r = H.sibling_unrelated_ratio(cd, H.semantic_distances(["a", "a", "b"]))
    assert r["sibling"] == 2.0 and r["unrelated"] == 7.0 and r["ratio"] == pytest.approx(2 / 7)
    with pytest.raises(ValueError, match="flat"):
        H.sibling_unrelated_ratio(cd, H.semantic_distances(None, 3))


# ----------------------------------------------------------------------------- hierarchical precision
def test_hp_toy_by_hand():
    # query class 0; database classes [1, 2, 0] at distances 0, 1, 2 (no ties); hierarchy 0,1 siblings, 2 apart
    q = torch.tensor([[1, 1]], dtype=torch.int8)
    db = torch.tensor([[1, 1], [1, -1], [-1, -1]], dtype=torch.int8)
    hp = H.hierarchical_precision_at_k(q, db, [0], [1, 2, 0], ["a", "a", "b"], k=3)
    # similarities in rank order: 0.5, 0, 1; ideal order: 1, 0.5, 0
    assert torch.allclose(hp[0], torch.tensor([0.5 / 1, 0.5 / 1.5, 1.5 / 1.5], dtype=torch.float64))
    assert H.mean_average_hierarchical_precision(q, db, [0], [1, 2, 0], ["a", "a", "b"], k=3) == \
        pytest.approx((0.5 + 1 / 3 + 1) / 3)


def test_flat_hierarchy_gives_precision_at_k():
    q, db = _codes(25, 6, 3), _codes(300, 6, 4)
    yq, ydb = torch.arange(25) % 4, torch.arange(300) % 4
    hp = H.hierarchical_precision_at_k(q, db, yq, ydb, None, k=30)
    p = hu.metrics.precision_recall_at_k(q, db, yq, ydb, ks=list(range(1, 31)))["precision"]
    assert torch.allclose(hp.mean(0), torch.as_tensor(np.asarray(p), dtype=torch.float64), atol=1e-9)


def test_expected_ties_equal_mean_over_all_database_orders():
    q, db = _codes(3, 3, 5), _codes(5, 3, 6)          # 3 bits: many ties
    yq, ydb = torch.tensor([0, 1, 2]), torch.tensor([0, 1, 2, 2, 0])
    h = ["a", "a", "b"]
    want = torch.zeros(3, 4, dtype=torch.float64)
    perms = list(itertools.permutations(range(5)))
    for p in perms:
        p = torch.tensor(p)
        want += H.hierarchical_precision_at_k(q, db[p], yq, ydb[p], h, k=4, ties="stable")
    got = H.hierarchical_precision_at_k(q, db, yq, ydb, h, k=4, ties="expected")
    assert torch.allclose(got, want / len(perms), atol=1e-12)


# ----------------------------------------------------------------------------- losses
def test_similarity_loss_against_loop():
    g = torch.Generator().manual_seed(7)
    u = torch.randn(9, 5, generator=g)
    ds = H.pairwise_semantic_distance(torch.eye(3)[torch.arange(9) % 3], torch.eye(3)[torch.arange(9) % 3],
                                      H.semantic_distances(["a", "a", "b"]))
    for power in (1, 2):
        terms = []
        for i in range(9):
            for j in range(i + 1, 9):
                cos = float(u[i] @ u[j] / (u[i].norm() * u[j].norm()))
                terms.append(abs((1 - cos) / 2 - float(ds[i, j])) ** power)
        assert S.similarity_loss(u, ds, power).item() == pytest.approx(np.mean(terms), rel=1e-5)
    with pytest.raises(ValueError, match="power"):
        S.similarity_loss(u, ds, 3)


def test_flat_targets_power1_cannot_tell_merged_classes_from_a_simplex():
    # 4 classes, 2 samples each, flat hierarchy (d_s = 1 between classes). A regular simplex keeps the classes
    # apart; "merged" puts classes 0,1 on +e1 and 2,3 on -e1. With |.| both have the same loss (linear in cos,
    # class directions summing to zero); the square prefers the simplex (one reason for power 2).
    simplex = torch.tensor([[1, 1, 1], [1, -1, -1], [-1, 1, -1], [-1, -1, 1]], dtype=torch.float64)
    merged = torch.tensor([[1, 0, 0], [1, 0, 0], [-1, 0, 0], [-1, 0, 0]], dtype=torch.float64)
    labels = torch.eye(4)[torch.arange(8) % 4]
    ds = H.pairwise_semantic_distance(labels, labels, H.semantic_distances(None, 4)).double()
    idx = torch.arange(8) % 4
    l1 = [S.similarity_loss(c[idx], ds, 1).item() for c in (simplex, merged)]
    l2 = [S.similarity_loss(c[idx], ds, 2).item() for c in (simplex, merged)]
    assert l1[0] == pytest.approx(l1[1], abs=1e-12)
    assert l2[0] < l2[1] - 0.01


def test_half_scale_targets_are_realisable_full_scale_are_not():
    # target cosines 1 - 2γ d_s: γ = 1/2 gives a PSD Gram matrix for any tree (realisable by unit vectors),
    # γ = 1 (unrelated = antipodal) does not once there are more than two groups
    for tree in (hu.data.FASHION_HIERARCHY, [("a", "x"), ("a", "x"), ("a", "y"), ("b", "z"), ("b", "z")]):
        d = H.semantic_distances(tree).double()
        assert torch.linalg.eigvalsh(1 - d).min() > -1e-9
        assert torch.linalg.eigvalsh(1 - 2 * d).min() < -0.1
    assert torch.linalg.eigvalsh(1 - 2 * H.semantic_distances(["a", "b"]).double()).min() > -1e-9


def test_knn_kl_against_loop_and_full_support_shortcut():
    g = torch.Generator().manual_seed(8)
    x = torch.randn(12, 4, generator=g, dtype=torch.float64) * 0.6
    t = torch.randn(15, 4, generator=g, dtype=torch.float64)
    for k, eps in ((1, 0.0), (2, 0.3)):
        s = 0.0
        for i in range(12):
            rho = sorted(float((x[i] - x[j]).norm()) for j in range(12) if j != i)[k - 1]
            nu = sorted(float((x[i] - t[j]).norm()) for j in range(15))[k - 1]
            s += math.log(math.sqrt(nu ** 2 + eps ** 2) / math.sqrt(rho ** 2 + eps ** 2))
        want = 4 * s / 12 + math.log(15 / 11)
        assert S.knn_kl_divergence(x, t, k=k, eps=eps).item() == pytest.approx(want, rel=1e-9)
    # the full-support target equals the estimator against all 2^K corners, each once
    corners = torch.tensor(list(itertools.product([-1.0, 1.0], repeat=4)), dtype=torch.float64)
    u = torch.tanh(x * 2)
    assert S.binary_kl_loss(u, None, eps=0.5).item() == pytest.approx(
        S.knn_kl_divergence(u, corners, eps=0.5).item() / 4, rel=1e-9)


def test_knn_kl_recovers_gaussian_kl():
    g = torch.Generator().manual_seed(9)
    x = torch.randn(1500, 2, generator=g, dtype=torch.float64)
    t = torch.randn(1500, 2, generator=g, dtype=torch.float64) + torch.tensor([1.0, 0.0], dtype=torch.float64)
    assert S.knn_kl_divergence(x, t).item() == pytest.approx(0.5, abs=0.12)     # KL = |Δμ|²/2
    same = torch.randn(1500, 2, generator=g, dtype=torch.float64)
    assert abs(S.knn_kl_divergence(x, same).item()) < 0.12


def test_kl_loss_prefers_spread_binary_codes():
    g = torch.Generator().manual_seed(10)
    spread = 0.95 * (torch.randint(0, 2, (64, 16), generator=g) * 2 - 1).double()
    clumped = 0.95 * torch.ones(64, 16, dtype=torch.float64) + 0.01 * torch.randn(64, 16, generator=g).double()
    fuzzy = 0.2 * torch.randn(64, 16, generator=g).double()
    kl = lambda u: S.binary_kl_loss(u, None, eps=0.5).item()
    assert kl(spread) < kl(clumped) and kl(spread) < kl(fuzzy)


@pytest.mark.parametrize("power, n_target", [(1, None), (2, None), (2, 40)])
def test_gradcheck_float64(power, n_target):
    g = torch.Generator().manual_seed(11)
    u = torch.tanh(torch.randn(8, 6, generator=g, dtype=torch.float64)).requires_grad_()
    ds = H.pairwise_semantic_distance(torch.eye(4, dtype=torch.float64)[torch.arange(8) % 4],
                                      torch.eye(4, dtype=torch.float64)[torch.arange(8) % 4],
                                      H.semantic_distances(["a", "a", "b", "b"]).double())

    def f(v):  # a fresh generator per call so the sampled target is the same in every evaluation
        return S.shrewd_loss(v, ds, alpha=1.0, beta=0.3, power=power, eps=0.5, n_target=n_target,
                             generator=torch.Generator().manual_seed(0))
    assert torch.autograd.gradcheck(f, (u,), eps=1e-6, atol=1e-5)


# ----------------------------------------------------------------------------- the method
def test_fit_digits_flat_hierarchy_map():
    split = hu.load_dataset("digits")
    hasher = hu.fit("shrewd", split.x_train, split.y_train, bits=32, seed=0, epochs=20)
    m = hu.metrics.mean_average_precision(hasher.encode(split.x_query), hasher.encode(split.x_db),
                                          split.y_query, split.y_db)
    assert m >= 0.90, m


def test_unknown_hyperparameter_and_bad_power():
    x, y = torch.rand(30, 4), torch.arange(30) % 3
    with pytest.raises(TypeError, match="unknown hyperparameter"):
        hu.fit("shrewd", x, y, bits=8, margin=0.3, epochs=1)
    with pytest.raises(ValueError, match="power"):
        hu.fit("shrewd", x, y, bits=8, power=3, epochs=1)
    with pytest.raises(ValueError, match="target_scale"):
        hu.fit("shrewd", x, y, bits=8, target_scale=0.0, epochs=1)
