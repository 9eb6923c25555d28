"""DCHML: margin-dynamic-softmax loss, proxy codes, shared codes, the cross-modal hasher and baselines."""
import math

import numpy as np
import pytest
import torch

import hashing_utils as hu
from hashing_utils import crossmodal as cm
from hashing_utils.losses.dchml import (coupling_loss, dynamic_positive_similarity, margin_dynamic_softmax_loss,
                                        proxy_code_loss, quantization_loss, shared_codes)
from hashing_utils.methods.dchml import train_proxy_codes
from hashing_utils.training import CrossModalHasher


def naive_mds(u, y, proxies, margin, scale):
    total = 0.0
    for i in range(len(u)):
        pos_classes = [j for j in range(len(proxies)) if y[i, j] > 0]
        s_pos = sum(float(u[i] @ proxies[j]) for j in pos_classes) / len(pos_classes)
        num = math.exp(scale * (s_pos - margin))
        den = num + sum(math.exp(scale * float(u[i] @ proxies[q])) for q in range(len(proxies)) if y[i, q] == 0)
        total += -math.log(num / den)
    return total / len(u)


def random_case(b=6, c=5, k=8, seed=0, dtype=torch.float32):
    g = torch.Generator().manual_seed(seed)
    u = torch.tanh(torch.randn(b, k, generator=g, dtype=dtype))
    y = (torch.rand(b, c, generator=g) < 0.35).to(dtype)
    y[torch.arange(b), torch.randint(0, c, (b,), generator=g)] = 1      # at least one label per row
    proxies = torch.where(torch.rand(c, k, generator=g) < 0.5, -1.0, 1.0).to(dtype)
    return u, y, proxies


def test_mds_matches_naive_loop_multilabel():
    u, y, p = random_case()
    assert (y.sum(1) > 1).any()
    got = margin_dynamic_softmax_loss(u, y, p, margin=0.3 * 8, scale=0.3)
    assert got.item() == pytest.approx(naive_mds(u, y, p, 0.3 * 8, 0.3), rel=1e-5)


def test_mds_hand_value():
    # one sample, C = 2, K = 2: u = (1, 0), c_0 = (1, 1) positive, c_1 = (-1, 1) negative; σ = 0.5, γ = 2
    u = torch.tensor([[1.0, 0.0]])
    p = torch.tensor([[1.0, 1.0], [-1.0, 1.0]])
    y = torch.tensor([[1.0, 0.0]])
    pos, neg = 2 * (1 - 0.5), 2 * (-1)
    expected = -math.log(math.exp(pos) / (math.exp(pos) + math.exp(neg)))
    assert margin_dynamic_softmax_loss(u, y, p, 0.5, 2.0).item() == pytest.approx(expected, rel=1e-6)
    assert dynamic_positive_similarity(u, y, p).item() == pytest.approx(1.0)


def test_mds_margin_raises_loss_and_stable_at_large_scale():
    u, y, p = random_case()
    assert margin_dynamic_softmax_loss(u, y, p, 2.0, 0.3) > margin_dynamic_softmax_loss(u, y, p, 0.0, 0.3)
    big = margin_dynamic_softmax_loss(u, y, p, 0.0, 500.0)
    assert torch.isfinite(big)


def test_mds_gradcheck_float64():
    u, y, p = random_case(b=4, c=4, k=6, dtype=torch.float64)
    u = u.clone().requires_grad_(True)
    assert torch.autograd.gradcheck(lambda v: margin_dynamic_softmax_loss(v, y, p, 1.8, 0.3), (u,))
    c = (0.5 * torch.randn(5, 6, dtype=torch.float64)).tanh().requires_grad_(True)
    assert torch.autograd.gradcheck(lambda v: proxy_code_loss(v, 0.05, 0.01), (c,))


def test_mds_rejects_bad_labels():
    u, y, p = random_case()
    y[0] = 0
    with pytest.raises(ValueError, match="at least one positive"):
        margin_dynamic_softmax_loss(u, y, p, 1.0, 0.3)
    with pytest.raises(ValueError, match="labels must be"):
        margin_dynamic_softmax_loss(u, y[:, :3], p, 1.0, 0.3)


def test_proxy_loss_zero_for_orthogonal_balanced_codes():
    h = hu.codes.hadamard_matrix(8)[1:5].float()
    h = torch.cat([h, -h])        # pairs orthogonal or antipodal (no positive inner product), columns sum to 0
    assert proxy_code_loss(h).item() == pytest.approx(0.0, abs=1e-7)
    assert proxy_code_loss(torch.ones(4, 8)).item() > 1


def test_proxy_codes_are_spread():
    proxies, losses = train_proxy_codes(10, 32, seed=0)
    assert proxies.shape == (10, 32) and set(proxies.unique().tolist()) == {-1.0, 1.0}
    assert losses[-1] < 0.2 * losses[0]
    assert hu.codes.min_pairwise_distance(proxies) >= 8      # random codes: ~ 9 expected; identical: 0


