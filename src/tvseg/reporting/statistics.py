"""The statistics the claims are judged by: a paired difference's mean over seeds with its 95 %
Student-t interval and p-value (``Interval``), the evidence of a claim made at every condition
(intersection-union, ``Evidence``), Holm's step-down correction over a family of claims, and the
seeds an interval of a given width would take (``seeds_to_decide``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

CONFIDENCE = 0.95


@dataclass(frozen=True)
class Interval:
    """Mean of a paired difference over seeds with its 95 % t interval and the two-sided p-value of
    the same t test against 0 (NaN bounds and p with one seed)."""

    mean: float
    low: float
    high: float
    seeds: int
    p: float = float("nan")

    @classmethod
    def of(cls, diff: pd.Series) -> Interval:
        values = diff.dropna().to_numpy(dtype=float)
        n = len(values)
        if n == 0:
            return cls(float("nan"), float("nan"), float("nan"), 0)
        mean = float(values.mean())
        if n == 1:
            return cls(mean, float("nan"), float("nan"), 1)
        error = float(values.std(ddof=1) / np.sqrt(n))
        half = float(stats.t.ppf(0.5 + CONFIDENCE / 2, n - 1)) * error
        if error == 0:  # every seed the same difference: certain, unless that difference is 0
            p = 1.0 if mean == 0 else 0.0
        else:
            p = float(2 * stats.t.sf(abs(mean) / error, n - 1))
        return cls(mean, mean - half, mean + half, n, p)

    @property
    def verdict(self) -> str:
        if self.seeds < 2:
            return "undecided (one seed: no interval)" if self.seeds == 1 else "undecided (no data)"
        if self.low > 0:
            return "holds"
        if self.high < 0:
            return "fails"
        return "undecided"

    def text(self, unit: str = "") -> str:
        if self.seeds == 0:
            return "no data"
        interval = f" [{self.low:+.2f}, {self.high:+.2f}]" if self.seeds > 1 else ""
        return f"{self.mean:+.2f}{unit}{interval} ({self.seeds} seed{'s' if self.seeds != 1 else ''})"


@dataclass(frozen=True)
class Evidence:
    """What a claim's row is judged by family-wise: a p-value and the direction it points
    (+1: the claim holds, -1: it fails; NaN p with one seed)."""

    p: float
    sign: int

    @classmethod
    def of(cls, interval: Interval) -> Evidence:
        return cls(interval.p, 1 if interval.mean > 0 else -1)

    @classmethod
    def of_all(cls, intervals: list[Interval]) -> Evidence:
        """A claim made at every condition: holds when it holds at each (intersection-union:
        the largest p), fails when it fails at any (the smallest p of a reversed condition,
        Bonferroni-corrected over the conditions)."""
        ps = [i.p for i in intervals]
        if not intervals or any(np.isnan(p) for p in ps):
            return cls(float("nan"), 1)
        reversed_ps = [i.p for i in intervals if i.mean <= 0]
        if not reversed_ps:
            return cls(max(ps), 1)
        return cls(min(1.0, min(reversed_ps) * len(intervals)), -1)


def holm(tests: list[Evidence], alpha: float = 1 - CONFIDENCE) -> list[str]:
    """Holm's step-down verdicts for a family of tests: holds/fails where the adjusted p-value is
    below ``alpha`` (by each test's direction), else undecided (also where a p-value is missing)."""
    ps = np.array([t.p for t in tests], dtype=float)
    valid = np.flatnonzero(~np.isnan(ps))
    adjusted = np.full(len(tests), np.nan)
    running = 0.0
    for rank, index in enumerate(valid[np.argsort(ps[valid], kind="stable")]):
        running = max(running, min(1.0, (len(valid) - rank) * ps[index]))
        adjusted[index] = running
    verdicts = []
    for test, p in zip(tests, adjusted, strict=True):
        if np.isnan(p) or p >= alpha:
            verdicts.append("undecided")
        else:
            verdicts.append("holds" if test.sign > 0 else "fails")
    return verdicts


def verdict_of_all(intervals: list[Interval]) -> str:
    """A claim made at every condition: holds if it holds at each, fails if it fails at any, else undecided."""
    verdicts = [i.verdict for i in intervals]
    if verdicts and all(v == "holds" for v in verdicts):
        return "holds"
    if "fails" in verdicts:
        return "fails"
    return "undecided"


MOST_SEEDS = 10_000  # where a power line stops counting


def seeds_to_decide(sd: float, effect: float, confidence: float = CONFIDENCE, most: int = MOST_SEEDS) -> int | None:
    """The fewest seeds whose 95 % t interval is half as wide as ``effect`` on each side: an effect
    of that size then lies a whole half-width clear of 0. None where ``most`` seeds do not."""
    target = abs(effect) / 2
    for n in range(2, most + 1):
        if float(stats.t.ppf(0.5 + confidence / 2, n - 1)) * sd / np.sqrt(n) <= target:
            return n
    return None
