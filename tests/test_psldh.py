"""PSLDH: category codes, the partial softmax (against a naive loop, gradcheck, toy values), and hu.fit."""
import math

import pytest
import torch

import hashing_utils as hu
from hashing_utils.losses.psldh import (category_code_loss, full_softmax_loss, partial_softmax_loss,
                                        psldh_loss, psldh_quantisation)
from hashing_utils.methods.psldh import fit_category_codes


def _naive_partial(u, codes, y, mu, eta):
    k = u.shape[1]
    total = 0.0
    for i in range(u.shape[0]):
        pos = [c for c in range(codes.shape[0]) if y[i, c] > 0]
        neg = [c for c in range(codes.shape[0]) if y[i, c] == 0]
        li = 0.0
        for j in pos:
            a = torch.exp(eta * (torch.dot(u[i], codes[j]) - mu * k))
            denom = a + sum(torch.exp(eta * torch.dot(u[i], codes[q])) for q in neg)
            li = li - torch.log(a / denom)
        total = total + li / len(pos)
    return total / u.shape[0]


def _data(n=6, c=5, k=10, seed=0):
    g = torch.Generator().manual_seed(seed)
    u = torch.tanh(torch.randn(n, k, generator=g, dtype=torch.float64))
    codes = torch.where(torch.randn(c, k, generator=g) >= 0, 1.0, -1.0).double()
    y = (torch.rand(n, c, generator=g) < 0.4).double()
    y[torch.arange(n), torch.randint(0, c, (n,), generator=g)] = 1.0
    y[0] = 1.0                                              # a row whose every class is positive
    return u, codes, y


def test_partial_softmax_matches_naive_loop():
    u, codes, y = _data()
    assert torch.allclose(partial_softmax_loss(u, codes, y, 0.3, 0.4), _naive_partial(u, codes, y, 0.3, 0.4),
                          atol=1e-10)


def test_gradcheck():
    u, codes, y = _data(4, 4, 6, seed=1)
    u.requires_grad_(True)
    assert torch.autograd.gradcheck(lambda a: partial_softmax_loss(a, codes, y), (u,))
    assert torch.autograd.gradcheck(lambda a: full_softmax_loss(a, codes, y), (u,))
    c_mat = torch.tanh(torch.randn(4, 6, dtype=torch.float64)).requires_grad_(True)
    assert torch.autograd.gradcheck(lambda c: category_code_loss(c, 0.05, 0.01), (c_mat,))


def test_toy_values_by_hand():
    # K = 2, codes b_0 = (1, 1), b_1 = (-1, -1), b_2 = (1, -1); u = (1, 1); positives {0, 2}, negative {1}
    u = torch.tensor([[1.0, 1.0]], dtype=torch.float64)
    codes = torch.tensor([[1.0, 1.0], [-1.0, -1.0], [1.0, -1.0]], dtype=torch.float64)
    y = torch.tensor([[1.0, 0.0, 1.0]], dtype=torch.float64)
    mu, eta = 0.25, 0.5
    # logits η uᵀb: 1, -1, 0; positives shifted by -ημK = -0.25: 0.75 and -0.25
    l0 = -math.log(math.exp(0.75) / (math.exp(0.75) + math.exp(-1)))
    l2 = -math.log(math.exp(-0.25) / (math.exp(-0.25) + math.exp(-1)))
    assert math.isclose(float(partial_softmax_loss(u, codes, y, mu, eta)), (l0 + l2) / 2, rel_tol=1e-12)
    # the full softmax puts the other positive in each denominator
    f0 = -math.log(math.exp(0.75) / (math.exp(0.75) + math.exp(-1) + math.exp(0)))
    f2 = -math.log(math.exp(-0.25) / (math.exp(-0.25) + math.exp(-1) + math.exp(1)))
    assert math.isclose(float(full_softmax_loss(u, codes, y, mu, eta)), (f0 + f2) / 2, rel_tol=1e-12)
    # single-label rows: partial and full softmax coincide
    y1 = torch.tensor([[1.0, 0.0, 0.0]], dtype=torch.float64)
    assert torch.allclose(partial_softmax_loss(u, codes, y1), full_softmax_loss(u, codes, y1))
    # quantisation: sgn(0) = +1
    assert math.isclose(float(psldh_quantisation(torch.tensor([[0.0, -0.5]]))), 1.0 + 0.25)
    assert torch.allclose(psldh_loss(u, codes, y, mu, eta, 0.5),
                          partial_softmax_loss(u, codes, y, mu, eta) + 0.5 * psldh_quantisation(u))


def test_category_loss_zero_for_orthogonal_binary_codes():
    h = hu.codes.hadamard_codebook(8, 8).double()          # rows orthogonal, balanced except the all-ones row
    sim_only = category_code_loss(h, alpha=0.0, beta=0.0)
    assert float(sim_only) == 0.0
    clumped = h.clone()
    clumped[1] = clumped[0]
    assert float(category_code_loss(clumped, 0.0, 0.0)) == pytest.approx(2 * 8 ** 2 / 64)


def test_category_codes_spread_to_half_the_bits():
    for bits in (16, 32):
        codes, history = fit_category_codes(10, bits, seed=0, return_history=True)
        assert codes.shape == (10, bits) and codes.dtype == torch.int8
        assert history[-1] < 0.5 * history[0]
        d = hu.codes.hamming_distance(codes, codes).float()
        i, j = torch.triu_indices(10, 10, 1)
        assert float(d[i, j].mean()) >= bits / 2 - 0.5        # on average at least K/2 apart
        assert hu.codes.min_pairwise_distance(codes) >= bits // 4


def test_bad_input():
    u, codes, y = _data()
    with pytest.raises(ValueError):
        partial_softmax_loss(u, codes, torch.zeros_like(y))
    with pytest.raises(ValueError):
        partial_softmax_loss(u, codes[:, :3], y)
    with pytest.raises(TypeError):
        hu.fit("psldh", torch.randn(20, 4), torch.randint(0, 3, (20,)), bits=8, margin=0.1)


def test_fit_digits_reaches_threshold():
    split = hu.load_dataset("digits")
    hasher = hu.fit("psldh", split.x_train, split.y_train, bits=32, seed=0, epochs=15, val_fraction=0.0)
    mAP = hu.metrics.mean_average_precision(hasher.encode(split.x_query), hasher.encode(split.x_db),
                                            split.y_query, split.y_db)
    assert mAP >= 0.93, mAP
