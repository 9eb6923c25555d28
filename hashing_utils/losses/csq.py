"""CSQ: Central Similarity Quantization (Yuan et al., CVPR 2020)."""
import torch
import torch.nn.functional as F

__all__ = ["csq_loss", "sample_centres", "csq_bce_float32", "csq_pairwise_loss"]

# "logits": BCE from the logits 2z (the workbook; exact). "float32": the official code's form, see csq_bce_float32.
BCE_FORMS = ("logits", "float32")


def csq_loss(z: torch.Tensor, centres: torch.Tensor, quant_weight: float = 1e-4, bce: str = "logits") -> torch.Tensor:
    """L = mean_{i,k} BCE((u_ik + 1)/2, (h_ik + 1)/2) + λ mean_{i,k} (|u_ik| - 1)²,  u = tanh(z).

    z: (B, K) head outputs before tanh; centres: (B, K) ±1 target centre of each sample.
    (u + 1)/2 = sigmoid(2z), so the BCE is evaluated from the logits 2z, which stays finite
    where tanh saturates. bce="float32" evaluates it as the official code does instead (csq_bce_float32).
    Taught in: notebooks/01_csq_hash_centres.ipynb, section Derivation and Step-by-step implementation.
    """
    if bce not in BCE_FORMS:
        raise ValueError(f"bce must be one of {BCE_FORMS}, got {bce!r}")
    u = torch.tanh(z)
    if bce == "logits":
        bce_value = F.binary_cross_entropy_with_logits(2 * z, (centres.to(z.dtype) + 1) / 2)
    else:
        bce_value = csq_bce_float32(z, centres)
    quant = (u.abs() - 1).pow(2).mean()
    return bce_value + quant_weight * quant


def sample_centres(y: torch.Tensor, class_centres: torch.Tensor, tie_breaker: torch.Tensor) -> torch.Tensor:
    """Each sample's centre: sgn(mean of its classes' centres), zeros broken by a fixed ±1 vector.

    y: (B, C) multi-hot; class_centres: (C, K) ±1; tie_breaker: (K,) ±1 -> (B, K) ±1 float.
    For single-label y this is just the class's centre.
    Taught in: notebooks/01_csq_hash_centres.ipynb, section Derivation and Step-by-step implementation.
    """
    s = y.to(class_centres.dtype) @ class_centres
    return torch.where(s > 0, 1.0, torch.where(s < 0, -1.0, tie_breaker.to(s.dtype).expand_as(s)))


def csq_bce_float32(z: torch.Tensor, centres: torch.Tensor) -> torch.Tensor:
    """The official code's BCE: p = (tanh(z) + 1)/2 in float32, t = (h + 1)/2,
        -mean_{i,k} [ t max(log p, -100) + (1 - t) max(log(1 - p), -100) ]   (BCELoss's clamp of the log).

    Equal to the logits form while |z| is moderate; once |z| > ~9, float32 tanh is exactly ±1, p is 0 or 1, a
    wrong-signed bit costs the clamp's 100 and its gradient is 0. Returned in z's dtype.
    Taught in: notebooks/01, "The paper and the public code".
    """
    p = (torch.tanh(z.float()) + 1) / 2
    # torch's binary_cross_entropy is BCELoss: its log is clamped at -100 and its backward divides by
    # max(p(1 - p), 1e-12), so a saturated bit gets a zero (not a NaN) gradient, as in the official code
    return F.binary_cross_entropy(p, (centres.float() + 1) / 2).to(z.dtype)


def csq_pairwise_loss(u: torch.Tensor, y: torch.Tensor, alpha: float | None = None) -> torch.Tensor:
    """The pairwise term of the official code (switched on by its options, weight λ1 = 0.2; the paper's
    equation has no such term): the batch is cut into halves A (first B/2 rows) and B' (next B/2 rows), and

        mean_{i∈A, j∈B'} [ log(1 + e^{ω_ij}) - s_ij ω_ij ],   ω_ij = α u_iᵀu_j,  α = 10/K,  s_ij = [y_iᵀy_j > 0]

    (a logistic likelihood of the pair's similarity, as in HashNet). u: (B, K) tanh outputs; y: (B, C)
    multi-hot. An odd B drops its last row; B < 2 gives 0. Taught in: notebooks/01, "The paper and the public code".
    """
    h = u.shape[0] // 2
    if h == 0:
        return u.sum() * 0
    alpha = 10.0 / u.shape[1] if alpha is None else alpha
    omega = alpha * u[:h] @ u[h:2 * h].T
    s = ((y[:h].to(u.dtype) @ y[h:2 * h].to(u.dtype).T) > 0).to(u.dtype)
    return (F.softplus(omega) - s * omega).mean()
