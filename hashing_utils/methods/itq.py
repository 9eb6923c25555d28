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
from ..devices import pick_device
from ..models import CentredProjection
from ..training import Hasher
from .base import HashingMethod
from .pca import check_fit_args, principal_directions, random_rotation


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


class ITQ(HashingMethod):
    """PCA to K dimensions, then the rotation that minimises the quantisation loss (`iterations`, default 50)."""
    name = "itq"
    summary = "Iterative Quantization: PCA then an orthogonal rotation minimising ‖B − VR‖² (no training)"
    supervised = False
    defaults = {"iterations": 50}
    train_defaults: dict = {}

    @classmethod
    def fit(cls, X, y=None, bits: int = 32, seed: int = 0, *, device=None, iterations: int = 50, **training):
        """No gradient training: `training` settings (epochs, lr, ...) are accepted and unused.
        history['quantisation_loss'] holds ‖B − VR‖²_F / n per iteration."""
        x = check_fit_args(cls.name, X, bits, training)
        if not isinstance(iterations, int) or isinstance(iterations, bool) or iterations < 0:
            raise ValueError(f"itq: iterations must be an integer >= 0, got {iterations!r}")
        mean, w = principal_directions(x, bits)
        r, losses = itq_rotation((x - mean) @ w, iterations, seed)
        method = cls(bits, 0 if y is None else 1, seed=seed, iterations=iterations)
        model = CentredProjection(mean.float(), (w @ r).float())
        device = pick_device(device) if not isinstance(device, torch.device) else device
        return Hasher(method, model.to(device), device, {"quantisation_loss": losses, "rotation": r},
                      {"method": cls.name, "bits": bits, "seed": seed, "iterations": iterations})
