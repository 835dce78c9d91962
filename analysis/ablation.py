"""The ablation table: the objective per level of each searched knob, with its uncertainty.

Only completed trials count: a trial ASHA stopped was scored at an earlier epoch, and
mixing its score with full-length ones would make a knob look worse for being pruned.
"""

import numpy as np
import pandas as pd
from scipy import stats

from cvae_study.analysis.runs import StudyTables
from cvae_study.study import names as n

BINS = 3  # a continuous knob's levels: its tertiles


def mean_interval(values: pd.Series, confidence: float = 0.95) -> tuple[float, float, float]:
    """-> mean and the t-distribution confidence interval of the mean (NaN when n < 2)."""
    n = len(values)
    mean = float(values.mean()) if n else np.nan
    if n < 2:
        return mean, np.nan, np.nan
    half = stats.t.ppf((1 + confidence) / 2, n - 1) * values.std(ddof=1) / np.sqrt(n)
    return mean, mean - half, mean + half


def factor_levels(trials: pd.DataFrame, key: str) -> pd.Series:
    """A knob's level per trial: its value, or its tertile when it is continuous."""
    values = trials[key]
    if not pd.api.types.is_float_dtype(values):
        return values.astype(str)
    if values.nunique() > BINS:
        return pd.qcut(values, BINS, duplicates="drop", precision=3).astype(str)
    return values.map(lambda value: f"{value:.3g}")


def drew(study: StudyTables, key: str) -> pd.DataFrame:
    """Completed trials that drew `key` from the space (cycle keys: cyclical trials only)."""
    done = study.trials[(study.trials["outcome"] == n.COMPLETED) & study.trials["final"].notna()]
    return done[done[key].notna()] if key in done else done.iloc[0:0]


def ablation_table(study: StudyTables) -> pd.DataFrame:
    """One row per knob x level: mean objective, 95% interval, n (completed trials)."""
    rows = []
    for key in study.searched:
        trials = drew(study, key)
        if trials.empty:
            continue
        for level, values in trials["final"].groupby(factor_levels(trials, key)):
            mean, low, high = mean_interval(values)
            rows.append({"knob": key, "level": level, "mean": mean, "ci95_low": low,
                         "ci95_high": high, "n": len(values)})
    return pd.DataFrame(rows, columns=["knob", "level", "mean", "ci95_low", "ci95_high", "n"])
