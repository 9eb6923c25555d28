"""Compiled kernel for the evaluation engine: per-query Hamming-distance histograms in one pass.

numba turns the double loop into machine code run in parallel over queries; each pair costs an
XOR and a popcount per 64 bits plus one counter increment, instead of the several passes over
an (n_q, n_db) matrix that array code needs. metrics.py falls back to torch if numba is missing.
"""
import numpy as np

try:
    import numba
    from numba import njit, prange
    # numba's default OpenMP layer shares torch's OpenMP runtime and resets its thread count: after the first
    # evaluation, torch ran every op on all cores, and on a busy 2-core machine training slowed about five-fold.
    # The workqueue layer uses numba's own threads and leaves torch's settings alone.
    if numba.config.THREADING_LAYER == "default":
        numba.config.THREADING_LAYER = "workqueue"
    HAVE_NUMBA = True
except ImportError:  # pragma: no cover - exercised only where numba is absent
    HAVE_NUMBA = False


def pack_rows(bits: np.ndarray) -> np.ndarray:
    """bool (n, m) -> uint64 (n, ceil(m/64)), zero-padded; equal padding never adds distance."""
    n, m = bits.shape
    words = max(1, -(-m // 64))
    padded = np.zeros((n, words * 64), dtype=bool)
    padded[:, :m] = bits
    return np.ascontiguousarray(np.packbits(padded, axis=1)).view(np.uint64)


if HAVE_NUMBA:
    @njit(inline="always")
    def _popcount64(x):
        x = x - ((x >> np.uint64(1)) & np.uint64(0x5555555555555555))
        x = (x & np.uint64(0x3333333333333333)) + ((x >> np.uint64(2)) & np.uint64(0x3333333333333333))
        x = (x + (x >> np.uint64(4))) & np.uint64(0x0F0F0F0F0F0F0F0F)
        return (x * np.uint64(0x0101010101010101)) >> np.uint64(56)

    @njit(parallel=True, cache=True)
    def histograms_packed(q_words, db_words, q_label_words, db_label_words, bits):
        """(n_q, K+1, 2) int64: [..., 0] irrelevant and [..., 1] relevant items at each distance."""
        n_q, n_w = q_words.shape
        n_db = db_words.shape[0]
        n_lw = q_label_words.shape[1]
        out = np.zeros((n_q, bits + 1, 2), np.int64)
        for i in prange(n_q):
            h = np.zeros(2 * (bits + 1), np.int64)
            for j in range(n_db):
                d = 0
                for w in range(n_w):
                    d += _popcount64(q_words[i, w] ^ db_words[j, w])
                rel = 0
                for w in range(n_lw):
                    if q_label_words[i, w] & db_label_words[j, w]:
                        rel = 1
                h[2 * d + rel] += 1
            for t in range(bits + 1):
                out[i, t, 0] = h[2 * t]
                out[i, t, 1] = h[2 * t + 1]
        return out
