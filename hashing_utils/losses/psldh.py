"""PSLDH: Partial-Softmax Loss based Deep Hashing (Tu, Mao et al., WWW 2021)."""
import torch

from ..codes import binarize

__all__ = ["category_code_loss", "partial_softmax_loss", "full_softmax_loss", "psldh_quantisation", "psldh_loss"]


def category_code_loss(c_mat: torch.Tensor, alpha: float = 0.05, beta: float = 0.01) -> torch.Tensor:
    """Stage 1: L_cat = (1/C²) Σ_{i,j} ReLU(c_iᵀc_j - K δ_ij)² + α (1/C) ‖1ᵀC_mat‖² + β (1/C) ‖sgn(C_mat) - C_mat‖²_F.

    c_mat: (C, K) tanh outputs of the category network. Only positive off-diagonal inner products are
    penalised (the diagonal term c_iᵀc_i - K is ≤ 0 for tanh outputs), so the loss is zero once every pair
    is at inner product ≤ 0, i.e. Hamming distance ≥ K/2; α balances each bit over the classes, β pulls
    entries to ±1. sgn(0) = +1, as everywhere in the workbook.
    Taught in: notebooks/05_psldh_partial_softmax.ipynb, section Stage 1: the category hashing network.
    """
    n, k = c_mat.shape
    gram = c_mat @ c_mat.t() - k * torch.eye(n, dtype=c_mat.dtype, device=c_mat.device)
    sim = torch.relu(gram).pow(2).sum() / n ** 2
    balance = c_mat.sum(0).pow(2).sum() / n
    b = binarize(c_mat).to(c_mat.dtype)
    quant = (b - c_mat).pow(2).sum() / n
    return sim + alpha * balance + beta * quant


def _check(u, codes, y):
    if u.ndim != 2 or codes.ndim != 2 or y.ndim != 2:
        raise ValueError("u (B, K), codes (C, K) and y (B, C) must be 2-D")
    if u.shape[1] != codes.shape[1] or y.shape != (u.shape[0], codes.shape[0]):
        raise ValueError(f"shape mismatch: u {tuple(u.shape)}, codes {tuple(codes.shape)}, y {tuple(y.shape)}")
    if bool((y.sum(1) == 0).any()):
        raise ValueError("every sample needs at least one positive label")


def partial_softmax_loss(u: torch.Tensor, codes: torch.Tensor, y: torch.Tensor, mu: float = 0.2,
                         eta: float = 0.2, extra_one_per_positive: bool = False) -> torch.Tensor:
    """mean_i (1/|Γ_i|) Σ_{j∈Γ_i} -log[ e^{η(u_iᵀb_j - μK)} / (e^{η(u_iᵀb_j - μK)} + Σ_{q∈Ψ_i} e^{η u_iᵀb_q}) ].

    u: (B, K); codes: (C, K) ±1 category codes b_c; y: (B, C) multi-hot. Each positive competes only with
    the negatives Ψ_i: the other positives are absent from its denominator (the fixed upstream bug added
    e⁰ = 1 per positive there instead). -log(e^a / (e^a + e^L)) = softplus(L - a), computed stably.
    extra_one_per_positive=True reproduces that old code: |Γ_i| more terms e⁰ in every denominator.
    Taught in: notebooks/05_psldh_partial_softmax.ipynb, section Derivation and Step-by-step implementation.
    """
    _check(u, codes, y)
    pos = y.bool()
    k = u.shape[1]
    logit = eta * (u @ codes.to(u.dtype).t())                       # (B, C)
    pos_logit = logit - eta * mu * k
    # logsumexp over negatives; a row without negatives gets a finite -huge value (its terms vanish)
    very_neg = torch.finfo(u.dtype).min
    neg_lse = torch.logsumexp(logit.masked_fill(pos, very_neg), 1, keepdim=True)
    neg_lse = torch.where((~pos).any(1, keepdim=True), neg_lse, torch.full_like(neg_lse, very_neg))
    if extra_one_per_positive:
        neg_lse = torch.logaddexp(neg_lse, pos.sum(1, keepdim=True).to(u.dtype).log())
    per_pair = torch.nn.functional.softplus(neg_lse - pos_logit)    # (B, C), used at positives only
    per_pair = torch.where(pos, per_pair, torch.zeros_like(per_pair))
    return (per_pair.sum(1) / pos.sum(1).to(u.dtype)).mean()


def full_softmax_loss(u: torch.Tensor, codes: torch.Tensor, y: torch.Tensor, mu: float = 0.2,
                      eta: float = 0.2) -> torch.Tensor:
    """The contrast: each positive competes with ALL other classes, the other positives included:
    mean_i (1/|Γ_i|) Σ_{j∈Γ_i} -log[ e^{η(u_iᵀb_j - μK)} / (e^{η(u_iᵀb_j - μK)} + Σ_{c≠j} e^{η u_iᵀb_c}) ].

    Taught in: notebooks/05_psldh_partial_softmax.ipynb, section Derivation and Step-by-step implementation.
    """
    _check(u, codes, y)
    pos = y.bool()
    k = u.shape[1]
    logit = eta * (u @ codes.to(u.dtype).t())
    pos_logit = logit - eta * mu * k
    c = logit.shape[1]
    eye = torch.eye(c, dtype=torch.bool, device=u.device)
    # for positive j: logsumexp over c ≠ j of the plain logits
    others = logit.unsqueeze(1).expand(-1, c, -1).masked_fill(eye, torch.finfo(u.dtype).min)
    lse = torch.logsumexp(others, 2)                                  # (B, C)
    per_pair = torch.where(pos, torch.nn.functional.softplus(lse - pos_logit), torch.zeros_like(lse))
    return (per_pair.sum(1) / pos.sum(1).to(u.dtype)).mean()


def psldh_quantisation(u: torch.Tensor) -> torch.Tensor:
    """mean_i ‖sgn(u_i) - u_i‖², sgn(0) = +1 and treated as a constant."""
    b = binarize(u.detach()).to(u.dtype)
    return (b - u).pow(2).sum(1).mean()


def psldh_loss(u: torch.Tensor, codes: torch.Tensor, y: torch.Tensor, mu: float = 0.2, eta: float = 0.2,
               lam: float = 0.01, extra_one_per_positive: bool = False) -> torch.Tensor:
    """Stage 2: L = partial_softmax_loss(u, codes, y, μ, η) + λ mean_i ‖sgn(u_i) - u_i‖²,  u = tanh(z).

    extra_one_per_positive: see partial_softmax_loss.
    Taught in: notebooks/05_psldh_partial_softmax.ipynb, section Derivation and Step-by-step implementation.
    """
    return partial_softmax_loss(u, codes, y, mu, eta, extra_one_per_positive) + lam * psldh_quantisation(u)
