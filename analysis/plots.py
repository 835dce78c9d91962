"""One function per figure of a study report; each returns a Figure. FIGURES take a
StudyTables (SEARCH_FIGURES: how the search went; DETAIL_FIGURES: per schedule and knob),
ABLATION_FIGURES the AblationTables of the study's ablation.

A figure whose data the study does not have (PSNR in a text study, importance with too
few trials) returns None and the report says so.
"""

import os

import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.cm import ScalarMappable
from matplotlib.colors import Normalize
from matplotlib.figure import Figure  # not pyplot: no display, no global figure state
from matplotlib.lines import Line2D
from matplotlib.ticker import MaxNLocator
from optuna.distributions import CategoricalDistribution, IntDistribution

from cvae_study.analysis.ablation import AblationTables, effects, noise, path_table
from cvae_study.analysis.importance import distributions, param_importances
from cvae_study.analysis.observational import (
    SCORE,
    common_rung,
    compared_trials,
    drew,
    factor_levels,
)
from cvae_study.analysis.runs import StudyTables, in_start_order
from cvae_study.study import names as n
from cvae_study.study.pareto import pareto_ranking

SCHEDULE = "kl.schedule"
LEARNING = (n.TRAIN_LOSS, n.TRAIN_RECON, n.TRAIN_KL)
QUALITY = (n.VAL_BLEU4, n.VAL_BLEU4_SEEN, n.VAL_GAUSSIAN)

OUTCOMES = (n.COMPLETED, n.STOPPED_EARLY, n.RUNNING, n.DIVERGED, n.ERRORED)  # legends' order
OUTCOME_COLOURS = {n.COMPLETED: "C0", n.STOPPED_EARLY: "C1", n.RUNNING: "C2",
                   n.DIVERGED: "C3", n.ERRORED: "C7"}
OTHER_COLOUR = "C5"  # outcomes of other commands (an interrupted `train`), should one appear
# The history's marker per outcome, and whether it is filled: a stopped or running trial's
# value is its last so far, not a final one; diverged and errored trials have no score.
HISTORY_MARKERS = {n.COMPLETED: ("o", True), n.STOPPED_EARLY: ("o", False),
                   n.RUNNING: ("D", False), n.DIVERGED: ("x", True), n.ERRORED: ("x", True)}
NO_SCORE = (n.DIVERGED, n.ERRORED)  # drawn along the bottom edge of the history
# Parallel coordinates: trials without a final score, grey, one style per outcome.
UNSCORED_LINES = {n.STOPPED_EARLY: "--", n.RUNNING: ":", n.DIVERGED: "-.", n.ERRORED: "-."}
NOT_DRAWN = -0.15  # the height of a knob a trial did not draw (cycle knobs off cyclical)


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
    front = pareto_ranking(points[[x, y]].to_numpy(), ("max", "max")).pareto_set
    return points.iloc[front].sort_values(x)


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


def best_so_far(ordered: pd.DataFrame, mode: str) -> pd.Series:
    """Per trial in `ordered`: the best final objective of the completed trials up to it
    (NaN before the first): what the search had found by then."""
    completed = ordered["final"].where(ordered["outcome"] == n.COMPLETED)
    best = completed.cummax() if mode == "max" else completed.cummin()
    return best.ffill()  # cummax leaves NaN at the trials that did not complete


def _present(outcomes: pd.Series) -> list[str]:
    """The outcomes there are, known ones in OUTCOMES' order, then any other."""
    return ([o for o in OUTCOMES if (outcomes == o).any()]
            + sorted(set(outcomes) - set(OUTCOMES)))


