"""hashing_utils.claims: a reading's sentence asserted beside its numbers."""
import numpy as np
import pytest

from hashing_utils import claims
from hashing_utils.claims import claim, claim_greater, claim_no_ranking, claim_within_noise


@pytest.fixture(autouse=True)
def fresh_record(monkeypatch):
    monkeypatch.setattr(claims, "CLAIMS", [])


def test_a_claim_that_holds_is_recorded_with_its_numbers():
    made = claim("mAP is above LSH's", 0.91 > 0.35, ours=0.91, lsh=0.35)
    assert made.text == "mAP is above LSH's" and made.numbers == {"ours": 0.91, "lsh": 0.35}
    assert claims.CLAIMS == [made] and str(made) == "✓ mAP is above LSH's (ours = 0.91, lsh = 0.35)"
    claim("a callable gets the numbers", lambda a, b: a < b, a=1, b=2)
    claim("or nothing", lambda: True)
    claim("numpy truth values count", np.float64(0.5) > 0.1)
    assert claims.report().splitlines()[1] == "✓ a callable gets the numbers (a = 1, b = 2)"


def test_a_failing_claim_names_its_text_and_numbers():
    with pytest.raises(AssertionError, match=r"claim does not hold: 'A beats B' \(a = 0.5, b = 0.7\)"):
        claim("A beats B", 0.5 > 0.7, a=0.5, b=0.7)
    with pytest.raises(AssertionError, match="callable"):
        claim("callable fails", lambda a: a > 1, a=0)
    assert claims.CLAIMS == []
    with pytest.raises(TypeError, match="one truth value"):
        claim("several values", np.array([True, False]))
    with pytest.raises(TypeError, match="sentence"):
        claim("", True)


A = {0: 0.95, 1: 0.96, 2: 0.94}
B = {0: 0.93, 1: 0.93, 2: 0.92}
NOISY = {0: 0.96, 1: 0.92, 2: 0.95}


def test_comparisons_use_the_paired_interval():
    d = claim_greater("A beats B", A, B, names=("A", "B"))
    assert d.low > 0 and claims.CLAIMS[-1].numbers["n"] == 3
    with pytest.raises(AssertionError, match="B beats A"):
        claim_greater("B beats A", B, A)
    with pytest.raises(AssertionError, match="within noise"):
        claim_within_noise("A and B are within noise", A, B)
    assert claim_within_noise("A and NOISY are within noise", A, NOISY).within_noise
    with pytest.raises(AssertionError, match="no ranking"):
        claim_no_ranking("no ranking of A and B", A, B)
    claim_no_ranking("no ranking of A and NOISY", A, NOISY)


def test_one_seed_ranks_nothing_and_measures_no_noise():
    with pytest.raises(AssertionError, match="one seed"):
        claim_greater("A beats B on one seed", {0: 0.9}, {0: 0.1})
    with pytest.raises(AssertionError):
        claim_within_noise("within noise on one seed", {0: 0.9}, {0: 0.9})
    assert claim_no_ranking("one seed: no ranking", {0: 0.9}, {0: 0.1}).n == 1
    with pytest.raises(ValueError, match="unpaired seeds"):
        claim_greater("mismatched", {0: 0.9, 1: 0.8}, {0: 0.1, 2: 0.2})
