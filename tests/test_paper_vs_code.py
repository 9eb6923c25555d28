"""Paper versus public code: every switch that reproduces a public code's behaviour, checked against a loop
written from that code's formula (as described in docs/paper-vs-code.md), its gradient, where it agrees
with the paper's form and where it parts; and that every method's defaults are the paper's."""
import math

import pytest
import torch

import hashing_utils as hu
from hashing_utils import papercode as pc
from hashing_utils.losses.adsh import adsh_loss
from hashing_utils.losses.csq import csq_bce_float32, csq_loss, csq_pairwise_loss
from hashing_utils.losses.dchml import cross_modal_softmax_loss, margin_dynamic_softmax_loss
from hashing_utils.losses.dcwh import class_wise_loss
from hashing_utils.losses.orthohash import orthohash_logits, orthohash_loss
from hashing_utils.losses.psldh import partial_softmax_loss
from hashing_utils.losses.shc import normalise_similarity


def _gen(seed=0):
    return torch.Generator().manual_seed(seed)


def _multi_hot(b, c, g, p=0.3):
    y = (torch.rand(b, c, generator=g) < p).double()
    y[torch.arange(b), torch.randint(0, c, (b,), generator=g)] = 1.0     # at least one label per row
    return y


def _pm1(shape, g):
    return torch.where(torch.rand(*shape, generator=g) < 0.5, -1.0, 1.0).double()


# ---- CSQ -------------------------------------------------------------------------------------------------
def test_csq_float32_bce_matches_loop_agrees_when_moderate_and_parts_when_saturated():
    g = _gen(1)
    z, h = torch.randn(5, 8, generator=g, dtype=torch.float64), _pm1((5, 8), g)
    loop = 0.0
    for i in range(5):
        for k in range(8):
            p = (math.tanh(float(z[i, k].float())) + 1) / 2
            t = (h[i, k].item() + 1) / 2
            lp = max(math.log(p), -100.0) if p > 0 else -100.0
            lq = max(math.log(1 - p), -100.0) if p < 1 else -100.0
            loop -= t * lp + (1 - t) * lq
    assert csq_bce_float32(z, h).item() == pytest.approx(loop / 40, rel=1e-5)
    # moderate outputs: both forms agree (float32 rounding only)
    assert csq_loss(z, h, 0.0, bce="float32").item() == pytest.approx(csq_loss(z, h, 0.0).item(), abs=1e-6)
    # saturated wrong bit: float32 tanh is exactly -1, the log is clamped at -100; the exact form says 2|z|
    zs, hs = torch.full((1, 1), -12.0, dtype=torch.float64), torch.ones(1, 1, dtype=torch.float64)
    assert csq_bce_float32(zs, hs).item() == pytest.approx(100.0)
    assert csq_loss(zs, hs, 0.0).item() == pytest.approx(24.0, rel=1e-6)
    zr = zs.clone().requires_grad_()
    csq_bce_float32(zr, hs).backward()
    assert zr.grad.abs().max().item() == 0.0          # no gradient to repair it


def test_csq_pairwise_term_matches_loop_and_gradcheck():
    g = _gen(2)
    u, y = torch.tanh(torch.randn(7, 6, generator=g, dtype=torch.float64)), _multi_hot(7, 4, g)
    h, a = 3, 10 / 6
    loop = 0.0
    for i in range(h):
        for j in range(h, 2 * h):          # the first half against the second; row 7 (odd B) is dropped
            w = a * float(u[i] @ u[j])
            s = 1.0 if float(y[i] @ y[j]) > 0 else 0.0
            loop += math.log(1 + math.exp(w)) - s * w
    assert csq_pairwise_loss(u, y).item() == pytest.approx(loop / h ** 2, rel=1e-12)
    ur = u.clone().requires_grad_()
    assert torch.autograd.gradcheck(lambda t: csq_pairwise_loss(t, y), (ur,))
    assert csq_pairwise_loss(u[:1], y[:1]).item() == 0.0


