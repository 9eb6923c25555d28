"""Device choice and seeding: one place, so every notebook runs unchanged on a GPU, a Mac or a laptop CPU."""
from __future__ import annotations

import contextlib
import os
import random
import warnings

import numpy as np
import torch

# cuBLAS reads this when CUDA starts; it must be set before the first CUDA call to make matmuls deterministic
# (harmless on the CPU). Set at import, and checked again by seed_everything / pick_device.
_CUBLAS = "CUBLAS_WORKSPACE_CONFIG"
_CUBLAS_LATE = _CUBLAS not in os.environ and torch.cuda.is_initialized()   # CUDA ran before we could set it
os.environ.setdefault(_CUBLAS, ":4096:8")


def ensure_cublas_config() -> None:
    """Make sure CUBLAS_WORKSPACE_CONFIG is set; warn when CUDA already started without it (too late then)."""
    if _CUBLAS not in os.environ:
        late = torch.cuda.is_initialized()
        os.environ[_CUBLAS] = ":4096:8"
    else:
        late = _CUBLAS_LATE
    if late:
        warnings.warn("CUDA started before CUBLAS_WORKSPACE_CONFIG was set, so cuBLAS matmuls may not be "
                      "deterministic: import hashing_utils (or set CUBLAS_WORKSPACE_CONFIG=:4096:8) before the "
                      "first CUDA call", RuntimeWarning, stacklevel=3)


def pick_device(prefer: str | None = None) -> torch.device:
    """cuda if available, then Apple's mps, then cpu. `prefer` (or $HASHING_DEVICE) overrides."""
    prefer = prefer or os.environ.get("HASHING_DEVICE")
    if prefer:
        dev = torch.device(prefer)
        if dev.type == "cuda" and not torch.cuda.is_available():
            raise RuntimeError("device 'cuda' asked for, but torch sees no CUDA GPU")
        if dev.type == "mps" and not mps_available():
            raise RuntimeError("device 'mps' asked for, but this torch has no MPS support here")
        if dev.type == "cuda":
            ensure_cublas_config()
        return dev
    if torch.cuda.is_available():
        ensure_cublas_config()
        return torch.device("cuda")
    if mps_available():
        return torch.device("mps")
    return torch.device("cpu")


def mps_available() -> bool:
    return hasattr(torch.backends, "mps") and torch.backends.mps.is_available()


def seed_everything(seed: int, deterministic: bool = True) -> None:
    """Seed python, numpy and torch (CPU and every GPU); ask torch for deterministic kernels where they exist
    (warn_only, so an op without a deterministic version warns instead of failing)."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    if deterministic:
        ensure_cublas_config()
        torch.use_deterministic_algorithms(True, warn_only=True)
        torch.backends.cudnn.benchmark = False


# Every seeded side stream of a run is the run's seed plus a fixed offset, one per purpose. The offsets are the
# values the workbook's committed numbers were made with: changing one changes those numbers.
SEED_OFFSETS = {
    "tie breaker": 1,                  # CSQ / SHC: the ±1 vector that breaks ties between centres
    "adsh class vectors": 3,           # ADSH: initial class vectors w_c
    "shc classifier init": 31,         # SHC stage 1: the classifier's new Linear layer (and its dropout)
    "shc classifier order": 37,        # SHC stage 1: the classifier's minibatch order
    "shrewd targets": 2_003,           # SHREWD: random target corners of the KL estimate (n_target set)
    "dchml proxies": 7_919,            # DCHML: the category (proxy) network's initial weights
    "validation split": 10_007,        # hu.fit: which training rows become the validation split
}


def child_seed(seed: int, purpose: str) -> int:
    """The seed of one side stream of a run: seed + SEED_OFFSETS[purpose] (KeyError names the purposes)."""
    if purpose not in SEED_OFFSETS:
        raise KeyError(f"unknown seed purpose {purpose!r}; known: {', '.join(SEED_OFFSETS)}")
    return int(seed) + SEED_OFFSETS[purpose]


def fork_rng(device):
    """torch.random.fork_rng for the CPU generator and, on CUDA, the device's generator too.

    A seeded side computation (SHC's classifier, PSLDH's category network) calls torch.manual_seed, which
    reseeds every device; forking only the CPU (devices=[]) would leave the CUDA stream changed."""
    device = torch.device(device)
    if device.type == "cuda" and torch.cuda.is_available():
        index = device.index if device.index is not None else torch.cuda.current_device()
        return torch.random.fork_rng(devices=[index], device_type="cuda")
    if device.type == "mps" and mps_available():
        return _fork_mps()
    return torch.random.fork_rng(devices=[])


@contextlib.contextmanager
def _fork_mps():
    state = torch.mps.get_rng_state()
    with torch.random.fork_rng(devices=[]):
        try:
            yield
        finally:
            torch.mps.set_rng_state(state)


def place(module: torch.nn.Module, device) -> torch.nn.Module:
    """module.to(device); on Apple MPS, which has no float64, float64 parameters and buffers become float32."""
    device = torch.device(device)
    if device.type == "mps" and any(t.dtype == torch.float64 for t in
                                    [*module.parameters(), *module.buffers()]):
        module.float()
    return module.to(device)


def no_float64(t: torch.Tensor, device) -> torch.Tensor:
    """t, as float32 if it is float64 and `device` is MPS (no float64 there); else unchanged."""
    return t.float() if torch.device(device).type == "mps" and t.dtype == torch.float64 else t


def describe(device: torch.device) -> str:
    """A short human-readable line: device, torch version, threads."""
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else device.type
    return f"device={name} torch={torch.__version__} threads={torch.get_num_threads()}"
