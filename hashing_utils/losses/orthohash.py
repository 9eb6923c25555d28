"""OrthoHash: one loss for all (Hoe, Ng, Ng, Chan, Chan, Chan, NeurIPS 2021).

A code v is scored against C fixed ±1 target codes o_c by its cosine, a margin is applied to the
classes the sample belongs to, and a softmax cross-entropy with label-smoothed targets ỹ = y / Σy
is minimised. Because ‖v − b‖² = 2K(1 − cos θ_vb) when ‖v‖ = √K and b ∈ {±1}^K, raising the cosine
to the target also lowers the quantisation error, so no separate quantisation term is needed.
"""
import torch
import torch.nn.functional as F

__all__ = ["orthohash_cosines", "orthohash_logits", "orthohash_loss", "smoothed_targets"]

VARIANTS = ("cos", "arc")


def orthohash_cosines(v: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """cos θ_nc = v_nᵀ o_c / (‖v_n‖ ‖o_c‖).  v: (B, K) codes; targets: (C, K) ±1 -> (B, C)."""
    if v.ndim != 2 or targets.ndim != 2 or v.shape[1] != targets.shape[1]:
        raise ValueError(f"need v (B, K) and targets (C, K) with the same K; got {tuple(v.shape)} "
                         f"and {tuple(targets.shape)}")
    return F.normalize(v, dim=1) @ F.normalize(targets.to(v.dtype), dim=1).T


def orthohash_logits(v: torch.Tensor, targets: torch.Tensor, y: torch.Tensor, s: float = 8.0, m: float = 0.2,
                     variant: str = "cos", eps: float = 1e-12, arc_clamp: float = 0.0) -> torch.Tensor:
    """Margin logits (B, C).

    OrthoCos: z_nc = s (cos θ_nc − m y_nc);  OrthoArc: z_nc = s cos(θ_nc + m y_nc).
    v: (B, K); targets: (C, K) ±1; y: (B, C) multi-hot. OrthoArc is evaluated as
    cos θ cos(m y) − sin θ sin(m y) with sin θ = √max(1 − cos² θ, eps): the same value as cos(arccos(·) + m y)
    without arccos, whose derivative is infinite at cos θ = ±1.
    arc_clamp > 0 (OrthoArc only) computes it as the public code does instead: θ = arccos(clamp(cos θ, −1 + c, 1 − c)),
    z = s cos(θ + m y) with c = arc_clamp (the code: 1e-5), so every logit whose cosine lies beyond ±(1 − c) (a
    code within about √(2c) rad of a target) is constant and passes no gradient.
    """
    if arc_clamp < 0 or arc_clamp >= 1:
        raise ValueError(f"arc_clamp must lie in [0, 1), got {arc_clamp!r}")
    if variant not in VARIANTS:
        raise ValueError(f"variant must be one of {VARIANTS}, got {variant!r}")
    cos = orthohash_cosines(v, targets)
    if y.shape != cos.shape:
        raise ValueError(f"labels y must be (B, C) = {tuple(cos.shape)}; got {tuple(y.shape)}")
    y = y.to(cos.dtype)
    if variant == "cos":
        return s * (cos - m * y)
    if arc_clamp > 0:
        theta = torch.acos(cos.clamp(-1 + arc_clamp, 1 - arc_clamp))
        return s * torch.cos(theta + m * y)
    sin = (1 - cos * cos).clamp_min(eps).sqrt()  # θ ∈ [0, π], so sin θ ≥ 0
    return s * (cos * torch.cos(m * y) - sin * torch.sin(m * y))


def smoothed_targets(y: torch.Tensor) -> torch.Tensor:
    """ỹ = y / Σ_c y_c: a sample with L labels puts mass 1/L on each. (B, C) -> (B, C).
    Rows without any label have no target distribution and are rejected.

    Taught in: notebooks/06_orthohash_one_loss.ipynb, section Derivation and Step-by-step implementation.
    """
    y = y.to(torch.get_default_dtype()) if not y.is_floating_point() else y
    if bool((y < 0).any()):
        raise ValueError("labels must be non-negative (multi-hot)")
    total = y.sum(1, keepdim=True)
    if bool((total <= 0).any()):
        raise ValueError("every sample needs at least one label; got a row of zeros")
    return y / total


def orthohash_loss(v: torch.Tensor, targets: torch.Tensor, y: torch.Tensor, s: float = 8.0, m: float = 0.2,
                   variant: str = "cos", arc_clamp: float = 0.0) -> torch.Tensor:
    """L = −(1/B) Σ_n Σ_c ỹ_nc log softmax_c(z_n), z from orthohash_logits, ỹ = y / Σy.

    v: (B, K) head outputs (after BatchNorm); targets: (C, K) ±1; y: (B, C) multi-hot. Returns a scalar.
    arc_clamp: see orthohash_logits (0: exact; 1e-5: the public code's clamp before arccos).
    Taught in: notebooks/06_orthohash_one_loss.ipynb, section Derivation and Step-by-step implementation.
    """
    z = orthohash_logits(v, targets, y, s, m, variant, arc_clamp=arc_clamp)
    return -(smoothed_targets(y).to(z.dtype) * F.log_softmax(z, dim=1)).sum(1).mean()
