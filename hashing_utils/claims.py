"""Claims as code: the sentence a notebook reads from its numbers, asserted beside the numbers.

    from hashing_utils.claims import claim, claim_greater, claim_within_noise
    claim("every code has 32 bits", q.shape[1] == 32, bits=q.shape[1])
    claim("mAP is above LSH's", lambda ours, lsh: ours > lsh, ours=0.91, lsh=0.35)
    claim_greater("the margin helps", by_seed_m02, by_seed_m0, names=("m=0.2", "m=0"))

A claim that does not hold raises AssertionError with its text and its numbers, so the notebook (and nbval) stop
at the sentence that went stale. Every claim checked in this process is kept in CLAIMS (text, numbers, verdict):
`report()` lists them. The comparisons use the paired seed-by-seed interval of hashing_utils.stats: "A beats B"
needs an interval that excludes 0, "within noise" one that includes it, and one seed ranks nothing.

Taught in: notebooks/09, "Ablation panel" (the readings under its figure).
"""
from __future__ import annotations

import inspect
from dataclasses import dataclass, field

from .stats import PairedDifference, paired_difference

__all__ = ["Claim", "CLAIMS", "claim", "claim_greater", "claim_within_noise", "claim_no_ranking", "report"]


@dataclass(frozen=True)
class Claim:
    text: str
    numbers: dict = field(default_factory=dict)

    def __str__(self) -> str:
        nums = ", ".join(f"{k} = {_fmt(v)}" for k, v in self.numbers.items())
        return f"✓ {self.text}" + (f" ({nums})" if nums else "")


CLAIMS: list[Claim] = []


def _fmt(v) -> str:
    return f"{v:.4g}" if isinstance(v, float) else str(v)


def claim(text: str, condition, **numbers) -> Claim:
    """Assert `condition` and record `text` with `numbers` (the values the sentence reads).

    condition: a truth value, or a callable called with the numbers as keyword arguments (or with none, if it
    takes none). Raises AssertionError naming the text and the numbers when it does not hold."""
    if not isinstance(text, str) or not text.strip():
        raise TypeError("a claim needs its sentence as text")
    if callable(condition):
        condition = condition(**numbers) if inspect.signature(condition).parameters else condition()
    try:
        holds = bool(condition)
    except (ValueError, RuntimeError) as e:        # numpy / torch arrays of several values
        raise TypeError(f"claim {text!r}: the condition must be one truth value, got {type(condition).__name__}"
                        ) from e
    if not holds:
        nums = ", ".join(f"{k} = {_fmt(v)}" for k, v in numbers.items())
        raise AssertionError(f"claim does not hold: {text!r}" + (f" ({nums})" if nums else ""))
    made = Claim(text, dict(numbers))
    CLAIMS.append(made)
    return made


def claim_greater(text: str, a, b, names=("A", "B"), confidence: float = 0.95, seeds=None) -> PairedDifference:
    """Claim that A beats B: the paired interval of a - b (by seed) lies above 0. Returns the difference."""
    d = paired_difference(a, b, seeds=seeds, confidence=confidence, names=names)
    claim(text, d.n > 1 and d.low > 0, difference=d.mean, low=d.low, high=d.high, n=d.n, verdict=d.verdict)
    return d


def claim_within_noise(text: str, a, b, names=("A", "B"), confidence: float = 0.95,
                       seeds=None) -> PairedDifference:
    """Claim that A and B are within noise: there is an interval (at least two seeds) and it includes 0."""
    d = paired_difference(a, b, seeds=seeds, confidence=confidence, names=names)
    claim(text, d.within_noise, difference=d.mean, low=d.low, high=d.high, n=d.n, verdict=d.verdict)
    return d


def claim_no_ranking(text: str, a, b, names=("A", "B"), confidence: float = 0.95,
                     seeds=None) -> PairedDifference:
    """Claim that the data rank neither side: one seed, or an interval that includes 0 (a sentence that says
    "no ranking" must stop holding when a ranking appears)."""
    d = paired_difference(a, b, seeds=seeds, confidence=confidence, names=names)
    claim(text, not d.ranked, difference=d.mean, low=d.low, high=d.high, n=d.n, verdict=d.verdict)
    return d


def report(claims=None) -> str:
    """One line per claim checked in this process (or the given ones)."""
    return "\n".join(str(c) for c in (CLAIMS if claims is None else claims))
