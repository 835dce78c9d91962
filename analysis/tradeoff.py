"""A study's trade-off between objectives: its finished trials ranked into Pareto fronts,
the front's trials and the knobs that move a trial along it, and the hypervolume the search
had reached after each trial.

Ranked as a study records its front when it ends (names.PARETO_ARTIFACT): the completed
trials by their final values; trials stopped early only while none has completed, as a
stopped trial's last value is not a final one. Fronts and hypervolumes are study.pareto's.
"""

from dataclasses import dataclass

import numpy as np
import pandas as pd
from optuna.distributions import CategoricalDistribution

from cvae_study.analysis.importance import distributions
from cvae_study.analysis.knob_scale import knob_heights
from cvae_study.analysis.observational import FEW, TOO_FEW, drew
from cvae_study.analysis.runs import StudyTables, final_values, in_start_order
from cvae_study.study import names as n
from cvae_study.study.errors import UsageError
from cvae_study.study.pareto import hypervolume, pareto_ranking

NEAR_FRONT = 1  # the knobs' correlations: over fronts 0 (the Pareto set) and 1
KEY_KNOBS = 2  # the knobs a front trial's label names
FLAG = "--pareto"


class TradeoffError(UsageError):
    """--pareto or --baseline names metrics or a study that cannot be compared."""


@dataclass(frozen=True)
class Tradeoff:
    """The finished trials of a study with their final values of `objectives`."""

    objectives: tuple[str, ...]
    modes: tuple[str, ...]
    # trial_id, outcome, epochs, the searched knobs, one column per objective, and `front`:
    # 0 for the Pareto set, 1 for the next front, ...; NaN for a trial not ranked
    trials: pd.DataFrame
    knobs: dict  # searched knob -> the Optuna distribution it was drawn from

    @property
    def ranked(self) -> pd.DataFrame:
        return self.trials[self.trials["front"].notna()]

    def front(self) -> pd.DataFrame:
        """The Pareto set, best first by the first objective."""
        front = self.trials[self.trials["front"] == 0]
        return front.sort_values(self.objectives[0], ascending=self.modes[0] == "min")


def check_metrics(study: StudyTables, text: str) -> tuple[str, ...]:
    """--pareto M1,M2,... -> the metrics; TradeoffError naming the flag and the metric
    unless they are two or more distinct metrics of the study's task."""
    metrics = n.objectives_of(text)
    known = n.OBJECTIVES[study.task]
    for metric in metrics:
        if metric not in known:
            raise TradeoffError(f"{FLAG} {text!r}: {metric!r} is not a metric of the "
                                f"{study.task} task; choose from {', '.join(known)}")
        if metrics.count(metric) > 1:
            raise TradeoffError(f"{FLAG} {text!r}: {metric} is named twice")
    if len(metrics) < 2:
        raise TradeoffError(f"{FLAG} {text!r}: a front needs two metrics or more, "
                            f"comma-separated, of {', '.join(known)}")
    return metrics


def _with_values(trials: pd.DataFrame, study: StudyTables, objectives) -> pd.DataFrame:
    """`trials` with their final value of each objective, read from the history."""
    kept = trials.drop(columns=[o for o in objectives if o in trials])
    return kept.join(final_values(study.history, objectives), on="trial_id")


def pareto_front(points: pd.DataFrame, x: str, y: str,
                 modes: tuple[str, str] = ("max", "max")) -> pd.DataFrame:
    """The points no other point beats on both x and y, sorted by x (then y): the edge of
    what they dominate in the x-y plane (their Pareto front when x and y are all there is)."""
    front = pareto_ranking(points[[x, y]].to_numpy(), modes).pareto_set
    return points.iloc[front].sort_values([x, y])


def ranked_outcome(trials: pd.DataFrame) -> str:
    """The outcome of the trials a front ranks: completed, or stopped early if none is."""
    return n.COMPLETED if (trials["outcome"] == n.COMPLETED).any() else n.STOPPED_EARLY


