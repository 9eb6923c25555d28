"""ADSH: Angular Deep Supervised Hashing (Zhou, Po et al., IEEE Access 2019).

Not Asymmetric Deep Supervised Hashing (Jiang & Li, AAAI 2018), which some libraries also call ADSH.
"""
import torch
from torch import nn

from ..losses.adsh import adsh_loss
from ..devices import child_seed
from .base import TrainedMethod, register


@register
class ADSH(TrainedMethod):
    """Margin softmax on the cosine between the code u and learnable class vectors w_c, plus a regulariser
    that spreads the class codes tanh(w_c/‖w_c‖) (mean of inter-class distances up, variance down).
    Multi-label rows use the dynamic softmax (target = mean class vector of the positives).

    Hyperparameters: margin "cosface" (s(cos θ - m), FIRe's substitute: s = 10, m = 0.2) or "sphereface"
    (the paper's A-Softmax, integer m, e.g. 4, with the same fixed scale s); alpha, beta = 1 (the weights of
    the mean and variance terms). z is the linear head output: the loss only sees its direction.
    positive_columns "masked" (ours: a multi-label row's positive classes leave the softmax) or "kept" (FIRe:
    on a multi-label data set they stay beside the dynamic target; on single-label data both are the plain
    softmax, as FIRe uses there). See docs/paper-vs-code.md.
    """
    name = "adsh"
    summary = "Angular Deep Supervised Hashing: margin softmax on cos(u, w_c) + class-code spread regulariser"
    defaults = {"margin": "cosface", "s": 10.0, "m": 0.2, "alpha": 1.0, "beta": 1.0, "positive_columns": "masked"}
    hparam_docs = {"margin": "'cosface' (additive cosine margin) or 'sphereface' (integer angle multiplier)",
                   "s": "logit scale of the margin softmax",
                   "m": "the margin: subtracted from cos θ (cosface) or the integer angle factor (sphereface)",
                   "alpha": "weight of the mean inter-class code distance (raised) in the regulariser",
                   "beta": "weight of the variance of inter-class code distances (lowered) in the regulariser",
                   "positive_columns": "multi-label data: 'masked' (ours) or 'kept' (FIRe: positives stay in the softmax)"}

    def __init__(self, bits, n_classes, seed=0, **hparams):
        super().__init__(bits, n_classes, seed, **hparams)
        if self.hparams["margin"] not in ("cosface", "sphereface"):
            raise ValueError(f"adsh: margin must be 'cosface' or 'sphereface', got {self.hparams['margin']!r}")
        if self.hparams["margin"] == "sphereface" and (int(self.hparams["m"]) != self.hparams["m"]
                                                       or self.hparams["m"] < 1):
            raise ValueError(f"adsh: the sphereface margin m is a positive integer (e.g. 4), got {self.hparams['m']!r}")
        if self.hparams["positive_columns"] not in ("masked", "kept"):
            raise ValueError(f"adsh: positive_columns must be 'masked' or 'kept', got {self.hparams['positive_columns']!r}")
        self.multi_label_data = False

    def setup(self, model, x, y, device):
        # FIRe switches to the dynamic softmax (and so keeps positive columns) only on a multi-label data set
        self.multi_label_data = bool((y.sum(1) > 1).any())
        g = torch.Generator().manual_seed(child_seed(self.seed, "adsh class vectors"))
        # class vectors are parameters of the method: train_model optimises them with the network
        self.class_vectors = nn.Parameter(torch.randn(self.n_classes, self.bits, generator=g).to(device))

    def loss(self, z, y):
        h = self.hparams
        keep = h["positive_columns"] == "kept" and self.multi_label_data
        return adsh_loss(z, self.class_vectors, y, h["margin"], h["s"], h["m"], h["alpha"], h["beta"],
                         keep_positive_columns=keep)