def test_csq_method_adds_the_pairwise_term_only_when_switched_on():
    g = _gen(3)
    y = torch.nn.functional.one_hot(torch.randint(0, 4, (8,), generator=g), 4).float()
    z = torch.randn(8, 16, generator=g)
    paper = hu.get_method("csq")(16, 4, seed=0)
    code = hu.get_method("csq")(16, 4, seed=0, pairwise_weight=0.2)
    for m in (paper, code):
        m.setup(None, None, y, "cpu")
    extra = code.loss(z, y) - paper.loss(z, y)
    assert extra.item() == pytest.approx(0.2 * csq_pairwise_loss(torch.tanh(z), y).item(), rel=1e-5)
    with pytest.raises(ValueError, match="bce"):
        hu.get_method("csq")(16, 4, bce="float64")


# ---- DCWH ------------------------------------------------------------------------------------------------
def _dcwh_eps_loop(u, ids, centres, lam):
    total = 0.0
    for i in range(u.shape[0]):
        e = [math.exp(-lam / 2 * float(((u[i] - centres[c]) ** 2).sum())) for c in range(centres.shape[0])]
        p = e[ids[i]] / (sum(e) + 1e-6)
        total -= math.log(p + 1e-6)
    return total / u.shape[0]


def test_dcwh_eps_form_matches_loop_agrees_near_and_parts_far():
    g = _gen(4)
    centres = _pm1((5, 12), g) * 0.3
    u = centres[torch.tensor([0, 1, 2, 3, 4, 0])] + 0.1 * torch.randn(6, 12, generator=g, dtype=torch.float64)
    ids = torch.tensor([0, 1, 2, 3, 4, 0])
    for lam in (0.5, 1.0):
        assert class_wise_loss(u, ids, centres, lam, form="eps").item() == pytest.approx(
            _dcwh_eps_loop(u, ids, centres, lam), rel=1e-10)
    # near the centres the numerators are O(1): the constants change the loss by ~1e-6
    assert abs(class_wise_loss(u, ids, centres, 0.5, "eps") - class_wise_loss(u, ids, centres, 0.5)).item() < 1e-4
    # K = 48, outputs far from every centre: numerators ~e^-24, the constants swamp them
    far_c, far_u = _pm1((5, 48), g), _pm1((6, 48), g)
    exact, eps = class_wise_loss(far_u, ids, far_c, 1.0), class_wise_loss(far_u, ids, far_c, 1.0, "eps")
    assert abs((exact - eps).item()) > 1.0
    ur = u.clone().requires_grad_()
    assert torch.autograd.gradcheck(lambda t: class_wise_loss(t, ids, centres, 0.5, "eps"), (ur,))
    with pytest.raises(ValueError, match="form"):
        class_wise_loss(u, ids, centres, 0.5, form="logsoftmax")


# ---- OrthoHash -------------------------------------------------------------------------------------------
def test_orthoarc_clamp_matches_loop_agrees_away_and_zeroes_the_gradient_at_the_target():
    g = _gen(5)
    targets, y = _pm1((4, 16), g), torch.nn.functional.one_hot(torch.tensor([0, 1, 2, 3, 1]), 4).double()
    v = torch.randn(5, 16, generator=g, dtype=torch.float64)
    s, m, c = 8.0, 0.2, 1e-5
    loop = 0.0
    for n in range(5):
        logits = []
        for k in range(4):
            cos = float(v[n] @ targets[k]) / (float(v[n].norm()) * float(targets[k].norm()))
            theta = math.acos(min(max(cos, -1 + c), 1 - c))
            logits.append(s * math.cos(theta + m * float(y[n, k])))
        lse = math.log(sum(math.exp(t) for t in logits))
        loop -= sum(float(y[n, k]) * (logits[k] - lse) for k in range(4))
    got = orthohash_loss(v, targets, y, s, m, "arc", arc_clamp=c).item()
    assert got == pytest.approx(loop / 5, rel=1e-10)
    # away from ±1 the clamp changes nothing
    assert got == pytest.approx(orthohash_loss(v, targets, y, s, m, "arc").item(), rel=1e-12)
    # a code within the clamp of its target: its target logit passes no gradient (the exact form's does)
    v1 = (targets[:1] + 1e-3 * torch.randn(1, 16, generator=g, dtype=torch.float64)).requires_grad_()
    cos1 = float(torch.nn.functional.cosine_similarity(v1.detach(), targets[:1]))
    assert 1 - cos1 < c
    grads = []
    for clamp in (c, 0.0):
        vv = v1.detach().clone().requires_grad_()
        orthohash_logits(vv, targets, y[:1], s, m, "arc", arc_clamp=clamp)[0, 0].backward()
        grads.append(vv.grad.abs().max().item())
    assert grads[0] == 0.0 and grads[1] > 1e-3
    with pytest.raises(ValueError, match="arc_clamp"):
        orthohash_loss(v, targets, y, arc_clamp=1.0, variant="arc")


