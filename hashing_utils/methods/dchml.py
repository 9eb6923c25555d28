"""DCHML (published as DCPH): Deep Cross-modal Hashing via Margin-dynamic-softmax Loss (Tu, Mao et al.).

Cross-modal: one network per modality (image, text) maps into one shared Hamming space, so an image query
ranks a text database and the other way round. Training goes through training.train_model with two `parts`
(one optimiser and one pass per modality network each epoch; the hooks below keep B and the other network's
outputs between passes). The algorithm:

1. proxy hashing network: a category network turns the C categories into proxy codes c_j ∈ {±1}^K
   (trained once, then fixed; it IS PSLDH's category network and loss, methods.psldh, a reading);
2. shared codes B (N, K) initialised from the labels, B_i = sgn(Σ_{j∈Γ_i} c_j);
3. each epoch the image network, then the text network, is trained for one pass with
   margin-dynamic-softmax(u, y, proxies) + λ‖B − u‖² + μ‖u − v‖²/K (v: the other network's code of the
   pair, fixed during this network's turn; the coupling term is a reading, coupling="softmax" switches to the
   PaddlePaddle port's form), after which
   B = sgn(B_image + B_text).

hu.fit("dchml", (X_image, X_text), y, bits=32) returns a CrossModalHasher: encode(x, modality="image"|"text").
"""
from __future__ import annotations

import torch
from torch import nn

from .. import metrics
from ..codes import binarize
from ..devices import child_seed, fork_rng, pick_device, seed_everything
from ..labels import to_multi_hot
from ..losses.dchml import (COUPLINGS, coupling_loss, cross_modal_softmax_loss, margin_dynamic_softmax_loss,
                             quantization_loss, shared_codes)
from ..models import MLP, HashingModel
from ..training import CrossModalHasher, as_input, check_training_settings, forward_in_batches, train_model
from .base import TrainedMethod, check_bits, register, validation_split
from .psldh import CategoryNet, fit_category_codes

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


def train_proxy_codes(n_classes: int, bits: int, seed: int = 0, steps: int = 500, lr: float = 1e-3,
                      alpha: float = 0.05, beta: float = 0.01):
    """The proxy codes: PSLDH's category network (methods.psldh.fit_category_codes, the same network and loss)
    trained on the CPU from seed child_seed(seed, "dchml proxies"). Returns (proxies (C, K) ±1 float, per-step
    losses). Runs on the CPU: it is a C-row problem.

    Adam for 500 steps, not PSLDH's 200 SGD steps at lr 1e-3: in our check (C = 10, K = 16) those left two
    proxies 3-5 bits apart; Adam reaches a loss ten times lower and a wider minimum distance."""
    codes, losses = fit_category_codes(n_classes, bits, alpha, beta, steps, lr, child_seed(seed, "dchml proxies"),
                                       "cpu", return_history=True)
    return codes.float(), losses