def optimisation_history(study: StudyTables) -> Figure | None:
    """Each trial's objective in the order trials started, the best completed one so far as
    a step line.

    Stopped and running trials at their last value, hollow; diverged and errored ones, which
    have no score, on the bottom edge."""
    # Optuna's plot_optimization_history leaves out pruned trials (those ASHA stopped:
    # most of a study) and calls plt.style.use("ggplot"), restyling every later figure of
    # the process: drawn here instead.
    if study.trials.empty:
        return None
    ordered = in_start_order(study.trials)
    figure = Figure(figsize=(8, 4), layout="constrained")
    axis = figure.subplots()
    for outcome in _present(ordered["outcome"]):
        rows = ordered[ordered["outcome"] == outcome]
        marker, filled = HISTORY_MARKERS.get(outcome, ("x", True))
        colour = OUTCOME_COLOURS.get(outcome, OTHER_COLOUR)
        paint = {"color": colour} if filled else {"facecolors": "none", "edgecolors": colour}
        if outcome in NO_SCORE:  # on the bottom edge (x in trials, y in axis fractions)
            axis.scatter(rows["number"], np.zeros(len(rows)), marker=marker, **paint,
                         transform=axis.get_xaxis_transform(), clip_on=False, zorder=3,
                         label=f"{outcome}, no score ({len(rows)})")
        else:
            axis.scatter(rows["number"], rows["final"], marker=marker, **paint,
                         label=f"{outcome} ({len(rows)})")
    axis.step(ordered["number"], best_so_far(ordered, study.mode), where="post", color="k",
              label=f"best so far ({study.mode} of completed)")
    axis.set_xlim(0.5, len(ordered) + 0.5)  # whole trials, even for one
    axis.xaxis.set_major_locator(MaxNLocator(integer=True, min_n_ticks=1))
    axis.set(xlabel="trial, in the order started", ylabel=f"{study.metric} (last epoch)",
             title=f"Optimisation history of {study.metric} ({study.mode}imised)")
    figure.legend(loc="outside right upper", fontsize=7)
    return figure


def knob_heights(values: pd.Series, distribution) -> tuple[pd.Series, list[tuple[float, str]]]:
    """A knob's values as heights on its axis, 0 to 1 over the searched range (NaN where a
    trial did not draw it), and the axis' ticks as (height, label): a categorical knob at its
    levels, a log-sampled one on a log scale."""
    if isinstance(distribution, CategoricalDistribution):
        levels = list(distribution.choices)
        step = 1 / max(len(levels) - 1, 1)
        heights = {level: i * step for i, level in enumerate(levels)}
        return (values.map(heights).astype(float),
                [(height, str(level)) for level, height in heights.items()])

    def scaled(value):
        return np.log10(value) if distribution.log else value

    low, high = scaled(float(distribution.low)), scaled(float(distribution.high))
    span = (high - low) or 1.0  # a range of one value
    ends = [distribution.low, distribution.high]
    if distribution.log:  # the ends and the powers of ten between them
        ticks = sorted({*ends, *10.0 ** np.arange(np.ceil(low), np.floor(high) + 1)})
    else:
        ticks = np.linspace(*ends, 3)
    if isinstance(distribution, IntDistribution):
        ticks = np.unique(np.round(ticks))
    return ((scaled(values.astype(float)) - low) / span,
            [(float((scaled(tick) - low) / span), f"{tick:.3g}") for tick in ticks])


def _knob_axis(axis, position: int, ticks: list[tuple[float, str]]) -> None:
    """One knob's vertical axis at x = position, its tick labels on its left."""
    axis.axvline(position, color="0.3", linewidth=0.8, zorder=3)
    for height, label in ticks:
        axis.text(position - 0.03, height, label, ha="right", va="center", fontsize=7,
                  zorder=4, bbox={"facecolor": "white", "edgecolor": "none", "pad": 0.5})


