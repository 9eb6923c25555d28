"""DCHML (published as DCPH): Deep Cross-modal Hashing via Margin-dynamic-softmax Loss (Tu, Mao et al.).

Three pieces, each a plain function of tensors:
- proxy_code_loss: the category ("proxy hashing") network's objective: PSLDH's category_code_loss itself
  (DCHML only says "a proxy hashing network"; PSLDH, by the same authors, spells one out).
- margin_dynamic_softmax_loss: one dynamic positive logit per sample (the mean similarity to its categories'
  proxies, minus a margin σ) against the logits of its negative categories, all scaled by γ.
- shared_codes / quantization_loss: B = sgn(B_image + B_text) and λ‖B − u‖².
- coupling_loss: the cross-modal term. Its published form was not found; this is a reading (see its docstring).
- cross_modal_softmax_loss: the PaddlePaddle port's cross-modal term, the only public evidence for its form.
"""
import torch

from ..codes import binarize
from .psldh import category_code_loss

__all__ = ["proxy_code_loss", "margin_dynamic_softmax_loss", "dynamic_positive_similarity", "shared_codes",
           "quantization_loss", "coupling_loss", "cross_modal_softmax_loss"]

COUPLINGS = ("squared", "softmax")


# The proxy network's objective IS PSLDH's category-code loss (one loss, two names: DCHML calls the codes proxies).
proxy_code_loss = category_code_loss


def dynamic_positive_similarity(u: torch.Tensor, y: torch.Tensor, proxies: torch.Tensor) -> torch.Tensor:
    """s_i⁺ = (1/|Γ_i|) Σ_{j∈Γ_i} u_iᵀc_j, the 'dynamic' positive similarity.

    u: (B, K); y: (B, C) multi-hot, every row with at least one 1; proxies: (C, K). Returns (B,).
    Taught in: notebooks/07_dchml_cross_modal.ipynb, section Derivation and Step-by-step implementation.
    """
    s = u @ proxies.to(u.dtype).T
    yf = y.to(u.dtype)
    return (s * yf).sum(1) / yf.sum(1)


def margin_dynamic_softmax_loss(u: torch.Tensor, y: torch.Tensor, proxies: torch.Tensor,
                                margin: float, scale: float, extra_one_per_positive: bool = False) -> torch.Tensor:
    """mean_i ℓ_i with ℓ_i = −log[ e^{γ(s_i⁺ − σ)} / ( e^{γ(s_i⁺ − σ)} + Σ_{q∈Ψ_i} e^{γ u_iᵀc_q} ) ].

    u: (B, K) continuous codes (tanh outputs); y: (B, C) multi-hot labels (Γ_i = its 1s, Ψ_i = its 0s);
    proxies: (C, K) ±1 proxy codes; margin σ (in inner-product units, the paper uses 0.3K); scale γ.
    The C − |Γ_i| negative logits and the one positive logit go through one logsumexp (stable for any γ);
    positive classes are masked out of the denominator with −inf.
    extra_one_per_positive=True reproduces the PaddlePaddle port's fault (the one PSLDH fixed upstream): each
    positive class adds e⁰ = 1 to the denominator, i.e. |Γ_i| more terms of logit 0.
    Taught in: notebooks/07_dchml_cross_modal.ipynb, section Derivation and Step-by-step implementation.
    """
    if y.shape != (u.shape[0], proxies.shape[0]):
        raise ValueError(f"labels must be (B, C) = ({u.shape[0]}, {proxies.shape[0]}), got {tuple(y.shape)}")
    if bool((y.sum(1) == 0).any()):
        raise ValueError("every sample needs at least one positive class (a row of y is all zeros)")
    s = u @ proxies.to(u.dtype).T                                  # (B, C) u_iᵀc_j
    yf = y.to(u.dtype)
    pos = scale * ((s * yf).sum(1) / yf.sum(1) - margin)            # (B,) γ(s⁺ − σ)
    neg = (scale * s).masked_fill(y.bool(), float("-inf"))          # (B, C) γ u_iᵀc_q, q ∈ Ψ_i
    logits = torch.cat([pos[:, None], neg], dim=1)
    if extra_one_per_positive:
        logits = torch.cat([logits, torch.zeros_like(s).masked_fill(~y.bool(), float("-inf"))], dim=1)
    return (torch.logsumexp(logits, dim=1) - pos).mean()


