"""THE training loop (train_model), its per-method hooks (TrainingStep), and the Hasher a trained model becomes.

Every network hashing_utils trains goes through train_model: the hash networks of hu.fit, DCHML's two modality
networks (trained in turns: `parts`), the category-code network of PSLDH and DCHML, SHC's stage-1 classifier.
What differs between them is a TrainingStep: `training_step` (by default loss(z, y) of z = net(x)) and the
hooks around it, like a Lightning module's.

The loop is seeded and device-agnostic. Each epoch it records the mean loss and, when a validation
split is given, mAP@all of validation queries against the training set: a validation split carved
from training data, never the query set.

On an accelerator an in-memory training set that fits is copied to the device once (no host->device copy
per minibatch), the minibatch order is drawn on the CPU (the same order on every device) and the loss is read
back once per epoch, not once per step.
"""
from __future__ import annotations

import math
import time
import warnings

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from . import metrics
from .codes import binarize
from .models import MLP, CentredProjection

# at most this share of the free accelerator memory is used for a resident copy of the data
RESIDENT_SHARE = 0.5


def _nbytes(*tensors) -> int:
    return sum(t.element_size() * t.numel() for t in tensors if t is not None)


def resident_budget(device) -> int:
    """Bytes of data this device can hold for training (the CPU: no limit, nothing is copied)."""
    device = torch.device(device)
    if device.type == "cpu":
        return 1 << 62
    if device.type == "cuda":
        free, _ = torch.cuda.mem_get_info(device)
        return int(RESIDENT_SHARE * free)
    if device.type == "mps" and hasattr(torch.mps, "recommended_max_memory"):
        return int(RESIDENT_SHARE * (torch.mps.recommended_max_memory() - torch.mps.driver_allocated_memory()))
    return 2 << 30      # other devices: 2 GiB


def to_device_if_fits(device, *tensors, resident: bool | None = None):
    """The tensors on `device` when they fit together in resident_budget(device) (resident=None), always
    (True) or never (False: they stay where they are and minibatches are copied one by one).
    Returns (tensors..., on_device: bool)."""
    device = torch.device(device)
    if resident is None:
        resident = _nbytes(*tensors) <= resident_budget(device)
    if not resident:
        return (*tensors, False)
    return (*(None if t is None else t.to(device) for t in tensors), True)


@torch.no_grad()
def forward_in_batches(model: torch.nn.Module, x: torch.Tensor, device, batch_size: int = 1024,
                       on_device: bool = False) -> torch.Tensor:
    """model(x) in eval mode, batch by batch; (n, ...) -> (n, K) float32, on the CPU (one copy at the end)
    or, with on_device, left on `device`."""
    was_training = model.training
    model.eval()
    out = [model(x[s:s + batch_size].to(device)).float() for s in range(0, len(x), batch_size)]
    model.train(was_training)
    u = torch.cat(out) if out else torch.empty(0, device=device)
    return u if on_device else u.cpu()


@torch.no_grad()
def encode_in_batches(model: torch.nn.Module, x: torch.Tensor, device, batch_size: int = 1024) -> torch.Tensor:
    """binarize(model(x)) computed on `device`; only the int8 codes (n, K) come back to the CPU."""
    return binarize(forward_in_batches(model, x, device, batch_size, on_device=True)).cpu()


