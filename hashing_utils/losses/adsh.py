"""ADSH: Angular Deep Supervised Hashing (Zhou, Po et al., IEEE Access 2019).

Not to be confused with Asymmetric Deep Supervised Hashing (Jiang & Li, AAAI 2018).
No official code exists; the pieces below follow the paper as summarised by the survey of Luo et al. and
the CISiPLab/cisip-FIRe re-implementation, with the readings stated in each docstring.
"""
import math

import torch
import torch.nn.functional as F

__all__ = ["cosine_logits", "sphereface_psi", "angular_margin_logits", "dynamic_cosine_logits",
           "adsh_class_code_regulariser", "adsh_loss"]

_EPS = 1e-12


def cosine_logits(u: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    """cos θ_ic = u_iᵀw_c / (‖u_i‖ ‖w_c‖).  u: (B, K), w: (C, K) -> (B, C) in [-1, 1].

    Taught in: notebooks/04_adsh_angular.ipynb, section Derivation and Step-by-step implementation.
    """
    return F.normalize(u, dim=1, eps=_EPS) @ F.normalize(w, dim=1, eps=_EPS).t()


def sphereface_psi(cos: torch.Tensor, m: int) -> torch.Tensor:
    """SphereFace's multiplicative margin ψ(θ) = (-1)^k cos(mθ) - 2k for θ ∈ [kπ/m, (k+1)π/m].

    cos(mθ) is evaluated as the Chebyshev polynomial T_m(cos θ), so the gradient stays finite at
    θ = 0 and θ = π (acos has an infinite slope there); only the integer k uses acos, without gradient.
    ψ is continuous and decreasing in θ, and ψ(θ) ≤ cos θ: the target must beat the others by an angle
    factor m.
    Taught in: notebooks/04_adsh_angular.ipynb, section Derivation and Step-by-step implementation.
    """
    if int(m) != m or m < 1:
        raise ValueError(f"the SphereFace margin m must be a positive integer, got {m!r}")
    m = int(m)
    c = cos.clamp(-1.0, 1.0)
    # T_m by the recurrence T_{n+1} = 2c T_n - T_{n-1}
    t_prev, t = torch.ones_like(c), c
    for _ in range(m - 1):
        t_prev, t = t, 2 * c * t - t_prev
    with torch.no_grad():
        k = torch.floor(m * torch.acos(c) / math.pi).clamp(0, m - 1)
    sign = 1.0 - 2.0 * torch.remainder(k, 2)
    return sign * t - 2.0 * k


def angular_margin_logits(cos: torch.Tensor, target: torch.Tensor, margin: str = "cosface", s: float = 10.0,
                          m: float = 0.2) -> torch.Tensor:
    """Margin logits from cosines. cos: (B, C'); target: (B, C') bool, one True per row.

    "cosface" (additive cosine margin): z = s (cos θ - m [target]).
    "sphereface" (multiplicative angular margin): z = s ψ_m(θ) for the target, s cos θ otherwise.
    A fixed scale s replaces SphereFace's ‖u‖ (our reading: the codes live on the hypersphere).
    Taught in: notebooks/04_adsh_angular.ipynb, section Derivation and Step-by-step implementation.
    """
    target = target.bool()
    if margin == "cosface":
        return s * (cos - m * target.to(cos.dtype))
    if margin == "sphereface":
        return s * torch.where(target, sphereface_psi(cos, m), cos)
    raise ValueError(f"margin must be 'cosface' or 'sphereface', got {margin!r}")


def dynamic_cosine_logits(u: torch.Tensor, w: torch.Tensor, y: torch.Tensor, keep_positive_columns: bool = False):
    """The dynamic softmax for multi-label rows [reading, unverified against the paper].

    A (C+1)-th "dynamic class" whose vector is the mean of w_c over the positives Γ_i is the target;
    the positive classes' own columns are removed from the softmax (set to -inf), so the sample competes
    only with its negatives. (FIRe keeps them in the denominator; see the notebook.)
    u: (B, K), w: (C, K), y: (B, C) multi-hot with at least one 1 per row.
    Returns cos (B, C+1) with -inf at positive columns, and the target mask (B, C+1) (True in the last column).
    For a single-label row this is exactly the plain cosine softmax with the class column moved to the end.
    keep_positive_columns=True is FIRe's form: the positives' own columns stay in the softmax as non-targets
    (no -inf), so even a one-hot row has its class twice, once with the margin (the target) and once without;
    its loss cannot fall below log(1 + e^{sm}). Taught in: notebooks/04, "The paper and the public code".
    """
    y = y.to(u.dtype)
    n_pos = y.sum(1, keepdim=True)
    if bool((n_pos == 0).any()):
        raise ValueError("every sample needs at least one positive label")
    cos = cosine_logits(u, w)
    w_dyn = (y @ w) / n_pos                      # (B, K): mean class vector of the positives
    cos_dyn = (F.normalize(u, dim=1, eps=_EPS) * F.normalize(w_dyn, dim=1, eps=_EPS)).sum(1, keepdim=True)
    if not keep_positive_columns:
        cos = cos.masked_fill(y.bool(), float("-inf"))
    target = torch.zeros(cos.shape[0], cos.shape[1] + 1, dtype=torch.bool, device=u.device)
    target[:, -1] = True
    return torch.cat([cos, cos_dyn], 1), target


def adsh_class_code_regulariser(w: torch.Tensor, alpha: float = 1.0, beta: float = 1.0) -> torch.Tensor:
    """R = -α mean_{c<c'} d_cc' + β var_{c<c'} d_cc',  d_cc' = (K - B_cᵀB_c') / 2,  B_c = tanh(w_c / ‖w_c‖).

    w: (C, K) class vectors, C ≥ 3 (the variance needs two pairs). Raising the mean and lowering the variance
    of inter-class distances spreads the class codes evenly. Because ‖w_c/‖w_c‖‖ = 1, every entry is small
    and tanh is nearly the identity, so d_cc' ≈ K/2 - cos(w_c, w_c')/2 (a soft, angular "Hamming distance").
    Taught in: notebooks/04_adsh_angular.ipynb, section Derivation and Step-by-step implementation.
    """
    if w.shape[0] < 3:
        raise ValueError(f"the class-code regulariser needs at least 3 classes, got {w.shape[0]}")
    b = torch.tanh(F.normalize(w, dim=1, eps=_EPS))
    d = 0.5 * (w.shape[1] - b @ b.t())
    i, j = torch.triu_indices(w.shape[0], w.shape[0], 1, device=w.device)
    pairs = d[i, j]
    return -alpha * pairs.mean() + beta * pairs.var()


def adsh_loss(u: torch.Tensor, w: torch.Tensor, y: torch.Tensor, margin: str = "cosface", s: float = 10.0,
              m: float = 0.2, alpha: float = 1.0, beta: float = 1.0, keep_positive_columns: bool = False) -> torch.Tensor:
    """L = mean_i CE(margin logits of the dynamic softmax, target) + R(w).

    u: (B, K) codes, w: (C, K) learnable class vectors, y: (B, C) multi-hot (one-hot for single-label data).
    keep_positive_columns: see dynamic_cosine_logits (False: the workbook; True: FIRe's multi-label form).
    Taught in: notebooks/04_adsh_angular.ipynb, section Derivation and Step-by-step implementation.
    """
    cos, target = dynamic_cosine_logits(u, w, y, keep_positive_columns)
    finite = torch.isfinite(cos)
    logits = angular_margin_logits(cos.masked_fill(~finite, 0.0), target, margin, s, m)
    logits = logits.masked_fill(~finite, float("-inf"))
    ce = -(torch.log_softmax(logits, 1)[:, -1]).mean()
    return ce + adsh_class_code_regulariser(w, alpha, beta)
