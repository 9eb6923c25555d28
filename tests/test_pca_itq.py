"""PCA hashing and ITQ: the training-free floor. Checked against numpy's SVD, the ITQ loss by a direct
evaluation, orthogonality, mAP against LSH on digits, determinism and bad inputs."""
import numpy as np
import pytest
import torch

import hashing_utils as hu
from hashing_utils.methods.itq import itq_rotation
from hashing_utils.methods.pca import principal_directions, random_rotation


def _map(hasher, split):
    return hu.metrics.mean_average_precision(hasher.encode(split.x_query), hasher.encode(split.x_db),
                                             split.y_query, split.y_db)


def test_registered():
    assert {"pca", "itq"} <= set(hu.list_methods())
    assert not hu.get_method("pca").supervised and not hu.get_method("itq").supervised


def test_principal_directions_match_numpy_svd():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 12)) @ rng.normal(size=(12, 12))
    mean, w = principal_directions(torch.from_numpy(x), 5)
    _, _, vt = np.linalg.svd(x - x.mean(0), full_matrices=False)
    assert np.allclose(mean.numpy(), x.mean(0))
    # same subspace and same directions up to sign
    assert np.allclose(np.abs(w.numpy().T @ vt[:5].T), np.eye(5), atol=1e-8)
    # the d > n branch (SVD of the data) gives the same directions
    _, w2 = principal_directions(torch.from_numpy(x[:8]), 5)
    _, _, vt2 = np.linalg.svd(x[:8] - x[:8].mean(0), full_matrices=False)
    assert np.allclose(np.abs(w2.numpy().T @ vt2[:5].T), np.eye(5), atol=1e-8)


def test_random_rotation_is_orthogonal_and_seeded():
    r = random_rotation(16, 3)
    assert torch.allclose(r.T @ r, torch.eye(16, dtype=r.dtype), atol=1e-12)
    assert torch.equal(r, random_rotation(16, 3)) and not torch.equal(r, random_rotation(16, 4))


def test_itq_loss_is_monotone_and_matches_direct_evaluation(digits):
    x = digits.x_train.double()
    mean, w = principal_directions(x, 16)
    v = (x - mean) @ w
    r, losses = itq_rotation(v, 30, seed=0)
    assert len(losses) == 31
    assert all(b <= a + 1e-9 for a, b in zip(losses, losses[1:]))
    assert losses[-1] < losses[0]
    # the last recorded loss is ‖sgn(VR) − VR‖² / n, evaluated here without the helper
    vr = (v @ r).numpy()
    b = np.where(vr >= 0, 1.0, -1.0)
    assert losses[-1] == pytest.approx(((b - vr) ** 2).sum() / len(v), rel=1e-10)
    assert torch.allclose(r.T @ r, torch.eye(16, dtype=r.dtype), atol=1e-10)
    # the rotation is the Procrustes optimum for its codes: no random rotation nearby does better
    g = torch.Generator().manual_seed(1)
    for _ in range(5):
        a = torch.randn(16, 16, generator=g, dtype=torch.float64) * 1e-3
        near = r @ torch.linalg.matrix_exp(a - a.T)
        assert ((torch.from_numpy(b) - v @ near) ** 2).sum() >= ((torch.from_numpy(b) - v @ r) ** 2).sum() - 1e-9


def test_fit_history_and_codes(digits):
    h = hu.fit("itq", digits.x_train, bits=16, seed=0, iterations=20)
    loss = h.history["quantisation_loss"]
    assert len(loss) == 21 and all(b <= a + 1e-9 for a, b in zip(loss, loss[1:]))
    codes = h.encode(digits.x_query)
    assert codes.dtype == torch.int8 and codes.shape == (len(digits.x_query), 16)
    assert set(codes.unique().tolist()) <= {-1, 1}
    # encode is exactly sgn((x − μ) W R)
    proj = (digits.x_query - h.model.mean) @ h.model.weight
    assert torch.equal(codes, hu.binarize(proj))


@pytest.mark.parametrize("method", ["pca", "itq"])
def test_beats_lsh_on_digits(digits, method):
    for bits in (16, 32):
        ours = np.mean([_map(hu.fit(method, digits.x_train, bits=bits, seed=s), digits) for s in range(3)])
        lsh = np.mean([_map(hu.fit("lsh", digits.x_train, bits=bits, seed=s), digits) for s in range(3)])
        assert ours > lsh, (method, bits, ours, lsh)


def test_itq_beats_pca_without_rotation_on_digits(digits):
    itq = _map(hu.fit("itq", digits.x_train, bits=32, seed=0), digits)
    plain = _map(hu.fit("pca", digits.x_train, bits=32, seed=0, rotate=False), digits)
    assert itq > plain


@pytest.mark.parametrize("method", ["pca", "itq"])
def test_deterministic_given_seed(digits, method):
    a = hu.fit(method, digits.x_train, bits=16, seed=5).encode(digits.x_query)
    b = hu.fit(method, digits.x_train, bits=16, seed=5).encode(digits.x_query)
    c = hu.fit(method, digits.x_train, bits=16, seed=6).encode(digits.x_query)
    assert torch.equal(a, b) and not torch.equal(a, c)


@pytest.mark.parametrize("method", ["pca", "itq"])
def test_images_and_features(method):
    # raw images (n, c, h, w) are flattened; frozen features (n, F) are taken as they are
    g = torch.Generator().manual_seed(0)
    imgs = torch.rand(40, 3, 4, 4, generator=g)
    h = hu.fit(method, imgs, bits=8, seed=0)
    assert torch.equal(h.encode(imgs), h.encode(imgs.flatten(1)))
    # labels and the trained methods' settings are accepted and unused
    h2 = hu.fit(method, imgs, torch.zeros(40, dtype=torch.long), bits=8, seed=0, epochs=3, lr=0.1)
    assert torch.equal(h.encode(imgs), h2.encode(imgs))


@pytest.mark.parametrize("method", ["pca", "itq"])
def test_bad_inputs(method):
    x = torch.rand(30, 6)
    with pytest.raises(ValueError, match="bits=8 exceeds"):
        hu.fit(method, x, bits=8)
    with pytest.raises(ValueError, match="bits must be"):
        hu.fit(method, x, bits=1)
    with pytest.raises(ValueError, match="at least 2 rows"):
        hu.fit(method, x[:1], bits=2)
    bad = x.clone()
    bad[3, 2] = float("nan")
    with pytest.raises(ValueError, match="NaN"):
        hu.fit(method, bad, bits=4)
    with pytest.raises(TypeError, match="unknown argument"):
        hu.fit(method, x, bits=4, temperature=2)
    with pytest.raises(TypeError, match="tensor or numpy"):
        hu.fit(method, [[0.0] * 6] * 30, bits=4)


def test_bad_hyperparameters():
    x = torch.rand(30, 6)
    with pytest.raises(ValueError, match="iterations"):
        hu.fit("itq", x, bits=4, iterations=-1)
    with pytest.raises(TypeError, match="rotate"):
        hu.fit("pca", x, bits=4, rotate="yes")
