"""DCHML (published as DCPH): Deep Cross-modal Hashing via Margin-dynamic-softmax Loss (Tu, Mao et al.).

Cross-modal: one network per modality (image, text) maps into one shared Hamming space, so an image query
ranks a text database and the other way round. Training has another shape than the default loop:

1. proxy hashing network: a category network turns the C categories into proxy codes c_j ∈ {±1}^K
   (trained once, then fixed; the architecture and loss are PSLDH's category network, a reading);
2. shared codes B (N, K) initialised from the labels, B_i = sgn(Σ_{j∈Γ_i} c_j);
3. each epoch the image network, then the text network, is trained for one pass with
   margin-dynamic-softmax(u, y, proxies) + λ‖B − u‖² + μ‖u − v‖²/K (v: the other network's code of the
   pair, fixed during this network's turn; the coupling term is a reading), after which
   B = sgn(B_image + B_text).

hu.fit("dchml", (X_image, X_text), y, bits=32) returns a CrossModalHasher: encode(x, modality="image"|"text").
"""
from __future__ import annotations

import time

import numpy as np
import torch
from torch import nn

from .. import metrics
from ..codes import binarize
from ..data import to_multi_hot
from ..devices import fork_rng, pick_device, seed_everything
from ..losses.dchml import (coupling_loss, margin_dynamic_softmax_loss, proxy_code_loss, quantization_loss,
                            shared_codes)
from ..models import MLP, HashingModel
from ..training import CrossModalHasher, _as_input, check_training_settings, forward_in_batches, to_device_if_fits
from .base import HashingMethod, check_bits, validation_split

MODALITIES = ("image", "text")


class Standardize(nn.Module):
    """x -> (x − mean) / std with the training statistics (stored, so encode takes raw features).
    The Wikipedia image features are bag-of-words frequencies of size ~1/128: without this the first
    layer would start far from its useful range."""

    def __init__(self, mean: torch.Tensor, std: torch.Tensor):
        super().__init__()
        self.register_buffer("mean", mean)
        self.register_buffer("std", std.clamp_min(1e-6))

    def forward(self, x):
        return (x.flatten(1) - self.mean) / self.std


def modality_network(x_train: torch.Tensor, bits: int, hidden=(512,), dropout: float = 0.2) -> HashingModel:
    """Standardize -> MLP(hidden) -> Linear(F, K): the small per-modality network for vector features."""
    body = nn.Sequential(Standardize(x_train.mean(0), x_train.std(0)), MLP(x_train.shape[1], tuple(hidden), dropout))
    body.out_features = body[1].out_features
    return HashingModel(body, nn.Linear(body.out_features, bits))


def category_network(n_classes: int, bits: int, hidden: int = 512) -> nn.Module:
    """PSLDH's category hashing network: identity (C, C) -> Linear(C, 512) -> ReLU -> Linear(512, K) -> tanh."""
    return nn.Sequential(nn.Linear(n_classes, hidden), nn.ReLU(), nn.Linear(hidden, bits), nn.Tanh())


def train_proxy_codes(n_classes: int, bits: int, seed: int = 0, steps: int = 500, lr: float = 1e-3,
                      alpha: float = 0.05, beta: float = 0.01):
    """Train the category network on the C×C identity with proxy_code_loss and return
    (proxies (C, K) ±1 float, per-step losses). Runs on the CPU: it is a C-row problem.

    Adam for 500 steps, not PSLDH's 200 SGD steps at lr 1e-3: in our check (C = 10, K = 16) those left two
    proxies 3-5 bits apart; Adam reaches a loss ten times lower and a wider minimum distance."""
    with torch.random.fork_rng(devices=[]):     # seeded init that leaves the global RNG state alone
        torch.manual_seed(seed + 7919)
        net = category_network(n_classes, bits)
    opt = torch.optim.Adam(net.parameters(), lr=lr)
    eye = torch.eye(n_classes)
    losses = []
    for _ in range(steps):
        loss = proxy_code_loss(net(eye), alpha, beta)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        losses.append(float(loss.detach()))
    with torch.no_grad():
        proxies = binarize(net(eye)).float()
    return proxies, losses


