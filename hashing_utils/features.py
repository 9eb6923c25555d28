"""Frozen-feature mode: run an ImageNet backbone once over the images, cache the features on disk, and train
any method's hash head on them. A CPU can then run the papers' protocols for ablations.

    f_train = extract_features("resnet50", split.x_train)          # (n, 2048) float32, cached
    hasher = fit_on_features("csq", f_train, y_train, bits=32)       # head: Linear(2048 -> K) (or an MLP)
    codes = hasher.encode(extract_features("resnet50", split.x_query))

Cache: <cache dir>/features/<key>.npy (float16: half the disk, and a hash head does not feel the rounding; the
returned features are that float16 rounded to float32 whether they were just computed or read back, so a cached
run equals a fresh one) and <key>.json (what the key hashes, and the .npy's SHA-256). key = SHA-256 of
{backbone, weights (ImageNet enum or random seed), data fingerprint (SHA-256 of the image tensor, or of the list
files' paths, sizes and times), transform}. <cache dir> is $HASHING_CACHE_DIR or <project>/build/cache, as for
experiments. It is a store.DiskCache, like the experiment cache: a temp file of its own per write, a per-key lock
(two processes extract a key once), the SHA-256 checked on read; a damaged entry is a miss with a warning.
"""
from __future__ import annotations

import io
import os
import time

import numpy as np
import torch
from tqdm.auto import tqdm

from .backbones import FeatureInput, ImageNetBackbone, ImageNetInput, imagenet_backbone, weights_id
from .store import DiskCache, cache_dir, canonical_json, fingerprint

FEATURE_CACHE_VERSION = 2           # 2: keys by store.canonical_json, entries checked by SHA-256


def data_fingerprint(x) -> str:
    """SHA-256 (16 hex digits) of the images: a tensor's shape, dtype and bytes, or an ImageList's files."""
    if hasattr(x, "fingerprint"):
        return x.fingerprint()
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"images must be a tensor (n, c, h, w) or an ImageList, got {type(x).__name__}")
    return fingerprint(f"{tuple(x.shape)}|{x.dtype}", x, digits=16)


def _weights_fingerprint(body: ImageNetBackbone) -> str:
    # a module may have been fine-tuned since it was built: key its current parameters, not its origin
    return fingerprint(*(part for name, t in body.state_dict().items() for part in (name, t)), digits=16)


def feature_key(body, x) -> dict:
    """What the cache key hashes. A backbone given by name is keyed by its weights' name; a module by them
    and a hash of its current parameters."""
    weights = body.weights_id + (f"|{_weights_fingerprint(body)}" if isinstance(body, ImageNetBackbone) else "")
    return {"version": FEATURE_CACHE_VERSION, "backbone": body.arch, "weights": weights,
            "data": data_fingerprint(x), "n": len(x), "transform": body.input.describe(),
            "features": "fc7" if body.arch != "resnet50" else "pool5"}


def feature_cache_key(backbone, x) -> str:
    """The cache key (24 hex digits) of backbone's features of x: SHA-256 of feature_key's JSON."""
    return fingerprint(canonical_json(feature_key(describe_backbone(backbone), x)), digits=24)


def _check_features(record: dict, raw: bytes) -> None:
    feats = np.load(io.BytesIO(raw), allow_pickle=False)
    if feats.ndim != 2 or feats.shape[0] != record.get("n"):
        raise ValueError(f"features of shape {feats.shape} where the record says {record.get('n')} rows")


def feature_cache() -> DiskCache:
    """The features cache: <cache_dir()>/features/<key>.npy and <key>.json, a store.DiskCache."""
    return DiskCache(cache_dir() / "features", ".npy", what="features cache", validate=_check_features)


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
    store = feature_cache()
    start = time.perf_counter()

    def done(feats, cached):
        if info is not None:
            info.update(key=key, cached=cached, seconds=time.perf_counter() - start,
                        path=str(store.payload_path(key)))
        return torch.from_numpy(feats.astype(np.float32))

    if not cache:
        return done(_extract(backbone, x, batch_size, device, progress), False)
    hit = store.get(key)
    if hit is not None:
        return done(np.load(io.BytesIO(hit.payload)), True)
    with store.lock(key):
        hit = store.get(key, quiet=True)            # another process may have stored it while this one waited
        if hit is not None:
            return done(np.load(io.BytesIO(hit.payload)), True)
        feats = _extract(backbone, x, batch_size, device, progress)
        buf = io.BytesIO()
        np.save(buf, feats)
        store.put(key, feature_key(describe_backbone(backbone), x), buf.getvalue())
    return done(feats, False)


def _extract(backbone, x, batch_size, device, progress) -> np.ndarray:
    """The backbone's features of x, float16 (n, F), in eval mode (its training flag is restored after)."""
    body = backbone if isinstance(backbone, ImageNetBackbone) else imagenet_backbone(backbone)
    was_training = body.training
    body.eval().to(device)
    out = []
    for xb in tqdm(_batches(x, batch_size), total=-(-len(x) // batch_size), desc=f"features {body.arch}",
                   disable=not progress, leave=False):
        out.append(body(xb.to(device, non_blocking=True)).to(torch.float16).cpu())
    body.train(was_training)
    return torch.cat(out).numpy()


class BackboneDescription:
    """What the cache key needs of a backbone given by name (arch, weights_id, input), without building it:
    ImageNet weights are not loaded to compute a key."""

    def __init__(self, name: str):
        self.weights_id = weights_id(name)            # a ValueError naming the choices for an unknown name
        self.arch = name.removesuffix("-random")
        self.input = ImageNetInput()


def describe_backbone(backbone):
    """An ImageNetBackbone as it is, a backbone name as its BackboneDescription (arch, weights_id, input)."""
    return backbone if isinstance(backbone, ImageNetBackbone) else BackboneDescription(backbone)


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
