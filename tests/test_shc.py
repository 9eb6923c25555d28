"""SHC: stage-1 similarity, stage-2 objective and centre optimisation (minimum distance), stage-3 loss, hu.fit."""
import math

import pytest
import torch

import hashing_utils as hu
from hashing_utils.codes import gilbert_varshamov_distance, hamming_distance, min_pairwise_distance
from hashing_utils.losses.csq import csq_loss
from hashing_utils.losses.shc import (centre_objective, centre_objective_grad, class_similarity,
                                      masked_softmax_profile, normalise_similarity, optimise_semantic_centres,
                                      shc_loss)
from hashing_utils.methods.shc import initial_centres


def _naive_similarity(logits, labels):
    n, c = len(logits), len(logits[0])
    prof = [[0.0] * c for _ in range(c)]
    count = [0] * c
    for i in range(n):
        m = labels[i]
        den = sum(math.exp(logits[i][j]) for j in range(c) if j != m)
        for j in range(c):
            if j != m:
                prof[m][j] += math.exp(logits[i][j]) / den
        count[m] += 1
    prof = [[v / max(count[m], 1) for v in row] for m, row in enumerate(prof)]
    r = [[0.0] * c for _ in range(c)]
    for m in range(c):
        off = [prof[m][j] for j in range(c) if j != m]
        mean = sum(off) / (c - 1)
        scale = max(abs(v - mean) for v in off)
        for j in range(c):
            if j != m:
                r[m][j] = (prof[m][j] - mean) / scale
    return [[1.0 if a == b else (r[a][b] + r[b][a]) / 2 for b in range(c)] for a in range(c)]


def _naive_objective(h, s, mu):
    c, k = len(h), len(h[0])
    total = 0.0
    for i in range(c):
        for j in range(c):
            dot = sum(h[i][t] * h[j][t] for t in range(k))
            total += (s[i][j] - dot / k) ** 2
            if i != j:
                total += mu / k * dot
    return total


def test_similarity_matches_loop_and_properties():
    g = torch.Generator().manual_seed(0)
    logits = torch.randn(40, 5, generator=g, dtype=torch.float64) * 2
    labels = torch.arange(40) % 5
    s = class_similarity(logits, torch.nn.functional.one_hot(labels, 5).double())
    ref = torch.tensor(_naive_similarity(logits.tolist(), labels.tolist()), dtype=torch.float64)
    assert torch.allclose(s, ref, atol=1e-12)
    assert torch.allclose(s, s.T) and torch.all(s.diagonal() == 1)
    assert s.min() >= -1 and s.max() <= 1
    prof = masked_softmax_profile(logits, labels)       # class ids work too
    assert torch.all(prof.diagonal() == 0) and torch.allclose(prof.sum(1), torch.ones(5, dtype=torch.float64))


def test_similarity_reads_confusions():
    # class 0 images score high on class 1 and nothing on 2: S[0,1] must be the largest off-diagonal entry
    logits = torch.tensor([[5.0, 3.0, -3.0, 0.0], [3.0, 5.0, -3.0, 0.0], [0.0, 0.0, 5.0, 1.0], [0.0, 0.0, 1.0, 5.0]])
    s = class_similarity(logits, torch.eye(4))
    off = s.masked_fill(torch.eye(4, dtype=torch.bool), -9)
    assert off.argmax().item() in (1, 4)                 # (0, 1) or (1, 0)
    assert s[0, 2] < 0 and s[2, 3] > 0


def test_similarity_rejects_bad_labels():
    with pytest.raises(ValueError, match="single-label"):
        masked_softmax_profile(torch.randn(2, 3), torch.tensor([[1.0, 1.0, 0.0], [0.0, 1.0, 0.0]]))
    with pytest.raises(ValueError, match="square"):
        normalise_similarity(torch.randn(3, 4))


