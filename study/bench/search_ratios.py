"""The ratio statistics of `bench search`: per-seed best-so-far curves -> how soon each
method gets where random search gets, at every budget, with intervals over the seeds.

Per budget B: random search's expected best within B (the mean over seeds of its
best-so-far at B); the epochs each method's expected best-so-far needs to reach 95% of it,
over the epochs random search needs (so below 1 is sooner); a 95% interval from resampling
the seeds (paired: one seed is one replay of every method). A method that does not get
there within B has a ratio above B over random search's epochs.
"""

import math
from typing import Any

import numpy as np

from cvae_study.study.bench.search_methods import DEFAULT, VARIANTS
from cvae_study.study.bench.study_curves import RANDOM, REACH, SEARCH_TRIALS, epochs_to_reach

BUDGETS = (1, 3, 10)  # times the epochs of SEARCH_TRIALS full-length trials
RESAMPLES = 2000

PerSeed = list[dict[str, list[float]]]  # by seed: method -> best-so-far curve


def ratio_at(method: np.ndarray, random_curve: np.ndarray, budget: int) -> dict[str, Any]:
    """Mean curves (over seeds) -> epochs to 95% of random search's expected best at
    `budget`, for both, and their ratio (None: the method does not reach it in `budget`,
    so the ratio is above `at_least`)."""
    target = REACH * float(random_curve[budget - 1])
    spent = epochs_to_reach(method[:budget], target)
    baseline = epochs_to_reach(random_curve[:budget], target)
    return {"target": round(target, 4), "epochs": spent, "random_epochs": baseline,
            "ratio": round(spent / baseline, 3) if spent else None,
            "at_least": None if spent else round(budget / baseline, 3)}


def resampled_ratios(stacked: dict[str, np.ndarray], budget: int,
                     rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Each method's ratio to random search in RESAMPLES resamples of the seeds (per-seed
    curves, seeds x epochs), every method on the same resampled seeds, so two methods'
    ratios can be compared pairwise. A resample in which a method misses counts as an
    infinite ratio."""
    names = [name for name in stacked if name != RANDOM]
    ratios = {name: np.empty(RESAMPLES) for name in names}
    seeds = len(stacked[RANDOM])
    for i in range(RESAMPLES):
        pick = rng.integers(0, seeds, seeds)
        random_curve = stacked[RANDOM][pick].mean(0)
        for name in names:
            found = ratio_at(stacked[name][pick].mean(0), random_curve, budget)
            ratios[name][i] = found["ratio"] if found["ratio"] is not None else math.inf
    return ratios


def interval(values: np.ndarray) -> list[float | None]:
    """95% percentile interval; None for an infinite bound. Resamples where a ratio of two
    misses is undefined (inf / inf) say nothing and are left out."""
    values = values[~np.isnan(values)]
    low, high = np.percentile(values, [2.5, 97.5], method="inverted_cdf")  # inf stays inf
    return [_json_number(float(low)), _json_number(float(high))]


def _json_number(value: float) -> float | None:
    return None if not math.isfinite(value) else round(value, 3)


def versus(ratios: dict[str, np.ndarray], name: str, default: str) -> dict[str, Any]:
    """`name`'s epochs over the default's, paired by resample: below 1, it gets there
    sooner; an interval below 1 is a measured lead."""
    with np.errstate(invalid="ignore", divide="ignore"):
        relative = ratios[name] / ratios[default]
    return {"median": _json_number(float(np.nanmedian(relative))),
            "interval": interval(relative),
            "sooner_share": round(float(np.mean(relative[~np.isnan(relative)] < 1)), 3)}


def compare(per_seed: PerSeed, epochs: int, rng_seed: int = 0) -> dict[str, Any]:
    """Per-seed best-so-far curves -> the ratios at every budget, with intervals, and each
    variant of the default against the default itself."""
    stacked = {name: np.array([seed[name] for seed in per_seed]) for name in per_seed[0]}
    rng = np.random.default_rng(rng_seed)
    mean = {name: curves.mean(0) for name, curves in stacked.items()}
    results = {}
    for factor in BUDGETS:
        budget = factor * SEARCH_TRIALS * epochs
        ratios = resampled_ratios(stacked, budget, rng)
        row = {"budget_epochs": budget, "random_best": round(float(mean[RANDOM][budget - 1]), 4),
               "methods": {}}
        for name in ratios:
            found = ratio_at(mean[name], mean[RANDOM], budget)
            row["methods"][name] = {**found, "interval": interval(ratios[name]),
                                    "best": round(float(mean[name][budget - 1]), 4)}
        if DEFAULT in ratios:
            row["versus_default"] = {name: versus(ratios, name, DEFAULT)
                                     for name in VARIANTS if name in ratios}
        results[f"{factor}x"] = row
    return results


def anytime(per_seed: PerSeed) -> dict[str, dict[str, list[float]]]:
    """Mean best-so-far per method with a 95% band (normal, over seeds) at every epoch."""
    out = {}
    for name in per_seed[0]:
        curves = np.array([seed[name] for seed in per_seed])
        mean, error = curves.mean(0), 1.96 * curves.std(0, ddof=1) / math.sqrt(len(curves))
        out[name] = {"mean": mean.round(4).tolist(), "low": (mean - error).round(4).tolist(),
                     "high": (mean + error).round(4).tolist()}
    return out