def test_shared_codes_and_quantisation():
    bi = torch.tensor([[1, -1, 1, -1]], dtype=torch.int8)
    bt = torch.tensor([[1, -1, -1, 1]], dtype=torch.int8)
    ui = torch.tensor([[0.9, -0.9, 0.2, -0.1]])
    ut = torch.tensor([[0.9, -0.9, -0.6, 0.5]])
    assert shared_codes(bi, bt, ui, ut).tolist() == [[1, -1, -1, 1]]     # ties go to the larger |u|
    assert shared_codes(bi, bt).tolist() == [[1, -1, 1, 1]]              # no u: sgn(0) = +1
    assert quantization_loss(ui, shared_codes(bi, bt, ui, ut)).item() == pytest.approx(
        0.01 + 0.01 + 1.44 + 1.21, rel=1e-6)
    assert coupling_loss(ui, ut).item() == pytest.approx((0.64 + 0.36) / 4, rel=1e-6)


def test_fit_digits_two_view_and_api():
    split = cm.load_digits_two_view()
    hasher = hu.fit("dchml", split.train, split.y_train, bits=32, seed=0, epochs=8)
    assert isinstance(hasher, CrossModalHasher)
    res = cm.evaluate_cross_modal(hasher, split)
    cca = cm.evaluate_cross_modal(cm.fit_cca(split.train, bits=32), split)
    for d in ("image->text", "text->image"):
        assert res[d]["map_all"] > 0.6, res
        assert res[d]["map_all"] > cca[d]["map_all"], (res, cca)
    b = hasher.encode(split.image_query, modality="image")
    assert b.dtype == torch.int8 and b.shape == (len(split.y_query), 32)
    with pytest.raises(TypeError, match="modality"):
        hasher.encode(split.image_query)
    with pytest.raises(ValueError, match="unknown modality"):
        hasher.encode(split.image_query, modality="audio")
    assert hasher.history["val_map"] and len(hasher.history["loss_image"]) == 8


def test_fit_rejects_bad_input():
    split = cm.load_digits_two_view()
    with pytest.raises(ValueError, match="cross-modal"):
        hu.fit("dchml", split.image_train, split.y_train, bits=16)
    with pytest.raises(ValueError, match="rows"):
        hu.fit("dchml", (split.image_train, split.text_train[:-1]), split.y_train, bits=16)
    with pytest.raises(TypeError, match="unknown hyperparameter"):
        hu.fit("dchml", split.train, split.y_train, bits=16, gamma=1.0)


def test_two_view_pairs_share_class_but_not_image():
    split = cm.load_digits_two_view(noise=0.0)
    base = hu.load_dataset("digits")
    assert torch.equal(split.image_train, base.x_train)
    assert not (split.image_train == split.text_train).all(1).any()     # the partner is another image
    assert torch.equal(split.y_query, base.y_query)


def test_cca_codes_and_lsh_floor():
    split = cm.load_digits_two_view()
    h = cm.fit_cca(split.train, bits=64, seed=0)
    assert h.encode(split.text_db, modality="text").shape == (len(split.y_db), 64)
    assert torch.all(h.correlations[:-1] >= h.correlations[1:] - 1e-6)
    # 10-d text view: more bits than canonical directions come from a random projection
    rng = np.random.default_rng(0)
    xi, xt = rng.standard_normal((200, 20)), rng.standard_normal((200, 5))
    h2 = cm.fit_cca((xi, xt), bits=16)
    assert h2.encode(xt, modality="text").shape == (200, 16) and "projection" in h2.settings["bits_from"]
    lsh = cm.evaluate_cross_modal(cm.lsh_pair(split.train, bits=32), split)
    assert lsh["image->text"]["map_all"] < 0.3         # chance level for 10 balanced classes is ~0.1


def test_wikipedia_missing_file_message(monkeypatch, tmp_path):
    from hashing_utils import data
    monkeypatch.setattr(data, "find_data_file", lambda *a: None)
    with pytest.raises(FileNotFoundError, match="wikipedia_sift128_lda10.npz"):
        cm.load_wikipedia()


def test_imports_run_one_way():
    """data and training know nothing of crossmodal or the methods; the DCHML method does not import crossmodal."""
    import subprocess
    import sys
    code = ("import sys, hashing_utils.methods.dchml; "
            "assert 'hashing_utils.crossmodal' not in sys.modules, 'dchml imported crossmodal'; "
            "import hashing_utils.crossmodal as cm; from hashing_utils.training import CrossModalHasher; "
            "assert cm.CrossModalHasher is CrossModalHasher")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_the_two_networks_train_in_turns_through_the_one_loop():
    """DCHML goes through training.train_model with two parts: one pass per network per epoch, the epoch's loss
    the sum of the two passes; amp reaches its forward passes like any other method's."""
    split = cm.load_digits_two_view()
    h = hu.fit("dchml", split.train, split.y_train, bits=16, seed=0, epochs=2, proxy_steps=20)
    hist = h.history
    assert len(hist["loss_image"]) == len(hist["loss_text"]) == len(hist["val_map_i2t"]) == 2
    assert hist["loss"] == [a + b for a, b in zip(hist["loss_image"], hist["loss_text"])]
    assert hist["val_map"] == [(a + b) / 2 for a, b in zip(hist["val_map_i2t"], hist["val_map_t2i"])]
    assert len(hist["proxy_loss"]) == 20
    amp = hu.fit("dchml", split.train, split.y_train, bits=16, seed=0, epochs=1, proxy_steps=20, amp="bfloat16")
    assert amp.settings["amp"] == "bfloat16" and amp.history["amp"] == "bfloat16"
