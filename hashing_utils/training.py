"""One training loop for every method, and the Hasher that a trained model becomes.

The loop is seeded and device-agnostic. Each epoch it records the mean loss and, when a validation
split is given, mAP@all of validation queries against the training set: a validation split carved
from training data, never the query set.
"""
from __future__ import annotations

import time

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from . import metrics
from .codes import binarize


@torch.no_grad()
def forward_in_batches(model: torch.nn.Module, x: torch.Tensor, device, batch_size: int = 1024) -> torch.Tensor:
    """model(x) in eval mode, batch by batch; (n, ...) -> (n, K) float32 on the CPU."""
    was_training = model.training
    model.eval()
    out = [model(x[s:s + batch_size].to(device)).float().cpu() for s in range(0, len(x), batch_size)]
    model.train(was_training)
    return torch.cat(out) if out else torch.empty(0)


def train_model(model, method, x, y, *, epochs: int, batch_size: int, lr: float, weight_decay: float = 0.0,
                seed: int = 0, device=None, x_val=None, y_val=None, progress: bool = False) -> dict:
    """Train `model` with `method.loss(u, y)` by mini-batch Adam (or the method's own optimiser).

    x: (n, ...) float32, y: (n, C) multi-hot. Returns the history
    {'epoch': [...], 'loss': [...], 'val_map': [...], 'seconds': float}.
    """
    device = torch.device(device or "cpu")
    model.to(device)
    method.to(device)
    params = _param_groups(model, method, lr)
    opt = method.make_optimizer(params, lr=lr, weight_decay=weight_decay)
    gen = torch.Generator().manual_seed(seed)
    history = {"epoch": [], "loss": [], "val_map": []}
    n = len(x)
    start = time.perf_counter()
    bar = tqdm(range(epochs), desc=method.name, disable=not progress, leave=False)
    for epoch in bar:
        method.on_epoch_start(epoch, model, x, y, device)
        model.train()
        order = torch.randperm(n, generator=gen)
        total, batches = 0.0, 0
        for s in range(0, n, batch_size):
            idx = order[s:s + batch_size]
            if len(idx) < 2:  # BatchNorm needs two samples
                continue
            xb, yb = x[idx].to(device), y[idx].to(device)
            loss = method.loss(model(xb), yb)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            total += float(loss.detach())
            batches += 1
        history["epoch"].append(epoch + 1)
        history["loss"].append(total / max(batches, 1))
        if x_val is not None and len(x_val):
            v = binarize(forward_in_batches(model, x_val, device))
            t = binarize(forward_in_batches(model, x, device))
            history["val_map"].append(metrics.mean_average_precision(v, t, y_val, y))
            bar.set_postfix(loss=f"{history['loss'][-1]:.4f}", val_map=f"{history['val_map'][-1]:.3f}")
        else:
            bar.set_postfix(loss=f"{history['loss'][-1]:.4f}")
    history["seconds"] = time.perf_counter() - start
    return history


def _param_groups(model, method, lr: float):
    """All parameters at `lr`, except a backbone with an `lr_multiplier` (the pretrained ImageNet ones, 0.1):
    it gets lr x lr_multiplier, as the papers fine-tune."""
    scale = getattr(getattr(model, "backbone", None), "lr_multiplier", 1.0)
    if scale == 1.0:
        return list(model.parameters()) + list(method.parameters())
    body = list(model.backbone.parameters())
    ids = {id(p) for p in body}
    rest = [p for p in model.parameters() if id(p) not in ids] + list(method.parameters())
    return [{"params": body, "lr": lr * scale}, {"params": rest}]


class Hasher:
    """A trained hash function: encode(x) -> int8 ±1 codes (n, K)."""

    def __init__(self, method, model: torch.nn.Module, device, history: dict | None = None,
                 settings: dict | None = None):
        self.method = method
        self.model = model
        self.device = torch.device(device)
        self.history = history or {}
        self.settings = settings or {}

    @property
    def bits(self) -> int:
        return self.method.bits

    def continuous(self, x, batch_size: int = 1024) -> torch.Tensor:
        """The real-valued outputs u (n, K) before binarisation, on the CPU."""
        return forward_in_batches(self.model, _as_input(x), self.device, batch_size)

    def encode(self, x, batch_size: int = 1024) -> torch.Tensor:
        """b = sgn(u) with 0 -> +1: int8 (n, K)."""
        return binarize(self.continuous(x, batch_size))

    def evaluate(self, x_query, y_query, x_db, y_db, **kwargs) -> dict:
        """metrics.evaluate on the codes of queries and database (mAP@all, mAP@1000, P@H<=2, tie bounds)."""
        return metrics.evaluate(self.encode(x_query), self.encode(x_db), y_query, y_db, **kwargs)

    def __repr__(self):
        return f"Hasher(method={self.method.name!r}, bits={self.bits}, device={self.device.type})"


class CrossModalHasher(Hasher):
    """A trained cross-modal hash function: one network per modality into one Hamming space.

    encode(x, modality="image"|"text") -> int8 ±1 (n, K). `method` may be None for baselines (CCA, LSH pairs).
    """

    def __init__(self, method, models: dict, device, history: dict | None = None, settings: dict | None = None):
        if not models:
            raise ValueError("a CrossModalHasher needs one model per modality")
        super().__init__(method, nn.ModuleDict(models), device, history, settings)
        self.modalities = tuple(models)

    @property
    def bits(self) -> int:
        return int(self.settings["bits"]) if "bits" in self.settings else self.method.bits

    def _network(self, modality):
        if modality is None:
            raise TypeError(f"this hasher is cross-modal: say which network encodes x, e.g. "
                            f"encode(x, modality={self.modalities[0]!r}); modalities: {', '.join(self.modalities)}")
        if modality not in self.modalities:
            raise ValueError(f"unknown modality {modality!r}; this hasher has {', '.join(self.modalities)}")
        return self.model[modality]

    def continuous(self, x, modality=None, batch_size: int = 1024) -> torch.Tensor:
        """The real-valued outputs (n, K) of `modality`'s network, before binarisation, on the CPU."""
        return forward_in_batches(self._network(modality), _as_input(x), self.device, batch_size)

    def encode(self, x, modality=None, batch_size: int = 1024) -> torch.Tensor:
        """b = sgn(u) with 0 -> +1 from `modality`'s network: int8 (n, K)."""
        return binarize(self.continuous(x, modality, batch_size))

    def evaluate(self, x_query, y_query, x_db, y_db, *, query_modality=None, db_modality=None, **kwargs) -> dict:
        """metrics.evaluate with queries encoded by `query_modality` and the database by `db_modality`."""
        return metrics.evaluate(self.encode(x_query, query_modality), self.encode(x_db, db_modality),
                                y_query, y_db, **kwargs)

    def __repr__(self):
        name = self.settings.get("method", getattr(self.method, "name", "?"))
        return f"CrossModalHasher(method={name!r}, bits={self.bits}, modalities={self.modalities})"


def _as_input(x) -> torch.Tensor:
    if isinstance(x, np.ndarray):
        x = torch.from_numpy(x)
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"inputs must be a torch tensor or numpy array, got {type(x).__name__}")
    if x.ndim < 2:
        raise ValueError(f"inputs must be (n, d) or (n, c, h, w); got shape {tuple(x.shape)}")
    return x.to(torch.float32)
