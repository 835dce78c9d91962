"""The importance figure: each knob's importance per evaluator, as bars."""

import seaborn as sns
from matplotlib.figure import Figure

from cvae_study.analysis.figure_data.importance import ImportanceInfo
from cvae_study.analysis.figures.style import panels


def importance(info: ImportanceInfo) -> Figure:
    """fANOVA and PED-ANOVA importance of each knob, from Optuna's evaluators."""
    figure, axes = panels(1, width=6)
    long = info.table.reset_index(names="knob").melt(id_vars="knob", var_name="evaluator",
                                                      value_name="importance")
    sns.barplot(long, y="knob", x="importance", hue="evaluator", ax=axes[0])
    axes[0].set_title(f"Importance for {info.metric}")
    return figure
