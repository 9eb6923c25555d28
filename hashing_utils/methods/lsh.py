"""LSH: unsupervised random-hyperplane hashing, the floor every learned method must clear."""
import torch

from ..devices import pick_device
from ..models import CentredProjection
from ..training import Hasher, _as_input
from .base import HashingMethod


class LSH(HashingMethod):
    name = "lsh"
    summary = "Locality-sensitive hashing: signs of random projections of the centred input (no training)"
    supervised = False
    train_defaults: dict = {}      # no training loop: epochs, lr, ... do not change the run (nor its cache key)

    @classmethod
    def fit(cls, X, y=None, bits: int = 32, seed: int = 0, *, device=None, **training):
        """No training: `training` settings (epochs, lr, ...) that other methods take are accepted and unused."""
        unknown = set(training) - {"epochs", "lr", "batch_size", "weight_decay", "backbone", "val_fraction", "progress",
                            "amp", "data_on_device"}
        if unknown:
            raise TypeError(f"lsh: unknown argument(s) {sorted(unknown)}")
        x = _as_input(X, "X")
        shape = tuple(x.shape[1:])
        x = x.flatten(1)
        method = cls(bits, 0 if y is None else 1, seed=seed)
        g = torch.Generator().manual_seed(seed)
        # sign-random-projection LSH (Charikar 2002) on centred inputs: W ~ N(0, 1)^(d x K)
        model = CentredProjection(x.mean(0), torch.randn(x.shape[1], bits, generator=g))
        device = pick_device(device) if not isinstance(device, torch.device) else device
        return Hasher(method, model.to(device), device, {}, {"method": "lsh", "bits": bits, "seed": seed},
                      input_shape=shape)