# ---- SHC -------------------------------------------------------------------------------------------------
def test_shc_symmetrise_first_matches_loop_and_is_asymmetric():
    g = _gen(6)
    c = 6
    p = torch.rand(c, c, generator=g, dtype=torch.float64) * (1 - torch.eye(c, dtype=torch.float64))
    p = p / p.sum(1, keepdim=True)
    got = normalise_similarity(p, order="symmetrise_first")
    sym = [[(p[a, b].item() + p[b, a].item()) / 2 for b in range(c)] for a in range(c)]
    for a in range(c):
        mean = sum(sym[a]) / c                                   # the masked zero counts
        scale = max(abs(x - mean) for x in sym[a])
        for b in range(c):
            want = 1.0 if a == b else (sym[a][b] - mean) / scale
            assert got[a, b].item() == pytest.approx(want, abs=1e-12)
    paper = normalise_similarity(p)
    assert torch.allclose(paper, paper.T)
    assert (got - got.T).abs().max().item() > 1e-3
    assert (got - paper).abs().max().item() > 1e-3
    with pytest.raises(ValueError, match="order"):
        normalise_similarity(p, order="both")


# ---- ADSH ------------------------------------------------------------------------------------------------
def test_adsh_kept_positive_columns_match_loop_and_floor_for_one_hot_rows():
    g = _gen(7)
    b, c, k, s, m = 5, 4, 8, 10.0, 0.2
    u, w, y = torch.randn(b, k, generator=g, dtype=torch.float64), torch.randn(c, k, generator=g, dtype=torch.float64), _multi_hot(b, c, g)
    loop = 0.0
    for i in range(b):
        cos = [float(u[i] @ w[j]) / (float(u[i].norm()) * float(w[j].norm())) for j in range(c)]
        wd = sum(w[j] for j in range(c) if y[i, j]) / float(y[i].sum())
        dyn = float(u[i] @ wd) / (float(u[i].norm()) * float(wd.norm()))
        logits = [s * x for x in cos] + [s * (dyn - m)]          # every class column kept
        loop -= logits[-1] - math.log(sum(math.exp(t) for t in logits))
    zero_reg = dict(alpha=0.0, beta=0.0)
    got = adsh_loss(u, w, y, "cosface", s, m, keep_positive_columns=True, **zero_reg).item()
    assert got == pytest.approx(loop / b, rel=1e-10)
    # a one-hot row on its class vector: FIRe's form cannot go below log(1 + e^{sm}); the workbook's goes to ~0
    one = torch.zeros(1, c, dtype=torch.float64)
    one[0, 0] = 1
    wf = torch.eye(c, k, dtype=torch.float64)
    kept = adsh_loss(wf[:1], wf, one, "cosface", s, m, keep_positive_columns=True, **zero_reg).item()
    masked = adsh_loss(wf[:1], wf, one, "cosface", s, m, **zero_reg).item()
    assert kept > math.log(1 + math.exp(s * m)) - 1e-9 and masked < 0.01
    ur = u.clone().requires_grad_()
    assert torch.autograd.gradcheck(lambda t: adsh_loss(t, w, y, keep_positive_columns=True), (ur,))