class DCHML(HashingMethod):
    """Deep cross-modal hashing with the margin-dynamic-softmax loss.

    Hyperparameters (paper values where given):
      margin: σ as a fraction of K (σ = 0.3K);   scale: γ = 0.3;   quant_weight: λ = 0.1;
      coupling_weight: μ of the cross-modal coupling term (a reading; 0 switches it off);
      proxy_steps, proxy_lr, proxy_alpha, proxy_beta: the category network (α = 0.05, β = 0.01 as PSLDH;
      500 Adam steps at lr 1e-3 instead of PSLDH's 200 SGD steps, see train_proxy_codes);
      hidden / dropout: the per-modality MLP (a choice for vector features).
    """
    name = "dchml"
    summary = "Cross-modal: per-modality nets, margin-dynamic-softmax to category proxies, shared codes B"
    defaults = {"margin": 0.3, "scale": 0.3, "quant_weight": 0.1, "coupling_weight": 1.0,
                "proxy_steps": 500, "proxy_lr": 1e-3, "proxy_alpha": 0.05, "proxy_beta": 0.01,
                "hidden": (512,), "dropout": 0.2}
    train_defaults = {"epochs": 40, "lr": 1e-3, "batch_size": 64, "weight_decay": 1e-5}

    def setup_proxies(self, device) -> None:
        h = self.hparams
        with fork_rng(device):      # train_proxy_codes forks the CPU generator; this keeps the GPU's stream too
            proxies, losses = train_proxy_codes(self.n_classes, self.bits, self.seed, h["proxy_steps"], h["proxy_lr"],
                                                h["proxy_alpha"], h["proxy_beta"])
        self.register_buffer("proxies", proxies.to(device))
        self.proxy_losses = losses

    def loss(self, u, y, b=None, u_other=None):
        """u: (B, K) tanh outputs of one modality; y: (B, C); b: (B, K) shared codes; u_other: (B, K)."""
        h = self.hparams
        total = margin_dynamic_softmax_loss(u, y, self.proxies, h["margin"] * self.bits, h["scale"])
        if b is not None and h["quant_weight"]:
            total = total + h["quant_weight"] * quantization_loss(u, b)
        if u_other is not None and h["coupling_weight"]:
            total = total + h["coupling_weight"] * coupling_loss(u, u_other)
        return total

    @classmethod
    def fit(cls, X, y, bits: int = 32, seed: int = 0, *, epochs=None, lr=None, batch_size=None,
            weight_decay=None, device=None, backbone: str = "mlp", val_fraction: float = 0.1,
            progress: bool = False, data_on_device: bool | None = None, **hparams) -> "CrossModalHasher":
        """X = (X_image, X_text): two arrays with one row per pair (row i of each is the same item);
        y: (n,) class ids or (n, C) multi-hot. Returns a CrossModalHasher. data_on_device: see
        training.train_model (the two views, codes and labels stay on the device for the whole fit)."""
        if not (isinstance(X, (tuple, list)) and len(X) == 2):
            raise ValueError("dchml is cross-modal: pass X = (X_image, X_text), two arrays with one row per "
                             f"pair; got {type(X).__name__}")
        check_bits(bits)
        xs = {m: _as_input(x, f"X_{m}").flatten(1) for m, x in zip(MODALITIES, X)}
        if len(xs["image"]) != len(xs["text"]):
            raise ValueError(f"X_image has {len(xs['image'])} rows but X_text has {len(xs['text'])}; "
                             "row i of each must be the same pair")
        if y is None:
            raise ValueError("dchml is supervised: pass labels y, (n,) class ids or (n, C) multi-hot")
        y = to_multi_hot(y)
        if len(y) != len(xs["image"]):
            raise ValueError(f"X has {len(xs['image'])} pairs but y has {len(y)} rows")
        if bool((y.sum(1) == 0).any()):
            raise ValueError("every pair needs at least one label (a row of y is all zeros)")
        if backbone not in ("auto", "mlp"):
            raise ValueError(f"dchml uses one MLP per modality on feature vectors; backbone {backbone!r} "
                             "is not supported")
        tr = cls.training_settings(epochs=epochs, lr=lr, batch_size=batch_size, weight_decay=weight_decay)
        check_training_settings(tr["epochs"], tr["batch_size"], tr["lr"], tr["weight_decay"])
        device = pick_device(device) if not isinstance(device, torch.device) else device
        seed_everything(seed)
        idx_tr, y_tr, idx_val, y_val = validation_split(torch.arange(len(y)), y, val_fraction, seed)
        x_tr = {m: x[idx_tr] for m, x in xs.items()}
        x_val = None if idx_val is None else {m: x[idx_val] for m, x in xs.items()}
        # both views and the labels on the device once, when they fit (the per-modality networks read them there)
        *placed, on_device = to_device_if_fits(device, x_tr["image"], x_tr["text"], y_tr, resident=data_on_device)
        xd = dict(zip(MODALITIES, placed[:2])) if on_device else x_tr

        method = cls(bits, y.shape[1], seed=seed, **hparams)
        h = method.hparams
        method.setup_proxies(device)
        models = {m: modality_network(x_tr[m], bits, h["hidden"], h["dropout"]).to(device) for m in MODALITIES}
        opts = {m: torch.optim.Adam(models[m].parameters(), lr=tr["lr"], weight_decay=tr["weight_decay"])
                for m in MODALITIES}
        y_dev = y_tr.to(device)
        # B_i = sgn(Σ_{j∈Γ_i} c_j): the codes start where the proxies say the pair belongs
        b_shared = binarize(y_tr @ method.proxies.cpu()).float().to(device)
        codes = {m: None for m in MODALITIES}
        history = {"epoch": [], "loss": [], "loss_image": [], "loss_text": [], "val_map": [],
                   "val_map_i2t": [], "val_map_t2i": []}
        gen = torch.Generator().manual_seed(seed)
        n, bs = len(y_tr), tr["batch_size"]
        start = time.perf_counter()
        for epoch in range(tr["epochs"]):
            u_all = {m: torch.tanh(forward_in_batches(models[m], xd[m], device, on_device=True)) for m in MODALITIES}
            for m, other in (("image", "text"), ("text", "image")):     # the two networks in turns
                model = models[m]
                model.train()
                order = torch.randperm(n, generator=gen)      # drawn on the CPU: the same on every device
                order_dev = order.to(device)
                losses = []
                for s in range(0, n, bs):
                    idx, idx_dev = order[s:s + bs], order_dev[s:s + bs]
                    if len(idx) < 2:  # BatchNorm needs two samples
                        continue
                    xb = xd[m][idx_dev] if on_device else xd[m][idx].to(device)
                    u = torch.tanh(model(xb))
                    loss = method.loss(u, y_dev[idx_dev], b_shared[idx_dev], u_all[other][idx_dev])
                    opts[m].zero_grad(set_to_none=True)
                    loss.backward()
                    opts[m].step()
                    losses.append(loss.detach())
                # one read-back per pass; the Python sum of the float32 values equals adding float(loss) per step
                history[f"loss_{m}"].append(sum(torch.stack(losses).cpu().tolist()) / len(losses) if losses else 0.0)
                u_all[m] = torch.tanh(forward_in_batches(model, xd[m], device, on_device=True))
                codes[m] = binarize(u_all[m])
            b_shared = shared_codes(codes["image"], codes["text"], u_all["image"], u_all["text"])
            history["epoch"].append(epoch + 1)
            history["loss"].append(history["loss_image"][-1] + history["loss_text"][-1])
            if x_val is not None:
                vq = {m: binarize(forward_in_batches(models[m], x_val[m], device)) for m in MODALITIES}
                i2t = metrics.mean_average_precision(vq["image"], codes["text"].cpu(), y_val, y_tr)
                t2i = metrics.mean_average_precision(vq["text"], codes["image"].cpu(), y_val, y_tr)
                history["val_map_i2t"].append(i2t)
                history["val_map_t2i"].append(t2i)
                history["val_map"].append((i2t + t2i) / 2)
            if progress:
                print(f"epoch {epoch + 1}: loss {history['loss'][-1]:.4f}"
                      + (f", val mAP i->t {history['val_map_i2t'][-1]:.3f} t->i {history['val_map_t2i'][-1]:.3f}"
                         if x_val is not None else ""))
        history["seconds"] = time.perf_counter() - start
        history["proxy_loss"] = method.proxy_losses
        settings = {"method": cls.name, "bits": bits, "seed": seed, "backbone": "mlp", "val_fraction": val_fraction,
                    **tr, **h}
        return CrossModalHasher(method, models, device, history, settings,
                                input_shape={m: tuple(x.shape[1:]) for m, x in xs.items()})


__all__ = ["DCHML", "CrossModalHasher", "Standardize", "modality_network", "category_network", "train_proxy_codes",
           "MODALITIES"]
