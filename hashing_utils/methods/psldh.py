"""PSLDH: Partial-Softmax Loss based Deep Hashing (Tu, Mao et al., WWW 2021).

Also home of the category-code network (stage 1), which DCHML (same authors) uses as its proxy network:
one network, one loss (losses.psldh.category_code_loss), trained by training.train_model.
"""
import torch
from torch import nn

from ..codes import binarize
from ..devices import fork_rng
from ..losses.psldh import category_code_loss, psldh_loss
from ..training import TrainingStep, train_model
from .base import TrainedMethod, register


class CategoryNet(nn.Module):
    """Stage 1: identity (C, C) -> Linear(C, 512) -> ReLU -> Linear(512, K) -> tanh -> C_mat (C, K).
    net() feeds the identity itself; net(x) takes the rows of the identity the training loop hands it."""

    def __init__(self, n_classes: int, bits: int, hidden: int = 512):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(n_classes, hidden), nn.ReLU(), nn.Linear(hidden, bits), nn.Tanh())
        self.n_classes = n_classes

    def forward(self, x=None):
        if x is None:
            x = torch.eye(self.n_classes, device=self.net[0].weight.device)
        return self.net(x)


class CategoryCodeStep(TrainingStep):
    """The training loop's step for the category network: L_cat of all C rows (one full batch per epoch)."""
    name = "category codes"

    def __init__(self, alpha: float, beta: float):
        super().__init__()
        self.alpha, self.beta = alpha, beta

    def training_step(self, net, x, y, idx, part=None):
        return category_code_loss(net(x), self.alpha, self.beta)


def fit_category_codes(n_classes: int, bits: int, alpha: float = 0.05, beta: float = 0.01, iters: int = 200,
                       lr: float = 1e-3, seed: int = 0, device="cpu", return_history: bool = False):
    """Train the category hashing network on L_cat and return the ±1 category codes (C, K) int8
    (and the loss per iteration when return_history). Adam, full batch: one iteration is one epoch of
    training.train_model over the C rows of the identity, in order. See PSLDH.__doc__."""
    with fork_rng(device):         # manual_seed reseeds the GPU too: fork its generator as well
        torch.manual_seed(seed)
        net = CategoryNet(n_classes, bits).to(device)
    eye = torch.eye(n_classes, device=device)
    history = train_model(net, CategoryCodeStep(alpha, beta), eye, eye, epochs=int(iters), batch_size=n_classes,
                          lr=lr, seed=seed, device=device, shuffle=False)
    with torch.no_grad():
        codes = binarize(net().cpu())
    return (codes, history["loss"]) if return_history else codes


@register
class PSLDH(TrainedMethod):
    """Stage 1 learns category codes b_c (pairwise distance pushed to ≥ K/2); stage 2 trains u = tanh(z) with
    the partial softmax (each positive competes only with the negatives) + λ quantisation.

    Hyperparameters (paper / official code): mu μ = 0.2, eta η = 0.2, lam λ = 0.01; category network alpha
    α = 0.05, beta β = 0.01, cat_iters = 200, cat_lr = 1e-3. The official code runs stage 1 with plain SGD
    (lr 1e-3); we use Adam at the same rate, which lowers L_cat about ten times further in 200 steps
    (notebook 05). Even so, the pairwise distances reach K/2 on average, not for every pair.
    extra_one_per_positive (False) = True reproduces the official code before its Nov 2022 fix.
    """
    name = "psldh"
    summary = "Partial-Softmax Loss Deep Hashing: learned category codes + softmax against negatives only"
    defaults = {"mu": 0.2, "eta": 0.2, "lam": 0.01, "alpha": 0.05, "beta": 0.01, "cat_iters": 200, "cat_lr": 1e-3,
                "extra_one_per_positive": False}
    hparam_docs = {"mu": "μ: the margin, as a fraction of K, subtracted from the positive logit",
                   "eta": "η: scale of the partial-softmax logits",
                   "lam": "λ: weight of the quantisation term ‖sgn(u) - u‖²",
                   "alpha": "α: weight of the bit-balance term of the category network's loss",
                   "beta": "β: weight of the quantisation term of the category network's loss",
                   "cat_iters": "Adam steps of the category network (stage 1)",
                   "cat_lr": "learning rate of the category network (stage 1)",
                   "extra_one_per_positive": "True: the official code before its Nov 2022 fix (one e⁰ per positive in the denominator)"}

    def setup(self, model, x, y, device):
        h = self.hparams
        codes = fit_category_codes(self.n_classes, self.bits, h["alpha"], h["beta"], int(h["cat_iters"]),
                                   h["cat_lr"], self.seed, device)
        self.register_buffer("category_codes", codes.float().to(device))

    def loss(self, z, y):
        h = self.hparams
        return psldh_loss(torch.tanh(z), self.category_codes, y, h["mu"], h["eta"], h["lam"],
                          h["extra_one_per_positive"])
