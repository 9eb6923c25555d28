"""OrthoHash (Hoe et al., NeurIPS 2021): one cosine-margin cross-entropy toward fixed ±1 targets."""
from torch import nn

from ..codes import bernoulli_codebook, max_distance_codebook
from ..losses.orthohash import VARIANTS, orthohash_loss
from .base import TrainedMethod, register

CODEBOOKS = ("bernoulli", "max_distance")


@register
class OrthoHash(TrainedMethod):
    """v = BN(W f); each class c owns a fixed ±1 target o_c (never updated); the loss is a softmax
    cross-entropy over margin cosines between v and the targets, with ỹ = y / Σy for multi-label data.

    Hyperparameters (the paper's unless marked):
      s         logit scale; 8 as in the authors' code (the paper writes s = √K, equal to 8 at K = 64).
      m         margin, 0.2.
      variant   "cos" (OrthoCos: s(cos θ − m y)) or "arc" (OrthoArc: s cos(θ + m y)); the paper's default is cos.
      codebook  "bernoulli" (Bernoulli(0.5) bits, the paper's default) or "max_distance" (greedy
                max-min-Hamming-distance codes).
      batchnorm True: BatchNorm1d after the hash layer, the paper's device for bit balance; False only
                for the ablation in notebook 06 (ours).
      arc_clamp 0 (exact, the paper's s cos(θ + m)); the public code clamps cos θ to ±(1 − 1e-5) before arccos
                (arc_clamp=1e-5): a code that close to a target gets no gradient (OrthoArc only; docs/paper-vs-code.md).
    Training defaults are OURS, not the paper's: the paper fine-tunes a pretrained AlexNet/VGG with Adam
    1e-4 and backbone lr x0.1; our small backbones are trained from scratch, so all parameters share
    Adam 1e-3.
    """
    name = "orthohash"
    summary = "OrthoHash: cosine-margin softmax cross-entropy toward fixed ±1 targets, BN head (one loss)"
    multi_label = True
    defaults = {"s": 8.0, "m": 0.2, "variant": "cos", "codebook": "bernoulli", "batchnorm": True, "arc_clamp": 0.0}
    hparam_docs = {"s": "logit scale of the cosine softmax", "m": "margin on the cosine (cos) or angle (arc)",
                   "variant": "'cos' (OrthoCos, s(cos θ - m)) or 'arc' (OrthoArc, s cos(θ + m))",
                   "codebook": "'bernoulli' (random ±1 targets) or 'max_distance' (greedy max-min distance)",
                   "batchnorm": "BatchNorm1d after the hash layer (the paper's bit balance); False for ablation",
                   "arc_clamp": "OrthoArc: 0 exact (the paper); c > 0 clamps cos θ to ±(1 - c) before arccos (code: 1e-5)"}
    train_defaults = {"epochs": 20, "lr": 1e-3, "batch_size": 64, "weight_decay": 1e-5}

    def __init__(self, bits, n_classes, seed=0, **hparams):
        super().__init__(bits, n_classes, seed=seed, **hparams)
        h = self.hparams
        if h["variant"] not in VARIANTS:
            raise ValueError(f"orthohash: variant must be one of {VARIANTS}, got {h['variant']!r}")
        if h["codebook"] not in CODEBOOKS:
            raise ValueError(f"orthohash: codebook must be one of {CODEBOOKS}, got {h['codebook']!r}")
        if not h["s"] > 0:
            raise ValueError(f"orthohash: scale s must be > 0, got {h['s']!r}")
        if not 0 <= h["m"] < 1:
            raise ValueError(f"orthohash: margin m must be in [0, 1), got {h['m']!r}")
        if not 0 <= h["arc_clamp"] < 1:
            raise ValueError(f"orthohash: arc_clamp must be in [0, 1), got {h['arc_clamp']!r}")
        make = bernoulli_codebook if h["codebook"] == "bernoulli" else max_distance_codebook
        # a buffer, not a parameter: the targets are fixed for the whole of training
        self.register_buffer("targets", make(self.n_classes, self.bits, seed=self.seed).float())

    def make_head(self, in_features):
        linear = nn.Linear(in_features, self.bits)
        return nn.Sequential(linear, nn.BatchNorm1d(self.bits)) if self.hparams["batchnorm"] else linear

    def loss(self, z, y):
        h = self.hparams
        return orthohash_loss(z, self.targets, y, s=h["s"], m=h["m"], variant=h["variant"], arc_clamp=h["arc_clamp"])
