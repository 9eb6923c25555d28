"""SHREWD: Semantic Hierarchy-based Relational Embeddings for Weakly-supervised Deep hashing
(Arponen & Bishop, 2019). Only the abstracts are public: this is a reconstruction (see notebook 08).

    L = α L_sim + β L_KL
    L_sim = mean_{i<j} |d_e(i, j) − d_s(i, j)|^p,   d_e(i, j) = (1 − cos(u_i, u_j)) / 2,  p ∈ {1, 2}
    L_KL  = (1/K) KL̂(p_u ‖ Uniform{±1}^K), a nearest-neighbour (Kozachenko–Leonenko / Wang–Kulkarni–Verdú)
            estimate from the batch itself and from samples of the binary target.
The method (methods/shrewd.py) passes γ·d_s with γ = target_scale = 1/2 by default, so that the target
cosine 1 − d_s is realisable (see its docstring).
"""
import math

import torch

from ..codes import binarize

__all__ = ["embedding_distance", "similarity_loss", "knn_kl_divergence", "binary_kl_loss", "shrewd_loss"]


def embedding_distance(u: torch.Tensor) -> torch.Tensor:
    """d_e = (1 − cos(u_i, u_j)) / 2 ∈ [0, 1]: (B, K) -> (B, B)."""
    n = u / u.norm(dim=1, keepdim=True).clamp_min(1e-12)
    return ((1 - n @ n.T) / 2).clamp(0, 1)


def similarity_loss(u: torch.Tensor, d_s: torch.Tensor, power: int = 2) -> torch.Tensor:
    """L_sim = mean over pairs i<j of |d_e(i, j) − d_s(i, j)|^power.

    u: (B, K); d_s: (B, B) semantic distances of the batch's labels in [0, 1] (the only supervision used:
    weak supervision by label similarities); power 1 (absolute) or 2 (squared).
    Taught in: notebooks/08_shrewd_hierarchy.ipynb, section Derivation and Step-by-step implementation.
    """
    if power not in (1, 2):
        raise ValueError(f"power must be 1 or 2, got {power}")
    b = u.shape[0]
    if d_s.shape != (b, b):
        raise ValueError(f"d_s must be ({b}, {b}) for a batch of {b}; got {tuple(d_s.shape)}")
    i, j = torch.triu_indices(b, b, offset=1, device=u.device)
    diff = embedding_distance(u)[i, j] - d_s.to(u.dtype)[i, j]
    return diff.abs().mean() if power == 1 else diff.pow(2).mean()


def _kth_smallest(d2: torch.Tensor, k: int) -> torch.Tensor:
    return d2.topk(k, dim=1, largest=False).values[:, k - 1]


def knn_kl_divergence(x: torch.Tensor, target: torch.Tensor, k: int = 1, eps: float = 0.0) -> torch.Tensor:
    """k-NN estimate of KL(p ‖ q) from x (n, d) ~ p and target (m, d) ~ q (Wang, Kulkarni & Verdú 2009):

        KL̂ = (d / n) Σ_i log(ν_k(i) / ρ_k(i)) + log(m / (n − 1)),

    ρ_k(i): distance from x_i to its k-th nearest neighbour among the other x's; ν_k(i): to its k-th nearest
    among the target samples. eps > 0 softens both distances to sqrt(r² + eps²): it bounds the gradient 1/r of
    log r where two points (nearly) coincide, at the price of a biased estimate. Returns a scalar.
    Taught in: notebooks/08_shrewd_hierarchy.ipynb, section Derivation and Step-by-step implementation.
    """
    n, d = x.shape
    if n < k + 1 or target.shape[0] < k:
        raise ValueError(f"need at least k + 1 = {k + 1} samples and k target samples")
    if target.shape[1] != d:
        raise ValueError(f"x has {d} dimensions but the target samples have {target.shape[1]}")
    d2_xx = (x[:, None] - x[None]).pow(2).sum(-1)
    d2_xx = d2_xx + torch.diag(torch.full((n,), float("inf"), dtype=x.dtype, device=x.device))
    d2_xt = (x[:, None] - target.to(x.dtype)[None]).pow(2).sum(-1)
    # squared distances first, the root afterwards: sqrt'(0) is infinite
    rho = (_kth_smallest(d2_xx, k) + eps ** 2).sqrt()
    nu = (_kth_smallest(d2_xt, k) + eps ** 2).sqrt()
    return d * (nu.log() - rho.log()).mean() + math.log(target.shape[0] / (n - 1))


def binary_kl_loss(u: torch.Tensor, n_target: int | None = None, k: int = 1, eps: float = 0.5,
                   generator: torch.Generator | None = None) -> torch.Tensor:
    """L_KL = KL̂(p_u ‖ Uniform{±1}^K) / K for a batch u (B, K).

    n_target None: the target "sample" is the whole support {±1}^K (2^K corners, each once); the nearest
    corner to u_i is sgn(u_i), so ν_1(i) = ‖u_i − sgn(u_i)‖ and log m = K log 2, without enumerating corners
    (k must be 1). n_target = m: m corners drawn uniformly at random (the literal estimator; in high K the
    nearest of a few random corners is far and the pull is noisy).
    Divided by K so that the weight β does not have to change with the code length.
    Taught in: notebooks/08_shrewd_hierarchy.ipynb, section Derivation and Step-by-step implementation.
    """
    b, kbits = u.shape
    if n_target is None:
        if k != 1:
            raise ValueError("the full-support target (n_target=None) supports k = 1 only")
        corner = binarize(u.detach()).to(u.dtype)
        d2_xx = (u[:, None] - u[None]).pow(2).sum(-1)
        d2_xx = d2_xx + torch.diag(torch.full((b,), float("inf"), dtype=u.dtype, device=u.device))
        rho = (d2_xx.min(1).values + eps ** 2).sqrt()
        nu = ((u - corner).pow(2).sum(1) + eps ** 2).sqrt()
        kl = kbits * (nu.log() - rho.log()).mean() + kbits * math.log(2) - math.log(b - 1)
        return kl / kbits
    g = torch.randint(0, 2, (int(n_target), kbits), generator=generator).to(u.device, u.dtype) * 2 - 1
    return knn_kl_divergence(u, g, k=k, eps=eps) / kbits


def shrewd_loss(u: torch.Tensor, d_s: torch.Tensor, alpha: float = 1.0, beta: float = 0.003, power: int = 2,
                eps: float = 0.5, n_target: int | None = None, generator: torch.Generator | None = None
                ) -> torch.Tensor:
    """L = α L_sim(u, d_s) + β L_KL(u). u: (B, K) continuous codes in (−1, 1) (tanh of the head output);
    d_s: (B, B) semantic distances in [0, 1].

    Taught in: notebooks/08_shrewd_hierarchy.ipynb, section Derivation and Step-by-step implementation.
    """
    loss = alpha * similarity_loss(u, d_s, power)
    if beta:
        loss = loss + beta * binary_kl_loss(u, n_target=n_target, eps=eps, generator=generator)
    return loss
