"""Frozen-feature mode: run an ImageNet backbone once over the images, cache the features on disk, and train
any method's hash head on them. A CPU can then run the papers' protocols for ablations.

    f_train = extract_features("resnet50", split.x_train)          # (n, 2048) float32, cached
    hasher = fit_on_features("csq", f_train, y_train, bits=32)       # head: Linear(2048 -> K) (or an MLP)
    codes = hasher.encode(extract_features("resnet50", split.x_query))

Cache: <cache dir>/features/<key>.npy (float16: half the disk, and a hash head does not feel the rounding; the
returned features are that float16 rounded to float32 whether they were just computed or read back, so a cached
run equals a fresh one). key = SHA-256 of {backbone, weights (ImageNet enum or random seed), data fingerprint
(SHA-256 of the image tensor, or of the list files' paths, sizes and times), transform}. <cache dir> is
$HASHING_CACHE_DIR or <project>/build/cache, as for experiments.
"""
from __future__ import annotations

import hashlib
import json
import os
import time
from pathlib import Path

import numpy as np
import torch
from tqdm.auto import tqdm

from .backbones import FeatureInput, ImageNetBackbone, imagenet_backbone

FEATURE_CACHE_VERSION = 1


def data_fingerprint(x) -> str:
    """SHA-256 (16 hex digits) of the images: a tensor's shape, dtype and bytes, or an ImageList's files."""
    if hasattr(x, "fingerprint"):
        return x.fingerprint()
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"images must be a tensor (n, c, h, w) or an ImageList, got {type(x).__name__}")
    a = x.detach().cpu().contiguous()
    h = hashlib.sha256(f"{tuple(a.shape)}|{a.dtype}".encode())
    h.update(a.numpy().tobytes())
    return h.hexdigest()[:16]


def _weights_fingerprint(body: ImageNetBackbone) -> str:
    # a module may have been fine-tuned since it was built: key its current parameters, not its origin
    h = hashlib.sha256()
    for name, t in body.state_dict().items():
        h.update(name.encode())
        h.update(t.detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()[:16]


def feature_key(body, x) -> dict:
    """What the cache key hashes. A backbone given by name is keyed by its weights' name; a module by them
    and a hash of its current parameters."""
    weights = body.weights_id + (f"|{_weights_fingerprint(body)}" if isinstance(body, ImageNetBackbone) else "")
    return {"version": FEATURE_CACHE_VERSION, "backbone": body.arch, "weights": weights,
            "data": data_fingerprint(x), "n": len(x), "transform": body.input.describe(),
            "features": "fc7" if body.arch != "resnet50" else "pool5"}


def feature_cache_key(backbone, x) -> str:
    """The cache key (24 hex digits) of backbone's features of x: SHA-256 of feature_key's JSON."""
    text = json.dumps(feature_key(_describe_only(backbone), x), sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:24]


def _cache_folder() -> Path:
    from .experiments import cache_dir
    return cache_dir() / "features"


def _batches(x, batch_size):
    if isinstance(x, torch.Tensor):
        for s in range(0, len(x), batch_size):
            yield x[s:s + batch_size]
    else:                                     # a torch Dataset of images (ImageList): read in a loader
        loader = torch.utils.data.DataLoader(x, batch_size=batch_size, shuffle=False,
                                             num_workers=min(4, os.cpu_count() or 1) if len(x) > batch_size else 0)
        yield from loader


@torch.no_grad()
def extract_features(backbone, x, *, batch_size: int = 64, device=None, cache: bool = True,
                     progress: bool = True, info: dict | None = None) -> torch.Tensor:
    """Features (n, F) float32 of images x ((n, c, h, w) in [0, 1], or an ImageList) by a frozen backbone
    (a name of backbones.BACKBONE_NAMES, or an ImageNetBackbone), in eval mode, batched, on `device`
    (default: the GPU when there is one). Read from / written to the on-disk cache unless cache=False.
    `info`, when given a dict, receives {'key', 'cached', 'seconds', 'path'}."""
    from .devices import pick_device
    if len(x) == 0:
        raise ValueError("no images to extract features from (x is empty)")
    device = pick_device(device) if not isinstance(device, torch.device) else device
    key = feature_cache_key(backbone, x)
    path = _cache_folder() / f"{key}.npy"
    start = time.perf_counter()
    if cache and path.is_file():
        feats = np.load(path)
        if feats.shape[0] == len(x):
            if info is not None:
                info.update(key=key, cached=True, seconds=time.perf_counter() - start, path=str(path))
            return torch.from_numpy(feats.astype(np.float32))
    body = backbone if isinstance(backbone, ImageNetBackbone) else imagenet_backbone(backbone)
    was_training = body.training
    body.eval().to(device)
    out = []
    for xb in tqdm(_batches(x, batch_size), total=-(-len(x) // batch_size), desc=f"features {body.arch}",
                   disable=not progress, leave=False):
        out.append(body(xb.to(device, non_blocking=True)).to(torch.float16).cpu())
    body.train(was_training)
    feats = torch.cat(out).numpy()
    if cache:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.stem + ".tmp.npy")
        np.save(tmp, feats)
        os.replace(tmp, path)
        path.with_suffix(".json").write_text(json.dumps(feature_key(_describe_only(backbone), x), indent=1))
    if info is not None:
        info.update(key=key, cached=False, seconds=time.perf_counter() - start, path=str(path))
    return torch.from_numpy(feats.astype(np.float32))


class _Described:
    """What the cache key needs of a backbone, without building it (ImageNet weights are not loaded to hash)."""

    def __init__(self, name):
        from .backbones import ImageNetInput, _weights_enum, imagenet_backbone, is_imagenet_backbone
        if not is_imagenet_backbone(name):
            imagenet_backbone(name)                   # raises the ValueError naming the choices
        self.arch = name.removesuffix("-random")
        self.weights_id = "random(seed=0)" if name.endswith("-random") else str(_weights_enum(self.arch, "IMAGENET1K_V1"))
        self.input = ImageNetInput()


def _describe_only(backbone):
    return backbone if isinstance(backbone, ImageNetBackbone) else _Described(backbone)


def fit_on_features(method: str, features: torch.Tensor, y=None, bits: int = 32, seed: int = 0, *,
                    head: str = "linear", **kwargs):
    """Train `method`'s hash head on frozen features (n, F): head 'linear' = the method's own hash layer right
    on the features (Linear(F -> K) for most methods, as the papers' new fc8 layer); 'mlp' = the workbook's MLP
    (2 x 256) before it. pca / itq / lsh take the features as their input. Returns a Hasher over features."""
    from .methods import fit
    if not isinstance(features, torch.Tensor) or features.ndim != 2:
        raise ValueError(f"features must be a (n, F) tensor (from extract_features), got "
                         f"{getattr(features, 'shape', type(features).__name__)}")
    if head not in ("linear", "mlp"):
        raise ValueError(f"head must be 'linear' or 'mlp', got {head!r}")
    backbone = FeatureInput(features.shape[1]) if head == "linear" else "mlp"
    return fit(method, features, y, bits=bits, seed=seed, backbone=backbone, **kwargs)
