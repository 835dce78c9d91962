"""What the figures of how the search went draw: the optimisation history (each trial's
final value and the best so far), the parallel coordinates (each trial's searched knobs on
their own scales) and the worker timeline (each trial's span in its worker's lane)."""

import os
from dataclasses import dataclass

import pandas as pd

from cvae_study.analysis.figure_data.lanes import timeline_lanes
from cvae_study.analysis.importance import distributions
from cvae_study.analysis.knob_scale import NOT_DRAWN, knob_heights
from cvae_study.analysis.runs import StudyTables, in_start_order
from cvae_study.study import names as n

OUTCOMES = (n.COMPLETED, n.STOPPED_EARLY, n.RUNNING, n.DIVERGED, n.ERRORED)  # legends' order


def present_outcomes(outcomes: pd.Series) -> list[str]:
    """The outcomes there are, known ones in OUTCOMES' order, then any other."""
    return ([o for o in OUTCOMES if (outcomes == o).any()]
            + sorted(set(outcomes) - set(OUTCOMES)))


def best_so_far(ordered: pd.DataFrame, mode: str) -> pd.Series:
    """Per trial in `ordered`: the best final objective of the completed trials up to it
    (NaN before the first): what the search had found by then."""
    completed = ordered["final"].where(ordered["outcome"] == n.COMPLETED)
    best = completed.cummax() if mode == "max" else completed.cummin()
    return best.ffill()  # cummax leaves NaN at the trials that did not complete


def short_ids(ids: pd.Series) -> tuple[str, pd.Series]:
    """The prefix every trial id shares, up to an underscore (Ray's experiment id: its trials
    are `<experiment>_<index>`), and the ids without it, short enough to read in a bar."""
    shared = os.path.commonprefix(ids.tolist())
    prefix = shared[:shared.rfind("_") + 1]
    return prefix, ids.str.removeprefix(prefix)


@dataclass(frozen=True)
class HistoryInfo:
    metric: str
    mode: str
    trials: pd.DataFrame  # in the order started, numbered 1, 2, ... (`number`)
    best_so_far: pd.Series  # per trial of `trials`
    outcomes: list[str]  # those present, in the legend's order


def history_info(study: StudyTables) -> HistoryInfo | None:
    if study.trials.empty:
        return None
    ordered = in_start_order(study.trials)
    return HistoryInfo(study.metric, study.mode, ordered, best_so_far(ordered, study.mode),
                       present_outcomes(ordered["outcome"]))


@dataclass(frozen=True)
class ParallelInfo:
    metric: str
    mode: str
    knobs: list[str]  # the searched knobs, one axis each
    heights: pd.DataFrame  # trial (the trials' index) x knob, NOT_DRAWN where not drawn
    ticks: dict[str, list[tuple[float, str]]]  # per knob: (height, label)
    unscored: pd.DataFrame  # trials with no final score (trial_id, outcome)
    completed: pd.DataFrame  # completed trials, the best last (drawn on top)
    unscored_outcomes: list[str]  # the outcomes of `unscored`, in the legend's order


def _knob_scales(trials: pd.DataFrame, knobs: dict) -> tuple[pd.DataFrame, dict]:
    """Every trial's height on each knob's axis, and each axis' ticks."""
    heights, ticks = {}, {}
    for key, distribution in knobs.items():
        values = trials[key] if key in trials else pd.Series(float("nan"), index=trials.index)
        heights[key], ticks[key] = knob_heights(values, distribution)
        if heights[key].isna().any():
            ticks[key].append((NOT_DRAWN, "not drawn"))
    return pd.DataFrame(heights).fillna(NOT_DRAWN), ticks


def parallel_info(study: StudyTables) -> ParallelInfo | None:
    """On the distributions the study's sampler drew from (importance.distributions)."""
    knobs = distributions(study)
    if study.trials.empty or not knobs:
        return None
    trials = study.trials
    heights, ticks = _knob_scales(trials, knobs)
    completed = trials[trials["outcome"] == n.COMPLETED].sort_values(
        "final", ascending=study.mode == "max")
    unscored = [outcome for outcome in present_outcomes(trials["outcome"])
                if outcome != n.COMPLETED]
    return ParallelInfo(study.metric, study.mode, list(knobs), heights, ticks,
                        trials.drop(completed.index), completed, unscored)


@dataclass(frozen=True)
class TimelineInfo:
    # per trial: trial_id, outcome, its lane (`row`, `lane`, `host`), `label` (its id
    # after `prefix`), `left` and `width` in minutes since the first trial started
    spans: pd.DataFrame
    lanes: pd.DataFrame  # one row per lane, by `row`
    prefix: str
    outcomes: list[str]  # those present, in the legend's order
    packs_lanes: bool  # some runs do not record their worker: packed into lanes by time


def _timeline_end(study: StudyTables, now: pd.Timestamp | None) -> pd.Timestamp:
    """Where a trial still running ends: where the study's run ended if it has (no trial
    runs on after it), else now."""
    run = study.parent.info
    ended = run.end_time if run.status != "RUNNING" and run.end_time else None
    if ended:
        return pd.Timestamp(ended, unit="ms")
    return now if now is not None else pd.Timestamp.now("UTC").tz_localize(None)


def timeline_info(study: StudyTables, now: pd.Timestamp | None = None) -> TimelineInfo | None:
    if study.trials.empty:
        return None
    spans = timeline_lanes(study.trials, _timeline_end(study, now))
    prefix, spans["label"] = short_ids(spans["trial_id"])
    origin = spans["start_time"].min()
    spans["left"] = (spans["start_time"] - origin).dt.total_seconds() / 60
    spans["width"] = (spans["end_time"] - spans["start_time"]).dt.total_seconds() / 60
    return TimelineInfo(spans, spans.drop_duplicates("row").sort_values("row"), prefix,
                        present_outcomes(spans["outcome"]),
                        bool(study.trials["worker_id"].isna().any()))