def check_training_settings(epochs, batch_size, lr, weight_decay=0.0) -> None:
    """ValueError/TypeError naming the setting when epochs, batch_size, lr or weight_decay is unusable."""
    for name, value, least in (("epochs", epochs, 1), ("batch_size", batch_size, 2)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
            raise TypeError(f"{name} must be an integer, got {value!r}")
        if value < least:
            why = " (BatchNorm needs two samples per batch)" if name == "batch_size" else ""
            raise ValueError(f"{name} must be >= {least}{why}, got {value}")
    if not (isinstance(lr, (int, float)) and math.isfinite(lr) and lr > 0):
        raise ValueError(f"lr must be a positive finite number, got {lr!r}")
    if not (isinstance(weight_decay, (int, float)) and math.isfinite(weight_decay) and weight_decay >= 0):
        raise ValueError(f"weight_decay must be a finite number >= 0, got {weight_decay!r}")


def amp_dtype(device, amp=True):
    """The autocast dtype for amp=True on `device`: bfloat16 on CUDA GPUs that support it and on the CPU,
    else float16 (which needs a gradient scaler). amp may also name the dtype: 'bfloat16' or 'float16'."""
    device = torch.device(device)
    if isinstance(amp, str):
        if amp not in ("bfloat16", "float16"):
            raise ValueError(f"amp must be True, False, 'bfloat16' or 'float16', got {amp!r}")
        return getattr(torch, amp)
    if device.type == "cuda":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    if device.type == "cpu":
        return torch.bfloat16
    if device.type == "mps":
        return torch.float16
    raise ValueError(f"amp=True: torch has no autocast for device {device.type!r}; use amp=False")


class TrainingStep(nn.Module):
    """What differs between the networks train_model trains: the per-method step hook (like a Lightning
    `training_step`) and the optional hooks around it. The loop owns everything else: seeding, data residency,
    the CPU-drawn minibatch order, the BatchNorm skip, mixed precision, the per-epoch read-back, validation,
    the divergence error and the collapse warning.

    Subclasses implement `loss(z, y)` (z: (B, K) the network's output, y: (B, C) labels) or override
    `training_step`. `parts` names submodules trained in turns, each with its own optimiser and one pass over
    the data per epoch (DCHML's two modality networks); None trains the whole model in one pass.
    """
    name: str = "model"
    parts: tuple | None = None

    def make_optimizer(self, params, lr: float, weight_decay: float):
        return torch.optim.Adam(params, lr=lr, weight_decay=weight_decay)

    def on_epoch_start(self, epoch: int, model: nn.Module, x, y, device) -> None:
        """Before each epoch, the network fixed: e.g. recompute class centres."""

    def training_step(self, net, x, y, idx, part=None) -> torch.Tensor:
        """The loss of one minibatch. net: the network being trained (a callable; under amp its output is
        already float32); x, y: the minibatch; idx: its row numbers in the training set (on the device when
        the data are resident); part: the submodule trained now (None: the whole model)."""
        return self.loss(net(x), y)

    def on_part_end(self, part, model: nn.Module, x, y, device) -> None:
        """After one part's pass (parts only)."""

    def on_epoch_end(self, epoch: int, model: nn.Module, x, y, device) -> None:
        """After every part of an epoch, before validation."""

    def validation_metrics(self, model, x_val, y_val, x_train, y_train, device) -> dict:
        """{'val_map': mAP@all of the validation queries against the training set}; the training codes (CPU
        int8) are kept in self.last_codes for the collapse check. y_val, y_train on the CPU."""
        v = encode_in_batches(model, x_val, device)
        t = encode_in_batches(model, x_train, device)
        self.last_codes = t
        return {"val_map": metrics.mean_average_precision(v, t, y_val, y_train)}

    def loss(self, z: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError


def _gather(x, idx, part, device, on_device: bool):
    """The minibatch rows `idx` of x (a tensor, or {part: tensor} when parts read different inputs)."""
    t = x[part] if isinstance(x, dict) else x
    return t[idx] if on_device else t[idx].to(device)


def chance_map(y_query: torch.Tensor, y_db: torch.Tensor) -> float:
    """mAP@all of a ranking that knows nothing (every item on one code, expected tie rule): about the mean
    share of relevant items in the database. y: (n, C) multi-hot on the CPU."""
    rel = (y_query.float() @ y_db.float().T > 0).float()
    return float(rel.mean(1).mean()) if rel.numel() else 0.0


def train_model(model, method, x, y, *, epochs: int, batch_size: int, lr: float, weight_decay: float = 0.0,
                seed: int = 0, device=None, x_val=None, y_val=None, progress: bool = False, amp=False,
                data_on_device: bool | None = None, shuffle: bool = True) -> dict:
    """Train `model` with `method.training_step` (by default `method.loss(z, y)`, z = model(x)) by mini-batch
    Adam (or the method's own optimiser): THE training loop of the library. Every network hashing_utils trains
    goes through it (hash networks, DCHML's two modality networks, the category-code network, SHC's stage-1
    classifier); `method` is a TrainingStep.

    x: (n, ...) float32 (or {part: (n, ...)} for a method with parts), y: (n, C) labels. Returns the history
    {'epoch': [...], 'loss': [...], 'val_map': [...], 'seconds': float, 'amp': None | dtype name,
    'data_on_device': bool} (with parts also 'loss_<part>', the per-pass means; 'loss' is their sum).

    data_on_device: None copies x and y to the device once when they fit (see to_device_if_fits), True always,
    False copies each minibatch. The minibatch order comes from a CPU generator seeded with `seed`, so it is
    the same on every device, and on the CPU every path gives the same bits. shuffle=False takes the rows in
    order (a full-batch problem such as the category network: one step per epoch when batch_size >= n).

    amp: mixed precision (off by default). True runs the network's forward pass under torch.autocast in
    bfloat16 where supported (CUDA GPUs with bf16, the CPU), else float16 with a torch.amp.GradScaler; a
    string ('bfloat16', 'float16') picks the dtype. What it changes: matmuls and convolutions round to 8
    (bf16) or 11 (fp16) significant bits, which is faster on GPUs with tensor cores and halves activation
    memory; the weights, the optimiser state and the loss (computed in float32 from the outputs) stay
    float32, and validation/encoding run in float32. Codes then differ from an amp=False run by rounding,
    like a run on another device; on a CPU without bf16 units it is usually slower.

    Loud failure: a loss that is NaN or infinite stops training with FloatingPointError naming the epoch and
    the learning rate; a collapse seen by validation (every training item on one code, or validation mAP at
    chance level) gives a RuntimeWarning at the end.
    """
    device = torch.device(device or "cpu")
    check_training_settings(epochs, batch_size, lr, weight_decay)
    model.to(device)
    method.to(device)
    parts = method.parts or (None,)
    nets = {p: model if p is None else model[p] for p in parts}
    opts = {p: method.make_optimizer(_param_groups(nets[p], method, lr), lr=lr, weight_decay=weight_decay)
            for p in parts}
    dtype = amp_dtype(device, amp) if amp else None
    scaler = torch.amp.GradScaler(device.type) if dtype == torch.float16 else None
    # labels for the validation metric stay on the CPU (the metrics run there)
    y_metric = y.cpu()
    y_val_metric = None if y_val is None else y_val.cpu()
    if isinstance(x, dict):
        keys = list(x)
        *placed, ys, on_device = to_device_if_fits(device, *x.values(), y, resident=data_on_device)
        xs = dict(zip(keys, placed))
        n = len(y)
    else:
        xs, ys, on_device = to_device_if_fits(device, x, y, resident=data_on_device)
        n = len(x)
    gen = torch.Generator().manual_seed(seed)
    history = {"epoch": [], "loss": [], "val_map": [], "amp": None if dtype is None else str(dtype)[6:],
               "data_on_device": on_device}
    start = time.perf_counter()
    bar = tqdm(range(epochs), desc=method.name, disable=not progress, leave=False)
    for epoch in bar:
        method.on_epoch_start(epoch, model, xs, ys, device)
        total = 0.0
        for part in parts:
            net = nets[part]
            net.train()
            order = torch.randperm(n, generator=gen) if shuffle else torch.arange(n)
            if on_device:
                order = order.to(device)      # one small copy per pass; minibatches are gathered on the device
            forward = net if dtype is None else _Autocast(net, device, dtype)
            losses = []
            for s in range(0, n, batch_size):
                idx = order[s:s + batch_size]
                if len(idx) < 2:  # BatchNorm needs two samples
                    continue
                loss = method.training_step(forward, _gather(xs, idx, part, device, on_device),
                                            ys[idx] if on_device else ys[idx].to(device), idx, part)
                opt = opts[part]
                opt.zero_grad(set_to_none=True)
                if scaler is None:
                    loss.backward()
                    opt.step()
                else:
                    scaler.scale(loss).backward()
                    scaler.step(opt)
                    scaler.update()
                losses.append(loss.detach())
            # one device->host copy per pass; summing the float32 values as Python floats in order gives the
            # same number as adding float(loss) after every step
            mean = sum(torch.stack(losses).cpu().tolist()) / len(losses) if losses else 0.0
            if not math.isfinite(mean):
                where = "" if part is None else f" ({part} network)"
                raise FloatingPointError(f"{method.name}: the training loss became {mean} at epoch {epoch + 1}"
                                         f"{where}: training diverged; lower lr (now {lr:g}), or check the "
                                         "method's hyperparameters")
            if part is not None:
                history.setdefault(f"loss_{part}", []).append(mean)
                method.on_part_end(part, model, xs, ys, device)
            total += mean
        method.on_epoch_end(epoch, model, xs, ys, device)
        history["epoch"].append(epoch + 1)
        history["loss"].append(total)
        if x_val is not None and len(x_val):
            for k, v in method.validation_metrics(model, x_val, y_val_metric, xs, y_metric, device).items():
                history.setdefault(k, []).append(v)
            bar.set_postfix(loss=f"{history['loss'][-1]:.4f}", val_map=f"{history['val_map'][-1]:.3f}")
        else:
            bar.set_postfix(loss=f"{history['loss'][-1]:.4f}")
    history["seconds"] = time.perf_counter() - start
    if history["val_map"]:
        warn_if_collapsed(method, history["val_map"][-1], y_val_metric, y_metric, lr)
    method.__dict__.pop("last_codes", None)
    return history


class _Autocast:
    """net(x) under torch.autocast, returned as float32 (the loss is computed in float32)."""

    def __init__(self, net, device, dtype):
        self.net, self.device, self.dtype = net, device, dtype

    def __call__(self, x):
        with torch.autocast(self.device.type, dtype=self.dtype):
            z = self.net(x)
        return z.float()


def warn_if_collapsed(method, val_map: float, y_val, y_train, lr: float) -> None:
    """RuntimeWarning when the last validation says the codes carry nothing: every training item on one code,
    or validation mAP@all no better than chance (1.1 x the mAP of a ranking that knows nothing)."""
    codes = getattr(method, "last_codes", None)
    one_code = codes is not None and len(codes) > 1 and bool((codes == codes[:1]).all())
    chance = chance_map(y_val.reshape(len(y_val), -1), y_train.reshape(len(y_train), -1)) \
        if y_val is not None and y_val.ndim == 2 else None
    # a single-class training set is "at chance" by construction (labels.training_labels warns about it already)
    at_chance = chance is not None and chance < 1 and val_map <= 1.1 * chance
    if one_code or at_chance:
        what = "every training item got the same code" if one_code else "the codes carry no class information"
        warnings.warn(f"{method.name}: training collapsed: {what} (validation mAP@all {val_map:.3f}, chance "
                      f"{chance if chance is not None else float('nan'):.3f}); lower lr (now {lr:g}) or train "
                      "longer, and check the method's hyperparameters", RuntimeWarning, stacklevel=3)


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
    """A trained hash function: encode(x) -> int8 ±1 codes (n, K), computed on its device.

    input_shape: the shape of one training sample (e.g. (64,) or (1, 28, 28)); when known, encode checks x
    against it. A model that flattens its input (an MLP backbone, a fixed projection as in LSH/PCA/ITQ) also
    takes x of another shape with as many values per sample; a CNN needs the shape it was trained on.
    """

    def __init__(self, method, model: torch.nn.Module, device, history: dict | None = None,
                 settings: dict | None = None, input_shape: tuple | None = None):
        self.method = method
        self.model = model
        self.device = torch.device(device)
        self.history = history or {}
        self.settings = settings or {}
        self.input_shape = None if input_shape is None else tuple(input_shape)

    @property
    def _flattens(self) -> bool:
        return isinstance(self.model, CentredProjection) or isinstance(getattr(self.model, "backbone", None), MLP)

    @property
    def bits(self) -> int:
        return self.method.bits

    def continuous(self, x, batch_size: int = 1024) -> torch.Tensor:
        """The real-valued outputs u (n, K) before binarisation, on the CPU."""
        x = check_input(x, self.input_shape, "x", self._flattens)
        return forward_in_batches(self.model, x, self.device, batch_size)

    def encode(self, x, batch_size: int = 1024) -> torch.Tensor:
        """b = sgn(u) with 0 -> +1: int8 (n, K) on the CPU (binarised on the device; only the codes move)."""
        x = check_input(x, self.input_shape, "x", self._flattens)
        return encode_in_batches(self.model, x, self.device, batch_size)

    def evaluate(self, x_query, y_query, x_db, y_db, **kwargs) -> dict:
        """metrics.evaluate on the codes of queries and database (mAP@all, mAP@1000, P@H<=2, tie bounds)."""
        return metrics.evaluate(self.encode(x_query), self.encode(x_db), _cpu(y_query), _cpu(y_db), **kwargs)

    def __repr__(self):
        return f"Hasher(method={self.method.name!r}, bits={self.bits}, device={self.device.type})"


class CrossModalHasher(Hasher):
    """A trained cross-modal hash function: one network per modality into one Hamming space.

    encode(x, modality="image"|"text") -> int8 ±1 (n, K). `method` may be None for baselines (CCA, LSH pairs).
    input_shape: None or {modality: shape of one sample}.
    """

    def __init__(self, method, models: dict, device, history: dict | None = None, settings: dict | None = None,
                 input_shape: dict | None = None):
        if not models:
            raise ValueError("a CrossModalHasher needs one model per modality")
        super().__init__(method, nn.ModuleDict(models), device, history, settings)
        self.modalities = tuple(models)
        self.input_shape = None if input_shape is None else {m: tuple(s) for m, s in input_shape.items()}

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

    def _input(self, x, modality):
        shape = None if self.input_shape is None else self.input_shape.get(modality)
        return check_input(x, shape, f"x ({modality})")

    def continuous(self, x, modality=None, batch_size: int = 1024) -> torch.Tensor:
        """The real-valued outputs (n, K) of `modality`'s network, before binarisation, on the CPU."""
        net = self._network(modality)
        return forward_in_batches(net, self._input(x, modality), self.device, batch_size)

    def encode(self, x, modality=None, batch_size: int = 1024) -> torch.Tensor:
        """b = sgn(u) with 0 -> +1 from `modality`'s network: int8 (n, K) on the CPU."""
        net = self._network(modality)
        return encode_in_batches(net, self._input(x, modality), self.device, batch_size)

    def evaluate(self, x_query, y_query, x_db, y_db, *, query_modality=None, db_modality=None, **kwargs) -> dict:
        """metrics.evaluate with queries encoded by `query_modality` and the database by `db_modality`."""
        return metrics.evaluate(self.encode(x_query, query_modality), self.encode(x_db, db_modality),
                                _cpu(y_query), _cpu(y_db), **kwargs)

    def __repr__(self):
        name = self.settings.get("method", getattr(self.method, "name", "?"))
        return f"CrossModalHasher(method={name!r}, bits={self.bits}, modalities={self.modalities})"


def _cpu(y):
    return y.cpu() if isinstance(y, torch.Tensor) else y


def as_input(x, name: str = "X") -> torch.Tensor:
    """x as a float32 tensor (n, d) or (n, c, h, w); TypeError/ValueError naming `name` for anything else,
    including NaN or inf values (they would train or encode silently into meaningless codes)."""
    if isinstance(x, np.ndarray):
        if x.dtype == object:
            raise TypeError(f"{name} must be a numeric array, got an array of Python objects")
        x = torch.from_numpy(x)
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name} must be a torch tensor or numpy array, got {type(x).__name__}")
    if x.dtype == torch.bool or x.is_complex():
        raise TypeError(f"{name} must hold real numbers, got dtype {x.dtype}")
    if x.ndim < 2:
        raise ValueError(f"{name} must be (n, d) or (n, c, h, w); got shape {tuple(x.shape)}")
    x = x.to(torch.float32)
    if x.is_floating_point() and len(x) and x.numel():
        finite = torch.isfinite(x.reshape(len(x), -1)).all(1)
        if not bool(finite.all()):
            rows = (~finite).nonzero().flatten()
            kind = "NaN" if bool(torch.isnan(x[rows]).any()) else "inf"
            raise ValueError(f"{name} contains {kind} values ({len(rows)} of {len(x)} rows, first row "
                             f"{int(rows[0])}); replace or drop them before training or encoding")
    return x


def check_input(x, input_shape, name: str = "x", flattens: bool = False) -> torch.Tensor:
    """as_input, then the shape of one sample against `input_shape` (None: not checked). With `flattens`
    (the model flattens its input) any shape with as many values per sample is accepted."""
    x = as_input(x, name)
    if input_shape is None or tuple(x.shape[1:]) == tuple(input_shape):
        return x
    if (flattens or len(input_shape) == 1) and math.prod(x.shape[1:]) == math.prod(input_shape):
        return x     # the same values per sample, and the model flattens them (or was trained on flat ones)
    want = ", ".join(str(s) for s in input_shape)
    raise ValueError(f"{name} has shape {tuple(x.shape)}, but this hasher was trained on samples of shape "
                     f"({want}): expected (n, {want})")
