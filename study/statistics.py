"""Means and paired effects over training seeds, with intervals and a verdict in words.

An ablation runs every variant under the same seeds, so a variant's effect is the mean of
its per-seed differences from the reference (paired), with a Student-t interval over those
differences. With R = 2 seeds the t-interval has one degree of freedom (t = 12.7): it is
very wide, and the report says so. The noise floor is the spread (standard deviation) of
the reference's own repeats: what reseeding alone moves the objective by.
"""

import math
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from scipy import stats

CONFIDENCE = 0.95
# An effect below this fraction of the noise floor is judged negligible even when every
# seed agrees on its sign: paired runs share everything but one knob, so a tiny difference
# can be consistent and still move the objective far less than reseeding does.
NEGLIGIBLE = 0.1

MATTERS, WITHIN_NOISE, NEGLIGIBLE_EFFECT, NO_EFFECT, TOO_FEW = (
    "matters", "within seed noise", "negligible", "no effect", "too few seeds")


@dataclass(frozen=True)
class Interval:
    mean: float
    low: float  # NaN when n < 2
    high: float
    n: int


@dataclass(frozen=True)
class Effect:
    mean: float  # variant - reference, averaged over the paired seeds
    low: float
    high: float
    n: int  # paired seeds
    spread: float  # standard deviation of the per-seed differences (NaN when n < 2)
    verdict: str


def mean_interval(values: Sequence[float], confidence: float = CONFIDENCE) -> Interval:
    """The mean and its t-interval (NaN bounds for fewer than two values)."""
    n = len(values)
    mean = statistics.fmean(values) if n else math.nan
    if n < 2:
        return Interval(mean, math.nan, math.nan, n)
    half = stats.t.ppf((1 + confidence) / 2, n - 1) * statistics.stdev(values) / math.sqrt(n)
    return Interval(mean, mean - half, mean + half, n)


def noise_floor(values: Sequence[float]) -> float:
    """The standard deviation of one configuration's repeats over seeds (NaN for n < 2)."""
    return statistics.stdev(values) if len(values) >= 2 else math.nan


def paired_effect(variant: Mapping[int, float], reference: Mapping[int, float],
                  floor: float, confidence: float = CONFIDENCE) -> Effect:
    """The variant's effect over the seeds both ran, and its verdict:

    - matters: the interval excludes 0 and the effect is at least NEGLIGIBLE x the floor;
    - within seed noise: the interval includes 0;
    - negligible: the interval excludes 0 but the effect is below NEGLIGIBLE x the floor;
    - no effect: every seed gave exactly the same value (a seed fixes a CPU run bit for bit,
      so a knob that changes nothing shows no spread at all);
    - too few seeds: fewer than two paired seeds.
    A difference with no spread but not zero is judged by its size against the floor, its
    interval being the single value."""
    seeds = sorted(set(variant) & set(reference))
    differences = [variant[seed] - reference[seed] for seed in seeds]
    n = len(differences)
    if n < 2:
        mean = differences[0] if differences else math.nan
        return Effect(mean, math.nan, math.nan, n, math.nan, TOO_FEW)
    interval = mean_interval(differences, confidence)
    spread = statistics.stdev(differences)
    mean = interval.mean
    big_enough = not math.isfinite(floor) or abs(mean) >= NEGLIGIBLE * floor
    if spread == 0:
        verdict = NO_EFFECT if mean == 0 else (MATTERS if big_enough else NEGLIGIBLE_EFFECT)
        return Effect(mean, mean, mean, n, spread, verdict)
    excludes_zero = interval.low > 0 or interval.high < 0
    if not excludes_zero:
        verdict = WITHIN_NOISE
    else:
        verdict = MATTERS if big_enough else NEGLIGIBLE_EFFECT
    return Effect(mean, interval.low, interval.high, n, spread, verdict)
