"""ITQ: Iterative Quantization (Gong & Lazebnik, CVPR 2011), training-free and unsupervised.

V = (X - μ) W (n, K) the PCA projection (see pca.py). ITQ looks for the rotation R (K, K), R^T R = I, that
minimises the quantisation loss Q(B, R) = ‖B − V R‖²_F over codes B ∈ {±1}^(n×K), alternating:
  - fix R: B = sgn(V R) (minimises Q elementwise);
  - fix B: Q = const − 2 tr(R^T V^T B), maximised by the orthogonal Procrustes solution: V^T B = U Σ Ŵ^T,
    R = U Ŵ^T.
Each half-step cannot increase Q, so the loss is non-increasing over iterations (the paper runs 50).
R starts from a seeded random rotation. Codes: b = sgn((x − μ) W R).
"""
from __future__ import annotations

import torch

from ..codes import binarize
from ..models import CentredProjection
from .base import TrainingFreeMethod, register
from .pca import check_projection_input, principal_directions, random_rotation


def itq_rotation(v: torch.Tensor, iterations: int, seed: int) -> tuple[torch.Tensor, list[float]]:
    """The ITQ rotation of v (n, K) float64 and the loss ‖B − V R‖²_F / n recorded before the first update
    and after each iteration (length iterations + 1)."""
    r = random_rotation(v.shape[1], seed)
    losses = []
    for _ in range(iterations):
        b = binarize(v @ r).to(v.dtype)                   # sgn with 0 -> +1: never a 0 in a code
        losses.append(float(((b - v @ r) ** 2).sum()) / len(v))
        u, _, wh = torch.linalg.svd(v.T @ b)
        r = u @ wh
    b = binarize(v @ r).to(v.dtype)
    losses.append(float(((b - v @ r) ** 2).sum()) / len(v))
    return r, losses


@register
class ITQ(TrainingFreeMethod):
    """PCA to K dimensions, then the rotation that minimises the quantisation loss (`iterations`, default 50).
    history['quantisation_loss'] holds ‖B − VR‖²_F / n per iteration, history['rotation'] R."""
    name = "itq"
    summary = "Iterative Quantization: PCA then an orthogonal rotation minimising ‖B − VR‖² (no training)"
    defaults = {"iterations": 50}
    hparam_docs = {"iterations": "alternations of B = sgn(VR) and the Procrustes rotation R"}

    def __init__(self, bits, n_classes, seed=0, **hparams):
        super().__init__(bits, n_classes, seed, **hparams)
        it = self.hparams["iterations"]
        if not isinstance(it, int) or isinstance(it, bool) or it < 0:
            raise ValueError(f"itq: iterations must be an integer >= 0, got {it!r}")

    def build(self, x):
        x = check_projection_input(self.name, x, self.bits)
        mean, w = principal_directions(x, self.bits)
        r, losses = itq_rotation((x - mean) @ w, self.hparams["iterations"], self.seed)
        return CentredProjection(mean.float(), (w @ r).float()), {"quantisation_loss": losses, "rotation": r}
