"""The How the search went section: the optimisation history, the parallel coordinates and
the worker timeline, drawn for a running study too."""

from cvae_study.analysis.figures.registry import SEARCH_FIGURES
from cvae_study.analysis.figures.search import PACKED_NOTE
from cvae_study.analysis.report.document import Block, Heading, Paragraph
from cvae_study.analysis.report.figure_blocks import figure_block
from cvae_study.analysis.runs import StudyTables

HISTORY_LEFT_OUT = ("No optimisation history: the best so far of one objective does not say "
                    "how a search of a trade-off went; the hypervolume under Trade-off does.")


def _caption(name: str, caption: str, study: StudyTables, info) -> str:
    """The figure's caption, with what this study's figure does differently."""
    if name == "parallel_coordinates" and study.multi_objective:
        return caption + f" Coloured by the first objective, {study.metric}."
    if name == "worker_timeline" and info is not None and info.packs_lanes:
        return caption + PACKED_NOTE
    return caption


def how_the_search_went(study: StudyTables) -> list[Block]:
    blocks = [Heading("How the search went")]
    for name, spec in SEARCH_FIGURES.items():
        if name == "optimisation_history" and study.multi_objective:
            blocks.append(Paragraph(HISTORY_LEFT_OUT))
            continue
        info = spec.info(study)
        figure = None if info is None else spec.draw(info)
        blocks.append(figure_block(figure, name, _caption(name, spec.caption, study, info)))
    return blocks
