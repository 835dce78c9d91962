"""What the report's detail figures draw: metrics over epochs by KL schedule, the schedules
against the objective, BLEU-4 against the Gaussian score, PSNR per frame, and the objective
per level of each searched knob (observational)."""

from dataclasses import dataclass

import pandas as pd

from cvae_study.analysis.observational import (
    SCORE,
    common_rung,
    compared_trials,
    drew,
    factor_levels,
)
from cvae_study.analysis.runs import StudyTables, final_values
from cvae_study.analysis.tradeoff import pareto_front
from cvae_study.study import names as n

SCHEDULE = n.KL_SCHEDULE  # the figures draw a line per schedule
LEARNING = (n.TRAIN_LOSS, n.TRAIN_RECON, n.TRAIN_KL)
QUALITY = (n.VAL_BLEU4, n.VAL_BLEU4_SEEN, n.VAL_GAUSSIAN)


def with_params(study: StudyTables, metrics) -> pd.DataFrame:
    """history rows of `metrics`, joined with each trial's schedule and outcome."""
    rows = study.history[study.history["metric"].isin(metrics)]
    keys = ["trial_id", "outcome"] + ([SCHEDULE] if SCHEDULE in study.trials else [])
    return rows.merge(study.trials[keys], on="trial_id")


@dataclass(frozen=True)
class CurvesInfo:
    metrics: tuple[str, ...]  # one panel each
    rows: pd.DataFrame  # trial x epoch x metric, with the trial's outcome and schedule


def curves_info(study: StudyTables, metrics) -> CurvesInfo | None:
    rows = with_params(study, metrics)
    return None if rows.empty else CurvesInfo(tuple(metrics), rows)


def learning_info(study: StudyTables) -> CurvesInfo | None:
    return curves_info(study, LEARNING)


def quality_info(study: StudyTables) -> CurvesInfo | None:
    return curves_info(study, QUALITY)


def active_units_info(study: StudyTables) -> CurvesInfo | None:
    return curves_info(study, (n.VAL_ACTIVE_UNITS,))


@dataclass(frozen=True)
class ScheduleMeans:
    schedule: str
    trials: int  # how many trials ran it
    means: pd.Series  # (metric, epoch) -> the mean over those trials


@dataclass(frozen=True)
class SchedulesInfo:
    metric: str  # the objective
    schedules: list[ScheduleMeans]  # by name


def schedules_info(study: StudyTables) -> SchedulesInfo | None:
    """Per schedule: the mean KL weight, teacher-forcing ratio and objective per epoch."""
    data = with_params(study, (n.TRAIN_KL_WEIGHT, n.TRAIN_TF_RATIO, study.metric))
    if data.empty or SCHEDULE not in data:
        return None
    schedules = []
    for schedule in sorted(data[SCHEDULE].unique()):
        own = data[data[SCHEDULE] == schedule]
        schedules.append(ScheduleMeans(schedule, own["trial_id"].nunique(),
                                       own.groupby(["metric", "epoch"])["value"].mean()))
    return SchedulesInfo(study.metric, schedules)


@dataclass(frozen=True)
class BleuGaussianInfo:
    points: pd.DataFrame  # per trial: final BLEU-4, final Gaussian score (and schedule)
    front: pd.DataFrame  # the points no other beats on both, by BLEU-4


def bleu_gaussian_info(study: StudyTables) -> BleuGaussianInfo | None:
    last = final_values(study.history, (n.VAL_BLEU4, n.VAL_GAUSSIAN))
    if last.isna().all().any():  # a metric no trial logged
        return None
    points = last.dropna()
    if SCHEDULE in study.trials:
        points = points.join(study.trials.set_index("trial_id")[[SCHEDULE]])
    return BleuGaussianInfo(points, pareto_front(points, n.VAL_BLEU4, n.VAL_GAUSSIAN))


@dataclass(frozen=True)
class PsnrInfo:
    frames: pd.DataFrame  # trial x frame: `value`, the PSNR at its last epoch, its schedule


def psnr_info(study: StudyTables) -> PsnrInfo | None:
    """Video only: a text study logs no per-frame PSNR."""
    frames = study.history[study.history["metric"].str.startswith(n.PSNR_AT_PREFIX)]
    if frames.empty:
        return None
    last = frames.sort_values("epoch").groupby(["trial_id", "metric"]).last().reset_index()
    last["frame"] = last["metric"].str.removeprefix(n.PSNR_AT_PREFIX).astype(int)
    return PsnrInfo(last.merge(study.trials[["trial_id", SCHEDULE]], on="trial_id"))


@dataclass(frozen=True)
class KnobLevels:
    knob: str
    labels: pd.Series  # per trial that drew the knob: its level and the level's n
    scores: pd.Series  # per such trial: the objective at the common rung


@dataclass(frozen=True)
class FactorEffectsInfo:
    metric: str
    rung: int | None  # the epoch every finished trial reached
    knobs: list[KnobLevels]  # the searched knobs some finished trial drew


def factor_effects_info(study: StudyTables) -> FactorEffectsInfo | None:
    compared = compared_trials(study)
    keys = [key for key in study.searched if not drew(compared, key).empty]
    if not keys:
        return None
    knobs = []
    for key in keys:
        rows = drew(compared, key)
        levels = factor_levels(rows, key)
        labels = levels + "\n(n=" + levels.map(levels.value_counts()).astype(str) + ")"
        knobs.append(KnobLevels(key, labels, rows[SCORE]))
    return FactorEffectsInfo(study.metric, common_rung(study), knobs)