def tradeoff(study: StudyTables, objectives: tuple[str, ...]) -> Tradeoff:
    """The study's finished trials that logged every objective, ranked into fronts."""
    modes = n.modes_of(study.task, objectives)
    columns = ["trial_id", "outcome", "epochs", *[k for k in study.searched if k in study.trials]]
    trials = _with_values(study.finished()[columns], study, objectives)
    trials = trials.dropna(subset=list(objectives)).reset_index(drop=True)
    trials["front"] = np.nan
    if len(trials):
        ranked = trials["outcome"] == ranked_outcome(trials)
        points = trials.loc[ranked, list(objectives)].to_numpy()
        trials.loc[ranked, "front"] = pareto_ranking(points, modes).fronts
    return Tradeoff(objectives, modes, trials, distributions(study))


def _spread(values: pd.Series, distribution) -> float:
    """How much of a knob's searched range `values` cover, 0 to 1: a categorical knob's
    levels beyond the first over its choices beyond the first; a numeric one's span on its
    own axis (log-scaled where it was sampled so)."""
    drawn = values.dropna()
    if drawn.empty:
        return 0.0
    if isinstance(distribution, CategoricalDistribution):
        return (drawn.nunique() - 1) / max(len(distribution.choices) - 1, 1)
    heights, _ = knob_heights(drawn, distribution)
    return float(heights.max() - heights.min())


def key_knobs(trade: Tradeoff, count: int = KEY_KNOBS) -> list[str]:
    """The `count` searched knobs that vary most along the front (ties: searched order);
    none that stays put."""
    front = trade.front()
    spreads = {key: _spread(front[key], distribution)
               for key, distribution in trade.knobs.items() if key in front}
    varying = [key for key in spreads if spreads[key] > 0]
    return sorted(varying, key=lambda key: -spreads[key])[:count]


def front_table(trade: Tradeoff) -> pd.DataFrame:
    """The front's trials, best first by the first objective: id, values, epochs, knobs."""
    front = trade.front()
    columns = ["trial_id", *trade.objectives, "epochs", *[k for k in trade.knobs if k in front]]
    return front[columns].reset_index(drop=True)


def correlation_column(objective: str) -> str:
    return f"spearman {objective}"


def categorical_knobs(trade: Tradeoff) -> list[str]:
    """Knobs whose levels have no order to rank by."""
    return [key for key, distribution in trade.knobs.items()
            if isinstance(distribution, CategoricalDistribution)]


def knob_correlations(trade: Tradeoff) -> pd.DataFrame:
    """Per numeric searched knob: Spearman's rank correlation with each objective over the
    trials of fronts 0 and 1 that drew it, their number n, and a note under n = FEW."""
    near = trade.ranked[trade.ranked["front"] <= NEAR_FRONT]
    unordered = categorical_knobs(trade)
    rows = []
    for key in (key for key in trade.knobs if key not in unordered):
        trials = drew(near, key)
        row = {"knob": key, "n": len(trials)}
        for objective in trade.objectives:  # NaN for fewer than two trials or a constant
            row[correlation_column(objective)] = (
                trials[key].corr(trials[objective], method="spearman")
                if len(trials) >= 2 and trials[key].nunique() > 1 else np.nan)
        rows.append({**row, "note": TOO_FEW if len(trials) < FEW else ""})
    return pd.DataFrame(rows, columns=["knob", "n", *map(correlation_column, trade.objectives),
                                       "note"])


def reference_point(task: str, objectives) -> list[float]:
    """The hypervolume's reference: each objective's worst value (names.OBJECTIVES)."""
    return [n.OBJECTIVES[task][objective][1] for objective in objectives]


def hypervolume_curve(study: StudyTables, objectives: tuple[str, ...]) -> pd.Series:
    """Per trial in the order started (1, 2, ...): the hypervolume of the completed trials
    up to it against reference_point; 0 before the first completes."""
    ordered = _with_values(in_start_order(study.trials), study, objectives)
    points = ordered[list(objectives)].where(ordered["outcome"] == n.COMPLETED).to_numpy()
    modes = n.modes_of(study.task, objectives)
    reference = reference_point(study.task, objectives)
    return pd.Series([hypervolume(points[:count], modes, reference)
                      for count in range(1, len(points) + 1)],
                     index=ordered["number"], name="hypervolume")
