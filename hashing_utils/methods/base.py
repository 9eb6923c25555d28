"""The two kinds of hashing method, their flags, and the registry behind hu.fit / hu.list_methods.

- TrainedMethod: a loss plug-in for THE training loop (training.train_model): `make_head`, `setup`, the hooks
  of training.TrainingStep and `loss(z, y)`; its `fit` builds backbone + head, trains, returns a Hasher.
- TrainingFreeMethod (LSH, PCA, ITQ): `build(x)` computes a fixed projection; no loop, no optimiser.

Flags every method states (read by the CLI, the experiment cache, the benchmarks and notebook 09 instead of
lists of names): `trainable` (goes through the loop), `supervised` (needs labels), `cross_modal` (needs
(X_image, X_text) pairs), `multi_label` (handles several labels per row). `hparam_docs` gives one line of
meaning per hyperparameter (the same letter means different things in different methods: see
notebooks/NOTATION.md). A method joins the registry only through the @register decorator.
"""
from __future__ import annotations

import numpy as np
import torch
from torch import nn

from ..devices import child_seed, pick_device, place, seed_everything
from ..labels import training_labels
from ..models import HashingModel, make_backbone
from ..training import Hasher, TrainingStep, as_input, check_training_settings, to_device_if_fits, train_model

REGISTRY: dict[str, type] = {}

# settings of the training loop: training-free methods accept them and ignore them
TRAINING_ARGS = frozenset({"epochs", "lr", "batch_size", "weight_decay", "backbone", "val_fraction", "progress",
                           "amp", "data_on_device"})
TRAIN_DOCS = {"epochs": "passes over the training data", "lr": "Adam's learning rate",
              "batch_size": "samples per minibatch", "weight_decay": "Adam's L2 weight decay"}


def register(cls: type) -> type:
    """Class decorator: hu.fit(cls.name, ...) and hu.list_methods() know the method from here on."""
    if not cls.name:
        raise ValueError(f"{cls.__name__} has no name to register under")
    if cls.name in REGISTRY and REGISTRY[cls.name] is not cls:
        raise ValueError(f"a method named {cls.name!r} is registered already ({REGISTRY[cls.name].__name__})")
    missing = set(cls.defaults) - set(cls.hparam_docs)
    if missing:
        raise ValueError(f"{cls.name}: hparam_docs has no line for {sorted(missing)}")
    REGISTRY[cls.name] = cls
    return cls


class HashingMethod(nn.Module):
    """What every method is: a name, flags, hyperparameters (`defaults`, documented in `hparam_docs`) and the
    classmethod `fit` that hu.fit calls. Subclass TrainedMethod or TrainingFreeMethod, not this."""

    name: str = ""
    summary: str = ""
    trainable: bool = False
    supervised: bool = True
    cross_modal: bool = False
    multi_label: bool = True          # handles multi-hot labels natively
    defaults: dict = {}
    hparam_docs: dict = {}
    train_defaults: dict = {}

    def __init__(self, bits: int, n_classes: int, seed: int = 0, **hparams):
        super().__init__()
        check_bits(bits)
        unknown = set(hparams) - set(self.defaults)
        if unknown:
            raise TypeError(f"{self.name}: unknown hyperparameter(s) {sorted(unknown)}; "
                            f"this method takes {sorted(self.defaults) or 'none'}")
        self.bits, self.n_classes, self.seed = int(bits), int(n_classes), seed
        self.hparams = {**self.defaults, **hparams}

    @classmethod
    def training_settings(cls, **overrides) -> dict:
        """train_defaults with the given settings (epochs, lr, batch_size, weight_decay) that are not None."""
        return {**cls.train_defaults, **{k: v for k, v in overrides.items() if v is not None}}

    @classmethod
    def fit(cls, X, y=None, bits: int = 32, seed: int = 0, **kwargs) -> Hasher:
        raise NotImplementedError


class TrainedMethod(HashingMethod, TrainingStep):
    """A method trained by training.train_model. Subclasses set `name`, `defaults`, `hparam_docs` and
    `train_defaults`, and implement `loss(z, y)` with z (B, K) the head's output (NOTATION.md's z; the
    method squashes it, u = tanh(z), where its loss says so) and y (B, C) multi-hot."""

    trainable = True
    train_defaults: dict = {"epochs": 40, "lr": 1e-3, "batch_size": 64, "weight_decay": 1e-5}

    def __init__(self, bits: int, n_classes: int, seed: int = 0, **hparams):
        super().__init__(bits, n_classes, seed, **hparams)
        self.total_epochs: int | None = None   # set by fit: methods whose schedule depends on it read it

    # -- hooks (with those of training.TrainingStep) ---------------------------------------------
    def make_head(self, in_features: int) -> nn.Module:
        """The hash layer: features (n, F) -> z (n, K). Linear unless the method needs more."""
        return nn.Linear(in_features, self.bits)

    def setup(self, model: nn.Module, x: torch.Tensor, y: torch.Tensor, device) -> None:
        """Before training: codebooks, stage-1 networks. x, y are the training data."""

    # -- the one-call API ------------------------------------------------------------------------
    @classmethod
    def fit(cls, X, y, bits: int = 32, seed: int = 0, *, epochs=None, lr=None, batch_size=None,
            weight_decay=None, device=None, backbone: str = "auto", val_fraction: float = 0.1,
            progress: bool = False, amp=False, data_on_device: bool | None = None, **hparams) -> Hasher:
        """Train on X (n, ...) and y ((n,) class ids or (n, C) multi-hot); see hu.fit. amp and data_on_device:
        see training.train_model."""
        check_bits(bits)
        x = as_input(X, "X")
        y = training_labels(cls.name, y, len(x), cls.multi_label)
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


