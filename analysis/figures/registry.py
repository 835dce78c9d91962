"""The report's figures by name, each its info function (figure_data) and its figure
function (figures): SEARCH_FIGURES (how the search went) and DETAIL_FIGURES (per schedule
and knob) of a StudyTables, ABLATION_FIGURES of the study's AblationTables. The trade-off's
figures take a Tradeoff or a baseline too, so the report draws them itself."""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from matplotlib.figure import Figure

from cvae_study.analysis.figure_data import ablation as ablation_data
from cvae_study.analysis.figure_data import detail as detail_data
from cvae_study.analysis.figure_data import search as search_data
from cvae_study.analysis.figure_data.importance import importance_info
from cvae_study.analysis.figures import ablation, detail, search
from cvae_study.analysis.figures.importance import importance


def caption(draw: Callable) -> str:
    """The first paragraph of a figure function's docstring, on one line: its first line
    alone cut a caption off mid-sentence."""
    return " ".join((draw.__doc__ or draw.__name__).strip().split("\n\n")[0].split())


@dataclass(frozen=True)
class FigureSpec:
    """A figure: its data computed from the tables (None: nothing to draw), then drawn."""

    info: Callable[[Any], Any]
    draw: Callable[[Any], Figure]

    @property
    def caption(self) -> str:
        return caption(self.draw)

    def of(self, tables) -> Figure | None:
        """The figure of `tables`, or None when they hold no data for it."""
        info = self.info(tables)
        return None if info is None else self.draw(info)


SEARCH_FIGURES = {
    "optimisation_history": FigureSpec(search_data.history_info, search.optimisation_history),
    "parallel_coordinates": FigureSpec(search_data.parallel_info, search.parallel_coordinates),
    "worker_timeline": FigureSpec(search_data.timeline_info, search.worker_timeline),
}
DETAIL_FIGURES = {
    "learning_curves": FigureSpec(detail_data.learning_info, detail.learning_curves),
    "schedules_against_objective": FigureSpec(detail_data.schedules_info,
                                              detail.schedules_against_objective),
    "quality_over_epochs": FigureSpec(detail_data.quality_info, detail.quality_over_epochs),
    "bleu_against_gaussian": FigureSpec(detail_data.bleu_gaussian_info,
                                        detail.bleu_against_gaussian),
    "psnr_per_frame": FigureSpec(detail_data.psnr_info, detail.psnr_per_frame),
    "factor_effects": FigureSpec(detail_data.factor_effects_info, detail.factor_effects),
    "importance": FigureSpec(importance_info, importance),
    "active_units": FigureSpec(detail_data.active_units_info, detail.active_units),
}
FIGURES = {**SEARCH_FIGURES, **DETAIL_FIGURES}
# DETAIL_FIGURES of the objective (the first of several): drawn per objective for several
OBJECTIVE_FIGURES = ("schedules_against_objective", "factor_effects", "importance")
ABLATION_FIGURES = {
    "forest_plot": FigureSpec(ablation_data.forest_info, ablation.forest_plot),
    "ablation_path": FigureSpec(ablation_data.path_info, ablation.path_figure),
}
