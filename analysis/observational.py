"""What the search sampled: the objective per level of each searched knob, with its n.

Observational, not an experiment: TPE samples good regions more often, so a level's mean
mixes the level's own effect with whatever the sampler paired it with. Only an ablation
(analysis.ablation) isolates a knob.

Trials ASHA stopped count too: every finished trial is compared at the rung all of them
reached (the last epoch of the objective every finished trial logged), so a knob does not
look better for its pruned trials being dropped, nor worse for being scored earlier.
"""

import pandas as pd

from cvae_study.analysis.runs import StudyTables
from cvae_study.study.statistics import mean_interval

BINS = 3  # a continuous knob's levels: its tertiles
FEW = 3  # below this many trials a level's mean is not worth reading
TOO_FEW = "too few to read"
SCORE = "score"  # the column of compared_trials: the objective at the common rung


def common_rung(study: StudyTables) -> int | None:
    """The last epoch of the objective that every finished trial logged (None: none has)."""
    objective = study.history[(study.history["metric"] == study.metric)
                              & study.history["trial_id"].isin(study.finished()["trial_id"])]
    if objective.empty:
        return None
    return int(objective.groupby("trial_id")["epoch"].max().min())


def compared_trials(study: StudyTables) -> pd.DataFrame:
    """Finished trials (completed or stopped early) with their objective at the common
    rung as column SCORE."""
    rung = common_rung(study)
    history = study.history
    at_rung = history[(history["metric"] == study.metric) & (history["epoch"] == rung)]
    scores = at_rung.groupby("trial_id")["value"].last().rename(SCORE)
    return study.finished().merge(scores, left_on="trial_id", right_index=True)


def factor_levels(trials: pd.DataFrame, key: str) -> pd.Series:
    """A knob's level per trial: its value, or its tertile when it is continuous."""
    values = trials[key]
    if not pd.api.types.is_float_dtype(values):
        return values.astype(str)
    if values.nunique() > BINS:
        # the quantile edges themselves: pandas' own labels move the lowest edge down
        binned, edges = pd.qcut(values, BINS, duplicates="drop", labels=False, retbins=True)
        labels = [f"{'[' if i == 0 else '('}{low:.3g}, {high:.3g}]"
                  for i, (low, high) in enumerate(zip(edges[:-1], edges[1:], strict=True))]
        return binned.map(lambda i: labels[int(i)]).astype(str)
    return values.map(lambda value: f"{value:.3g}")


def drew(trials: pd.DataFrame, key: str) -> pd.DataFrame:
    """The trials that drew `key` from the space (cycle keys: cyclical trials only)."""
    return trials[trials[key].notna()] if key in trials else trials.iloc[0:0]


def sampled_levels_table(study: StudyTables) -> pd.DataFrame:
    """One row per knob x level: mean objective at the common rung, 95% interval, n, and
    a note where n is too small to read."""
    compared = compared_trials(study)
    rows = []
    for key in study.searched:
        trials = drew(compared, key)
        if trials.empty:
            continue
        for level, values in trials[SCORE].groupby(factor_levels(trials, key)):
            interval = mean_interval(values.tolist())
            rows.append({"knob": key, "level": level, "mean": interval.mean,
                         "ci95_low": interval.low, "ci95_high": interval.high,
                         "n": interval.n, "note": TOO_FEW if interval.n < FEW else ""})
    return pd.DataFrame(rows, columns=["knob", "level", "mean", "ci95_low", "ci95_high", "n",
                                       "note"])
