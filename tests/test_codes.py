import math

import numpy as np
import pytest
import torch

from hashing_utils import codes


def test_binarize_sends_zero_to_plus_one():
    b = codes.binarize(torch.tensor([[-0.3, 0.0, 2.0, -0.0]]))
    assert b.dtype == torch.int8
    assert b.tolist() == [[-1, 1, 1, 1]]


def test_hamming_distance_matches_bit_counting_and_packing_round_trips():
    g = torch.Generator().manual_seed(0)
    a = (torch.randint(0, 2, (7, 13), generator=g) * 2 - 1).to(torch.int8)
    b = (torch.randint(0, 2, (5, 13), generator=g) * 2 - 1).to(torch.int8)
    d = codes.hamming_distance(a, b, block_size=3)
    assert torch.equal(d.long(), (a[:, None, :] != b[None, :, :]).sum(2))
    assert torch.equal(codes.unpack_bits(codes.pack_bits(a), 13), a)


@pytest.mark.parametrize("bits,n", [(8, 16), (16, 10), (32, 64)])
def test_hadamard_codebook_distances(bits, n):
    h = codes.hadamard_codebook(n, bits).long()
    d = codes.hamming_distance(h, h).long()
    off = d[~torch.eye(n, dtype=bool)]
    assert set(off.unique().tolist()) <= {bits // 2, bits}
    with pytest.raises(ValueError, match="at most 2K"):
        codes.hadamard_codebook(2 * bits + 1, bits)


def test_balanced_and_max_distance_codebooks():
    c = codes.balanced_codebook(10, 24, seed=1, min_distance=8)
    assert ((c == -1).sum(1) == 12).all()
    assert codes.min_pairwise_distance(c) >= 8
    m = codes.max_distance_codebook(20, 16, seed=0)
    r = codes.bernoulli_codebook(20, 16, seed=0)
    assert codes.min_pairwise_distance(m) >= codes.min_pairwise_distance(r)
    assert codes.csq_centres(100, 32).shape == (100, 32)          # C > 2K falls back to balanced codes


def test_gilbert_varshamov_matches_formula_and_paper_values():
    assert [codes.gilbert_varshamov_distance(100, k) for k in (16, 32, 64)] == [4, 10, 24]
    for k, c in [(12, 10), (20, 50), (48, 1000)]:
        d = codes.gilbert_varshamov_distance(c, k)
        s = lambda dd: sum(math.comb(k, i) for i in range(dd))
        assert s(d) >= 2 ** k / c > s(d - 1)


def test_bad_codes_raise():
    with pytest.raises(ValueError, match="power of two"):
        codes.hadamard_matrix(12)
    with pytest.raises(ValueError, match="bits must be a positive integer"):
        codes.bernoulli_codebook(3, 0)
    with pytest.raises(TypeError):
        codes.as_pm1([[1, -1]])
    with pytest.raises(ValueError, match="only -1 and \\+1"):
        codes.pack_bits(np.array([[1, 2]]))


@pytest.mark.parametrize("make", [
    lambda d: codes.hadamard_codebook(6, 8, device=d),
    lambda d: codes.bernoulli_codebook(6, 8, seed=3, device=d),
    lambda d: codes.balanced_codebook(6, 8, seed=3, max_tries=5, device=d),
    lambda d: codes.max_distance_codebook(6, 8, seed=3, n_candidates=50, device=d),
    lambda d: codes.csq_centres(6, 12, seed=3, device=d),
])
def test_codebooks_are_drawn_on_the_cpu_and_placed_on_the_device(make):
    on_cpu, on_meta = make(None), make("meta")
    assert on_meta.device.type == "meta" and on_meta.shape == on_cpu.shape and on_meta.dtype == torch.int8
    assert torch.equal(make(None), on_cpu)          # seeded: the same codebook whatever the device


def test_csq_centres_fall_back_to_balanced_codes_or_refuse():
    h = codes.csq_centres(10, 16)
    assert torch.equal(h, codes.hadamard_codebook(10, 16))
    c = codes.csq_centres(10, 12, seed=0)           # not a power of two: balanced random centres, all different
    assert (c.sum(1) == 0).all() and codes.min_pairwise_distance(c) > 0
    with pytest.raises(ValueError, match="bits=6 has only 20 balanced codes, fewer than the 21 classes"):
        codes.csq_centres(21, 6)
