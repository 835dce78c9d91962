"""`bench search`'s anytime figure: it draws the report's curves and budgets, computing
nothing (search_ratios.anytime and .compare made them)."""

from pathlib import Path
from typing import Any

import numpy as np

from cvae_study.study import names as n
from cvae_study.study.bench.search_methods import DEFAULT, VARIANTS
from cvae_study.study.bench.study_curves import RANDOM


def plot_anytime(report: dict[str, Any], path: Path) -> None:
    """Left: the search methods; right: the default beside its one-setting variants."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(13, 5), sharey=True)
    colours = dict(zip(report["anytime"], plt.get_cmap("tab10").colors, strict=False))
    groups = ([name for name in report["anytime"] if name not in VARIANTS],
              [RANDOM, DEFAULT, *VARIANTS])
    for ax, names in zip(axes, groups, strict=True):
        _draw_panel(ax, report, names, colours)
    axes[0].set_ylabel(f"best {n.VAL_SCORE} so far (mean of {report['replays']} seeds, 95% band)")
    axes[0].set_title("search methods")
    axes[1].set_title("the default, one setting changed")
    fig.suptitle(f"Studies replayed on the text landscape ({report['landscape']['configs']} "
                 f"configs of {report['landscape']['epochs']} epochs)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _draw_panel(ax, report: dict[str, Any], names: list[str], colours: dict) -> None:
    """Each method's mean best-so-far with its band, the budgets as dotted lines."""
    for name in names:
        curve = report["anytime"][name]
        x = np.arange(1, len(curve["mean"]) + 1)
        ax.plot(x, curve["mean"], label=name, color=colours[name])
        ax.fill_between(x, curve["low"], curve["high"], alpha=0.15, color=colours[name])
    for factor, row in report["budgets"].items():
        ax.axvline(row["budget_epochs"], color="grey", linestyle=":", linewidth=1)
        ax.annotate(factor, (row["budget_epochs"], 0), xycoords=("data", "axes fraction"),
                    xytext=(2, 2), textcoords="offset points", color="grey")
    ax.set_xscale("log")
    ax.set_xlabel("epochs spent (all trials)")
    ax.legend(loc="lower right")
