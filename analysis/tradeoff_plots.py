"""The figures of a trade-off (analysis.tradeoff), one per function, each returning a Figure
(None when there is nothing to draw): the Pareto front of two objectives, and the
hypervolume over trials against a random-search baseline."""

import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from cvae_study.analysis.plots import short_ids
from cvae_study.analysis.runs import StudyTables
from cvae_study.analysis.tradeoff import (
    Tradeoff,
    hypervolume_curve,
    key_knobs,
    reference_point,
)
from cvae_study.study.pareto import pareto_ranking

FADED = 0.3  # the alpha of the trials off the front
FRONT_COLOUR, OTHER_COLOUR, STOPPED_COLOUR = "C3", "C0", "C1"


def _knob_text(row: pd.Series, knobs: list[str]) -> str:
    """`kl.schedule=cyclical, optim.lr=0.0021`: the knobs the trial drew."""
    shown = [(key, row[key]) for key in knobs if pd.notna(row[key])]
    return ", ".join(f"{key}={value:.3g}" if isinstance(value, float) else f"{key}={value}"
                     for key, value in shown)


def _staircase(trade: Tradeoff, x: str, y: str) -> pd.DataFrame:
    """The ranked trials no other beats on both x and y, by x: the edge of what the front
    dominates in the drawn plane (the front itself for two objectives)."""
    ranked = trade.ranked
    modes = trade.modes[:2]
    edge = ranked.iloc[pareto_ranking(ranked[[x, y]].to_numpy(), modes).pareto_set]
    return edge.sort_values([x, y])


def front_figure(trade: Tradeoff) -> Figure | None:
    """Every finished trial's final values of two objectives, the Pareto front as a step
    line, each front trial labelled with its id and the two knobs that vary most along the
    front; dominated trials faded, trials stopped early hollow (their last value: not ranked
    while trials have completed).

    With more than two objectives the first two are drawn, the front is the one of all of
    them, and the step line is its edge in the two drawn."""
    if trade.trials.empty:
        return None
    x, y = trade.objectives[:2]
    trials = trade.trials
    figure = Figure(figsize=(8, 6), layout="constrained")
    axis = figure.subplots()
    dominated, stopped = trials[trials["front"] > 0], trials[trials["front"].isna()]
    front = trade.front()
    if len(dominated):
        axis.scatter(dominated[x], dominated[y], color=OTHER_COLOUR, alpha=FADED,
                     gid="dominated", label=f"dominated ({len(dominated)})")
    if len(stopped):
        axis.scatter(stopped[x], stopped[y], facecolors="none", edgecolors=STOPPED_COLOUR,
                     alpha=FADED, gid="stopped", label=f"stopped early, not ranked "
                     f"({len(stopped)})")
    axis.scatter(front[x], front[y], color=FRONT_COLOUR, zorder=3, gid="front",
                 label=f"Pareto front ({len(front)})")
    edge = _staircase(trade, x, y)
    # the corner between two neighbours takes the worse of each: for a maximised x, the
    # left one's x, so the line drops (or rises) before it runs on
    axis.step(edge[x], edge[y], where="pre" if trade.modes[0] == "max" else "post",
              color=FRONT_COLOUR, gid="front line")
    prefix, labels = short_ids(front["trial_id"])
    knobs = key_knobs(trade)
    middle = (trials[x].min() + trials[x].max()) / 2
    for (_, row), label in zip(front.iterrows(), labels, strict=True):
        right = row[x] <= middle  # the label on the side with room, inside the axes
        axis.annotate("\n".join(filter(None, (label, _knob_text(row, knobs)))), (row[x], row[y]),
                      xytext=(5 if right else -5, 4), textcoords="offset points",
                      ha="left" if right else "right", fontsize=7, gid=row["trial_id"])
    axis.set(xlabel=f"{x} (final, {trade.modes[0]}imised)",
             ylabel=f"{y} (final, {trade.modes[1]}imised)",
             title=f"Pareto front of {x} and {y}"
                   + (f", trials labelled by id after {prefix}" if prefix else ""))
    axis.margins(0.12)  # room for the labels of the front's ends
    figure.legend(loc="outside lower center", ncol=3, fontsize=7)
    return figure


def hypervolume_figure(study: StudyTables, baseline: StudyTables | None) -> Figure | None:
    """The hypervolume of the study's completed trials after each trial, in the order trials
    started, against a reference point of each objective's worst value; beside it, that of a
    random-search study of the same task, objectives and budget, when there is one."""
    if study.trials.empty:
        return None
    figure = Figure(figsize=(8, 4), layout="constrained")
    axis = figure.subplots()
    for tables, style in ((study, "-"), (baseline, "--")):
        if tables is None or tables.trials.empty:
            continue
        curve = hypervolume_curve(tables, study.objectives)
        axis.step(curve.index, curve.to_numpy(), where="post", linestyle=style,
                  gid=tables.name, label=f"{tables.name} ({tables.search} search)")
    reference = ", ".join(f"{value:g}" for value in reference_point(study.task,
                                                                    study.objectives))
    axis.set_ylim(bottom=0)  # the volume of no trial
    axis.xaxis.set_major_locator(MaxNLocator(integer=True, min_n_ticks=1))
    axis.set(xlabel="trial, in the order started", ylabel="hypervolume (completed trials)",
             title=f"Hypervolume of {', '.join(study.objectives)} against the reference "
                   f"point ({reference})")
    axis.legend(loc="lower right", fontsize=7)
    return figure