def test_objective_matches_loop_gradient_and_hand_value():
    g = torch.Generator().manual_seed(1)
    h = torch.where(torch.rand(4, 6, generator=g) < 0.5, -1.0, 1.0).double()
    a = torch.rand(4, 4, generator=g, dtype=torch.float64) * 2 - 1
    s = ((a + a.T) / 2).fill_diagonal_(1.0)
    for mu in (0.0, 0.625):
        assert centre_objective(h, s, mu).item() == pytest.approx(_naive_objective(h.tolist(), s.tolist(), mu))
    hr = torch.randn(4, 6, generator=g, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda t: centre_objective(t, s, 0.625), (hr,))
    hr.grad = None
    centre_objective(hr, s, 0.625).backward()
    assert torch.allclose(hr.grad, centre_objective_grad(hr.detach(), s, 0.625))
    # two orthogonal 2-bit codes, S = I: the first term is 0, the μ-term 2·μ·0/2 = 0
    h2 = torch.tensor([[1.0, 1.0], [1.0, -1.0]])
    assert centre_objective(h2, torch.eye(2), 0.5).item() == 0.0
    # identical codes, S = I: (0 - 1)² twice; μ-term 2·μ·2/2 = 2μ
    h3 = torch.ones(2, 2)
    assert centre_objective(h3, torch.eye(2), 0.5).item() == pytest.approx(2.0 + 1.0)


@pytest.mark.parametrize("bits", [16, 32, 64])
def test_centres_satisfy_minimum_distance_and_lower_objective(bits):
    g = torch.Generator().manual_seed(bits)
    c = 10
    a = torch.rand(c, c, generator=g, dtype=torch.float64) * 2 - 1
    s = ((a + a.T) / 2).fill_diagonal_(1.0)
    d = gilbert_varshamov_distance(c, bits)
    init = initial_centres(c, bits, d).float()
    h, hist = optimise_semantic_centres(s, init, d)
    assert set(h.unique().tolist()) <= {-1.0, 1.0} and h.shape == (c, bits)
    assert min_pairwise_distance(h) >= d
    assert all(m >= d for m in hist["min_distance"])
    assert centre_objective(h, s).item() <= centre_objective(init.double(), s).item() - 1.0   # it moved
    assert hist["best_objective"] == sorted(hist["best_objective"], reverse=True)


def test_optimiser_rejects_infeasible_init():
    init = torch.ones(3, 8)
    with pytest.raises(ValueError, match="below the required"):
        optimise_semantic_centres(torch.eye(3), init, 2)


def test_semantic_centres_follow_similarity():
    # two blocks of similar classes: within-block centres must end closer than across blocks
    s = torch.full((6, 6), -0.6, dtype=torch.float64)
    s[:3, :3] = 0.6
    s[3:, 3:] = 0.6
    s.fill_diagonal_(1.0)
    d = gilbert_varshamov_distance(6, 32)
    h, _ = optimise_semantic_centres(s, initial_centres(6, 32, d).float(), d)
    dist = hamming_distance(h, h).double()
    within = torch.cat([dist[:3, :3][~torch.eye(3, dtype=torch.bool)], dist[3:, 3:][~torch.eye(3, dtype=torch.bool)]])
    across = dist[:3, 3:].flatten()
    assert within.mean() + 4 < across.mean() and dist.fill_diagonal_(99).min() >= d


def test_stage3_loss_is_csq_toward_centres():
    g = torch.Generator().manual_seed(2)
    z = torch.randn(5, 8, generator=g, dtype=torch.float64)
    centres = torch.where(torch.rand(3, 8, generator=g) < 0.5, -1.0, 1.0).double()
    y = torch.nn.functional.one_hot(torch.tensor([0, 2, 1, 1, 0]), 3).double()
    tie = torch.ones(8, dtype=torch.float64)
    assert torch.allclose(shc_loss(z, y, centres, tie, 1e-4), csq_loss(z, y @ centres, 1e-4))


def test_fit_digits_32_bits(digits):
    hasher = hu.fit("shc", digits.x_train, digits.y_train, bits=32, seed=0, epochs=8)
    m = hasher.method
    assert min_pairwise_distance(m.class_centres) >= m.min_distance == gilbert_varshamov_distance(10, 32)
    assert torch.allclose(m.similarity, m.similarity.T)
    score = hu.metrics.mean_average_precision(hasher.encode(digits.x_query), hasher.encode(digits.x_db),
                                              digits.y_query, digits.y_db)
    assert score >= 0.93


def test_fit_rejects_multi_label_and_unknown_hparam():
    x = torch.randn(20, 4)
    with pytest.raises(ValueError, match="single-label"):
        hu.fit("shc", x, torch.ones(20, 3), bits=8, epochs=1)
    with pytest.raises(TypeError, match="unknown hyperparameter"):
        hu.fit("shc", x, torch.arange(20) % 2, bits=8, epochs=1, margin=0.3)