def shared_codes(b_image: torch.Tensor, b_text: torch.Tensor, u_image: torch.Tensor | None = None,
                 u_text: torch.Tensor | None = None) -> torch.Tensor:
    """B = sgn(B_image + B_text), (N, K) ±1.

    Where the two modalities' bits disagree the sum is 0; the paper does not say what sgn(0) is. Here the tie
    goes to the sign of the continuous sum u_image + u_text when given (the modality that is more confident
    wins), else to +1 (the workbook's sgn(0) = +1).
    Taught in: notebooks/07_dchml_cross_modal.ipynb, section Derivation and Step-by-step implementation.
    """
    s = b_image.to(torch.float32) + b_text.to(torch.float32)
    if u_image is not None and u_text is not None:
        s = torch.where(s == 0, (u_image + u_text).to(torch.float32), s)
    return binarize(s).float()


def quantization_loss(u: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """mean_i ‖b_i − u_i‖² (summed over the K bits). u: (B, K); b: (B, K) ±1 shared codes.

    Taught in: notebooks/07_dchml_cross_modal.ipynb, section Derivation and Step-by-step implementation.
    """
    return (b.to(u.dtype) - u).pow(2).sum(1).mean()


def coupling_loss(u: torch.Tensor, u_other: torch.Tensor) -> torch.Tensor:
    """mean_i ‖u_i − v_i‖² / K, v_i the other modality's continuous code of the same pair (held fixed).

    A reading: the paper couples the two networks by a cross-modal term whose exact form was not found.
    This one pulls the two continuous codes of a pair together (the shared B couples only their signs).
    u, u_other: (B, K).
    Taught in: notebooks/07_dchml_cross_modal.ipynb, section Derivation and Step-by-step implementation.
    """
    return (u - u_other.to(u.dtype)).pow(2).sum(1).mean() / u.shape[1]


def cross_modal_softmax_loss(u: torch.Tensor, v: torch.Tensor, y: torch.Tensor, proxies: torch.Tensor,
                             margin: float, scale: float) -> torch.Tensor:
    """The PaddlePaddle port's cross-modal term (the only public evidence for its form; not the authors' code):

        −mean_i log[ e^{γ(s⁺_i(u) − σ)} / ( Σ_{q∈Ψ_i} e^{γ v_iᵀc_q} + e^{γ(s⁺_i(v) − σ)} ) ]

    u's dynamic positive logit against the OTHER modality's denominator (v's positive and negative logits).
    u: (B, K) this network's codes; v: (B, K) the other modality's codes of the same pairs (held fixed);
    y: (B, C) multi-hot; proxies: (C, K); margin σ; scale γ. The numerator is not in the denominator, so the
    value can be negative; with v fixed its gradient is that of −γ s⁺_i(u): a linear pull of u toward the mean
    of its positive proxies. The port weights it 0.1. Taught in: notebooks/07, "The paper and the public code".
    """
    if u.shape != v.shape:
        raise ValueError(f"u and v must have the same shape (B, K); got {tuple(u.shape)} and {tuple(v.shape)}")
    pos_u = scale * (dynamic_positive_similarity(u, y, proxies) - margin)
    v = v.to(u.dtype)
    pos_v = scale * (dynamic_positive_similarity(v, y, proxies) - margin)
    neg_v = (scale * v @ proxies.to(u.dtype).T).masked_fill(y.bool(), float("-inf"))
    return (torch.logsumexp(torch.cat([pos_v[:, None], neg_v], 1), 1) - pos_u).mean()
