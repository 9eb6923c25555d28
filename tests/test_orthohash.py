"""OrthoHash: the loss against a per-sample loop, gradients, hand-computed values, the quantisation
identity, the method's contract, and retrieval quality on held-out digits (single- and multi-label)."""
import math

import pytest
import torch

import hashing_utils as hu
from hashing_utils.losses.orthohash import orthohash_logits, orthohash_loss, smoothed_targets


def naive_loss(v, targets, y, s, m, variant):
    """One sample at a time, one class at a time, with Python scalars where possible."""
    total = 0.0
    for n in range(v.shape[0]):
        logits = []
        for c in range(targets.shape[0]):
            cos = float(v[n] @ targets[c]) / (float(v[n].norm()) * float(targets[c].norm()))
            if variant == "cos":
                logits.append(s * (cos - m * float(y[n, c])))
            else:
                logits.append(s * math.cos(math.acos(cos) + m * float(y[n, c])))
        log_norm = math.log(sum(math.exp(z) for z in logits))
        n_labels = float(y[n].sum())
        total += -sum(float(y[n, c]) / n_labels * (logits[c] - log_norm) for c in range(len(logits)))
    return total / v.shape[0]


def random_case(b=7, k=12, c=5, seed=0, dtype=torch.float64):
    g = torch.Generator().manual_seed(seed)
    v = torch.randn(b, k, generator=g, dtype=dtype)
    targets = hu.codes.bernoulli_codebook(c, k, seed).to(dtype)
    y = (torch.rand(b, c, generator=g) < 0.35).to(dtype)
    y[torch.arange(b), torch.randint(0, c, (b,), generator=g)] = 1  # at least one label per row
    return v, targets, y


@pytest.mark.parametrize("variant", ["cos", "arc"])
def test_loss_matches_per_sample_loop(variant):
    v, targets, y = random_case()
    assert bool((y.sum(1) > 1).any()), "the case should hold multi-label rows"
    got = orthohash_loss(v, targets, y, s=5.0, m=0.3, variant=variant)
    assert got.item() == pytest.approx(naive_loss(v, targets, y, 5.0, 0.3, variant), rel=1e-10)


@pytest.mark.parametrize("variant", ["cos", "arc"])
def test_gradcheck(variant):
    v, targets, y = random_case(b=4, k=6, c=3, seed=1)
    v.requires_grad_(True)
    assert torch.autograd.gradcheck(lambda x: orthohash_loss(x, targets, y, 3.0, 0.2, variant), (v,))


def test_hand_computed_values():
    # v is o_1 itself: cos θ_1 = 1, cos θ_2 = 0 (o_1 ⟂ o_2)
    targets = torch.tensor([[1., 1., 1., 1.], [1., 1., -1., -1.]], dtype=torch.float64)
    v = torch.tensor([[2., 2., 2., 2.]], dtype=torch.float64)
    y = torch.tensor([[1., 0.]], dtype=torch.float64)
    # OrthoCos, s = 2, m = 0.5: z = (2·0.5, 0) = (1, 0) -> L = log(1 + e^-1)
    assert orthohash_loss(v, targets, y, 2.0, 0.5, "cos").item() == pytest.approx(math.log1p(math.exp(-1)))
    # OrthoArc: θ_1 = 0 -> z_1 = 2 cos(0.5); θ_2 = π/2 and no margin -> z_2 = 0
    assert orthohash_loss(v, targets, y, 2.0, 0.5, "arc").item() == pytest.approx(
        math.log1p(math.exp(-2 * math.cos(0.5))), rel=1e-5)
    z = orthohash_logits(v, targets, y, 2.0, 0.5, "cos")
    assert torch.allclose(z, torch.tensor([[1., 0.]], dtype=torch.float64))


def test_cosine_is_scale_invariant_and_margin_only_touches_positives():
    v, targets, y = random_case(seed=2)
    z0 = orthohash_logits(v, targets, y, 4.0, 0.0)
    z1 = orthohash_logits(v, targets, y, 4.0, 0.25)
    assert torch.allclose(orthohash_logits(3.7 * v, targets, y, 4.0, 0.25), z1)
    assert torch.allclose(z0 - z1, 4.0 * 0.25 * y)


def test_quantisation_identity():
    # ‖v − b‖² = 2K(1 − cos θ_vb) when ‖v‖ = √K and b ∈ {±1}^K
    g = torch.Generator().manual_seed(3)
    for k in (8, 32, 64):
        v = torch.randn(20, k, generator=g, dtype=torch.float64)
        v = v / v.norm(dim=1, keepdim=True) * math.sqrt(k)
        b = hu.codes.bernoulli_codebook(20, k, seed=k).double()
        cos = (v * b).sum(1) / (v.norm(dim=1) * b.norm(dim=1))
        assert torch.allclose((v - b).pow(2).sum(1), 2 * k * (1 - cos))


