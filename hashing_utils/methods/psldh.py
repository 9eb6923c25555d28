"""PSLDH: Partial-Softmax Loss based Deep Hashing (Tu, Mao et al., WWW 2021)."""
import torch
from torch import nn

from ..codes import binarize
from ..devices import fork_rng
from ..losses.psldh import category_code_loss, psldh_loss
from .base import HashingMethod


class CategoryNet(nn.Module):
    """Stage 1: identity (C, C) -> Linear(C, 512) -> ReLU -> Linear(512, K) -> tanh -> C_mat (C, K)."""

    def __init__(self, n_classes: int, bits: int, hidden: int = 512):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(n_classes, hidden), nn.ReLU(), nn.Linear(hidden, bits), nn.Tanh())
        self.n_classes = n_classes

    def forward(self):
        eye = torch.eye(self.n_classes, device=self.net[0].weight.device)
        return self.net(eye)


def fit_category_codes(n_classes: int, bits: int, alpha: float = 0.05, beta: float = 0.01, iters: int = 200,
                       lr: float = 1e-3, seed: int = 0, device="cpu", return_history: bool = False):
    """Train the category hashing network on L_cat and return the ±1 category codes (C, K) int8
    (and the loss per iteration when return_history). Adam, see PSLDH.__doc__."""
    with fork_rng(device):         # manual_seed reseeds the GPU too: fork its generator as well
        torch.manual_seed(seed)
        net = CategoryNet(n_classes, bits).to(device)
    opt = torch.optim.Adam(net.parameters(), lr=lr)
    losses = []
    for _ in range(iters):
        loss = category_code_loss(net(), alpha, beta)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        losses.append(loss.detach())       # read back once at the end, not once per step
    history = torch.stack(losses).cpu().tolist() if losses else []
    with torch.no_grad():
        codes = binarize(net().cpu())
    return (codes, history) if return_history else codes


class PSLDH(HashingMethod):
    """Stage 1 learns category codes b_c (pairwise distance pushed to ≥ K/2); stage 2 trains u = tanh(z) with
    the partial softmax (each positive competes only with the negatives) + λ quantisation.

    Hyperparameters (paper / official code): mu μ = 0.2, eta η = 0.2, lam λ = 0.01; category network alpha
    α = 0.05, beta β = 0.01, cat_iters = 200, cat_lr = 1e-3. The official code runs stage 1 with plain SGD
    (lr 1e-3); we use Adam at the same rate, which lowers L_cat about ten times further in 200 steps
    (notebook 05). Even so, the pairwise distances reach K/2 on average, not for every pair.
    """
    name = "psldh"
    summary = "Partial-Softmax Loss Deep Hashing: learned category codes + softmax against negatives only"
    defaults = {"mu": 0.2, "eta": 0.2, "lam": 0.01, "alpha": 0.05, "beta": 0.01, "cat_iters": 200, "cat_lr": 1e-3}

    def setup(self, model, x, y, device):
        h = self.hparams
        codes = fit_category_codes(self.n_classes, self.bits, h["alpha"], h["beta"], int(h["cat_iters"]),
                                   h["cat_lr"], self.seed, device)
        self.register_buffer("category_codes", codes.float().to(device))

    def loss(self, z, y):
        h = self.hparams
        return psldh_loss(torch.tanh(z), self.category_codes, y, h["mu"], h["eta"], h["lam"])
