"""The ablation's figures: the forest plot of each variant's effect, and the path from the
baseline to the target (figure_data.ablation's infos)."""

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from cvae_study.analysis.figure_data.ablation import ForestInfo, PathInfo


def _bounds(table: pd.DataFrame, centre: str) -> np.ndarray:
    """matplotlib's error-bar extents from ci95_low/high; 0 where there is no interval."""
    return np.nan_to_num(np.vstack([table[centre] - table["ci95_low"],
                                    table["ci95_high"] - table[centre]]))


def forest_plot(info: ForestInfo) -> Figure:
    """Each variant's effect on the objective against the target, with its 95% interval.

    The grey band is +/- the noise floor: what reseeding alone moves the objective by."""
    table = info.effects
    figure = Figure(figsize=(7, 1.2 + 0.45 * len(table)), layout="tight")
    axis = figure.subplots()
    if np.isfinite(info.floor):
        axis.axvspan(-info.floor, info.floor, color="0.85",
                     label=f"± noise floor ({info.floor:.3g})")
    axis.axvline(0, color="k", linewidth=0.8)
    axis.errorbar(table["effect"], np.arange(len(table)), xerr=_bounds(table, "effect"),
                  fmt="o", capsize=3)
    axis.set_yticks(np.arange(len(table)), table["variant"] + " (n=" + table["n"].astype(str)
                    + ")")
    axis.set(xlabel=f"{info.metric}: variant - target (paired by seed)",
             title=f"Effect on {info.metric} against the target (95% CI)")
    axis.legend(loc="best", fontsize=7)
    return figure


def path_figure(info: PathInfo) -> Figure:
    """Ablation path: the objective after each step from the baseline to the target."""
    table = info.steps
    figure = Figure(figsize=(max(5.0, 1.1 * len(table)), 3.8), layout="tight")
    axis = figure.subplots()
    axis.errorbar(np.arange(len(table)), table["mean"], yerr=_bounds(table, "mean"),
                  fmt="o-", capsize=3)
    if np.isfinite(info.target):
        axis.axhline(info.target, color="C3", linestyle="--", label=f"target ({info.target:.3g})")
        axis.legend(loc="best", fontsize=7)
    axis.set_xticks(np.arange(len(table)), info.labels, rotation=20)
    axis.set(ylabel=f"{info.metric} (mean, 95% CI)", title="Ablation path, baseline to target")
    return figure
