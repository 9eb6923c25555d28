"""Binary codes: binarisation, bit packing, Hamming distances, codebooks, the Gilbert–Varshamov bound.

Codes are ±1 throughout. For b, b' in {-1, +1}^K the Hamming distance is d_H = (K - bᵀb') / 2,
so a whole distance matrix is one matrix product.

Codebooks are drawn on the CPU from a seeded generator, so the same seed gives the same codebook on every
device; `device=` then moves the result once (a method's centres are made on its model's device).
"""
from __future__ import annotations

import math

import numpy as np
import torch

__all__ = [
    "binarize", "as_pm1", "pack_bits", "unpack_bits", "hamming_distance",
    "hadamard_matrix", "hadamard_codebook", "bernoulli_codebook", "balanced_codebook",
    "max_distance_codebook", "csq_centres", "min_pairwise_distance", "gilbert_varshamov_distance",
]


def binarize(u) -> torch.Tensor:
    """b = +1 where u >= 0, else -1, as int8. (n, K) -> (n, K).

    torch.sign(0) = 0 would put a 0 in the code and give half-integer Hamming distances,
    so zero goes to +1 explicitly.
    Taught in: notebooks/00_foundations.ipynb, section 1 · Binary codes and Hamming geometry.
    """
    u = torch.as_tensor(u)
    return torch.where(u >= 0, 1, -1).to(torch.int8)


def as_pm1(codes, name: str = "codes") -> torch.Tensor:
    """Check that `codes` is a 2-D array of ±1 and return it as a float32 tensor (n, K)."""
    if isinstance(codes, np.ndarray):
        codes = torch.from_numpy(codes)
    if not isinstance(codes, torch.Tensor):
        raise TypeError(f"{name} must be a torch tensor or numpy array of ±1, got {type(codes).__name__}")
    if codes.ndim != 2:
        raise ValueError(f"{name} must have shape (n, bits); got shape {tuple(codes.shape)}")
    if codes.dtype == torch.bool or codes.is_complex():
        raise TypeError(f"{name} must hold ±1 numbers, got dtype {codes.dtype}")
    c = codes.detach().to("cpu", torch.float32)
    bad = (c != 1) & (c != -1)
    if bool(bad.any()):
        example = c[bad][0].item()
        hint = " (0 is not a code value: binarise with hashing_utils.codes.binarize)" if example == 0 else ""
        raise ValueError(f"{name} must contain only -1 and +1; found {example:g}{hint}")
    return c


def pack_bits(codes) -> np.ndarray:
    """±1 codes (n, K) -> uint8 (n, ceil(K/8)); bit 1 stands for +1."""
    c = as_pm1(codes).numpy() > 0
    return np.packbits(c, axis=1)


def unpack_bits(packed: np.ndarray, bits: int) -> torch.Tensor:
    """Inverse of pack_bits: uint8 (n, ceil(K/8)) -> int8 ±1 (n, K)."""
    b = np.unpackbits(np.asarray(packed, dtype=np.uint8), axis=1)[:, :bits]
    return torch.from_numpy(b.astype(np.int8) * 2 - 1)


def hamming_distance(a, b, block_size: int = 4096) -> torch.Tensor:
    """Hamming distances between ±1 codes, computed in blocks of rows of `a`.

    a: (n, K), b: (m, K) -> (n, m) int16 with d = (K - a bᵀ) / 2.
    Taught in: notebooks/00_foundations.ipynb, section 1 · Binary codes and Hamming geometry.
    """
    a, b = as_pm1(a, "a"), as_pm1(b, "b")
    if a.shape[1] != b.shape[1]:
        raise ValueError(f"codes have different lengths: {a.shape[1]} and {b.shape[1]} bits")
    k = a.shape[1]
    out = torch.empty(a.shape[0], b.shape[0], dtype=torch.int16)
    for s in range(0, a.shape[0], block_size):
        inner = a[s:s + block_size] @ b.T
        out[s:s + block_size] = ((k - inner) / 2).round().to(torch.int16)
    return out


def min_pairwise_distance(codes) -> int:
    """Smallest Hamming distance between two different rows of `codes` (n >= 2)."""
    d = hamming_distance(codes, codes).to(torch.int64)
    d.fill_diagonal_(torch.iinfo(torch.int64).max)
    return int(d.min())


def _check_bits(bits: int):
    if isinstance(bits, bool) or not isinstance(bits, (int, np.integer)) or bits < 1:
        raise ValueError(f"bits must be a positive integer, got {bits!r}")


def _on(t: torch.Tensor, device) -> torch.Tensor:
    return t if device is None else t.to(device)


def hadamard_matrix(n: int, device=None) -> torch.Tensor:
    """Sylvester Hadamard matrix H_n (n a power of two), int8 ±1, rows mutually orthogonal."""
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1 or n & (n - 1):
        raise ValueError(f"a Sylvester Hadamard matrix needs a power of two (1, 2, 4, 8, ...), got {n!r}")
    h = torch.ones(1, 1, dtype=torch.int8, device=device)
    while h.shape[0] < n:
        h = torch.cat([torch.cat([h, h], 1), torch.cat([h, -h], 1)], 0)
    return h


