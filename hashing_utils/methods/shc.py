"""SHC: Deep Hashing with Semantic Hash Centers (Chen, Liu et al., ACM TOIS 2025; arXiv 2507.08404)."""
from __future__ import annotations

import copy

import torch
from torch import nn

from ..codes import (balanced_codebook, bernoulli_codebook, gilbert_varshamov_distance, hadamard_codebook,
                     max_distance_codebook, min_pairwise_distance)
from ..devices import child_seed, fork_rng
from ..losses.shc import SIMILARITY_ORDERS, class_similarity, optimise_semantic_centres, shc_loss
from ..training import TrainingStep, forward_in_batches, train_model
from .base import TrainedMethod, register


def initial_centres(n_classes: int, bits: int, min_distance: int, seed: int = 0) -> torch.Tensor:
    """Feasible starting centres (C, K) int8 with pairwise distance >= d: Hadamard rows when they exist
    (distance K/2), else random balanced codes, else greedy max-min-distance codes. The paper starts from
    its MDS (minimum-distance-separated) centres; any feasible codebook serves the same purpose."""
    tries = []
    if bits & (bits - 1) == 0 and n_classes <= 2 * bits:
        tries.append(lambda: hadamard_codebook(n_classes, bits))
    tries.append(lambda: balanced_codebook(n_classes, bits, seed=seed, min_distance=min_distance, max_tries=300))
    tries.append(lambda: max_distance_codebook(n_classes, bits, seed=seed, n_candidates=4000))
    best = None
    for make in tries:
        try:
            h = make()
        except RuntimeError:
            continue
        if min_pairwise_distance(h) >= min_distance:
            return h
        best = h
    raise ValueError(f"no {n_classes} centres of {bits} bits at distance >= {min_distance} found "
                     f"(best {min_pairwise_distance(best) if best is not None else 'none'}); use more bits")


class ClassifierStep(TrainingStep):
    """SHC's stage 1 in the training loop: softmax cross-entropy of the logits against class ids."""
    name = "shc classifier"

    def loss(self, z, y):
        return nn.functional.cross_entropy(z, y)


@register
class SHC(TrainedMethod):
    """Semantic hash centres: a classifier's confusions give the class similarity S (stage 1); binary
    centres follow S under the Gilbert–Varshamov minimum distance d (stage 2); the network is trained
    with the CSQ loss toward them (stage 3).

    Hyperparameters (paper defaults): quant_weight γ = 1e-4 (stage 3); rho ρ = 0.2, mu μ = 0.625,
    beta β = 1e-6, eta η = 0.5, cycles 20 × inner 3 (stage 2); min_distance None = the GV value
    hu.codes.gilbert_varshamov_distance(C, K). classifier_epochs (stage 1, ours: the paper trains a
    classifier to convergence; a few epochs of a linear head on a fresh copy of the backbone are enough
    to read the confusions and keep this cheap), classifier_lr 1e-3.
    similarity_order "normalise_first" (the paper: each row normalised, then symmetrised) or "symmetrise_first"
    (the released code's order, whose S is not symmetric); the released code also runs cycles=30 (paper 20).
    After setup: self.similarity (C, C), self.class_centres (C, K), self.init_centres, self.centre_history,
    self.min_distance, self.classifier_accuracy (on the training data).
    """
    name = "shc"
    summary = "Semantic Hash Centres: classifier-derived class similarity -> centres at GV distance -> CSQ loss"
    multi_label = False
    defaults = {"quant_weight": 1e-4, "rho": 0.2, "mu": 0.625, "beta": 1e-6, "eta": 0.5, "cycles": 20,
                "inner": 3, "min_distance": None, "classifier_epochs": 3, "classifier_lr": 1e-3, "similarity_order": "normalise_first"}
    hparam_docs = {"quant_weight": "γ: weight of the quantisation term of the stage-3 CSQ loss",
                   "rho": "ρ: penalty weight of the splitting H ≈ M in the centre optimisation (stage 2)",
                   "mu": "μ: weight of the bit-balance term (μ/K) Σ h_iᵀh_j in the centre objective",
                   "beta": "β: penalty weight of the minimum-distance constraints (stage 2)",
                   "eta": "η: step size of the centre update, in units of the objective's curvature",
                   "cycles": "outer cycles of the centre optimisation", "inner": "sweeps over the classes per cycle",
                   "min_distance": "d: minimum Hamming distance between centres (None: Gilbert–Varshamov)",
                   "classifier_epochs": "epochs of the stage-1 classifier", "classifier_lr": "its learning rate",
                   "similarity_order": "'normalise_first' (the paper) or 'symmetrise_first' (the released code: S asymmetric)"}

    def __init__(self, bits, n_classes, seed=0, **hparams):
        super().__init__(bits, n_classes, seed, **hparams)
        if self.hparams["similarity_order"] not in SIMILARITY_ORDERS:
            raise ValueError(f"shc: similarity_order must be one of {SIMILARITY_ORDERS}, "
                             f"got {self.hparams['similarity_order']!r}")

    def setup(self, model, x, y, device):
        p = self.hparams
        # stage 1 in a forked RNG (the CPU's and, on CUDA, the GPU's): the hashing network then sees exactly
        # the random stream CSQ would see
        with fork_rng(device):
            torch.manual_seed(child_seed(self.seed, "shc classifier init"))
            logits = self._classifier_logits(model, x, y, device)
        # stages 1-2 on the CPU in float64: C x C and C x K matrices (and MPS has no float64)
        y_cpu = y.cpu()
        self.register_buffer("similarity", class_similarity(logits.double(), y_cpu.double(),
                                                                 p["similarity_order"]).float())
        d = p["min_distance"] if p["min_distance"] is not None else gilbert_varshamov_distance(self.n_classes,
                                                                                                self.bits)
        self.min_distance = int(d)
        init = initial_centres(self.n_classes, self.bits, self.min_distance, self.seed)
        h, hist = optimise_semantic_centres(self.similarity, init.float(), self.min_distance, rho=p["rho"],
                                            mu=p["mu"], beta=p["beta"], eta=p["eta"], cycles=p["cycles"],
                                            inner=p["inner"])
        if min_pairwise_distance(h) < self.min_distance:       # cannot happen (every step is checked): be sure
            raise AssertionError("SHC centres violate their minimum distance")
        self.init_centres, self.centre_history = init, hist
        self.register_buffer("class_centres", h.float().to(device))
        tie = bernoulli_codebook(1, self.bits, child_seed(self.seed, "tie breaker"), device=device)[0]
        self.register_buffer("tie_breaker", tie.float())

    def _classifier_logits(self, model, x, y, device) -> torch.Tensor:
        """Train a copy of the (untrained) backbone + Linear(F, C) with cross-entropy through the training
        loop (Adam, batch 128, weight decay 1e-5, its own minibatch order); logits on x."""
        body = copy.deepcopy(model.backbone)
        net = nn.Sequential(body, nn.Linear(body.out_features, self.n_classes)).to(device)
        target = y.argmax(1)
        train_model(net, ClassifierStep(), x, target, epochs=int(self.hparams["classifier_epochs"]), batch_size=128,
                    lr=self.hparams["classifier_lr"], weight_decay=1e-5,
                    seed=child_seed(self.seed, "shc classifier order"), device=device)
        net.eval()
        logits = forward_in_batches(net, x, device)         # (n, C) float32 on the CPU
        self.classifier_accuracy = float((logits.argmax(1) == target.cpu()).float().mean())
        return logits

    def loss(self, z, y):
        return shc_loss(z, y, self.class_centres, self.tie_breaker, self.hparams["quant_weight"])
