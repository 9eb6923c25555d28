"""hashing_utils.stats: the paired, seeded comparison behind every ranking a notebook draws."""
import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats as st

from hashing_utils.stats import NO_RANKING, ONE_SEED, paired_difference


def test_interval_matches_a_hand_computation_and_scipy():
    a = {0: 0.95, 1: 0.96, 2: 0.94}
    b = {0: 0.93, 1: 0.93, 2: 0.92}
    d = paired_difference(a, b, names=("m=0.2", "m=0"))
    diffs = np.array([0.02, 0.03, 0.02])
    half = st.t.ppf(0.975, 2) * diffs.std(ddof=1) / math.sqrt(3)       # t-interval written out
    assert d.n == 3 and d.mean == pytest.approx(diffs.mean())
    assert (d.low, d.high) == pytest.approx((diffs.mean() - half, diffs.mean() + half))
    ci = st.ttest_rel([a[s] for s in range(3)], [b[s] for s in range(3)]).confidence_interval(0.95)
    assert (d.low, d.high) == pytest.approx((ci.low, ci.high))
    assert d.verdict == "m=0.2 > m=0" and d.ranked and not d.within_noise
    assert "m=0.2 - m=0 = +0.0233" in str(d) and "n = 3" in str(d)
    wider = paired_difference(a, b, confidence=0.99)
    assert wider.low < d.low and wider.high > d.high


def test_verdicts_follow_the_interval():
    below = paired_difference({0: 0.1, 1: 0.2, 2: 0.15}, {0: 0.3, 1: 0.35, 2: 0.33})
    assert below.high < 0 and below.verdict == "A < B"
    noisy = paired_difference({0: 0.5, 1: 0.7, 2: 0.4}, {0: 0.6, 1: 0.5, 2: 0.5})
    assert noisy.low < 0 < noisy.high and noisy.verdict == NO_RANKING and noisy.within_noise and not noisy.ranked


def test_pairs_by_seed_not_by_position():
    a = {2: 0.9, 0: 0.5, 1: 0.7}
    b = {0: 0.4, 1: 0.6, 2: 0.8}
    d = paired_difference(a, b)
    assert d.mean == pytest.approx(0.1) and d.std == pytest.approx(0.0, abs=1e-12) and d.seeds == (0, 1, 2)
    # sequences need their seeds; given in different orders they are paired by seed
    same = paired_difference([0.9, 0.5, 0.7], [0.4, 0.6, 0.8], seeds=([2, 0, 1], [0, 1, 2]))
    assert same.mean == pytest.approx(0.1)
    series = paired_difference(pd.Series([0.5, 0.7, 0.9], index=[0, 1, 2]), pd.Series(b))
    assert series.mean == pytest.approx(0.1)
    assert paired_difference([0.5, 0.7], [0.4, 0.6], seeds=[0, 1]).mean == pytest.approx(0.1)


def test_unpaired_or_unlabelled_input_is_refused():
    with pytest.raises(ValueError, match="unpaired seeds"):
        paired_difference({0: 0.5, 1: 0.6}, {0: 0.4, 2: 0.6})
    with pytest.raises(TypeError, match="carries no seeds"):
        paired_difference([0.5, 0.6], [0.4, 0.5])
    with pytest.raises(ValueError, match="repeated seeds"):
        paired_difference([0.5, 0.6], [0.4, 0.5], seeds=[0, 0])
    with pytest.raises(ValueError, match="2 values but 3 seeds"):
        paired_difference([0.5, 0.6], [0.4, 0.5], seeds=[0, 1, 2])
    with pytest.raises(ValueError, match="NaN"):
        paired_difference({0: 0.5, 1: float("nan")}, {0: 0.4, 1: 0.5})
    with pytest.raises(ValueError, match="confidence"):
        paired_difference({0: 0.5}, {0: 0.4}, confidence=95)
    with pytest.raises(ValueError, match="no seeds"):
        paired_difference({}, {})


def test_one_seed_ranks_nothing():
    d = paired_difference({0: 0.9}, {0: 0.1}, names=("X", "Y"))
    assert d.n == 1 and d.mean == pytest.approx(0.8) and math.isnan(d.low) and math.isnan(d.high)
    assert d.verdict == ONE_SEED and not d.ranked and not d.within_noise
    assert "n = 1" in str(d) and ONE_SEED in str(d)


def test_zero_spread_gives_a_point_interval():
    same_gap = paired_difference({0: 0.6, 1: 0.7}, {0: 0.5, 1: 0.6})
    assert same_gap.low == pytest.approx(0.1) and same_gap.high == pytest.approx(0.1) and same_gap.verdict == "A > B"
    identical = paired_difference({0: 0.6, 1: 0.7}, {0: 0.6, 1: 0.7})
    assert identical.low == identical.high == 0.0 and identical.verdict == NO_RANKING
