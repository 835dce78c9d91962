"""The figures of how the search went: the optimisation history, the parallel coordinates
of the searched knobs, the trials on the workers over time (figure_data.search's infos).

Optuna draws the first two too, but its plot_optimization_history leaves out pruned trials
(those ASHA stopped: most of a study) and calls plt.style.use("ggplot"), restyling every
later figure of the process; its plot_parallel_coordinate draws only COMPLETE trials
(diverged ones as if they scored the worst) through pyplot's global figures. Hence ours.
"""

import numpy as np
from matplotlib.cm import ScalarMappable
from matplotlib.colors import Normalize
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import MaxNLocator

from cvae_study.analysis.figure_data.search import HistoryInfo, ParallelInfo, TimelineInfo
from cvae_study.analysis.figures.style import outcome_colour
from cvae_study.analysis.knob_scale import NOT_DRAWN
from cvae_study.study import names as n

# The history's marker per outcome, and whether it is filled: a stopped or running trial's
# value is its last so far, not a final one; diverged and errored trials have no score.
HISTORY_MARKERS = {n.COMPLETED: ("o", True), n.STOPPED_EARLY: ("o", False),
                   n.RUNNING: ("D", False), n.DIVERGED: ("x", True), n.ERRORED: ("x", True)}
NO_SCORE = (n.DIVERGED, n.ERRORED)  # drawn along the bottom edge of the history
# Parallel coordinates: trials without a final score, grey, one style per outcome.
UNSCORED_LINES = {n.STOPPED_EARLY: "--", n.RUNNING: ":", n.DIVERGED: "-.", n.ERRORED: "-."}
PACKED_NOTE = (" Runs that do not record their worker (from studies older than the worker_id"
               " tag, or trials that failed before their first epoch) are packed into lanes"
               " greedily by time: such a lane is not one worker.")


def _history_points(axis, info: HistoryInfo) -> None:
    """Each outcome's trials at their value; those without a score on the bottom edge."""
    for outcome in info.outcomes:
        rows = info.trials[info.trials["outcome"] == outcome]
        marker, filled = HISTORY_MARKERS.get(outcome, ("x", True))
        colour = outcome_colour(outcome)
        paint = {"color": colour} if filled else {"facecolors": "none", "edgecolors": colour}
        if outcome in NO_SCORE:  # x in trials, y in axis fractions
            axis.scatter(rows["number"], np.zeros(len(rows)), marker=marker, **paint,
                         transform=axis.get_xaxis_transform(), clip_on=False, zorder=3,
                         label=f"{outcome}, no score ({len(rows)})")
        else:
            axis.scatter(rows["number"], rows["final"], marker=marker, **paint,
                         label=f"{outcome} ({len(rows)})")


def optimisation_history(info: HistoryInfo) -> Figure:
    """Each trial's objective in the order trials started, the best completed one so far as
    a step line.

    Stopped and running trials at their last value, hollow; diverged and errored ones, which
    have no score, on the bottom edge."""
    figure = Figure(figsize=(8, 4), layout="constrained")
    axis = figure.subplots()
    _history_points(axis, info)
    axis.step(info.trials["number"], info.best_so_far, where="post", color="k",
              label=f"best so far ({info.mode} of completed)")
    axis.set_xlim(0.5, len(info.trials) + 0.5)  # whole trials, even for one
    axis.xaxis.set_major_locator(MaxNLocator(integer=True, min_n_ticks=1))
    axis.set(xlabel="trial, in the order started", ylabel=f"{info.metric} (last epoch)",
             title=f"Optimisation history of {info.metric} ({info.mode}imised)")
    figure.legend(loc="outside right upper", fontsize=7)
    return figure


def _knob_axis(axis, position: int, ticks: list[tuple[float, str]]) -> None:
    """One knob's vertical axis at x = position, its tick labels on its left."""
    axis.axvline(position, color="0.3", linewidth=0.8, zorder=3)
    for height, label in ticks:
        axis.text(position - 0.03, height, label, ha="right", va="center", fontsize=7,
                  zorder=4, bbox={"facecolor": "white", "edgecolor": "none", "pad": 0.5})


