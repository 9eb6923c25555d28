"""DCWH: Deep Class-Wise Hashing (Zhe, Chen, Yan; arXiv 1803.04137).

Each class c is an isotropic Gaussian N(μ_c, τ² I) in the space of the linear outputs u. The posterior of
the true class under equal priors is a softmax over  -(λ_cw / 2) ‖u - μ_c‖²  with λ_cw = 1/τ² (the paper's
λ = 1/σ²), and the class-wise loss is its negative log. Two penalties shape u: the cube penalty keeps every
u_k inside [-1.1, 1.1] (stage I), the vertex penalty pulls u to sgn(u) (stage II).

Every term is a mean over the B samples of a per-sample quantity (the sum over the K bits where the
formula has one), so the weights of the three terms are comparable and do not depend on the batch size.
"""
import torch
import torch.nn.functional as F

from ..codes import binarize
from ..labels import single_label_ids

__all__ = ["gaussian_logits", "class_wise_loss", "cube_penalty", "vertex_penalty", "class_means", "dcwh_loss"]


def gaussian_logits(u: torch.Tensor, centres: torch.Tensor, lam: float) -> torch.Tensor:
    """-(λ_cw / 2) ‖u_i - μ_c‖² for every sample and class: u (B, K), centres (C, K) -> (B, C).

    These are the log-densities of N(μ_c, I/λ_cw) up to a constant shared by all classes, so their
    softmax is the posterior p(c | u_i) under equal class priors.
    Taught in: notebooks/02_dcwh_class_wise.ipynb, section Derivation and Step-by-step implementation.
    """
    if lam <= 0:
        raise ValueError(f"lam (= 1/τ²) must be positive, got {lam}")
    # the explicit difference (not cdist or the ‖u‖² - 2uᵀμ + ‖μ‖² expansion) keeps the gradient exact at u = μ
    sq = (u[:, None, :] - centres[None, :, :].to(u.dtype)).pow(2).sum(-1)
    return -0.5 * lam * sq


CLASS_WISE_FORMS = ("log_softmax", "eps")


def class_wise_loss(u: torch.Tensor, y: torch.Tensor, centres: torch.Tensor, lam: float = 0.5,
                    form: str = "log_softmax") -> torch.Tensor:
    """L_cw = -(1/B) Σ_i log p(y_i | u_i),  p(c | u) = softmax_c(-(λ_cw/2) ‖u - μ_c‖²).

    u: (B, K) linear outputs; y: (B,) class ids or (B, C) one-hot; centres: (C, K) class centres μ_c.
    form "log_softmax": exact (a stable log-softmax). form "eps": the re-implementation's arithmetic,
        p_c = e^{a_c} / (Σ_j e^{a_j} + 1e-6),  L = -(1/B) Σ_i log(p_{y_i} + 1e-6),  a_c = -(λ/2)‖u - μ_c‖²,
    without subtracting the largest a: when every e^{a} is small (far centres, many bits) the two constants
    dominate and the loss and its gradient flatten (notebooks/02, "The paper and the public code").
    Taught in: notebooks/02_dcwh_class_wise.ipynb, section Derivation and Step-by-step implementation.
    """
    if form not in CLASS_WISE_FORMS:
        raise ValueError(f"form must be one of {CLASS_WISE_FORMS}, got {form!r}")
    ids = single_label_ids(y, "DCWH's class-wise loss", centres.shape[0]).to(u.device)
    a = gaussian_logits(u, centres, lam)
    if form == "log_softmax":
        return F.cross_entropy(a, ids)
    e = a.exp()
    p = e.gather(1, ids[:, None])[:, 0] / (e.sum(1) + 1e-6)
    return -torch.log(p + 1e-6).mean()


def cube_penalty(u: torch.Tensor, bound: float = 1.1) -> torch.Tensor:
    """(1/B) Σ_i Σ_k [ReLU(u_ik - bound) + ReLU(-bound - u_ik)]: zero inside the cube [-bound, bound]^K.

    Taught in: notebooks/02_dcwh_class_wise.ipynb, section Derivation and Step-by-step implementation.
    """
    return (F.relu(u - bound) + F.relu(-bound - u)).sum(1).mean()


def vertex_penalty(u: torch.Tensor) -> torch.Tensor:
    """(1/B) Σ_i ‖sgn(u_i) - u_i‖², sgn(0) = +1; sgn(u) is a constant target (its derivative is zero).

    Taught in: notebooks/02_dcwh_class_wise.ipynb, section Derivation and Step-by-step implementation.
    """
    b = binarize(u.detach()).to(u.dtype)
    return (b - u).pow(2).sum(1).mean()


@torch.no_grad()
def class_means(u: torch.Tensor, y: torch.Tensor, n_classes: int, previous: torch.Tensor | None = None) -> torch.Tensor:
    """μ_c = mean of the outputs u_i of class c: u (N, K), y (N,) ids or (N, C) one-hot -> (C, K).

    A class without samples keeps its `previous` centre (zeros when there is none).
    """
    ids = single_label_ids(y, "DCWH's class means", n_classes).to(u.device)
    sums = torch.zeros(n_classes, u.shape[1], dtype=u.dtype, device=u.device).index_add_(0, ids, u)
    counts = torch.bincount(ids, minlength=n_classes).to(u.dtype)
    means = sums / counts.clamp(min=1)[:, None]
    if previous is not None:
        means = torch.where(counts[:, None] > 0, means, previous.to(means))
    return means


def dcwh_loss(u: torch.Tensor, y: torch.Tensor, centres: torch.Tensor, lam: float = 0.5, weight_cubic: float = 10.0,
              weight_vertex: float = 0.01, stage: int = 1, bound: float = 1.1, form: str = "log_softmax") -> torch.Tensor:
    """L = L_cw + w_cube · cube_penalty(u)   (stage 1)
       L = L_cw + w_vert · vertex_penalty(u) (stage 2)

    u: (B, K) linear outputs; y: (B,) ids or (B, C) one-hot; centres: (C, K). Stage 2 drops the cube term:
    the vertex term already keeps u near the cube's vertices. form: see class_wise_loss.
    Taught in: notebooks/02_dcwh_class_wise.ipynb, section Derivation and Step-by-step implementation.
    """
    if stage not in (1, 2):
        raise ValueError(f"stage must be 1 (cube constraint) or 2 (vertex constraint), got {stage!r}")
    loss = class_wise_loss(u, y, centres, lam, form)
    if stage == 1:
        return loss + weight_cubic * cube_penalty(u, bound)
    return loss + weight_vertex * vertex_penalty(u)