@register
class DCHML(TrainedMethod):
    """Deep cross-modal hashing with the margin-dynamic-softmax loss.

    Hyperparameters (paper values where given):
      margin: σ as a fraction of K (σ = 0.3K);   scale: γ = 0.3;   quant_weight: λ = 0.1;
      coupling_weight: μ of the cross-modal coupling term (a reading; 0 switches it off);
      coupling: its form, "squared" (ours: ‖u − v‖²/K) or "softmax" (the PaddlePaddle port's
        losses.cross_modal_softmax_loss; the port weights it 0.1: coupling_weight=0.1);
      extra_one_per_positive: False; True reproduces the port's extra e⁰ per positive class in the
        margin-dynamic-softmax denominator (a fault: PSLDH's authors fixed the same one upstream);
      proxy_steps, proxy_lr, proxy_alpha, proxy_beta: the category network (α = 0.05, β = 0.01 as PSLDH;
      500 Adam steps at lr 1e-3 instead of PSLDH's 200 SGD steps, see train_proxy_codes);
      hidden / dropout: the per-modality MLP (a choice for vector features).
    """
    name = "dchml"
    summary = "Cross-modal: per-modality nets, margin-dynamic-softmax to category proxies, shared codes B"
    defaults = {"margin": 0.3, "scale": 0.3, "quant_weight": 0.1, "coupling_weight": 1.0, "coupling": "squared",
                "extra_one_per_positive": False,
                "proxy_steps": 500, "proxy_lr": 1e-3, "proxy_alpha": 0.05, "proxy_beta": 0.01,
                "hidden": (512,), "dropout": 0.2}
    hparam_docs = {"margin": "σ as a fraction of K: subtracted from the dynamic positive similarity",
                   "scale": "γ: scale of the margin-dynamic-softmax logits",
                   "quant_weight": "λ: weight of the quantisation term ‖B - u‖² toward the shared codes",
                   "coupling_weight": "μ: weight of the cross-modal coupling term (a reading; 0: off)",
                   "coupling": "'squared' (ours: ‖u - v‖²/K) or 'softmax' (the port's: u's positive vs v's denominator)",
                   "extra_one_per_positive": "True: the port's fault, one e⁰ per positive in the softmax denominator",
                   "proxy_steps": "Adam steps of the category (proxy) network",
                   "proxy_lr": "learning rate of the proxy network",
                   "proxy_alpha": "α: bit-balance weight of the proxy network's loss",
                   "proxy_beta": "β: quantisation weight of the proxy network's loss",
                   "hidden": "hidden layer widths of each modality's MLP", "dropout": "dropout of each MLP"}
    cross_modal = True
    train_defaults = {"epochs": 40, "lr": 1e-3, "batch_size": 64, "weight_decay": 1e-5}

    def __init__(self, bits, n_classes, seed=0, **hparams):
        super().__init__(bits, n_classes, seed, **hparams)
        if self.hparams["coupling"] not in COUPLINGS:
            raise ValueError(f"dchml: coupling must be one of {COUPLINGS}, got {self.hparams['coupling']!r}")

    def setup_proxies(self, device) -> None:
        h = self.hparams
        with fork_rng(device):      # the category network's seeding must leave the GPU's stream alone too
            proxies, losses = train_proxy_codes(self.n_classes, self.bits, self.seed, h["proxy_steps"], h["proxy_lr"],
                                                h["proxy_alpha"], h["proxy_beta"])
        self.register_buffer("proxies", proxies.to(device))
        self.proxy_losses = losses

    def loss(self, z, y, b=None, u_other=None):
        """z: (B, K) head outputs of one modality (u = tanh(z)); y: (B, C); b: (B, K) shared codes;
        u_other: (B, K) the other modality's u of the same pairs."""
        h = self.hparams
        u = torch.tanh(z)
        total = margin_dynamic_softmax_loss(u, y, self.proxies, h["margin"] * self.bits, h["scale"],
                                            extra_one_per_positive=h["extra_one_per_positive"])
        if b is not None and h["quant_weight"]:
            total = total + h["quant_weight"] * quantization_loss(u, b)
        if u_other is not None and h["coupling_weight"]:
            if h["coupling"] == "squared":
                total = total + h["coupling_weight"] * coupling_loss(u, u_other)
            else:
                total = total + h["coupling_weight"] * cross_modal_softmax_loss(u, u_other, y, self.proxies,
                                                                                h["margin"] * self.bits, h["scale"])
        return total

    # -- the training loop's hooks: the two networks in turns, shared codes B between epochs --------------
    parts = MODALITIES

    def _outputs(self, model, x, part, device):
        return torch.tanh(forward_in_batches(model[part], x[part], device, on_device=True))

    def on_epoch_start(self, epoch, model, x, y, device):
        self.u_all = {m: self._outputs(model, x, m, device) for m in MODALITIES}

    def training_step(self, net, x, y, idx, part=None):
        other = "text" if part == "image" else "image"
        idx = idx.to(self.b_shared.device)     # the shared codes and the other network's outputs live there
        return self.loss(net(x), y, self.b_shared[idx], self.u_all[other][idx])

    def on_part_end(self, part, model, x, y, device):
        self.u_all[part] = self._outputs(model, x, part, device)
        self.codes[part] = binarize(self.u_all[part])

    def on_epoch_end(self, epoch, model, x, y, device):
        self.b_shared = shared_codes(self.codes["image"], self.codes["text"], self.u_all["image"],
                                     self.u_all["text"])

    def validation_metrics(self, model, x_val, y_val, x_train, y_train, device):
        """Image->text and text->image mAP@all of validation queries against the training pairs; 'val_map' is
        their mean."""
        vq = {m: binarize(forward_in_batches(model[m], x_val[m], device)) for m in MODALITIES}
        self.last_codes = self.codes["image"].cpu()
        i2t = metrics.mean_average_precision(vq["image"], self.codes["text"].cpu(), y_val, y_train)
        t2i = metrics.mean_average_precision(vq["text"], self.codes["image"].cpu(), y_val, y_train)
        return {"val_map": (i2t + t2i) / 2, "val_map_i2t": i2t, "val_map_t2i": t2i}

    @classmethod
    def fit(cls, X, y, bits: int = 32, seed: int = 0, *, epochs=None, lr=None, batch_size=None,
            weight_decay=None, device=None, backbone: str = "mlp", val_fraction: float = 0.1,
            progress: bool = False, amp=False, data_on_device: bool | None = None,
            **hparams) -> "CrossModalHasher":
        """X = (X_image, X_text): two arrays with one row per pair (row i of each is the same item);
        y: (n,) class ids or (n, C) multi-hot. Returns a CrossModalHasher. amp and data_on_device: see
        training.train_model (the two views and the labels stay on the device for the whole fit)."""
        if not (isinstance(X, (tuple, list)) and len(X) == 2):
            raise ValueError("dchml is cross-modal: pass X = (X_image, X_text), two arrays with one row per "
                             f"pair; got {type(X).__name__}")
        check_bits(bits)
        xs = {m: as_input(x, f"X_{m}").flatten(1) for m, x in zip(MODALITIES, X)}
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

        method = cls(bits, y.shape[1], seed=seed, **hparams)
        h = method.hparams
        method.setup_proxies(device)
        models = nn.ModuleDict({m: modality_network(x_tr[m], bits, h["hidden"], h["dropout"]).to(device)
                                for m in MODALITIES})
        # B_i = sgn(Σ_{j∈Γ_i} c_j): the codes start where the proxies say the pair belongs
        method.b_shared = binarize(y_tr @ method.proxies.cpu()).float().to(device)
        method.codes = {m: None for m in MODALITIES}
        history = train_model(models, method, x_tr, y_tr, seed=seed, device=device, x_val=x_val, y_val=y_val,
                              progress=progress, amp=amp, data_on_device=data_on_device, **tr)
        for k in ("b_shared", "u_all", "codes"):        # training state, not part of the trained hasher
            method.__dict__.pop(k, None)
        history["proxy_loss"] = method.proxy_losses
        settings = {"method": cls.name, "bits": bits, "seed": seed, "backbone": "mlp", "val_fraction": val_fraction,
                    **tr, **h}
        if amp:
            settings["amp"] = history["amp"]
        return CrossModalHasher(method, dict(models), device, history, settings,
                                input_shape={m: tuple(x.shape[1:]) for m, x in xs.items()})


__all__ = ["DCHML", "CrossModalHasher", "Standardize", "modality_network", "CategoryNet", "train_proxy_codes",
           "MODALITIES"]
