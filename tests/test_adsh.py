"""ADSH: angular margins, dynamic softmax, class-code regulariser, and hu.fit on digits."""
import math

import pytest
import torch

import hashing_utils as hu
from hashing_utils.losses.adsh import (adsh_class_code_regulariser, adsh_loss, angular_margin_logits,
                                       cosine_logits, dynamic_cosine_logits, sphereface_psi)


def _naive_adsh(u, w, y, margin, s, m, alpha, beta):
    """Per-sample loop: the dynamic softmax over negatives + the mean-of-positives class, then the regulariser."""
    total = 0.0
    for i in range(u.shape[0]):
        pos = [c for c in range(w.shape[0]) if y[i, c] > 0]
        neg = [c for c in range(w.shape[0]) if y[i, c] == 0]
        w_dyn = sum(w[c] for c in pos) / len(pos)
        cos_t = torch.dot(u[i], w_dyn) / (u[i].norm() * w_dyn.norm())
        if margin == "cosface":
            z_t = s * (cos_t - m)
        else:
            theta = math.acos(float(cos_t.clamp(-1, 1)))
            k = min(int(m * theta / math.pi), m - 1)
            z_t = s * ((-1) ** k * torch.cos(m * torch.acos(cos_t.clamp(-1, 1))) - 2 * k)
        z_neg = [s * torch.dot(u[i], w[c]) / (u[i].norm() * w[c].norm()) for c in neg]
        denom = torch.exp(z_t) + sum(torch.exp(z) for z in z_neg)
        total = total - torch.log(torch.exp(z_t) / denom)
    ce = total / u.shape[0]
    b = [torch.tanh(w[c] / w[c].norm()) for c in range(w.shape[0])]
    d = [0.5 * (w.shape[1] - torch.dot(b[a], b[c])) for a in range(len(b)) for c in range(a + 1, len(b))]
    d = torch.stack(d)
    mean = d.mean()
    var = ((d - mean) ** 2).sum() / (len(d) - 1)
    return ce - alpha * mean + beta * var


def _multi_hot(n, c, seed):
    g = torch.Generator().manual_seed(seed)
    y = (torch.rand(n, c, generator=g) < 0.3).double()
    y[torch.arange(n), torch.randint(0, c, (n,), generator=g)] = 1.0
    return y


@pytest.mark.parametrize("margin,m", [("cosface", 0.3), ("sphereface", 4), ("sphereface", 2)])
def test_loss_matches_naive_loop(margin, m):
    g = torch.Generator().manual_seed(0)
    u, w = torch.randn(7, 12, generator=g, dtype=torch.float64), torch.randn(5, 12, generator=g, dtype=torch.float64)
    y = _multi_hot(7, 5, 1)
    got = adsh_loss(u, w, y, margin, 7.0, m, 0.7, 1.3)
    want = _naive_adsh(u, w, y, margin, 7.0, m, 0.7, 1.3)
    assert torch.allclose(got, want, atol=1e-10)


@pytest.mark.parametrize("margin,m", [("cosface", 0.2), ("sphereface", 4)])
def test_gradcheck(margin, m):
    g = torch.Generator().manual_seed(2)
    u = torch.randn(4, 6, generator=g, dtype=torch.float64, requires_grad=True)
    w = torch.randn(4, 6, generator=g, dtype=torch.float64, requires_grad=True)
    y = _multi_hot(4, 4, 3)
    assert torch.autograd.gradcheck(lambda a, b: adsh_loss(a, b, y, margin, 3.0, m), (u, w))


