"""What the trade-off's figures draw: the finished trials' final values of two objectives
with the Pareto front, its edge and its trials' labels; the hypervolume after each trial of
the study and of its random-search baseline."""

from dataclasses import dataclass

import pandas as pd

from cvae_study.analysis.figure_data.search import short_ids
from cvae_study.analysis.runs import StudyTables
from cvae_study.analysis.tradeoff import (
    Tradeoff,
    hypervolume_curve,
    key_knobs,
    pareto_front,
    reference_point,
)


@dataclass(frozen=True)
class FrontInfo:
    x: str  # the first objective
    y: str  # the second
    modes: tuple[str, ...]  # of x and y
    trials: pd.DataFrame  # every finished trial of the trade-off
    dominated: pd.DataFrame  # ranked, off the front
    stopped: pd.DataFrame  # not ranked (stopped early while others completed)
    front: pd.DataFrame  # the Pareto set, best first by x
    edge: pd.DataFrame  # the ranked trials no other beats on x and y: the step line, by x
    labels: list[str]  # per front trial: its short id and the key knobs' values
    prefix: str  # what the front's ids share, left out of the labels


def _knob_text(row: pd.Series, knobs: list[str]) -> str:
    """`kl.schedule=cyclical, optim.lr=0.0021`: the knobs the trial drew."""
    shown = [(key, row[key]) for key in knobs if pd.notna(row[key])]
    return ", ".join(f"{key}={value:.3g}" if isinstance(value, float) else f"{key}={value}"
                     for key, value in shown)


def front_info(trade: Tradeoff) -> FrontInfo | None:
    """With more than two objectives, the first two; the front is the one of all of them,
    and `edge` its edge in the two drawn."""
    if trade.trials.empty:
        return None
    x, y = trade.objectives[:2]
    trials, front, knobs = trade.trials, trade.front(), key_knobs(trade)
    prefix, ids = short_ids(front["trial_id"])
    labels = ["\n".join(filter(None, (label, _knob_text(row, knobs))))
              for (_, row), label in zip(front.iterrows(), ids, strict=True)]
    return FrontInfo(x, y, trade.modes[:2], trials, trials[trials["front"] > 0],
                     trials[trials["front"].isna()], front,
                     pareto_front(trade.ranked, x, y, trade.modes[:2]), labels, prefix)


@dataclass(frozen=True)
class HypervolumeCurve:
    study: str
    search: str  # the sampler that searched it
    values: pd.Series  # per trial number, in the order started
    baseline: bool  # the random-search study compared with


@dataclass(frozen=True)
class HypervolumeInfo:
    objectives: tuple[str, ...]
    reference: list[float]  # each objective's worst value
    curves: list[HypervolumeCurve]  # the study's, then its baseline's if it has trials


def hypervolume_info(study: StudyTables,
                     baseline: StudyTables | None) -> HypervolumeInfo | None:
    if study.trials.empty:
        return None
    curves = [HypervolumeCurve(tables.name, tables.search,
                               hypervolume_curve(tables, study.objectives), tables is baseline)
              for tables in (study, baseline)
              if tables is not None and not tables.trials.empty]
    return HypervolumeInfo(study.objectives, reference_point(study.task, study.objectives),
                           curves)
