"""DCWH: the Gaussian class-wise loss, its penalties, the class-mean centres, and hu.fit on digits."""
import math

import pytest
import torch

import hashing_utils as hu
from hashing_utils.losses.dcwh import (class_means, class_wise_loss, cube_penalty, dcwh_loss, gaussian_logits,
                                       vertex_penalty)


def _naive_class_wise(u, ids, centres, lam):
    total = 0.0
    for i in range(len(u)):
        dens = [math.exp(-0.5 * lam * float(((u[i] - centres[c]) ** 2).sum())) for c in range(len(centres))]
        total += -math.log(dens[int(ids[i])] / sum(dens))
    return total / len(u)


def test_class_wise_loss_matches_per_sample_loop():
    g = torch.Generator().manual_seed(0)
    u, centres = torch.randn(12, 8, generator=g, dtype=torch.float64), torch.randn(4, 8, generator=g, dtype=torch.float64)
    ids = torch.randint(0, 4, (12,), generator=g)
    for lam in (0.1, 0.5, 2.0):
        want = _naive_class_wise(u, ids, centres, lam)
        assert class_wise_loss(u, ids, centres, lam).item() == pytest.approx(want, rel=1e-10)
        # one-hot rows give the same loss as ids
        assert class_wise_loss(u, torch.eye(4, dtype=torch.float64)[ids], centres, lam).item() == pytest.approx(want, rel=1e-10)


def test_hand_computed_values_and_lambda_is_honoured():
    centres = torch.tensor([[1.0, 1.0], [-1.0, -1.0]], dtype=torch.float64)
    # u on μ_0: squared distances 0 and 8, logits 0 and -λ·4
    u = torch.tensor([[1.0, 1.0]], dtype=torch.float64)
    assert class_wise_loss(u, torch.tensor([0]), centres, 0.5).item() == pytest.approx(math.log1p(math.exp(-2.0)), rel=1e-6)
    assert class_wise_loss(u, torch.tensor([0]), centres, 1.0).item() == pytest.approx(math.log1p(math.exp(-4.0)), rel=1e-6)
    # midway between the centres the posterior is 1/2 whatever λ
    mid = torch.zeros(1, 2, dtype=torch.float64)
    for lam in (0.3, 3.0):
        assert class_wise_loss(mid, torch.tensor([1]), centres, lam).item() == pytest.approx(math.log(2.0), rel=1e-6)
    # λ scales the logits linearly (the re-implementation ignored its λ flag)
    x = torch.randn(5, 2, dtype=torch.float64)
    assert torch.allclose(gaussian_logits(x, centres, 2.0), 4 * gaussian_logits(x, centres, 0.5))


def test_penalties_hand_values_and_batch_size_independence():
    u = torch.tensor([[1.5, -1.2, 0.3]])
    assert cube_penalty(u).item() == pytest.approx(0.4 + 0.1, abs=1e-6)
    v = torch.tensor([[0.5, -0.25, 0.0]])
    assert vertex_penalty(v).item() == pytest.approx(0.25 + 0.5625 + 1.0, abs=1e-6)   # sgn(0) = +1
    # averaged once and evenly: repeating the batch changes nothing
    w = torch.randn(7, 16) * 2
    assert cube_penalty(torch.cat([w, w, w])).item() == pytest.approx(cube_penalty(w).item(), rel=1e-6)
    assert vertex_penalty(torch.cat([w, w])).item() == pytest.approx(vertex_penalty(w).item(), rel=1e-6)
    # both halves of the cube count the same
    assert cube_penalty(torch.tensor([[2.0]])).item() == pytest.approx(cube_penalty(torch.tensor([[-2.0]])).item())


def test_dcwh_loss_stages_and_gradcheck():
    g = torch.Generator().manual_seed(1)
    u = (torch.randn(6, 5, generator=g, dtype=torch.float64) * 1.5).requires_grad_()
    centres = torch.randn(3, 5, generator=g, dtype=torch.float64)
    ids = torch.randint(0, 3, (6,), generator=g)
    s1 = dcwh_loss(u, ids, centres, 0.5, 10.0, 0.01, stage=1)
    s2 = dcwh_loss(u, ids, centres, 0.5, 10.0, 0.01, stage=2)
    cw = class_wise_loss(u, ids, centres, 0.5)
    assert torch.allclose(s1, cw + 10.0 * cube_penalty(u))
    assert torch.allclose(s2, cw + 0.01 * vertex_penalty(u))
    for stage in (1, 2):
        assert torch.autograd.gradcheck(lambda t: dcwh_loss(t, ids, centres, 0.7, 3.0, 0.5, stage=stage), (u,))
    with pytest.raises(ValueError):
        dcwh_loss(u, ids, centres, stage=3)


def test_class_means_and_label_errors():
    g = torch.Generator().manual_seed(2)
    u = torch.randn(20, 4, generator=g)
    ids = torch.randint(0, 3, (20,), generator=g)
    ids[ids == 2] = 0   # class 2 has no sample
    prev = torch.full((3, 4), 7.0)
    mu = class_means(u, ids, 3, previous=prev)
    for c in (0, 1):
        assert torch.allclose(mu[c], u[ids == c].mean(0))
    assert torch.equal(mu[2], prev[2])
    two_labels = torch.tensor([[1.0, 1.0, 0.0]])
    with pytest.raises(ValueError, match="single-label"):
        class_wise_loss(torch.zeros(1, 4), two_labels, torch.zeros(3, 4))
    with pytest.raises(ValueError):
        gaussian_logits(torch.zeros(1, 4), torch.zeros(3, 4), 0.0)


def test_fit_rejects_multi_label_and_bad_hparams():
    x = torch.rand(40, 8)
    y = torch.zeros(40, 3)
    y[:, 0] = 1
    y[0, 1] = 1
    with pytest.raises(ValueError, match="single-label"):
        hu.fit("dcwh", x, y, bits=8, epochs=1)
    two_classes = torch.arange(40) % 2      # two classes: the single-class warning is another test's business
    with pytest.raises(ValueError, match="lam"):
        hu.fit("dcwh", x, two_classes, bits=8, epochs=1, lam=-1.0)
    with pytest.raises(TypeError):
        hu.fit("dcwh", x, two_classes, bits=8, epochs=1, margin=0.1)


def test_fit_digits_reaches_threshold_and_runs_both_steps():
    split = hu.load_dataset("digits")
    hasher = hu.fit("dcwh", split.x_train, split.y_train, bits=32, seed=0, epochs=12, val_fraction=0.0)
    method = hasher.method
    assert method.stage == 2                       # stage II ran (switch at half of the epochs)
    initial = hu.codes.bernoulli_codebook(method.n_classes, 32, 0).float()
    assert not torch.allclose(method.centres, initial)   # centres were recomputed as class means
    u = hasher.continuous(split.x_train)
    assert float(u.abs().quantile(0.99)) < 1.6     # the cube / vertex constraints bound the linear output
    m = hu.metrics.mean_average_precision(hasher.encode(split.x_query), hasher.encode(split.x_db),
                                          split.y_query, split.y_db)
    assert m >= 0.93, m