def test_sphereface_psi_hand_values_and_shape():
    c = torch.tensor([1.0, math.cos(math.pi / 8), 0.0, -1.0], dtype=torch.float64)
    # m = 4: θ = 0 -> 1; θ = π/8 (k = 0) -> cos(π/2) = 0; θ = π/2 (k = 2) -> cos(2π) - 4 = -3; θ = π (k = 3) -> -cos(4π) - 6 = -7
    assert torch.allclose(sphereface_psi(c, 4), torch.tensor([1.0, 0.0, -3.0, -7.0], dtype=torch.float64), atol=1e-12)
    # continuous and decreasing in θ, below cos θ
    theta = torch.linspace(0, math.pi, 2001, dtype=torch.float64)
    psi = sphereface_psi(torch.cos(theta), 4)
    assert bool((psi[1:] <= psi[:-1] + 1e-9).all())
    assert bool((psi <= torch.cos(theta) + 1e-12).all())
    assert torch.allclose(sphereface_psi(torch.cos(theta), 1), torch.cos(theta))
    with pytest.raises(ValueError):
        sphereface_psi(c, 0.5)


def test_cosface_margin_toy():
    cos = torch.tensor([[0.5, 0.2]])
    z = angular_margin_logits(cos, torch.tensor([[True, False]]), "cosface", s=10.0, m=0.2)
    assert torch.allclose(z, torch.tensor([[3.0, 2.0]]))
    with pytest.raises(ValueError):
        angular_margin_logits(cos, torch.tensor([[True, False]]), "arcface")


def test_dynamic_softmax_reduces_to_plain_softmax_on_single_label():
    g = torch.Generator().manual_seed(4)
    u, w = torch.randn(6, 8, generator=g), torch.randn(3, 8, generator=g)
    labels = torch.tensor([0, 1, 2, 2, 1, 0])
    y = torch.nn.functional.one_hot(labels, 3).float()
    cos = cosine_logits(u, w)
    plain = torch.nn.functional.cross_entropy(10 * (cos - 0.2 * y), labels)
    assert torch.allclose(adsh_loss(u, w, y, alpha=0.0, beta=0.0), plain, atol=1e-6)
    dyn, target = dynamic_cosine_logits(u, w, y)
    assert dyn.shape == (6, 4) and bool(target[:, -1].all()) and int(target.sum()) == 6
    with pytest.raises(ValueError):
        adsh_loss(u, w, torch.zeros(6, 3))


def test_regulariser_prefers_spread_class_codes():
    h = hu.codes.hadamard_codebook(8, 8).double()          # orthogonal: every distance is equal
    clumped = h.clone()
    clumped[1] = clumped[0]                                # one pair identical
    assert adsh_class_code_regulariser(h) < adsh_class_code_regulariser(clumped)
    # equal pairwise distances: zero variance, so R = -mean d
    b = torch.tanh(h / h.norm(dim=1, keepdim=True))
    assert torch.allclose(adsh_class_code_regulariser(h), -(0.5 * (8 - b[0] @ b[1])), atol=1e-12)
    with pytest.raises(ValueError):
        adsh_class_code_regulariser(torch.randn(2, 8))


def test_method_registration_and_bad_input():
    assert "adsh" in hu.list_methods()
    d = hu.method_defaults("adsh")
    assert d["margin"] == "cosface" and d["s"] == 10.0 and d["m"] == 0.2 and d["alpha"] == d["beta"] == 1.0
    x, y = torch.randn(30, 5), torch.randint(0, 3, (30,))
    with pytest.raises(ValueError):
        hu.fit("adsh", x, y, bits=8, margin="arcface")
    with pytest.raises(ValueError):
        hu.fit("adsh", x, y, bits=8, margin="sphereface", m=0.2)
    with pytest.raises(TypeError):
        hu.fit("adsh", x, y, bits=8, gamma=1.0)


def test_fit_digits_reaches_threshold():
    split = hu.load_dataset("digits")
    hasher = hu.fit("adsh", split.x_train, split.y_train, bits=32, seed=0, epochs=15, val_fraction=0.0)
    assert len(list(hasher.method.parameters())) == 1      # the class vectors were trained with the model
    mAP = hu.metrics.mean_average_precision(hasher.encode(split.x_query), hasher.encode(split.x_db),
                                            split.y_query, split.y_db)
    assert mAP >= 0.93, mAP
