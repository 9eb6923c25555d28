"""CSQ: Central Similarity Quantization, the baseline of the centre-based family."""
import torch

from ..codes import bernoulli_codebook, csq_centres
from ..devices import child_seed
from ..losses.csq import BCE_FORMS, csq_loss, csq_pairwise_loss, sample_centres
from .base import TrainedMethod, register


@register
class CSQ(TrainedMethod):
    """Pull every tanh output toward its class's hash centre (Hadamard rows when K is a power of two and
    C <= 2K; otherwise, e.g. K = 12 or 48, random balanced codes, as in the paper: see codes.csq_centres;
    too few bits for C different centres is a ValueError).

    Hyperparameters: quant_weight λ (the paper uses 1e-4 ... 0.05 depending on the backbone; 1e-4 here).
    Switches to the official code's behaviour (defaults = the paper's equation; see docs/paper-vs-code.md):
    pairwise_weight (0; the official options: 0.2) adds its pairwise term losses.csq_pairwise_loss;
    bce "logits" (exact) or "float32" (its float32 tanh + BCELoss, clamped log: losses.csq_bce_float32).
    """
    name = "csq"
    summary = "Central Similarity Quantization: BCE toward Hadamard / random balanced class centres"
    defaults = {"quant_weight": 1e-4, "pairwise_weight": 0.0, "bce": "logits"}
    hparam_docs = {"quant_weight": "λ: weight of the quantisation term mean (|u| - 1)², u = tanh(z)",
                   "pairwise_weight": "λ1: weight of the official code's pairwise term (0: the paper; code: 0.2)",
                   "bce": "'logits' (BCE from 2z, exact: the paper's equation) or 'float32' (the code's tanh + BCELoss)"}

    def __init__(self, bits, n_classes, seed=0, **hparams):
        super().__init__(bits, n_classes, seed, **hparams)
        if self.hparams["bce"] not in BCE_FORMS:
            raise ValueError(f"csq: bce must be one of {BCE_FORMS}, got {self.hparams['bce']!r}")
        if self.hparams["pairwise_weight"] < 0:
            raise ValueError(f"csq: pairwise_weight must be >= 0, got {self.hparams['pairwise_weight']!r}")

    def setup(self, model, x, y, device):
        self.register_buffer("class_centres", csq_centres(self.n_classes, self.bits, self.seed, device=device).float())
        tie = bernoulli_codebook(1, self.bits, child_seed(self.seed, "tie breaker"), device=device)[0]
        self.register_buffer("tie_breaker", tie.float())

    def loss(self, z, y):
        centres = sample_centres(y, self.class_centres, self.tie_breaker)
        h = self.hparams
        loss = csq_loss(z, centres, h["quant_weight"], h["bce"])
        if h["pairwise_weight"]:
            loss = loss + h["pairwise_weight"] * csq_pairwise_loss(torch.tanh(z), y)
        return loss
