"""CSQ: centres, the BCE-to-centre loss with its quantisation term, and hu.fit on digits."""
import math

import pytest
import torch

import hashing_utils as hu
from hashing_utils.codes import csq_centres, min_pairwise_distance
from hashing_utils.losses.csq import csq_loss, sample_centres


def _naive_csq(z, h, lam):
    B, K = len(z), len(z[0])
    bce = quant = 0.0
    for i in range(B):
        for k in range(K):
            p, t = (math.tanh(z[i][k]) + 1) / 2, (h[i][k] + 1) / 2
            bce += -(t * math.log(p) + (1 - t) * math.log(1 - p))
            quant += (abs(math.tanh(z[i][k])) - 1) ** 2
    return bce / (B * K) + lam * quant / (B * K)


def test_csq_loss_matches_per_element_loop_and_gradcheck():
    g = torch.Generator().manual_seed(0)
    z = torch.randn(6, 8, generator=g, dtype=torch.float64)
    h = torch.where(torch.rand(6, 8, generator=g) < 0.5, -1.0, 1.0).double()
    for lam in (0.0, 1e-4, 0.5):
        assert csq_loss(z, h, lam).item() == pytest.approx(_naive_csq(z.tolist(), h.tolist(), lam), rel=1e-9)
    zr = z.clone().requires_grad_()
    assert torch.autograd.gradcheck(lambda t: csq_loss(t, h, 0.3), (zr,))


def test_csq_loss_hand_values_and_saturation():
    # z = 0: p = 1/2 for every bit -> BCE = log 2, quantisation (|0| - 1)² = 1
    assert csq_loss(torch.zeros(2, 4), torch.ones(2, 4), 0.1).item() == pytest.approx(math.log(2) + 0.1, rel=1e-6)
    # saturated and wrong: finite (logits form), about 2|z|
    v = csq_loss(torch.full((1, 1), 50.0), -torch.ones(1, 1), 0.0).item()
    assert math.isfinite(v) and v == pytest.approx(100.0, rel=1e-3)


@pytest.mark.parametrize("n_classes,bits", [(10, 16), (10, 32), (64, 32), (40, 16)])
def test_centres_are_at_least_half_the_bits_apart(n_classes, bits):
    c = csq_centres(n_classes, bits, seed=0)
    assert c.shape == (n_classes, bits)
    assert set(c.unique().tolist()) <= {-1, 1}
    if n_classes <= 2 * bits:      # Hadamard rows: exactly K/2 (or K for a row and its negation)
        assert min_pairwise_distance(c) >= bits // 2
    else:                          # random balanced: exactly K/2 entries -1 per centre
        assert bool(((c == -1).sum(1) == bits // 2).all())


def test_sample_centres_multi_label_majority_and_ties():
    cc = torch.tensor([[1.0, 1.0, -1.0, -1.0], [1.0, -1.0, 1.0, -1.0], [1.0, -1.0, -1.0, 1.0]])
    tie = torch.tensor([-1.0, -1.0, 1.0, 1.0])
    y = torch.tensor([[1.0, 0, 0], [1.0, 1.0, 0], [1.0, 1.0, 1.0]])
    out = sample_centres(y, cc, tie)
    assert torch.equal(out[0], cc[0])
    assert torch.equal(out[1], torch.tensor([1.0, -1.0, 1.0, -1.0]))   # sums 2, 0, 0, -2: ties from tie
    assert torch.equal(out[2], torch.tensor([1.0, -1.0, -1.0, -1.0]))  # majority vote of three


def test_fit_digits_reaches_threshold():
    split = hu.load_dataset("digits")
    hasher = hu.fit("csq", split.x_train, split.y_train, bits=32, seed=0, epochs=6, val_fraction=0.0)
    m = hu.metrics.mean_average_precision(hasher.encode(split.x_query), hasher.encode(split.x_db),
                                          split.y_query, split.y_db)
    assert m >= 0.93, m
