"""SHREWD: hash codes whose distances follow a class hierarchy (a reconstruction; see notebook 08)."""
import torch

from ..hierarchy import pairwise_semantic_distance, semantic_distances
from ..losses.shrewd import shrewd_loss
from .base import HashingMethod


class SHREWD(HashingMethod):
    """Match the cosine distance of tanh codes to the semantic distance of the labels (LCA height / tree height),
    and push the batch toward a uniform distribution on {±1}^K with a nearest-neighbour KL estimate.

    Hyperparameters. The paper's values are not public (only its abstracts are), so every default below is this
    workbook's choice, not the paper's:
    - hierarchy: None (flat), a sequence of each class's parent group (index by class), or a C×C distance matrix;
    - alpha α = 1: weight of L_sim; beta β = 0.01: weight of the per-bit KL term;
    - power = 2: squared differences (d_e − d_s)²; 1 gives |d_e − d_s|;
    - kl_eps = 0.5: softening of the nearest-neighbour distances in the KL estimate (a code bit step is 2);
    - n_target = None: the whole corner set {±1}^K as the target sample (nearest corner = sgn(u));
      an int m draws m random corners per batch instead;
    - training: lr = 3e-3 (the other training settings are the workbook's common ones).

    Why power = 2, β = 0.01, lr = 3e-3 (changed from a first draft's power 1, β 0.1, lr 1e-3). Targets d_s = 1
    for every pair of different groups cannot all be met (at most two directions are antipodal). With power 1
    the loss on those pairs is linear in cos(u_i, u_j), so any arrangement whose class directions sum to zero is
    optimal, including ones that merge classes; the square is convex in cos and settles on the equidistant
    compromise (a simplex), keeping every class apart. β = 0.1 let the KL term's push away from the nearest
    batch neighbour (also a same-class one) dominate the matching term. Selected by the validation mAP that
    hu.fit computes on a 10% split of the training data (never the queries): digits, 32 bits, 20 epochs, seeds
    0 and 1, grid power {1, 2} × β {0.01, 0.03, 0.1} × lr {1e-3, 3e-3}, plus β {0, 0.003} at power 2. Mean
    validation mAP: draft 0.884; power 2, β 0.01, lr 3e-3: 1.000 (tied with β = 0, which drops the KL term;
    we keep the largest β that reaches the top score, since binarisation and balance are the term's purpose).
    """
    name = "shrewd"
    summary = "SHREWD: code distances matched to hierarchy (LCA) distances + k-NN KL toward uniform binary codes"
    defaults = {"hierarchy": None, "alpha": 1.0, "beta": 0.01, "power": 2, "kl_eps": 0.5, "n_target": None,
                "target_scale": 1.0}
    train_defaults = {"epochs": 40, "lr": 3e-3, "batch_size": 64, "weight_decay": 1e-5}

    def __init__(self, bits, n_classes, seed=0, **hparams):
        super().__init__(bits, n_classes, seed=seed, **hparams)
        h = self.hparams
        if h["power"] not in (1, 2):
            raise ValueError(f"shrewd: power must be 1 or 2, got {h['power']!r}")
        if not 0 < float(h["target_scale"]) <= 1:
            raise ValueError(f"shrewd: target_scale must be in (0, 1], got {h['target_scale']!r}")
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
        d_s = self.hparams["target_scale"] * pairwise_semantic_distance(y, y, self.semantic)
        return shrewd_loss(torch.tanh(u), d_s, alpha=h["alpha"], beta=h["beta"], power=h["power"],
                           eps=h["kl_eps"], n_target=h["n_target"], generator=self._gen)
