"""SHREWD: hash codes whose distances follow a class hierarchy (a reconstruction; see notebook 08)."""
import torch

from ..hierarchy import pairwise_semantic_distance, semantic_distances
from ..losses.shrewd import shrewd_loss
from .base import HashingMethod


class SHREWD(HashingMethod):
    """Match the cosine distance of tanh codes to the semantic distance of the labels (LCA height / tree height),
    and push the batch toward a uniform distribution on {±1}^K with a nearest-neighbour KL estimate.

    Hyperparameters (the paper's values are not public; these are this workbook's defaults):
    - hierarchy: None (flat), a sequence of each class's parent group (index by class), or a C×C distance matrix;
    - alpha α = 1: weight of L_sim; beta β = 0.1: weight of the per-bit KL term;
    - power = 1: |d_e − d_s| (2: squared);
    - kl_eps = 0.5: softening of the nearest-neighbour distances in the KL estimate (a code bit step is 2);
    - n_target = None: the whole corner set {±1}^K as the target sample (nearest corner = sgn(u));
      an int m draws m random corners per batch instead.
    The loss sees only the batch's pairwise semantic distances, never the labels themselves (weak supervision).
    """
    name = "shrewd"
    summary = "SHREWD: code distances matched to hierarchy (LCA) distances + k-NN KL toward uniform binary codes"
    defaults = {"hierarchy": None, "alpha": 1.0, "beta": 0.1, "power": 1, "kl_eps": 0.5, "n_target": None}
    train_defaults = {"epochs": 40, "lr": 1e-3, "batch_size": 64, "weight_decay": 1e-5}

    def __init__(self, bits, n_classes, seed=0, **hparams):
        super().__init__(bits, n_classes, seed=seed, **hparams)
        h = self.hparams
        if h["power"] not in (1, 2):
            raise ValueError(f"shrewd: power must be 1 or 2, got {h['power']!r}")
        for key in ("alpha", "beta", "kl_eps"):
            if not float(h[key]) >= 0:
                raise ValueError(f"shrewd: {key} must be >= 0, got {h[key]!r}")
        if h["n_target"] is not None and int(h["n_target"]) < 1:
            raise ValueError(f"shrewd: n_target must be None or a positive integer, got {h['n_target']!r}")
        # checked here, before any training, so that a bad hierarchy fails at once with a clear message
        self.register_buffer("semantic", semantic_distances(h["hierarchy"], n_classes))
        self._gen = torch.Generator().manual_seed(seed + 2_003)

    def loss(self, u, y):
        h = self.hparams
        d_s = pairwise_semantic_distance(y, y, self.semantic)
        return shrewd_loss(torch.tanh(u), d_s, alpha=h["alpha"], beta=h["beta"], power=h["power"],
                           eps=h["kl_eps"], n_target=h["n_target"], generator=self._gen)