def hadamard_codebook(n_codes: int, bits: int, device=None) -> torch.Tensor:
    """First `n_codes` rows of [H_K; -H_K]: any two are K/2 apart (or K for a row and its negation).

    Needs K a power of two and n_codes <= 2K (else ValueError; csq_centres falls back to balanced codes).
    """
    _check_bits(bits)
    if bits & (bits - 1):
        raise ValueError(f"bits={bits}: a Hadamard codebook needs a power of two (8, 16, 32, 64, ...); for other "
                         "lengths use balanced_codebook or max_distance_codebook")
    if n_codes > 2 * bits:
        raise ValueError(f"a Hadamard codebook has at most 2K = {2 * bits} codes; {n_codes} asked")
    h = hadamard_matrix(bits, device=device)
    return torch.cat([h, -h], 0)[:n_codes].clone()


def bernoulli_codebook(n_codes: int, bits: int, seed: int = 0, device=None) -> torch.Tensor:
    """Independent Bernoulli(0.5) ±1 codes, int8 (n_codes, K)."""
    _check_bits(bits)
    g = torch.Generator().manual_seed(seed)
    return _on((torch.randint(0, 2, (n_codes, bits), generator=g) * 2 - 1).to(torch.int8), device)


def balanced_codebook(n_codes: int, bits: int, seed: int = 0, min_distance: int | None = None,
                      max_tries: int = 1000, device=None) -> torch.Tensor:
    """Random codes with exactly K/2 entries equal to -1, redrawn until their minimum distance
    reaches `min_distance` (default: the best distance seen in `max_tries` draws is returned)."""
    _check_bits(bits)
    g = torch.Generator().manual_seed(seed)
    best, best_d = None, -1
    for _ in range(max_tries):
        # the K/2 smallest of K random numbers pick the -1 positions: a uniformly random balanced row
        minus = torch.rand(n_codes, bits, generator=g).argsort(1)[:, : bits // 2]
        codes = torch.ones(n_codes, bits, dtype=torch.int8).scatter_(1, minus, -1)
        d = min_pairwise_distance(codes) if n_codes > 1 else bits
        if d > best_d:
            best, best_d = codes, d
        if min_distance is not None and d >= min_distance:
            return _on(codes, device)
    if min_distance is not None:
        raise RuntimeError(f"no {n_codes} balanced {bits}-bit codes at distance >= {min_distance} "
                           f"in {max_tries} draws (best {best_d})")
    return _on(best, device)


def max_distance_codebook(n_codes: int, bits: int, seed: int = 0, n_candidates: int = 2000,
                          device=None) -> torch.Tensor:
    """Greedy max-min-distance codes: each new code is the random candidate farthest
    (in minimum Hamming distance) from the codes already chosen."""
    _check_bits(bits)
    cand = bernoulli_codebook(n_candidates, bits, seed).float()
    chosen = [0]
    dmin = ((bits - cand @ cand[0]) / 2)
    for _ in range(1, n_codes):
        j = int(torch.argmax(dmin))
        chosen.append(j)
        dmin = torch.minimum(dmin, (bits - cand @ cand[j]) / 2)
    return _on(cand[chosen].to(torch.int8), device)


def csq_centres(n_classes: int, bits: int, seed: int = 0, device=None) -> torch.Tensor:
    """CSQ's class centres: Hadamard rows when K is a power of two and C <= 2K (any two K/2 apart), else
    (e.g. K = 12 or 48, or more than 2K classes) the fallback of the CSQ paper: random balanced codes, the best
    minimum distance of 200 seeded draws. int8 (C, K). ValueError when no draw gives C different centres
    (too few bits for the classes): two classes would share a centre."""
    _check_bits(bits)
    if bits & (bits - 1) == 0 and n_classes <= 2 * bits:
        return hadamard_codebook(n_classes, bits, device=device)
    if n_classes > math.comb(bits, bits // 2):
        raise ValueError(f"bits={bits} has only {math.comb(bits, bits // 2)} balanced codes, fewer than the "
                         f"{n_classes} classes: CSQ needs one centre per class; use more bits")
    centres = balanced_codebook(n_classes, bits, seed=seed, max_tries=200)
    if n_classes > 1 and min_pairwise_distance(centres) == 0:
        raise ValueError(f"bits={bits}: no draw of {n_classes} balanced centres had them all different; use more "
                         "bits (a power of two gives Hadamard centres)")
    return _on(centres, device)


def gilbert_varshamov_distance(n_codes: int, bits: int) -> int:
    """The SHC paper's minimum distance d: the smallest d with
        2^K / C <= sum_{i=0}^{d-1} binom(K, i).
    (C = 100 gives d = 4 / 10 / 24 at K = 16 / 32 / 64.) The GV bound itself guarantees a code of
    C words at distance d whenever sum_{i<d} binom(K, i) <= 2^K / C, so this d sits at the edge
    of that guarantee: a target, not a certificate.
    """
    _check_bits(bits)
    if n_codes < 2:
        raise ValueError("the Gilbert–Varshamov distance needs at least 2 codes")
    target = 2 ** bits / n_codes
    total = 0
    for d in range(1, bits + 2):
        total += math.comb(bits, d - 1)
        if total >= target:
            return d
    return bits
