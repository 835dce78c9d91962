"""The figures of a trade-off: the Pareto front of two objectives, and the hypervolume over
trials against a random-search baseline (figure_data.tradeoff's infos)."""

from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from cvae_study.analysis.figure_data.tradeoff import FrontInfo, HypervolumeInfo

FADED = 0.3  # the alpha of the trials off the front
FRONT_COLOUR, OTHER_COLOUR, STOPPED_COLOUR = "C3", "C0", "C1"


def _front_points(axis, info: FrontInfo) -> None:
    """The dominated trials faded, those stopped early hollow, the front's in colour."""
    x, y = info.x, info.y
    dominated, stopped, front = info.dominated, info.stopped, info.front
    if len(dominated):
        axis.scatter(dominated[x], dominated[y], color=OTHER_COLOUR, alpha=FADED,
                     gid="dominated", label=f"dominated ({len(dominated)})")
    if len(stopped):
        axis.scatter(stopped[x], stopped[y], facecolors="none", edgecolors=STOPPED_COLOUR,
                     alpha=FADED, gid="stopped", label=f"stopped early, not ranked "
                     f"({len(stopped)})")
    axis.scatter(front[x], front[y], color=FRONT_COLOUR, zorder=3, gid="front",
                 label=f"Pareto front ({len(front)})")


def _front_labels(axis, info: FrontInfo) -> None:
    """Each front trial's label on the side with room, inside the axes."""
    x, y = info.x, info.y
    middle = (info.trials[x].min() + info.trials[x].max()) / 2
    for (_, row), label in zip(info.front.iterrows(), info.labels, strict=True):
        right = row[x] <= middle
        axis.annotate(label, (row[x], row[y]), xytext=(5 if right else -5, 4),
                      textcoords="offset points", ha="left" if right else "right", fontsize=7,
                      gid=row["trial_id"])


def front_figure(info: FrontInfo) -> Figure:
    """Every finished trial's final values of two objectives, the Pareto front as a step
    line, each front trial labelled with its id and the two knobs that vary most along the
    front; dominated trials faded, trials stopped early hollow (their last value: not ranked
    while trials have completed).

    With more than two objectives the first two are drawn, the front is the one of all of
    them, and the step line is its edge in the two drawn."""
    x, y = info.x, info.y
    figure = Figure(figsize=(8, 6), layout="constrained")
    axis = figure.subplots()
    _front_points(axis, info)
    # the corner between two neighbours takes the worse of each: for a maximised x, the
    # left one's x, so the line drops (or rises) before it runs on
    axis.step(info.edge[x], info.edge[y], where="pre" if info.modes[0] == "max" else "post",
              color=FRONT_COLOUR, gid="front line")
    _front_labels(axis, info)
    axis.set(xlabel=f"{x} (final, {info.modes[0]}imised)",
             ylabel=f"{y} (final, {info.modes[1]}imised)",
             title=f"Pareto front of {x} and {y}"
                   + (f", trials labelled by id after {info.prefix}" if info.prefix else ""))
    axis.margins(0.12)  # room for the labels of the front's ends
    figure.legend(loc="outside lower center", ncol=3, fontsize=7)
    return figure


def hypervolume_figure(info: HypervolumeInfo) -> Figure:
    """The hypervolume of the study's completed trials after each trial, in the order trials
    started, against a reference point of each objective's worst value; beside it, that of a
    random-search study of the same task, objectives and budget, when there is one."""
    figure = Figure(figsize=(8, 4), layout="constrained")
    axis = figure.subplots()
    for curve in info.curves:
        axis.step(curve.values.index, curve.values.to_numpy(), where="post",
                  linestyle="--" if curve.baseline else "-", gid=curve.study,
                  label=f"{curve.study} ({curve.search} search)")
    reference = ", ".join(f"{value:g}" for value in info.reference)
    axis.set_ylim(bottom=0)  # the volume of no trial
    axis.xaxis.set_major_locator(MaxNLocator(integer=True, min_n_ticks=1))
    axis.set(xlabel="trial, in the order started", ylabel="hypervolume (completed trials)",
             title=f"Hypervolume of {', '.join(info.objectives)} against the reference "
                   f"point ({reference})")
    axis.legend(loc="lower right", fontsize=7)
    return figure
