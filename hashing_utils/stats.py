"""Seeded comparisons: is A better than B, or is the gap within the noise of the seeds?

    d = paired_difference({0: 0.95, 1: 0.96, 2: 0.94}, {0: 0.93, 1: 0.93, 2: 0.92}, names=("m=0.2", "m=0"))
    d.mean, (d.low, d.high), d.n, d.verdict          # 0.0233, (0.0090, 0.0377), 3, 'm=0.2 > m=0'

Two settings trained with the same seeds share everything the seed decides (initialisation, minibatch order,
validation split), so their difference is measured seed by seed: d_i = a_i - b_i. With n seeds, mean d̄ and
sample standard deviation s_d, the two-sided t-interval at confidence c is

    d̄ ± t_{(1+c)/2, n-1} · s_d / √n.

A ranking ("A > B" or "A < B") is drawn only when that interval excludes 0; otherwise the verdict is
"no ranking (interval includes 0)". One seed gives no interval at all, so its verdict is "one seed: no ranking".
Zero spread (every seed gives the same difference) gives the interval [d̄, d̄]: a ranking when d̄ ≠ 0.

Taught in: notebooks/09, "Ablation panel" (every reading there rests on these verdicts).
"""
from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from scipy import stats as _scipy_stats

__all__ = ["PairedDifference", "paired_difference", "NO_RANKING", "ONE_SEED"]

NO_RANKING = "no ranking (interval includes 0)"
ONE_SEED = "one seed: no ranking"


@dataclass(frozen=True)
class PairedDifference:
    """mean = mean over seeds of a - b; [low, high] its t-interval (nan with one seed); n seeds; verdict."""
    mean: float
    low: float
    high: float
    n: int
    confidence: float
    std: float
    verdict: str
    names: tuple = ("A", "B")
    seeds: tuple = ()

    @property
    def ranked(self) -> bool:
        """True when the interval excludes 0 (the verdict names a winner)."""
        return self.n > 1 and (self.low > 0 or self.high < 0)

    @property
    def within_noise(self) -> bool:
        """True when there is an interval (n > 1) and it includes 0."""
        return self.n > 1 and self.low <= 0 <= self.high

    def __str__(self) -> str:
        a, b = self.names
        if self.n == 1:
            return f"{a} - {b} = {self.mean:+.4f} (n = 1): {self.verdict}"
        return (f"{a} - {b} = {self.mean:+.4f}, {self.confidence:.0%} interval [{self.low:+.4f}, {self.high:+.4f}], "
                f"n = {self.n}: {self.verdict}")


def _by_seed(values, seeds, which: str) -> dict:
    if isinstance(values, Mapping) or hasattr(values, "index") and hasattr(values, "to_dict"):
        out = dict(values.items()) if isinstance(values, Mapping) else values.to_dict()
        if seeds is not None:
            raise TypeError("give the seeds either as the keys of a mapping or as `seeds`, not both")
        return out
    values = list(np.asarray(values, dtype=float).ravel())
    if seeds is None:
        raise TypeError(f"{which}: a plain sequence carries no seeds; pass {{seed: value}} mappings (or a pandas "
                        f"Series indexed by seed), or the seeds with seeds=[...] (both in that order) or "
                        f"seeds=(seeds_a, seeds_b)")
    seeds = list(seeds)
    if len(seeds) != len(values):
        raise ValueError(f"{which}: {len(values)} values but {len(seeds)} seeds")
    if len(set(seeds)) != len(seeds):
        raise ValueError(f"{which}: repeated seeds {sorted({s for s in seeds if seeds.count(s) > 1})}: one value "
                         f"per seed")
    return dict(zip(seeds, values))


def paired_difference(a, b, seeds=None, confidence: float = 0.95, names=("A", "B")) -> PairedDifference:
    """The seed-by-seed difference a - b: mean, t-interval, n and a verdict.

    a, b: {seed: value} mappings (or pandas Series indexed by seed), paired by seed; or two sequences with
    seeds=[s0, s1, ...] (both in that order) or seeds=(seeds_of_a, seeds_of_b). Seeds present on one side
    only, repeated seeds and NaN values raise ValueError. names label the two sides in the verdict.
    """
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    if seeds is not None and len(seeds) == 2 and not np.isscalar(seeds[0]) and not np.isscalar(seeds[1]):
        sa, sb = seeds
    else:
        sa = sb = seeds
    da, db = _by_seed(a, sa, names[0]), _by_seed(b, sb, names[1])
    only_a, only_b = sorted(set(da) - set(db), key=str), sorted(set(db) - set(da), key=str)
    if only_a or only_b:
        raise ValueError(f"unpaired seeds: {names[0]} has {only_a or 'none'} that {names[1]} lacks, {names[1]} has "
                         f"{only_b or 'none'} that {names[0]} lacks; compare runs with the same seeds")
    if not da:
        raise ValueError("no seeds to compare")
    order = sorted(da, key=str)
    diff = np.array([float(da[s]) - float(db[s]) for s in order])
    if np.isnan(diff).any():
        bad = [s for s, d in zip(order, diff) if math.isnan(d)]
        raise ValueError(f"NaN value(s) at seed(s) {bad}: a missing or failed run cannot be compared")
    n, mean = len(diff), float(diff.mean())
    if n == 1:
        return PairedDifference(mean, math.nan, math.nan, 1, confidence, math.nan, ONE_SEED, tuple(names),
                                tuple(order))
    std = float(diff.std(ddof=1))
    half = float(_scipy_stats.t.ppf((1 + confidence) / 2, n - 1)) * std / math.sqrt(n)
    low, high = mean - half, mean + half
    verdict = (f"{names[0]} > {names[1]}" if low > 0 else f"{names[0]} < {names[1]}" if high < 0 else NO_RANKING)
    return PairedDifference(mean, low, high, n, confidence, std, verdict, tuple(names), tuple(order))