class TrainingFreeMethod(HashingMethod):
    """A method computed in closed form from the data (no loop): subclasses implement `build(x)`.
    The training loop's settings (epochs, lr, ...) are accepted and unused, and do not enter the cache key."""

    trainable = False
    supervised = False

    def build(self, x: torch.Tensor) -> tuple[nn.Module, dict]:
        """x: the checked training inputs (n, ...) float32 -> (the model that maps x to u (n, K), history)."""
        raise NotImplementedError

    @classmethod
    def fit(cls, X, y=None, bits: int = 32, seed: int = 0, *, device=None, **kwargs) -> Hasher:
        """No training: the settings of the loop (epochs, lr, ...) are accepted and unused; the method's
        hyperparameters are keywords too."""
        unknown = set(kwargs) - TRAINING_ARGS - set(cls.defaults)
        if unknown:
            raise TypeError(f"{cls.name}: unknown argument(s) {sorted(unknown)}")
        x = as_input(X, "X")
        method = cls(bits, 0 if y is None else 1, seed=seed, **{k: v for k, v in kwargs.items() if k in cls.defaults})
        model, history = method.build(x)
        device = pick_device(device) if not isinstance(device, torch.device) else device
        settings = {"method": cls.name, "bits": bits, "seed": seed, **method.hparams}
        return Hasher(method, model.to(device), device, history, settings, input_shape=tuple(x.shape[1:]))


def check_bits(bits) -> None:
    """TypeError unless bits is an integer, ValueError unless it is >= 2."""
    if isinstance(bits, bool) or not isinstance(bits, (int, np.integer)):
        raise TypeError(f"bits must be an integer (the code length), got {bits!r}")
    if bits < 2:
        raise ValueError(f"bits must be an integer >= 2 (the code length), got {bits}")


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
    perm = torch.randperm(len(x), generator=torch.Generator().manual_seed(child_seed(seed, "validation split")))
    val, tr = perm[:n_val].sort().values, perm[n_val:].sort().values
    return x[tr], y[tr], x[val], y[val]


def list_methods(trainable: bool | None = None, supervised: bool | None = None,
                 cross_modal: bool | None = None) -> list[str]:
    """Names of the registered methods, sorted; a flag given (True/False) keeps the methods that have it."""
    flags = {"trainable": trainable, "supervised": supervised, "cross_modal": cross_modal}
    return sorted(name for name, cls in REGISTRY.items()
                  if all(want is None or getattr(cls, flag) == want for flag, want in flags.items()))


def get_method(name: str) -> type:
    if name not in REGISTRY:
        raise ValueError(f"unknown method {name!r}; registered: {', '.join(list_methods())}")
    return REGISTRY[name]


def fit(method: str, X, y=None, bits: int = 32, seed: int = 0, **kwargs) -> Hasher:
    """Train a registered hashing method and return a Hasher.

    X: float (n, d) or (n, c, h, w) (DCHML: a pair (X_image, X_text)); y: (n,) int or (n, C) multi-hot.
    kwargs: epochs, lr, batch_size, weight_decay, device, backbone, val_fraction, progress, amp (mixed
    precision, off by default: see training.train_model), data_on_device, and the method's own
    hyperparameters (see hu.method_defaults(name), and hu.method_docs(name) for what each one means).
    """
    return get_method(method).fit(X, y, bits=bits, seed=seed, **kwargs)


def method_defaults(name: str) -> dict:
    """A method's training defaults and hyperparameters ({} of training for a training-free method)."""
    cls = get_method(name)
    return {**cls.train_defaults, **cls.defaults}


def method_docs(name: str) -> dict:
    """One line of meaning for each of a method's settings: {setting: (default, meaning)}."""
    cls = get_method(name)
    docs = {k: (v, TRAIN_DOCS[k]) for k, v in cls.train_defaults.items()}
    return {**docs, **{k: (v, cls.hparam_docs[k]) for k, v in cls.defaults.items()}}