# ---- PSLDH and DCHML: the extra e⁰ per positive --------------------------------------------------------
def test_extra_one_per_positive_matches_loop_for_psldh_and_dchml():
    g = _gen(8)
    b, c, k = 5, 6, 8
    u, codes, y = torch.tanh(torch.randn(b, k, generator=g, dtype=torch.float64)), _pm1((c, k), g), _multi_hot(b, c, g)
    mu, eta = 0.2, 0.5
    loop_p = loop_d = 0.0
    for i in range(b):
        pos = [j for j in range(c) if y[i, j]]
        neg = [q for q in range(c) if not y[i, q]]
        negs = sum(math.exp(eta * float(u[i] @ codes[q])) for q in neg) + len(pos) * math.exp(0.0)
        per = [-math.log(math.exp(eta * (float(u[i] @ codes[j]) - mu * k)) /
                         (math.exp(eta * (float(u[i] @ codes[j]) - mu * k)) + negs)) for j in pos]
        loop_p += sum(per) / len(pos)
        a = eta * (sum(float(u[i] @ codes[j]) for j in pos) / len(pos) - mu * k)
        loop_d -= math.log(math.exp(a) / (math.exp(a) + negs))
    assert partial_softmax_loss(u, codes, y, mu, eta, extra_one_per_positive=True).item() == pytest.approx(loop_p / b, rel=1e-10)
    assert margin_dynamic_softmax_loss(u, y, codes, mu * k, eta, extra_one_per_positive=True).item() == pytest.approx(
        loop_d / b, rel=1e-10)
    # the fault always raises the loss
    assert partial_softmax_loss(u, codes, y, mu, eta, True) > partial_softmax_loss(u, codes, y, mu, eta)
    ur = u.clone().requires_grad_()
    assert torch.autograd.gradcheck(lambda t: margin_dynamic_softmax_loss(t, y, codes, mu * k, eta, True), (ur,))


# ---- DCHML: the port's cross-modal softmax term ----------------------------------------------------------
def test_dchml_cross_modal_softmax_matches_loop_gradcheck_and_method_switch():
    g = _gen(9)
    b, c, k = 5, 6, 8
    u, v = torch.tanh(torch.randn(b, k, generator=g, dtype=torch.float64)), torch.tanh(torch.randn(b, k, generator=g, dtype=torch.float64))
    proxies, y = _pm1((c, k), g), _multi_hot(b, c, g)
    sigma, gamma = 0.3 * k, 0.3
    loop = 0.0
    for i in range(b):
        pos = [j for j in range(c) if y[i, j]]
        sp_u = sum(float(u[i] @ proxies[j]) for j in pos) / len(pos)
        sp_v = sum(float(v[i] @ proxies[j]) for j in pos) / len(pos)
        den = sum(math.exp(gamma * float(v[i] @ proxies[q])) for q in range(c) if not y[i, q])
        den += math.exp(gamma * (sp_v - sigma))
        loop -= math.log(math.exp(gamma * (sp_u - sigma)) / den)
    assert cross_modal_softmax_loss(u, v, y, proxies, sigma, gamma).item() == pytest.approx(loop / b, rel=1e-10)
    ur = u.clone().requires_grad_()
    assert torch.autograd.gradcheck(lambda t: cross_modal_softmax_loss(t, v, y, proxies, sigma, gamma), (ur,))
    # with v fixed the gradient is that of -γ s⁺(u) / B
    cross_modal_softmax_loss(ur, v, y, proxies, sigma, gamma).backward()
    want = -gamma * (y @ proxies) / y.sum(1, keepdim=True) / b
    assert torch.allclose(ur.grad, want, atol=1e-12)
    # the method: coupling="softmax" adds weight x this term; "squared" (default) the ‖u - v‖²/K reading
    m_soft = hu.get_method("dchml")(k, c, seed=0, coupling="softmax", coupling_weight=0.1)
    m_sq = hu.get_method("dchml")(k, c, seed=0)
    for m in (m_soft, m_sq):
        m.proxies = proxies.float()
    z = torch.randn(b, k, generator=g)
    base = m_sq.loss(z, y.float())                          # no b, no u_other: the softmax term alone
    got = m_soft.loss(z, y.float(), u_other=v.float()) - base
    assert got.item() == pytest.approx(0.1 * cross_modal_softmax_loss(torch.tanh(z), v.float(), y.float(), proxies.float(),
                                                                      sigma, gamma).item(), rel=1e-4)
    with pytest.raises(ValueError, match="coupling"):
        hu.get_method("dchml")(k, c, coupling="cosine")


