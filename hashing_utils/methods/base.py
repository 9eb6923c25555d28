"""The contract every hashing method meets, and the registry behind hu.fit / hu.methods.

A method is a subclass of HashingMethod with a `name`; defining it registers it. The default
`fit` builds backbone + the method's head, runs training.train_model with the method's loss,
and returns a Hasher. A method with another shape of training (LSH, cross-modal DCHML)
overrides the classmethod `fit`.
"""
from __future__ import annotations

import warnings

import numpy as np
import torch
from torch import nn

from ..data import to_multi_hot
from ..devices import pick_device, place, seed_everything
from ..models import HashingModel, make_backbone
from ..training import Hasher, _as_input, check_training_settings, to_device_if_fits, train_model

REGISTRY: dict[str, type] = {}


class HashingMethod(nn.Module):
    """Base class. Subclasses set `name`, `defaults` (the method's hyperparameters, paper defaults) and
    `train_defaults`, and implement `loss(u, y)` with u (B, K) the head's output and y (B, C) multi-hot."""

    name: str = ""
    summary: str = ""
    multi_label: bool = True          # handles multi-hot labels natively
    supervised: bool = True
    defaults: dict = {}
    train_defaults: dict = {"epochs": 40, "lr": 1e-3, "batch_size": 64, "weight_decay": 1e-5}

    def __init_subclass__(cls, **kw):
        super().__init_subclass__(**kw)
        if cls.name:
            REGISTRY[cls.name] = cls

    def __init__(self, bits: int, n_classes: int, seed: int = 0, **hparams):
        super().__init__()
        check_bits(bits)
        unknown = set(hparams) - set(self.defaults)
        if unknown:
            raise TypeError(f"{self.name}: unknown hyperparameter(s) {sorted(unknown)}; "
                            f"this method takes {sorted(self.defaults) or 'none'}")
        self.bits, self.n_classes, self.seed = int(bits), int(n_classes), seed
        self.hparams = {**self.defaults, **hparams}
        self.total_epochs: int | None = None   # set by fit: methods whose schedule depends on it read it

    # -- hooks ---------------------------------------------------------------------------------
    def make_head(self, in_features: int) -> nn.Module:
        """The hash layer: features (n, F) -> u (n, K). Linear unless the method needs more."""
        return nn.Linear(in_features, self.bits)

    def setup(self, model: nn.Module, x: torch.Tensor, y: torch.Tensor, device) -> None:
        """Before training: codebooks, stage-1 networks. x, y are the training data."""

    def on_epoch_start(self, epoch: int, model: nn.Module, x, y, device) -> None:
        """Between epochs: e.g. recompute class centres with the network fixed."""

    def make_optimizer(self, params, lr: float, weight_decay: float):
        return torch.optim.Adam(params, lr=lr, weight_decay=weight_decay)

    def loss(self, u: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    # -- the one-call API ------------------------------------------------------------------------
    @classmethod
    def training_settings(cls, **overrides) -> dict:
        """train_defaults with the given settings (epochs, lr, batch_size, weight_decay) that are not None."""
        return {**cls.train_defaults, **{k: v for k, v in overrides.items() if v is not None}}

    @classmethod
    def fit(cls, X, y, bits: int = 32, seed: int = 0, *, epochs=None, lr=None, batch_size=None,
            weight_decay=None, device=None, backbone: str = "auto", val_fraction: float = 0.1,
            progress: bool = False, amp=False, data_on_device: bool | None = None, **hparams) -> Hasher:
        """Train on X (n, ...) and y ((n,) class ids or (n, C) multi-hot); see hu.fit. amp and data_on_device:
        see training.train_model."""
        check_bits(bits)
        x = _as_input(X, "X")
        y = check_labels(cls.name, y, len(x), cls.multi_label)
        check_code_length(cls.name, bits, y.shape[1])
        tr = cls.training_settings(epochs=epochs, lr=lr, batch_size=batch_size, weight_decay=weight_decay)
        check_training_settings(tr["epochs"], tr["batch_size"], tr["lr"], tr["weight_decay"])
        device = pick_device(device) if not isinstance(device, torch.device) else device
        seed_everything(seed)
        x_tr, y_tr, x_val, y_val = validation_split(x, y, val_fraction, seed)
        method = cls(bits, y.shape[1], seed=seed, **hparams)
        method.total_epochs = int(tr["epochs"])
        body = make_backbone(tuple(x.shape[1:]), backbone)
        model = HashingModel(body, method.make_head(body.out_features)).to(device)
        place(method, device)
        # the training data go to the device once, before setup (SHC trains its classifier on them)
        x_dev, y_dev, x_val_dev, on_device = to_device_if_fits(device, x_tr, y_tr, x_val, resident=data_on_device)
        method.setup(model, x_dev, y_dev, device)
        place(method, device)        # buffers made by setup: float32 on MPS
        history = train_model(model, method, x_dev, y_dev, seed=seed, device=device, x_val=x_val_dev,
                              y_val=y_val, progress=progress, amp=amp, data_on_device=on_device, **tr)
        settings = {"method": cls.name, "bits": bits, "seed": seed, "backbone": backbone,
                    "val_fraction": val_fraction, **tr, **method.hparams}
        if amp:
            settings["amp"] = history["amp"]
        return Hasher(method, model, device, history, settings, input_shape=tuple(x.shape[1:]))


def check_bits(bits) -> None:
    """TypeError unless bits is an integer, ValueError unless it is >= 2."""
    if isinstance(bits, bool) or not isinstance(bits, (int, np.integer)):
        raise TypeError(f"bits must be an integer (the code length), got {bits!r}")
    if bits < 2:
        raise ValueError(f"bits must be an integer >= 2 (the code length), got {bits}")


def check_labels(name: str, y, n: int, multi_label: bool = True) -> torch.Tensor:
    """The training labels of a supervised method as (n, C) multi-hot, with a clear error for what cannot train.

    Rows with no label at all are refused (ValueError): every supervised loss here pulls a sample toward its
    classes' code, and an empty row has none (CSQ would silently pull it to the tie-breaker vector, the
    softmax losses divide by zero). Drop those rows first: keep = y.sum(1) > 0. A training set with a single
    class trains (warning), but its codes can only say "same class"."""
    if y is None:
        raise ValueError(f"{name} is supervised: pass labels y, (n,) class ids or (n, C) multi-hot")
    y = to_multi_hot(y)
    if len(y) != n:
        raise ValueError(f"y has {len(y)} rows but X has {n}: one label (or label row) per sample expected")
    empty = (y.sum(1) == 0).nonzero().flatten()
    if len(empty):
        raise ValueError(f"y: {len(empty)} training rows have no label at all (first row {int(empty[0])}); every "
                         "sample needs at least one class: drop them first, e.g. keep = y.sum(1) > 0")
    if not multi_label and bool((y.sum(1) > 1).any()):
        raise ValueError(f"{name} handles single-label data only; got rows with several labels")
    present = int((y.sum(0) > 0).sum())
    if present < 2:
        warnings.warn(f"y: the training set has a single class; {name} is supervised and can only learn that "
                      "all samples are alike, so its codes will not separate anything", UserWarning, stacklevel=4)
    return y


def check_code_length(name: str, bits: int, n_classes: int) -> None:
    """ValueError when `bits` cannot give each of `n_classes` classes its own code (2^bits < C)."""
    if n_classes > 2 ** min(int(bits), 62):
        raise ValueError(f"bits={bits} gives only {2 ** bits} different codes, fewer than the {n_classes} classes: "
                         f"{name} needs one code per class; use bits >= {int(np.ceil(np.log2(n_classes)))}")


def validation_split(x, y, fraction: float, seed: int):
    """Carve a seeded random `fraction` of the training data off as validation (never the queries).
    Returns x_train, y_train, x_val, y_val (x_val None when fraction is 0 or the data are tiny)."""
    if not 0 <= fraction < 1:
        raise ValueError(f"val_fraction must be in [0, 1), got {fraction}")
    n_val = int(round(fraction * len(x)))
    if n_val < 10:
        return x, y, None, None
    perm = torch.randperm(len(x), generator=torch.Generator().manual_seed(seed + 10_007))
    val, tr = perm[:n_val].sort().values, perm[n_val:].sort().values
    return x[tr], y[tr], x[val], y[val]


def methods() -> list[str]:
    """Names of the registered methods."""
    return sorted(REGISTRY)


def get_method(name: str) -> type:
    if name not in REGISTRY:
        raise ValueError(f"unknown method {name!r}; registered: {', '.join(methods())}")
    return REGISTRY[name]


def fit(method: str, X, y=None, bits: int = 32, seed: int = 0, **kwargs) -> Hasher:
    """Train a registered hashing method and return a Hasher.

    X: float (n, d) or (n, c, h, w) (DCHML: a pair (X_image, X_text)); y: (n,) int or (n, C) multi-hot.
    kwargs: epochs, lr, batch_size, weight_decay, device, backbone, val_fraction, progress, amp (mixed
    precision, off by default: see training.train_model), data_on_device, and the method's own
    hyperparameters (see hu.method_defaults(name)).
    """
    return get_method(method).fit(X, y, bits=bits, seed=seed, **kwargs)


def method_defaults(name: str) -> dict:
    """A method's hyperparameters and training defaults."""
    cls = get_method(name)
    return {**cls.train_defaults, **cls.defaults}

