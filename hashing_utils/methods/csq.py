"""CSQ: Central Similarity Quantization, the baseline of the centre-based family."""
from ..codes import bernoulli_codebook, csq_centres
from ..devices import child_seed
from ..losses.csq import csq_loss, sample_centres
from .base import TrainedMethod, register


@register
class CSQ(TrainedMethod):
    """Pull every tanh output toward its class's hash centre (Hadamard rows when K is a power of two and
    C <= 2K; otherwise, e.g. K = 12 or 48, random balanced codes, as in the paper: see codes.csq_centres;
    too few bits for C different centres is a ValueError).

    Hyperparameters: quant_weight λ (the paper uses 1e-4 ... 0.05 depending on the backbone; 1e-4 here).
    """
    name = "csq"
    summary = "Central Similarity Quantization: BCE toward Hadamard / random balanced class centres"
    defaults = {"quant_weight": 1e-4}
    hparam_docs = {"quant_weight": "λ: weight of the quantisation term mean (|u| - 1)², u = tanh(z)"}

    def setup(self, model, x, y, device):
        self.register_buffer("class_centres", csq_centres(self.n_classes, self.bits, self.seed, device=device).float())
        tie = bernoulli_codebook(1, self.bits, child_seed(self.seed, "tie breaker"), device=device)[0]
        self.register_buffer("tie_breaker", tie.float())

    def loss(self, z, y):
        centres = sample_centres(y, self.class_centres, self.tie_breaker)
        return csq_loss(z, centres, self.hparams["quant_weight"])
