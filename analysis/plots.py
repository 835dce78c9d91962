"""One function per figure of a study report; each returns a Figure. FIGURES take a
StudyTables, ABLATION_FIGURES the AblationTables of the study's ablation.

A figure whose data the study does not have (PSNR in a text study, importance with too
few trials) returns None and the report says so.
"""

import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.figure import Figure  # not pyplot: no display, no global figure state

from cvae_study.analysis.ablation import AblationTables, effects, noise, path_table
from cvae_study.analysis.importance import param_importances
from cvae_study.analysis.observational import (
    SCORE,
    common_rung,
    compared_trials,
    drew,
    factor_levels,
)
from cvae_study.analysis.runs import StudyTables
from cvae_study.study import names as n

SCHEDULE = "kl.schedule"
LEARNING = (n.TRAIN_LOSS, n.TRAIN_RECON, n.TRAIN_KL)
QUALITY = (n.VAL_BLEU4, n.VAL_BLEU4_SEEN, n.VAL_GAUSSIAN)


def _with_params(study: StudyTables, metrics) -> pd.DataFrame:
    """history rows of `metrics`, joined with each trial's schedule and outcome."""
    rows = study.history[study.history["metric"].isin(metrics)]
    keys = ["trial_id", "outcome"] + ([SCHEDULE] if SCHEDULE in study.trials else [])
    return rows.merge(study.trials[keys], on="trial_id")


