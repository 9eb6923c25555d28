"""CSQ: Central Similarity Quantization (Yuan et al., CVPR 2020)."""
import torch
import torch.nn.functional as F

__all__ = ["csq_loss", "sample_centres"]


def csq_loss(z: torch.Tensor, centres: torch.Tensor, quant_weight: float = 1e-4) -> torch.Tensor:
    """L = mean_{i,k} BCE((u_ik + 1)/2, (h_ik + 1)/2) + λ mean_{i,k} (|u_ik| - 1)²,  u = tanh(z).

    z: (B, K) head outputs before tanh; centres: (B, K) ±1 target centre of each sample.
    (u + 1)/2 = sigmoid(2z), so the BCE is evaluated from the logits 2z, which stays finite
    where tanh saturates.
    Taught in: notebooks/01_csq_hash_centres.ipynb, section Derivation and Step-by-step implementation.
    """
    u = torch.tanh(z)
    bce = F.binary_cross_entropy_with_logits(2 * z, (centres.to(z.dtype) + 1) / 2)
    quant = (u.abs() - 1).pow(2).mean()
    return bce + quant_weight * quant


def sample_centres(y: torch.Tensor, class_centres: torch.Tensor, tie_breaker: torch.Tensor) -> torch.Tensor:
    """Each sample's centre: sgn(mean of its classes' centres), zeros broken by a fixed ±1 vector.

    y: (B, C) multi-hot; class_centres: (C, K) ±1; tie_breaker: (K,) ±1 -> (B, K) ±1 float.
    For single-label y this is just the class's centre.
    Taught in: notebooks/01_csq_hash_centres.ipynb, section Derivation and Step-by-step implementation.
    """
    s = y.to(class_centres.dtype) @ class_centres
    return torch.where(s > 0, 1.0, torch.where(s < 0, -1.0, tie_breaker.to(s.dtype).expand_as(s)))
