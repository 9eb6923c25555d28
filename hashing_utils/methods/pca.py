"""PCA hashing: project the centred input on its top-K principal directions, rotate, take signs (no training).

With X (n, d) centred, the covariance X^T X / n = Q Λ Q^T (eigenvalues descending); W = Q[:, :K] (d, K).
The K projections have very unequal variances, so the low-variance bits are noise; a random orthogonal
rotation R (K, K) spreads the variance over all bits (Gong & Lazebnik 2011, "PCA-RR"): b = sgn((x - μ) W R).
Usable on raw inputs (flattened) and on frozen backbone features (n, F). Shared helpers for ITQ live here.
"""
from __future__ import annotations

import numpy as np
import torch

from ..devices import pick_device
from ..models import CentredProjection
from ..training import Hasher, _as_input
from .base import HashingMethod

# settings that trained methods take: accepted and unused by the training-free ones (as in lsh)
IGNORED = {"epochs", "lr", "batch_size", "weight_decay", "backbone", "val_fraction", "progress"}


def check_fit_args(name: str, X, bits, training: dict) -> torch.Tensor:
    """Validate the common arguments of a training-free fit; returns X flattened to float64 (n, d)."""
    unknown = set(training) - IGNORED
    if unknown:
        raise TypeError(f"{name}: unknown argument(s) {sorted(unknown)}")
    x = _as_input(X).flatten(1).to(torch.float64)
    if not isinstance(bits, (int, np.integer)) or isinstance(bits, bool) or bits < 2:
        raise ValueError(f"{name}: bits must be an integer >= 2, got {bits!r}")
    if len(x) < 2:
        raise ValueError(f"{name}: X needs at least 2 rows to estimate principal directions, got {len(x)}")
    if bits > min(x.shape[1], len(x) - 1):
        raise ValueError(f"{name}: bits={bits} exceeds the number of principal directions of X "
                         f"(min(d={x.shape[1]}, n-1={len(x) - 1})); use at most that many bits")
    if not bool(torch.isfinite(x).all()):
        raise ValueError(f"{name}: X contains NaN or infinite values")
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


class PCAHash(HashingMethod):
    """PCA to K bits plus a seeded random rotation (hyperparameter `rotate`, default True)."""
    name = "pca"
    summary = "PCA hashing: signs of the top-K principal projections after a random rotation (no training)"
    supervised = False
    defaults = {"rotate": True}
    train_defaults: dict = {}

    @classmethod
    def fit(cls, X, y=None, bits: int = 32, seed: int = 0, *, device=None, rotate: bool = True, **training):
        """No training: `training` settings (epochs, lr, ...) that other methods take are accepted and unused."""
        x = check_fit_args(cls.name, X, bits, training)
        if not isinstance(rotate, bool):
            raise TypeError(f"pca: rotate must be True or False, got {rotate!r}")
        mean, w = principal_directions(x, bits)
        if rotate:
            w = w @ random_rotation(bits, seed)
        method = cls(bits, 0 if y is None else 1, seed=seed, rotate=rotate)
        model = CentredProjection(mean.float(), w.float())
        device = pick_device(device) if not isinstance(device, torch.device) else device
        return Hasher(method, model.to(device), device, {},
                      {"method": cls.name, "bits": bits, "seed": seed, "rotate": rotate})