def parallel_coordinates(study: StudyTables) -> Figure | None:
    """Each trial's searched knobs, one line per trial, coloured by its final objective
    (grey: no final score)."""
    # Optuna's plot_parallel_coordinate draws only COMPLETE trials (not those ASHA stopped;
    # diverged ones as if they scored the worst) and through pyplot's global figures: drawn
    # here, on the distributions the study's sampler drew from.
    knobs = distributions(study)
    if study.trials.empty or not knobs:
        return None
    trials = study.trials
    heights, ticks = {}, {}
    for key, distribution in knobs.items():
        values = trials[key] if key in trials else pd.Series(np.nan, index=trials.index)
        heights[key], ticks[key] = knob_heights(values, distribution)
        if heights[key].isna().any():
            ticks[key].append((NOT_DRAWN, "not drawn"))
    table = pd.DataFrame(heights).fillna(NOT_DRAWN)
    completed = trials[trials["outcome"] == n.COMPLETED].sort_values(
        "final", ascending=study.mode == "max")  # the best drawn last, on top
    colours = ScalarMappable(Normalize(completed["final"].min(), completed["final"].max()),
                             "viridis" if study.mode == "max" else "viridis_r")
    figure = Figure(figsize=(max(7.0, 1.6 * len(knobs) + 2.5), 4.5), layout="constrained")
    axis = figure.subplots()
    positions = np.arange(len(knobs))
    for index, row in trials.drop(completed.index).iterrows():
        axis.plot(positions, table.loc[index], color="0.6", linewidth=1, gid=row["trial_id"],
                  linestyle=UNSCORED_LINES.get(row["outcome"], "-."))
    for index, row in completed.iterrows():
        axis.plot(positions, table.loc[index], color=colours.to_rgba(row["final"]),
                  linewidth=1.8, gid=row["trial_id"])
    for position, key in enumerate(knobs):
        _knob_axis(axis, position, ticks[key])
    axis.set_xticks(positions, list(knobs), fontsize=8)
    axis.set_yticks([])
    axis.set_xlim(-0.6, len(knobs) - 0.6)
    axis.set_ylim(NOT_DRAWN - 0.08, 1.08)
    for side in ("left", "right", "top"):
        axis.spines[side].set_visible(False)
    if len(completed):
        figure.colorbar(colours, ax=axis, label=f"{study.metric} (final, completed trials)")
    unscored = [outcome for outcome in _present(trials["outcome"]) if outcome != n.COMPLETED]
    if unscored:
        figure.legend(handles=[Line2D([], [], color="0.6", label=f"{outcome} (no final score)",
                                      linestyle=UNSCORED_LINES.get(outcome, "-."))
                               for outcome in unscored],
                      loc="outside lower center", ncol=len(unscored), fontsize=7)
    axis.set_title(f"Searched knobs of each trial, coloured by its final {study.metric}")
    return figure


PACKED = "packed "  # the lane key of a trial whose run does not record its worker
PACKED_NOTE = (" Runs that do not record their worker (from studies older than the worker_id"
               " tag, or trials that failed before their first epoch) are packed into lanes"
               " greedily by time: such a lane is not one worker.")


def packed_lanes(spans: pd.DataFrame) -> pd.Series:
    """Lanes 0, 1, ... for trials whose worker is unknown: each trial, in the order they
    started, in the first lane free by its start. No two overlapping trials share a lane,
    and there are no more lanes than trials that ran at once."""
    free_from: list = []  # per lane, the end of its last trial
    lanes = pd.Series(0, index=spans.index)
    for index, start, end in spans.sort_values("start_time")[["start_time",
                                                               "end_time"]].itertuples():
        lane = next((i for i, free in enumerate(free_from) if free <= start), len(free_from))
        if lane == len(free_from):
            free_from.append(end)
        else:
            free_from[lane] = end
        lanes[index] = lane
    return lanes


def packs_lanes(study: StudyTables) -> bool:
    """Whether the timeline packs some trials into lanes (runs without a worker tag)."""
    return not study.trials.empty and bool(study.trials["worker_id"].isna().any())


def timeline_lanes(trials: pd.DataFrame, until: pd.Timestamp) -> pd.DataFrame:
    """The trials with their lane: `row` (0 at the top) and `lane` ('worker 1', ..., or
    'lane 1', ... packed by time for runs that do not record their worker), lanes grouped
    by `host` (runs without one last), each host's workers in the order of their first
    trial, then its packed lanes. A running trial ends `until`."""
    spans = trials.assign(end_time=trials["end_time"].fillna(until),
                          host=trials["host"].fillna(""), key=trials["worker_id"])
    unknown = spans["key"].isna()
    for _, rows in spans[unknown].groupby("host"):
        spans.loc[rows.index, "key"] = PACKED + packed_lanes(rows).astype(str)
    lanes = (spans.groupby(["host", "key"])["start_time"].min().reset_index()
             .assign(packed=lambda table: table["key"].str.startswith(PACKED),
                     unnamed=lambda table: table["host"] == "")  # trials with no report
             .sort_values(["unnamed", "host", "packed", "start_time"], ignore_index=True))
    number = (lanes.groupby("packed").cumcount() + 1).astype(str)
    lanes["lane"] = np.where(lanes["packed"], "lane " + number, "worker " + number)
    lanes["row"] = lanes.index
    return spans.merge(lanes[["host", "key", "lane", "row"]], on=["host", "key"])