def _panels(count: int, width: float = 4.5, per_row: int = 4) -> tuple[Figure, np.ndarray]:
    """A figure of `count` panels, at most `per_row` a row; -> (figure, flat axes)."""
    rows, columns = -(-count // per_row), min(count, per_row)
    figure = Figure(figsize=(width * columns, 3.6 * rows), layout="tight")
    axes = figure.subplots(rows, columns, squeeze=False).ravel()
    for spare in axes[count:]:
        spare.set_visible(False)
    return figure, axes[:count]


def _lines_by_schedule(study: StudyTables, metrics, title: str) -> Figure | None:
    data = _with_params(study, metrics)
    if data.empty:
        return None
    figure, axes = _panels(len(metrics))
    for axis, metric in zip(axes, metrics, strict=True):
        own = data[data["metric"] == metric]
        # the mean across trials, with a 95% confidence band
        sns.lineplot(own, x="epoch", y="value", hue=SCHEDULE if SCHEDULE in own else None,
                     errorbar=("ci", 95), ax=axis, marker="o")
        axis.set(title=metric, ylabel=metric)
    figure.suptitle(title)
    return figure


def learning_curves(study: StudyTables) -> Figure | None:
    """Loss, reconstruction and KL over epochs, by KL schedule."""
    return _lines_by_schedule(study, LEARNING, "Learning curves by KL schedule (95% CI)")


def quality_over_epochs(study: StudyTables) -> Figure | None:
    """Heldout and seen BLEU-4 and the Gaussian score over epochs, by KL schedule."""
    return _lines_by_schedule(study, QUALITY, "BLEU-4 and Gaussian score by KL schedule")


def active_units(study: StudyTables) -> Figure | None:
    """Active latent units over epochs by schedule: posterior collapse shows as a drop."""
    return _lines_by_schedule(study, (n.VAL_ACTIVE_UNITS,), "Active units by KL schedule")


def schedules_against_objective(study: StudyTables) -> Figure | None:
    """Per schedule: the KL weight and teacher-forcing ratio (left axis) with the objective
    (right axis) over epochs, so what each cycle does to the objective is visible."""
    data = _with_params(study, (n.TRAIN_KL_WEIGHT, n.TRAIN_TF_RATIO, study.metric))
    if data.empty or SCHEDULE not in data:
        return None
    schedules = sorted(data[SCHEDULE].unique())
    figure, axes = _panels(len(schedules))
    for axis, schedule in zip(axes, schedules, strict=True):
        own = data[data[SCHEDULE] == schedule]
        mean = own.groupby(["metric", "epoch"])["value"].mean()
        for metric, style in ((n.TRAIN_KL_WEIGHT, "-"), (n.TRAIN_TF_RATIO, "--")):
            if metric in mean:
                axis.plot(mean[metric].index, mean[metric].values, style, label=metric)
        axis.set(title=f"{schedule} (n={own['trial_id'].nunique()})", xlabel="epoch",
                 ylabel="weight / ratio (mean)")
        right = axis.twinx()
        if study.metric in mean:
            right.plot(mean[study.metric].index, mean[study.metric].values, "o-", color="C3",
                       label=study.metric)
        right.set_ylabel(study.metric)
        axis.legend(loc="upper left", fontsize=7)
        right.legend(loc="lower right", fontsize=7)
    figure.suptitle("KL weight and teacher forcing against the objective")
    return figure


def pareto_front(points: pd.DataFrame, x: str, y: str) -> pd.DataFrame:
    """Points no other point beats on both x and y (both higher-is-better), sorted by x."""
    ordered = points.sort_values([x, y], ascending=False)
    front, best_y = [], -np.inf
    for index, row in ordered.iterrows():
        if row[y] > best_y:
            front.append(index)
            best_y = row[y]
    return points.loc[front].sort_values(x)


def bleu_against_gaussian(study: StudyTables) -> Figure | None:
    """Final heldout BLEU-4 against the final Gaussian score of every trial, Pareto front
    marked: the trade-off the KL weight controls."""
    last = (study.history.sort_values("epoch").groupby(["trial_id", "metric"]).last()
            ["value"].unstack())
    if n.VAL_BLEU4 not in last or n.VAL_GAUSSIAN not in last:
        return None
    points = last[[n.VAL_BLEU4, n.VAL_GAUSSIAN]].dropna().join(
        study.trials.set_index("trial_id")[[SCHEDULE]] if SCHEDULE in study.trials else None)
    figure, axes = _panels(1, width=5.5)
    sns.scatterplot(points, x=n.VAL_BLEU4, y=n.VAL_GAUSSIAN, ax=axes[0],
                    hue=SCHEDULE if SCHEDULE in points else None)
    front = pareto_front(points, n.VAL_BLEU4, n.VAL_GAUSSIAN)
    axes[0].plot(front[n.VAL_BLEU4], front[n.VAL_GAUSSIAN], "k--", label="Pareto front")
    axes[0].legend(fontsize=7)
    axes[0].set_title("Heldout BLEU-4 against Gaussian score (last epoch of each trial)")
    return figure


def psnr_per_frame(study: StudyTables) -> Figure | None:
    """Video: PSNR of each predicted frame, by KL schedule."""
    frames = study.history[study.history["metric"].str.startswith(n.PSNR_AT_PREFIX)]
    if frames.empty:
        return None
    last = frames.sort_values("epoch").groupby(["trial_id", "metric"]).last().reset_index()
    last["frame"] = last["metric"].str.removeprefix(n.PSNR_AT_PREFIX).astype(int)
    last = last.merge(study.trials[["trial_id", SCHEDULE]], on="trial_id")
    figure, axes = _panels(1, width=6)
    sns.lineplot(last, x="frame", y="value", hue=SCHEDULE, errorbar=("ci", 95), ax=axes[0],
                 marker="o")
    axes[0].set(ylabel="PSNR (dB)", title="PSNR per predicted frame (last epoch)")
    return figure


def factor_effects(study: StudyTables) -> Figure | None:
    """What the search sampled: the objective of finished trials at the rung all reached,
    per level of each searched knob, counts shown (observational)."""
    compared = compared_trials(study)
    keys = [key for key in study.searched if not drew(compared, key).empty]
    if not keys:
        return None
    figure, axes = _panels(len(keys), width=3.4)
    for axis, key in zip(axes, keys, strict=True):
        rows = drew(compared, key)
        levels = factor_levels(rows, key)
        labels = levels + "\n(n=" + levels.map(levels.value_counts()).astype(str) + ")"
        sns.stripplot(x=labels, y=rows[SCORE], ax=axis, size=6)
        sns.pointplot(x=labels, y=rows[SCORE], ax=axis, errorbar=None, color="k",
                      markers="_", linestyles="none")
        axis.set(title=key, xlabel="", ylabel=study.metric)
        axis.tick_params(axis="x", labelsize=7, rotation=30)
    figure.suptitle(f"{study.metric} at epoch {common_rung(study)} of finished trials per "
                    "level of each knob (sampled, not controlled)")
    return figure


def importance(study: StudyTables) -> Figure | None:
    """fANOVA and PED-ANOVA importance of each knob, from Optuna's evaluators."""
    table = param_importances(study)
    if table is None:
        return None
    figure, axes = _panels(1, width=6)
    long = table.reset_index(names="knob").melt(id_vars="knob", var_name="evaluator",
                                                 value_name="importance")
    sns.barplot(long, y="knob", x="importance", hue="evaluator", ax=axes[0])
    axes[0].set_title(f"Importance for {study.metric}")
    return figure


FIGURES = {
    "learning_curves": learning_curves,
    "schedules_against_objective": schedules_against_objective,
    "quality_over_epochs": quality_over_epochs,
    "bleu_against_gaussian": bleu_against_gaussian,
    "psnr_per_frame": psnr_per_frame,
    "factor_effects": factor_effects,
    "importance": importance,
    "active_units": active_units,
}


def _bounds(table: pd.DataFrame, centre: str) -> np.ndarray:
    """matplotlib's error-bar extents from ci95_low/high; 0 where there is no interval."""
    return np.nan_to_num(np.vstack([table[centre] - table["ci95_low"],
                                    table["ci95_high"] - table[centre]]))


def forest_plot(ab: AblationTables) -> Figure | None:
    """Each variant's effect on the objective against the target, with its 95% interval.

    The grey band is +/- the noise floor: what reseeding alone moves the objective by."""
    table = effects(ab)
    table = table[(table["metric"] == ab.metric) & table["effect"].notna()]
    if table.empty:
        return None
    table = table.assign(size=table["effect"].abs()).sort_values("size")  # largest on top
    figure = Figure(figsize=(7, 1.2 + 0.45 * len(table)), layout="tight")
    axis = figure.subplots()
    floor = noise(ab).floor
    if np.isfinite(floor):
        axis.axvspan(-floor, floor, color="0.85", label=f"± noise floor ({floor:.3g})")
    axis.axvline(0, color="k", linewidth=0.8)
    axis.errorbar(table["effect"], np.arange(len(table)), xerr=_bounds(table, "effect"),
                  fmt="o", capsize=3)
    axis.set_yticks(np.arange(len(table)), table["variant"] + " (n=" + table["n"].astype(str)
                    + ")")
    axis.set(xlabel=f"{ab.metric}: variant - target (paired by seed)",
             title=f"Effect on {ab.metric} against the target (95% CI)")
    axis.legend(loc="best", fontsize=7)
    return figure


def path_figure(ab: AblationTables) -> Figure | None:
    """Ablation path: the objective after each step from the baseline to the target."""
    table = path_table(ab)
    if table.empty:
        return None
    labels = ["baseline", *(f"+{knob}" for knob in table["knob"].iloc[1:])]
    figure = Figure(figsize=(max(5.0, 1.1 * len(table)), 3.8), layout="tight")
    axis = figure.subplots()
    axis.errorbar(np.arange(len(table)), table["mean"], yerr=_bounds(table, "mean"),
                  fmt="o-", capsize=3)
    target = noise(ab).target.mean
    if np.isfinite(target):
        axis.axhline(target, color="C3", linestyle="--", label=f"target ({target:.3g})")
        axis.legend(loc="best", fontsize=7)
    axis.set_xticks(np.arange(len(table)), labels, rotation=20)
    axis.set(ylabel=f"{ab.metric} (mean, 95% CI)", title="Ablation path, baseline to target")
    return figure


ABLATION_FIGURES = {
    "forest_plot": forest_plot,
    "ablation_path": path_figure,
}
