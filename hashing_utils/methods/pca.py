"""PCA hashing: project the centred input on its top-K principal directions, rotate, take signs (no training).

With X (n, d) centred, the covariance X^T X / n = Q Λ Q^T (eigenvalues descending); W = Q[:, :K] (d, K).
The K projections have very unequal variances, so the low-variance bits are noise; a random orthogonal
rotation R (K, K) spreads the variance over all bits (Gong & Lazebnik 2011, "PCA-RR"): b = sgn((x - μ) W R).
Usable on raw inputs (flattened) and on frozen backbone features (n, F). Shared helpers for ITQ live here.
"""
from __future__ import annotations

import torch

from ..models import CentredProjection
from .base import TrainingFreeMethod, register


def check_projection_input(name: str, x: torch.Tensor, bits: int) -> torch.Tensor:
    """x (n, ...) checked by training.as_input -> flattened float64 (n, d), with a clear error when it has too
    few rows or too few principal directions for `bits`."""
    x = x.flatten(1).to(torch.float64)
    if len(x) < 2:
        raise ValueError(f"{name}: X needs at least 2 rows to estimate principal directions, got {len(x)}")
    if bits > min(x.shape[1], len(x) - 1):
        raise ValueError(f"{name}: bits={bits} exceeds the number of principal directions of X "
                         f"(min(d={x.shape[1]}, n-1={len(x) - 1})); use at most that many bits")
    return x


def principal_directions(x: torch.Tensor, bits: int) -> tuple[torch.Tensor, torch.Tensor]:
    """mean μ (d,) and the top-`bits` principal directions W (d, bits) of x (n, d), in float64.

    Each column's sign is fixed (largest-|entry| positive) so the result does not depend on the
    eigen-solver's arbitrary sign choice."""
    mean = x.mean(0)
    xc = x - mean
    if x.shape[1] <= len(x):
        _, vecs = torch.linalg.eigh(xc.T @ xc)            # ascending eigenvalues
        w = vecs.flip(1)[:, :bits]
    else:                                                 # d > n: the right singular vectors are cheaper
        w = torch.linalg.svd(xc, full_matrices=False).Vh[:bits].T
    pivot = w.abs().argmax(0)
    w = w * torch.where(w[pivot, torch.arange(bits)] < 0, -1.0, 1.0).to(w.dtype)
    return mean, w


def random_rotation(k: int, seed: int) -> torch.Tensor:
    """A seeded random orthogonal (k, k) matrix: Q of the QR of a Gaussian matrix, with the signs of R's
    diagonal folded in so that it is Haar-distributed (Mezzadri 2007)."""
    g = torch.Generator().manual_seed(int(seed))
    q, r = torch.linalg.qr(torch.randn(k, k, generator=g, dtype=torch.float64))
    return q * torch.where(torch.diagonal(r) < 0, -1.0, 1.0).to(q.dtype)


@register
class PCAHash(TrainingFreeMethod):
    """PCA to K bits plus a seeded random rotation (hyperparameter `rotate`, default True)."""
    name = "pca"
    summary = "PCA hashing: signs of the top-K principal projections after a random rotation (no training)"
    defaults = {"rotate": True}
    hparam_docs = {"rotate": "apply a seeded random rotation after PCA (PCA-RR); False: plain PCA signs"}

    def __init__(self, bits, n_classes, seed=0, **hparams):
        super().__init__(bits, n_classes, seed, **hparams)
        if not isinstance(self.hparams["rotate"], bool):
            raise TypeError(f"pca: rotate must be True or False, got {self.hparams['rotate']!r}")

    def build(self, x):
        x = check_projection_input(self.name, x, self.bits)
        mean, w = principal_directions(x, self.bits)
        if self.hparams["rotate"]:
            w = w @ random_rotation(self.bits, self.seed)
        return CentredProjection(mean.float(), w.float()), {}