def _trial_lines(axis, info: ParallelInfo, colours: ScalarMappable) -> None:
    """Unscored trials grey, then completed ones coloured by value, the best on top."""
    positions = np.arange(len(info.knobs))
    for index, row in info.unscored.iterrows():
        axis.plot(positions, info.heights.loc[index], color="0.6", linewidth=1,
                  gid=row["trial_id"], linestyle=UNSCORED_LINES.get(row["outcome"], "-."))
    for index, row in info.completed.iterrows():
        axis.plot(positions, info.heights.loc[index], color=colours.to_rgba(row["final"]),
                  linewidth=1.8, gid=row["trial_id"])


def _knob_axes(axis, info: ParallelInfo) -> None:
    """One vertical axis per knob, named below it; no frame but the bottom."""
    for position, key in enumerate(info.knobs):
        _knob_axis(axis, position, info.ticks[key])
    axis.set_xticks(np.arange(len(info.knobs)), info.knobs, fontsize=8)
    axis.set_yticks([])
    axis.set_xlim(-0.6, len(info.knobs) - 0.6)
    axis.set_ylim(NOT_DRAWN - 0.08, 1.08)
    for side in ("left", "right", "top"):
        axis.spines[side].set_visible(False)


def parallel_coordinates(info: ParallelInfo) -> Figure:
    """Each trial's searched knobs, one line per trial, coloured by its final objective
    (grey: no final score)."""
    completed = info.completed["final"]
    colours = ScalarMappable(Normalize(completed.min(), completed.max()),
                             "viridis" if info.mode == "max" else "viridis_r")
    figure = Figure(figsize=(max(7.0, 1.6 * len(info.knobs) + 2.5), 4.5), layout="constrained")
    axis = figure.subplots()
    _trial_lines(axis, info, colours)
    _knob_axes(axis, info)
    if len(info.completed):
        figure.colorbar(colours, ax=axis, label=f"{info.metric} (final, completed trials)")
    if info.unscored_outcomes:
        figure.legend(handles=[Line2D([], [], color="0.6", label=f"{outcome} (no final score)",
                                      linestyle=UNSCORED_LINES.get(outcome, "-."))
                               for outcome in info.unscored_outcomes],
                      loc="outside lower center", ncol=len(info.unscored_outcomes), fontsize=7)
    axis.set_title(f"Searched knobs of each trial, coloured by its final {info.metric}")
    return figure


def _host_labels(axis, lanes) -> None:
    """Each host's name at the middle of its lanes, on the right, lines between hosts."""
    rows = lanes.groupby("host")["row"].agg(["min", "max"]).sort_values("min")
    right = axis.secondary_yaxis("right")
    right.set_yticks((rows["min"] + rows["max"]) / 2,
                     [host or "host not recorded" for host in rows.index])
    right.tick_params(length=0)
    for boundary in rows["min"].iloc[1:]:
        axis.axhline(boundary - 0.5, color="0.3", linewidth=0.8)


def _trial_bars(axis, info: TimelineInfo) -> None:
    """One bar per trial, coloured by outcome, labelled with its short id."""
    for outcome in info.outcomes:
        rows = info.spans[info.spans["outcome"] == outcome]
        bars = axis.barh(rows["row"], rows["width"], left=rows["left"], height=0.8,
                         color=outcome_colour(outcome), edgecolor="white",
                         label=f"{outcome} ({len(rows)})")
        for bar, trial_id, text in zip(bars, rows["trial_id"], rows["label"], strict=True):
            bar.set_gid(trial_id)
            label = axis.annotate(text, (bar.get_x(), bar.get_y() + bar.get_height() / 2),
                                  xytext=(3, 0), textcoords="offset points", va="center",
                                  fontsize=7, color="white")
            label.set_clip_path(bar)  # a short bar shows part of its id, not its neighbour's


def worker_timeline(info: TimelineInfo) -> Figure:
    """Each trial from its run's start to its end, one lane per worker, coloured by outcome.

    A trial still running ends now, or where the study's run ended if it has."""
    lanes = info.lanes
    figure = Figure(figsize=(10, 1.6 + 0.4 * len(lanes)), layout="constrained")
    axis = figure.subplots()
    _trial_bars(axis, info)
    axis.set_yticks(lanes["row"], lanes["lane"])
    axis.set_ylim(len(lanes) - 0.5, -0.5)  # the first lane on top
    if lanes["host"].nunique() > 1:
        _host_labels(axis, lanes)
    axis.set(xlabel="minutes since the first trial started",
             title="Trials on the workers over time"
                   + (f", labelled by id after {info.prefix}" if info.prefix else ""))
    figure.legend(loc="outside right upper", fontsize=7)
    return figure
