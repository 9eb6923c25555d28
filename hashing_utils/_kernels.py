"""Compiled kernels of the evaluation engine (numba): Hamming-distance histograms and AP@all from them.

The floor is one XOR + popcount per (query, database item) pair and one counter increment. What keeps a kernel
near that floor (each point measured, see benchmarks/bench_map.py):
- codes packed into uint64 words, with a separate loop for codes of at most 64 bits (one word, no inner loop);
- four queries per pass over the database: each database word is loaded once for four queries, and the four
  counters incremented per item sit in four different histograms, so increments rarely wait on each other;
- relevance costs no work per pair: the database is sorted by label set, so the items relevant to a query are a
  few contiguous blocks; a second, short pass counts only those blocks (or the irrelevant ones, when fewer);
- the database is walked in chunks that stay in the L2 cache while a tile of queries passes over them.
metrics.py falls back to torch if numba is missing.
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

CHUNK = 16384      # database items per chunk: 128 KiB per code word, well inside a 512 KiB L2
TILE = 64          # queries per parallel work item: their histograms (64 x (K+1) int32) stay in L1


def pack_rows(bits: np.ndarray) -> np.ndarray:
    """bool (n, m) -> uint64 (n, ceil(m/64)), zero-padded; equal padding never adds distance."""
    n, m = bits.shape
    words = max(1, -(-m // 64))
    padded = np.zeros((n, words * 64), dtype=bool)
    padded[:, :m] = bits
    return np.ascontiguousarray(np.packbits(padded, axis=1)).view(np.uint64)


def harmonic_table(n: int) -> np.ndarray:
    """H[m] = sum_{i<=m} 1/i for m = 0..n (float64), summed with compensation (Neumaier), so that a
    difference H[a] - H[b] is good to a few ulps of H[n] whatever n."""
    h = np.empty(n + 1)
    s = c = 0.0
    h[0] = 0.0
    for i in range(1, n + 1):
        x = 1.0 / i
        t = s + x
        c += (s - t) + x if abs(s) >= x else (x - t) + s
        s = t
        h[i] = s + c
    return h


if HAVE_NUMBA:
    harmonic_table = njit(cache=True)(harmonic_table)

    @njit(inline="always")
    def _popcount64(x):
        # LLVM recognises this pattern and emits the popcnt instruction where the CPU has one
        x = x - ((x >> np.uint64(1)) & np.uint64(0x5555555555555555))
        x = (x & np.uint64(0x3333333333333333)) + ((x >> np.uint64(2)) & np.uint64(0x3333333333333333))
        x = (x + (x >> np.uint64(4))) & np.uint64(0x0F0F0F0F0F0F0F0F)
        return (x * np.uint64(0x0101010101010101)) >> np.uint64(56)

    @njit(cache=True)
    def _count_1w(qw, q0, q1, dw, h):
        """h[i - q0, d] += #{j: popcount(qw[i] ^ dw[j]) = d} for i in [q0, q1); one-word codes.
        dw is a slice starting at 0: a loop from a variable start ran 1.5x slower (index checks)."""
        i = q0
        while i + 4 <= q1:
            a0, a1, a2, a3 = qw[i], qw[i + 1], qw[i + 2], qw[i + 3]
            h0, h1, h2, h3 = h[i - q0], h[i - q0 + 1], h[i - q0 + 2], h[i - q0 + 3]
            for j in range(dw.shape[0]):
                x = dw[j]
                h0[_popcount64(a0 ^ x)] += 1
                h1[_popcount64(a1 ^ x)] += 1
                h2[_popcount64(a2 ^ x)] += 1
                h3[_popcount64(a3 ^ x)] += 1
            i += 4
        while i < q1:
            a0 = qw[i]
            h0 = h[i - q0]
            for j in range(dw.shape[0]):
                h0[_popcount64(a0 ^ dw[j])] += 1
            i += 1

    @njit(cache=True)
    def _count_nw(qw, q0, q1, dw, h):
        """As _count_1w for codes of several uint64 words: qw (n_q, W), dw (n_db, W)."""
        n_w = qw.shape[1]
        i = q0
        while i + 4 <= q1:
            h0, h1, h2, h3 = h[i - q0], h[i - q0 + 1], h[i - q0 + 2], h[i - q0 + 3]
            for j in range(dw.shape[0]):
                e0 = e1 = e2 = e3 = 0
                for w in range(n_w):
                    x = dw[j, w]
                    e0 += _popcount64(qw[i, w] ^ x)
                    e1 += _popcount64(qw[i + 1, w] ^ x)
                    e2 += _popcount64(qw[i + 2, w] ^ x)
                    e3 += _popcount64(qw[i + 3, w] ^ x)
                h0[e0] += 1
                h1[e1] += 1
                h2[e2] += 1
                h3[e3] += 1
            i += 4
        while i < q1:
            h0 = h[i - q0]
            for j in range(dw.shape[0]):
                e0 = 0
                for w in range(n_w):
                    e0 += _popcount64(qw[i, w] ^ dw[j, w])
                h0[e0] += 1
            i += 1

    # The tile body is written out in each kernel, calling the counting loop directly: numba's IR inlining of a
    # shared tile function (the count loop passed as an argument) compiled 3x slower (~50 s CPU on first use), and
    # a non-inlined function argument cannot be cached on disk.
    @njit(parallel=True, cache=True)
    def grouped_histograms_1w(qw, dw, bits, tiles, take, db_starts):
        """Per query i (qw: uint64 (n_q,), rows sorted by label set): counts at each distance over the whole
        database (dw: uint64 (n_db,), rows sorted by label set), and over the database groups g (rows
        [db_starts[g], db_starts[g+1])) with take[tiles[t, 2], g], where tile t = queries [tiles[t, 0],
        tiles[t, 1]), all of one label set. Returns (total, subset): int64 (n_q, bits + 1) each."""
        n_db = dw.shape[0]
        total = np.zeros((qw.shape[0], bits + 1), np.int64)
        subset = np.zeros((qw.shape[0], bits + 1), np.int64)
        for t in prange(tiles.shape[0]):
            q0, q1, gq = tiles[t, 0], tiles[t, 1], tiles[t, 2]
            h = np.zeros((q1 - q0, bits + 1), np.int32)
            for c0 in range(0, n_db, CHUNK):
                _count_1w(qw, q0, q1, dw[c0:c0 + CHUNK], h)
            total[q0:q1] = h
            h[:] = 0
            for g in range(db_starts.shape[0] - 1):
                if take[gq, g]:
                    for c0 in range(db_starts[g], db_starts[g + 1], CHUNK):
                        _count_1w(qw, q0, q1, dw[c0:min(c0 + CHUNK, db_starts[g + 1])], h)
            subset[q0:q1] = h
        return total, subset

    @njit(parallel=True, cache=True)
    def grouped_histograms_nw(qw, dw, bits, tiles, take, db_starts):
        """grouped_histograms_1w for codes of several words: qw uint64 (n_q, W), dw uint64 (n_db, W)."""
        n_db = dw.shape[0]
        total = np.zeros((qw.shape[0], bits + 1), np.int64)
        subset = np.zeros((qw.shape[0], bits + 1), np.int64)
        for t in prange(tiles.shape[0]):
            q0, q1, gq = tiles[t, 0], tiles[t, 1], tiles[t, 2]
            h = np.zeros((q1 - q0, bits + 1), np.int32)
            for c0 in range(0, n_db, CHUNK):
                _count_nw(qw, q0, q1, dw[c0:c0 + CHUNK], h)
            total[q0:q1] = h
            h[:] = 0
            for g in range(db_starts.shape[0] - 1):
                if take[gq, g]:
                    for c0 in range(db_starts[g], db_starts[g + 1], CHUNK):
                        _count_nw(qw, q0, q1, dw[c0:min(c0 + CHUNK, db_starts[g + 1])], h)
            subset[q0:q1] = h
        return total, subset

    @njit(parallel=True, cache=True)
    def ap_all(n, r, harmonic, rule):
        """AP@all per query (float64 (n_q,)) from tie-group histograms n, r (int64 (n_q, K+1)) by the closed
        forms of metrics.py; rule 0 optimistic, 1 pessimistic, 2 expected; harmonic = harmonic_table(n_db)."""
        n_q, n_d = n.shape
        out = np.zeros(n_q)
        H = harmonic
        for i in prange(n_q):
            P = 0
            R = 0
            s = 0.0
            for d in range(n_d):
                g = n[i, d]
                k = r[i, d]
                if k > 0:
                    if rule == 0:
                        s += k + (R - P) * (H[P + k] - H[P])
                    elif rule == 1:
                        s += k + (R - P - g + k) * (H[P + g] - H[P + g - k])
                    else:
                        a = H[P + g] - H[P]
                        frac = (k - 1) / (g - 1) if g > 1 else 0.0
                        s += (k / g) * ((R + 1) * a + frac * (g - (P + 1) * a))
                P += g
                R += k
            out[i] = s / R if R > 0 else 0.0
        return out
