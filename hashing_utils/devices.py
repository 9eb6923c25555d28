"""Device choice and seeding: one place, so every notebook runs unchanged on a GPU, a Mac or a laptop CPU."""
from __future__ import annotations

import os
import random

import numpy as np
import torch

# cuBLAS needs this before its first call to be deterministic; harmless on the CPU.
os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")


def pick_device(prefer: str | None = None) -> torch.device:
    """cuda if available, then Apple's mps, then cpu. `prefer` (or $HASHING_DEVICE) overrides."""
    prefer = prefer or os.environ.get("HASHING_DEVICE")
    if prefer:
        dev = torch.device(prefer)
        if dev.type == "cuda" and not torch.cuda.is_available():
            raise RuntimeError("device 'cuda' asked for, but torch sees no CUDA GPU")
        if dev.type == "mps" and not (hasattr(torch.backends, "mps") and torch.backends.mps.is_available()):
            raise RuntimeError("device 'mps' asked for, but this torch has no MPS support here")
        return dev
    if torch.cuda.is_available():
        return torch.device("cuda")
    if hasattr(torch.backends, "mps") and torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def seed_everything(seed: int, deterministic: bool = True) -> None:
    """Seed python, numpy and torch; ask torch for deterministic kernels where they exist
    (warn_only, so an op without a deterministic version warns instead of failing)."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    if deterministic:
        torch.use_deterministic_algorithms(True, warn_only=True)
        torch.backends.cudnn.benchmark = False


def describe(device: torch.device) -> str:
    """A short human-readable line: device, torch version, threads."""
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else device.type
    return f"device={name} torch={torch.__version__} threads={torch.get_num_threads()}"
