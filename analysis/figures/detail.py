"""The report's detail figures, per KL schedule and per knob (figure_data.detail's infos)."""

import seaborn as sns
from matplotlib.figure import Figure

from cvae_study.analysis.figure_data.detail import (
    SCHEDULE,
    BleuGaussianInfo,
    CurvesInfo,
    FactorEffectsInfo,
    PsnrInfo,
    SchedulesInfo,
)
from cvae_study.analysis.figures.style import panels
from cvae_study.study import names as n


def _lines_by_schedule(info: CurvesInfo, title: str) -> Figure:
    figure, axes = panels(len(info.metrics))
    for axis, metric in zip(axes, info.metrics, strict=True):
        own = info.rows[info.rows["metric"] == metric]
        # the mean across trials, with a 95% confidence band
        sns.lineplot(own, x="epoch", y="value", hue=SCHEDULE if SCHEDULE in own else None,
                     errorbar=("ci", 95), ax=axis, marker="o")
        axis.set(title=metric, ylabel=metric)
    figure.suptitle(title)
    return figure


def learning_curves(info: CurvesInfo) -> Figure:
    """Loss, reconstruction and KL over epochs, by KL schedule."""
    return _lines_by_schedule(info, "Learning curves by KL schedule (95% CI)")


def quality_over_epochs(info: CurvesInfo) -> Figure:
    """Heldout and seen BLEU-4 and the Gaussian score over epochs, by KL schedule."""
    return _lines_by_schedule(info, "BLEU-4 and Gaussian score by KL schedule")


def active_units(info: CurvesInfo) -> Figure:
    """Active latent units over epochs by schedule: posterior collapse shows as a drop."""
    return _lines_by_schedule(info, "Active units by KL schedule")


def schedules_against_objective(info: SchedulesInfo) -> Figure:
    """Per schedule: the KL weight and teacher-forcing ratio (left axis) with the objective
    (right axis) over epochs, so what each cycle does to the objective is visible."""
    figure, axes = panels(len(info.schedules))
    for axis, schedule in zip(axes, info.schedules, strict=True):
        mean = schedule.means
        for metric, style in ((n.TRAIN_KL_WEIGHT, "-"), (n.TRAIN_TF_RATIO, "--")):
            if metric in mean:
                axis.plot(mean[metric].index, mean[metric].values, style, label=metric)
        axis.set(title=f"{schedule.schedule} (n={schedule.trials})", xlabel="epoch",
                 ylabel="weight / ratio (mean)")
        right = axis.twinx()
        if info.metric in mean:
            right.plot(mean[info.metric].index, mean[info.metric].values, "o-", color="C3",
                       label=info.metric)
        right.set_ylabel(info.metric)
        axis.legend(loc="upper left", fontsize=7)
        right.legend(loc="lower right", fontsize=7)
    figure.suptitle("KL weight and teacher forcing against the objective")
    return figure


def bleu_against_gaussian(info: BleuGaussianInfo) -> Figure:
    """Final heldout BLEU-4 against the final Gaussian score of every trial, Pareto front
    marked: the trade-off the KL weight controls."""
    figure, axes = panels(1, width=5.5)
    sns.scatterplot(info.points, x=n.VAL_BLEU4, y=n.VAL_GAUSSIAN, ax=axes[0],
                    hue=SCHEDULE if SCHEDULE in info.points else None)
    axes[0].plot(info.front[n.VAL_BLEU4], info.front[n.VAL_GAUSSIAN], "k--",
                 label="Pareto front")
    axes[0].legend(fontsize=7)
    axes[0].set_title("Heldout BLEU-4 against Gaussian score (last epoch of each trial)")
    return figure


def psnr_per_frame(info: PsnrInfo) -> Figure:
    """Video: PSNR of each predicted frame, by KL schedule."""
    figure, axes = panels(1, width=6)
    sns.lineplot(info.frames, x="frame", y="value", hue=SCHEDULE, errorbar=("ci", 95),
                 ax=axes[0], marker="o")
    axes[0].set(ylabel="PSNR (dB)", title="PSNR per predicted frame (last epoch)")
    return figure


def factor_effects(info: FactorEffectsInfo) -> Figure:
    """What the search sampled: the objective of finished trials at the rung all reached,
    per level of each searched knob, counts shown (observational)."""
    figure, axes = panels(len(info.knobs), width=3.4)
    for axis, knob in zip(axes, info.knobs, strict=True):
        sns.stripplot(x=knob.labels, y=knob.scores, ax=axis, size=6)
        sns.pointplot(x=knob.labels, y=knob.scores, ax=axis, errorbar=None, color="k",
                      markers="_", linestyles="none")
        axis.set(title=knob.knob, xlabel="", ylabel=info.metric)
        axis.tick_params(axis="x", labelsize=7, rotation=30)
    figure.suptitle(f"{info.metric} at epoch {info.rung} of finished trials per level of "
                    "each knob (sampled, not controlled)")
    return figure