def test_label_smoothing_splits_mass_and_equals_average_at_zero_margin():
    y = torch.tensor([[1., 0., 1., 0.], [0., 1., 0., 0.], [1., 1., 1., 1.]])
    assert torch.allclose(smoothed_targets(y), torch.tensor(
        [[.5, 0, .5, 0], [0, 1, 0, 0], [.25, .25, .25, .25]]))
    # with m = 0 the logits do not depend on y, so a two-label loss is the mean of the two one-label losses
    v, targets, _ = random_case(b=1, c=4, seed=4)
    two = orthohash_loss(v, targets, torch.tensor([[1., 0., 1., 0.]], dtype=v.dtype), 6.0, 0.0)
    a = orthohash_loss(v, targets, torch.tensor([[1., 0., 0., 0.]], dtype=v.dtype), 6.0, 0.0)
    c = orthohash_loss(v, targets, torch.tensor([[0., 0., 1., 0.]], dtype=v.dtype), 6.0, 0.0)
    assert two.item() == pytest.approx(((a + c) / 2).item())


def test_bad_inputs_raise():
    v, targets, y = random_case()
    with pytest.raises(ValueError, match="variant"):
        orthohash_loss(v, targets, y, variant="sphere")
    with pytest.raises(ValueError, match="at least one label"):
        orthohash_loss(v, targets, torch.zeros_like(y))
    with pytest.raises(ValueError, match="same K"):
        orthohash_loss(v[:, :5], targets, y)
    with pytest.raises(ValueError, match="labels y"):
        orthohash_loss(v, targets, y[:, :3])
    with pytest.raises(TypeError, match="unknown hyperparameter"):
        hu.get_method("orthohash")(16, 10, scale=3)
    with pytest.raises(ValueError, match="codebook"):
        hu.get_method("orthohash")(16, 10, codebook="hadamard")
    with pytest.raises(ValueError, match="margin"):
        hu.get_method("orthohash")(16, 10, m=-0.1)


def test_method_contract():
    cls = hu.get_method("orthohash")
    assert "orthohash" in hu.list_methods() and cls.multi_label
    assert hu.method_defaults("orthohash")["s"] == 8.0 and hu.method_defaults("orthohash")["m"] == 0.2
    method = cls(32, 10, seed=5)
    assert torch.equal(method.targets, hu.codes.bernoulli_codebook(10, 32, seed=5).float())
    assert list(method.parameters()) == []  # targets are a buffer: never optimised
    md = cls(32, 10, seed=5, codebook="max_distance")
    assert hu.codes.min_pairwise_distance(md.targets) >= hu.codes.min_pairwise_distance(method.targets)
    head = method.make_head(20)
    assert isinstance(head[-1], torch.nn.BatchNorm1d)
    assert isinstance(cls(32, 10, batchnorm=False).make_head(20), torch.nn.Linear)


def test_fit_digits_held_out_map_at_32_bits():
    split = hu.load_dataset("digits")
    hasher = hu.fit("orthohash", split.x_train, split.y_train, bits=32, seed=0, epochs=10)
    before = hasher.method.targets.clone()
    m = hu.metrics.mean_average_precision(hasher.encode(split.x_query), hasher.encode(split.x_db),
                                          split.y_query, split.y_db)
    assert m >= 0.93
    assert torch.equal(hasher.method.targets, before)
    # the codes follow the targets: a database item's code agrees with its class target on most bits
    # (a random code would agree on half of them)
    codes = hasher.encode(split.x_db).float()
    labels = split.y_db.argmax(1) if split.y_db.dim() == 2 else split.y_db
    agreement = (codes == before[labels]).float().mean(1)
    assert agreement.mean() > 0.9


def test_multi_label_beats_argmax_single_label():
    split = hu.load_dataset("digits-mosaic", fast=True)
    kw = dict(bits=32, seed=0, epochs=8)
    multi = hu.fit("orthohash", split.x_train, split.y_train, **kw)
    single = hu.fit("orthohash", split.x_train, split.y_train.argmax(1), **kw)
    score = lambda h: hu.metrics.mean_average_precision(h.encode(split.x_query), h.encode(split.x_db),
                                                        split.y_query, split.y_db)
    assert score(multi) > score(single)
