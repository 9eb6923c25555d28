"""SHC: Deep Hashing with Semantic Hash Centers (Chen, Liu et al., ACM TOIS 2025; arXiv 2507.08404).

Three stages. (1) `class_similarity`: a classifier's logits -> the C×C semantic similarity S.
(2) `optimise_semantic_centres`: binary centres H (C, K) whose scaled inner products HHᵀ/K follow S,
subject to the minimum Hamming distance d (the Gilbert–Varshamov value). (3) `shc_loss`: the CSQ loss
toward those centres.

Conventions: H stacks the centres h_c as ROWS, (C, K) (the paper stacks columns, K×C, and writes HᵀH).
Where the paper is thin, the reading implemented is stated in the docstring that implements it.
"""
from __future__ import annotations

import torch

from ..labels import to_multi_hot
from .csq import csq_loss, sample_centres

__all__ = ["masked_softmax_profile", "normalise_similarity", "class_similarity", "centre_objective",
           "centre_objective_grad", "optimise_semantic_centres", "shc_loss"]


def masked_softmax_profile(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """P[m] = mean over samples i of class m of softmax(logits_i with logit m set to -inf).

    logits: (N, C) classifier outputs; y: (N, C) one-hot (or (N,) class ids) -> P (C, C) with P[m, m] = 0
    and rows summing to 1 (rows of classes without samples are 0). Masking the true class leaves the
    distribution of the classifier's *confusions*: which other classes a class-m image resembles.
    Averaging (not summing, as the released code does) makes P independent of class sizes.
    Taught in: notebooks/03_shc_semantic_centres.ipynb, section Derivation and Step-by-step implementation.
    """
    if logits.ndim != 2:
        raise ValueError(f"logits must be (N, C), got shape {tuple(logits.shape)}")
    n, c = logits.shape
    if y.ndim == 1:
        y = to_multi_hot(y, c)
    if y.shape != (n, c):
        raise ValueError(f"labels must be (N, C) = {(n, c)} one-hot, got {tuple(y.shape)}")
    if bool((y.sum(1) != 1).any()):
        raise ValueError("SHC's similarity needs single-label data: every row of y must have exactly one 1")
    y = y.to(logits.dtype)
    masked = logits.masked_fill(y.bool(), float("-inf"))
    p = torch.softmax(masked, dim=1)                      # (N, C), zero at the true class
    counts = y.sum(0)                                      # (C,)
    return (y.T @ p) / counts.clamp_min(1)[:, None]


SIMILARITY_ORDERS = ("normalise_first", "symmetrise_first")


def normalise_similarity(profile: torch.Tensor, order: str = "normalise_first") -> torch.Tensor:
    """S from the masked-softmax profile P (C, C):

        r_mj = (P_mj - mean_{j'≠m} P_mj') / max_{j'≠m} |P_mj' - mean_{j''≠m} P_mj''|    (j ≠ m)
        S = (R + Rᵀ) / 2,   S_mm = 1.

    Each row is centred and scaled so its largest deviation is ±1 (entries in [-1, 1]; the paper says
    "(-1, 1)": the extremes are attained here); then symmetrised. The mean and scale use the
    off-diagonal entries only (the diagonal of P is the masked 0, not a similarity). A row whose
    off-diagonal entries are all equal carries no information and becomes 0.

    order="symmetrise_first" is the released code's order: P' = (P + Pᵀ)/2 first, then each row of P' centred
    on its mean over ALL C entries and divided by its largest absolute deviation (the masked zero on the
    diagonal included), then S_mm = 1. Row scales differ, so that S is not symmetric.
    Taught in: notebooks/03, "The paper and the public code".
    Taught in: notebooks/03_shc_semantic_centres.ipynb, section Derivation and Step-by-step implementation.
    """
    c = profile.shape[0]
    if profile.shape != (c, c) or c < 2:
        raise ValueError(f"the profile must be square (C, C) with C >= 2, got {tuple(profile.shape)}")
    if order not in SIMILARITY_ORDERS:
        raise ValueError(f"order must be one of {SIMILARITY_ORDERS}, got {order!r}")
    off = ~torch.eye(c, dtype=torch.bool, device=profile.device)
    if order == "symmetrise_first":
        sym = (profile + profile.T) / 2
        dev = sym - sym.mean(1, keepdim=True)
        scale = dev.abs().amax(1, keepdim=True)
        r = torch.where(scale > 0, dev / scale.clamp_min(torch.finfo(profile.dtype).tiny), torch.zeros_like(dev))
        return r.masked_fill(~off, 1.0)
    mean = (profile * off).sum(1, keepdim=True) / (c - 1)
    dev = (profile - mean) * off
    scale = dev.abs().amax(1, keepdim=True)
    r = torch.where(scale > 0, dev / scale.clamp_min(torch.finfo(profile.dtype).tiny), torch.zeros_like(dev))
    s = (r + r.T) / 2
    return s.masked_fill(~off, 1.0)


def class_similarity(logits: torch.Tensor, y: torch.Tensor, order: str = "normalise_first") -> torch.Tensor:
    """Stage 1 in one call: logits (N, C), one-hot y (N, C) -> S (C, C), symmetric, diagonal 1
    (order: see normalise_similarity).

    Taught in: notebooks/03_shc_semantic_centres.ipynb, section Derivation and Step-by-step implementation.
    """
    return normalise_similarity(masked_softmax_profile(logits, y), order)


def centre_objective(h: torch.Tensor, s: torch.Tensor, mu: float = 0.625) -> torch.Tensor:
    """J(H) = ‖S - HHᵀ/K‖²_F + (μ/K) Σ_{i≠j} h_iᵀh_j.

    h: (C, K) centres (±1, or real for a gradient check); s: (C, C). Reading: the paper prints
    μ Σ h_iᵀh_j; we put the inner products of the μ-term on the same cosine scale h_iᵀh_j/K as the
    first term (at the printed scale one bit flip moves the μ-term ~K times more than the first term,
    and S would be ignored; the released code instead divides that gradient by 10⁴).
    Σ_{i≠j} h_iᵀh_j = ‖Σ_i h_i‖² - CK for ±1 centres: the μ-term asks every bit to be balanced
    over the classes.
    Taught in: notebooks/03_shc_semantic_centres.ipynb, section Derivation and Step-by-step implementation.
    """
    k = h.shape[1]
    g = h @ h.T
    off = g.sum() - g.diagonal().sum()
    return (s - g / k).pow(2).sum() + mu / k * off


def centre_objective_grad(h: torch.Tensor, s: torch.Tensor, mu: float = 0.625) -> torch.Tensor:
    """∂J/∂H for symmetric S: -(4/K)(S - HHᵀ/K) H + (2μ/K)(1 1ᵀ - I) H. Shapes as centre_objective."""
    k = h.shape[1]
    c = h.shape[0]
    ones = torch.ones(c, c, dtype=h.dtype, device=h.device) - torch.eye(c, dtype=h.dtype, device=h.device)
    return -(4 / k) * (s - h @ h.T / k) @ h + (2 * mu / k) * ones @ h


def _sgn_keep(v: torch.Tensor, old: torch.Tensor) -> torch.Tensor:
    """sgn(v) with the old bit kept where v = 0."""
    return torch.where(v > 0, 1.0, torch.where(v < 0, -1.0, old))


def optimise_semantic_centres(s: torch.Tensor, init: torch.Tensor, min_distance: int, *, rho: float = 0.2,
                              mu: float = 0.625, beta: float = 1e-6, eta: float = 0.5, cycles: int = 20,
                              inner: int = 3):
    """Stage 2: min_H J(H) s.t. h_i ∈ {±1}^K, d_H(h_i, h_j) ≥ d, by an augmented-Lagrangian scheme.

    s: (C, C) similarity; init: (C, K) ±1 centres that already satisfy the distance (the paper starts
    from MDS centres, i.e. minimum-distance-separated codes); min_distance: d.
    Returns (H (C, K) float ±1, history dict with per-cycle 'objective', 'best_objective',
    'min_distance', 'accepted' (accepted centre updates)).

    Reading implemented (the paper gives the ingredients, not every step):
      * Splitting: the quartic first term is made bilinear with a real copy M ≈ H,
        ‖S - HMᵀ/K‖²_F + ⟨Λ, H - M⟩ + (ρ/2)‖H - M‖²_F.
      * Distance as inner products: d_H ≥ d ⇔ h_iᵀh_j ≤ K - 2d. With slacks z_ij ≥ 0,
        c_ij = K - 2d - h_iᵀh_j - z_ij = 0, handled by multipliers α_ij and penalty β:
        Σ_{i≠j} α_ij c_ij + (β/2) c_ij².
      * One cycle: M-step (closed form), z-step (z = max(0, K - 2d - HHᵀ + α/β)), then `inner` sweeps of
        the H-step over the classes: h_i ← sgn(h_i - ∇_{h_i} L / (η κ)), REJECTED when it puts h_i closer
        than d to any other centre (then retried with the steeper half of its bit flips, down to one
        flip); then Λ += ρ(H - M), α += β c (each (i, j) pair with its own index:
        the released code's stale-index update is not reproduced).
      * κ = 4(C-1)/K² is the curvature of J along one bit of one centre (a flip improves J roughly when
        h_ik ∂J/∂h_ik > κ). The paper's step h - ∇L/η has κ = 1: its η = 0.5 was set for C = 100; at
        C = 10 the gradient is so small that almost no bit flips (at 64 bits none at all). Measuring η
        in units of κ makes η = 0.5 mean the same at every C and K (ours).
      * Every iterate is feasible (init feasible + rejection), and the best-objective iterate is
        returned, so J(result) ≤ J(init) and the distance holds; it is re-checked at the end.
    Taught in: notebooks/03_shc_semantic_centres.ipynb, section Derivation and Step-by-step implementation.
    """
    h = init.to(torch.float64).clone()
    s = s.to(torch.float64)
    c, k = h.shape
    if s.shape != (c, c):
        raise ValueError(f"S is {tuple(s.shape)} but there are {c} centres")
    if not bool((h.abs() == 1).all()):
        raise ValueError("init must be ±1 centres")
    d = int(min_distance)
    bound = k - 2 * d                                       # h_iᵀh_j ≤ bound ⇔ d_H ≥ d
    eye = torch.eye(c, dtype=torch.float64)
    kappa = 4 * (c - 1) / k ** 2                            # curvature of J along one bit of one centre

    def min_dist(hh):
        g = hh @ hh.T
        return int(((k - g) / 2 + eye * (k + 1)).min().round())

    if min_dist(h) < d:
        raise ValueError(f"the initial centres are {min_dist(h)} apart, below the required d = {d}")
    lam = torch.zeros(c, k, dtype=torch.float64)
    alpha = torch.zeros(c, c, dtype=torch.float64)          # float: the released code's integer tensor is a fault
    best_h, best_j = h.clone(), float(centre_objective(h, s, mu))
    hist = {"objective": [best_j], "best_objective": [best_j], "min_distance": [min_dist(h)], "accepted": [0]}
    for _ in range(cycles):
        # M-step: (2/K²) M HᵀH + ρM = (2/K) SᵀH + Λ + ρH
        a = 2 / k ** 2 * h.T @ h + rho * torch.eye(k, dtype=torch.float64)
        m = torch.linalg.solve(a, (2 / k * s.T @ h + lam + rho * h).T).T
        # z-step
        z = torch.clamp(bound - h @ h.T + alpha / beta, min=0) * (1 - eye)
        accepted = 0
        for _ in range(inner):
            for i in range(c):
                others = torch.arange(c) != i
                hj = h[others]
                cij = bound - hj @ h[i] - z[i, others]
                grad = (2 / k ** 2 * m.T @ (m @ h[i]) - 2 / k * m.T @ s[i] + lam[i] + rho * (h[i] - m[i])
                        + 2 * mu / k * hj.sum(0)
                        - 2 * (alpha[i, others] + beta * cij) @ hj)
                cand = _sgn_keep(h[i] - grad / (eta * kappa), h[i])
                flips = torch.nonzero(cand != h[i]).flatten()
                # the bits the step flips, steepest first; a step that breaks the distance is rejected
                # and retried with the steeper half of its flips (ours: the paper rejects the whole step)
                flips = flips[torch.argsort(-(grad[flips] * h[i, flips]), stable=True)]
                while len(flips):
                    trial = h[i].clone()
                    trial[flips] = -trial[flips]
                    if int(((k - hj @ trial) / 2).min().round()) >= d:
                        h[i] = trial
                        accepted += 1
                        break
                    flips = flips[: len(flips) // 2]
        lam = lam + rho * (h - m)
        alpha = alpha + beta * (bound - h @ h.T - z) * (1 - eye)
        j = float(centre_objective(h, s, mu))
        if j < best_j:
            best_h, best_j = h.clone(), j
        hist["objective"].append(j)
        hist["best_objective"].append(best_j)
        hist["min_distance"].append(min_dist(h))
        hist["accepted"].append(accepted)
    if min_dist(best_h) < d:                                # cannot happen (every step is checked): be sure
        raise AssertionError(f"semantic centres are {min_dist(best_h)} apart, below d = {d}")
    return best_h, hist


def shc_loss(z: torch.Tensor, y: torch.Tensor, class_centres: torch.Tensor, tie_breaker: torch.Tensor,
             quant_weight: float = 1e-4) -> torch.Tensor:
    """Stage 3: the CSQ loss toward the semantic centres,
        L = mean_{i,k} BCE((u_ik + 1)/2, (h_{y_i},k + 1)/2) + γ mean_{i,k} (|u_ik| - 1)²,  u = tanh(z),
    with the BCE's minus sign (the paper's printed formula lacks it; a typo).

    z: (B, K) head outputs; y: (B, C) one-hot; class_centres: (C, K) ±1; tie_breaker: (K,) ±1.
    Taught in: notebooks/03_shc_semantic_centres.ipynb, section Derivation and Step-by-step implementation.
    """
    return csq_loss(z, sample_centres(y, class_centres, tie_breaker), quant_weight)