# ---- defaults and the registry of differences -------------------------------------------------------------
PAPER_DEFAULTS = {"csq": {"pairwise_weight": 0.0, "bce": "logits"}, "dcwh": {"class_wise_form": "log_softmax", "lam": 0.5},
                  "shc": {"similarity_order": "normalise_first", "cycles": 20}, "adsh": {"positive_columns": "masked"},
                  "psldh": {"extra_one_per_positive": False}, "orthohash": {"arc_clamp": 0.0, "variant": "cos"},
                  "dchml": {"coupling": "squared", "extra_one_per_positive": False}}


@pytest.mark.parametrize("method", sorted(PAPER_DEFAULTS))
def test_defaults_are_the_papers_and_every_switch_is_a_documented_hyperparameter(method):
    defaults = hu.method_defaults(method)
    for k, v in PAPER_DEFAULTS[method].items():
        assert defaults[k] == v, (method, k)
    docs = hu.method_docs(method)
    for d in pc.PUBLIC_CODE[method]:
        for k, v in d.hparams.items():
            assert k in docs and docs[k][1], (method, k)
            assert v != defaults[k], f"{method}.{k}: the public code's value equals the default"
        hu.get_method(method)(32, 10, seed=0, **d.hparams)       # the switch is accepted


def test_difference_of_errors_name_the_known_ones():
    with pytest.raises(ValueError, match="pairwise term"):
        pc.difference_of("csq", "no such thing")
    with pytest.raises(ValueError, match="no public-code differences"):
        pc.difference_of("lsh", "x")


def test_compare_trains_both_sides_with_the_same_seeds_and_the_switch(tmp_path, monkeypatch):
    monkeypatch.setenv("HASHING_CACHE_DIR", str(tmp_path))
    r = pc.compare("csq", "float32 tanh + BCELoss", dataset="digits", bits=16, seeds=2, epochs=1, fast=True)
    assert sorted(r["paper"]) == sorted(r["code"]) == [0, 1]
    assert [x["config"]["hparams"]["bce"] for x in r["runs"]["code"]] == ["float32", "float32"]
    assert [x["config"]["hparams"]["bce"] for x in r["runs"]["paper"]] == ["logits", "logits"]
    d = r["difference"]
    assert d.n == 2 and d.mean == pytest.approx(sum(r["code"].values()) / 2 - sum(r["paper"].values()) / 2)
    again = pc.compare("csq", "float32 tanh + BCELoss", dataset="digits", bits=16, seeds=2, epochs=1, fast=True)
    assert all(x["cached"] for side in again["runs"].values() for x in side)      # through the experiment cache


def test_protocol_is_bounded_and_names_its_data():
    for method in pc.PUBLIC_CODE:
        for fast in (True, False):
            p = pc.protocol(method, fast)
            assert p["bits"] == 32 and p["seeds"] in (3, 5) and p["epochs"] <= 20
            assert p["dataset"] in p["label"]
    with pytest.raises(ValueError, match="other seeds"):
        pc.compare_cross_modal("extra e⁰ per positive", None, seeds=3, paper={"image->text": {0: 0.5}})