def _host_labels(axis, lanes: pd.DataFrame) -> None:
    """Each host's name at the middle of its lanes, on the right, lines between hosts."""
    rows = lanes.groupby("host")["row"].agg(["min", "max"]).sort_values("min")
    right = axis.secondary_yaxis("right")
    right.set_yticks((rows["min"] + rows["max"]) / 2,
                     [host or "host not recorded" for host in rows.index])
    right.tick_params(length=0)
    for boundary in rows["min"].iloc[1:]:
        axis.axhline(boundary - 0.5, color="0.3", linewidth=0.8)


def short_ids(ids: pd.Series) -> tuple[str, pd.Series]:
    """The prefix every trial id shares, up to an underscore (Ray's experiment id: its trials
    are `<experiment>_<index>`), and the ids without it, short enough to read in a bar."""
    shared = os.path.commonprefix(ids.tolist())
    prefix = shared[:shared.rfind("_") + 1]
    return prefix, ids.str.removeprefix(prefix)


def worker_timeline(study: StudyTables) -> Figure | None:
    """Each trial from its run's start to its end, one lane per worker, coloured by outcome.

    A trial still running ends now, or where the study's run ended if it has."""
    if study.trials.empty:
        return None
    run = study.parent.info  # a study that ended has no trial running on
    ended = run.end_time if run.status != "RUNNING" and run.end_time else None
    until = pd.Timestamp(ended, unit="ms") if ended else pd.Timestamp.now("UTC").tz_localize(None)
    spans = timeline_lanes(study.trials, until)
    prefix, spans["label"] = short_ids(spans["trial_id"])
    origin = spans["start_time"].min()
    spans["left"] = (spans["start_time"] - origin).dt.total_seconds() / 60
    spans["width"] = (spans["end_time"] - spans["start_time"]).dt.total_seconds() / 60
    lanes = spans.drop_duplicates("row").sort_values("row")
    figure = Figure(figsize=(10, 1.6 + 0.4 * len(lanes)), layout="constrained")
    axis = figure.subplots()
    for outcome in _present(spans["outcome"]):
        rows = spans[spans["outcome"] == outcome]
        bars = axis.barh(rows["row"], rows["width"], left=rows["left"], height=0.8,
                         color=OUTCOME_COLOURS.get(outcome, OTHER_COLOUR), edgecolor="white",
                         label=f"{outcome} ({len(rows)})")
        for bar, trial_id, text in zip(bars, rows["trial_id"], rows["label"], strict=True):
            bar.set_gid(trial_id)
            label = axis.annotate(text, (bar.get_x(), bar.get_y() + bar.get_height() / 2),
                                  xytext=(3, 0), textcoords="offset points", va="center",
                                  fontsize=7, color="white")
            label.set_clip_path(bar)  # a short bar shows part of its id, not its neighbour's
    axis.set_yticks(lanes["row"], lanes["lane"])
    axis.set_ylim(len(lanes) - 0.5, -0.5)  # the first lane on top
    if lanes["host"].nunique() > 1:
        _host_labels(axis, lanes)
    axis.set(xlabel="minutes since the first trial started",
             title="Trials on the workers over time"
                   + (f", labelled by id after {prefix}" if prefix else ""))
    figure.legend(loc="outside right upper", fontsize=7)
    return figure


SEARCH_FIGURES = {
    "optimisation_history": optimisation_history,
    "parallel_coordinates": parallel_coordinates,
    "worker_timeline": worker_timeline,
}
DETAIL_FIGURES = {
    "learning_curves": learning_curves,
    "schedules_against_objective": schedules_against_objective,
    "quality_over_epochs": quality_over_epochs,
    "bleu_against_gaussian": bleu_against_gaussian,
    "psnr_per_frame": psnr_per_frame,
    "factor_effects": factor_effects,
    "importance": importance,
    "active_units": active_units,
}
FIGURES = {**SEARCH_FIGURES, **DETAIL_FIGURES}
# DETAIL_FIGURES of the objective (the first of several): drawn per objective for several
OBJECTIVE_FIGURES = ("schedules_against_objective", "factor_effects", "importance")


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
