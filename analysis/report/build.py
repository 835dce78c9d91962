"""The report's blocks, section by section, from its fetched inputs.

A study with a finish leads with its finalists at full length on fresh seeds, one with an
ablation with what mattered, measured over seeds; a study of several
objectives with its trade-off; what the search sampled follows, labelled observational. Of
a study of several objectives, what ranks trials by one (what the search sampled,
importances, samples of the best) is given per objective, and the optimisation history and
best trials of one objective are left out.
"""

from cvae_study.analysis.report.document import Block, Heading, Paragraph
from cvae_study.analysis.report.inputs import ReportInputs
from cvae_study.analysis.report.sections.finished import finished_section
from cvae_study.analysis.report.sections.how_the_search_went import how_the_search_went
from cvae_study.analysis.report.sections.knobs import (
    best_trials,
    detail_figures,
    importance,
    sampled,
)
from cvae_study.analysis.report.sections.samples import samples_section
from cvae_study.analysis.report.sections.summary import reproduce, summary
from cvae_study.analysis.report.sections.trade_off import asked_front, trade_off
from cvae_study.analysis.report.sections.what_mattered import what_mattered_section

NOTHING_FINISHED = ("No trial has finished yet: nothing to compare. Run the report again "
                    "when trials have ended.")


def _drawn_fronts(inputs: ReportInputs) -> list[frozenset[str]]:
    """The pairs of objectives a front figure draws, so no other figure draws them again."""
    fronts = [frozenset(inputs.study.objectives[:2])] if inputs.study.multi_objective else []
    return fronts + ([frozenset(inputs.pareto[:2])] if inputs.pareto else [])


def _opening(inputs: ReportInputs) -> list[Block]:
    """Summary, then the trade-off (several objectives, --pareto), the finish and what
    mattered."""
    study = inputs.study
    blocks = [Heading(f"Study {study.name}", 1), *summary(study)]
    if study.multi_objective:
        blocks += trade_off(study, inputs.baseline)
    if inputs.pareto:
        blocks += asked_front(study, inputs.pareto)
    if inputs.finish is not None:
        blocks += finished_section(inputs.finish)
    if inputs.ablation is not None:
        blocks += what_mattered_section(inputs.ablation)
    return blocks + how_the_search_went(study)  # a running study's too


def build_blocks(inputs: ReportInputs) -> list[Block]:
    study = inputs.study
    blocks = _opening(inputs)
    if study.finished().empty:
        return blocks + [Paragraph(NOTHING_FINISHED)]
    if not study.multi_objective:  # the trade-off's front is what is best of several
        blocks += best_trials(study)
    blocks += sampled(study, inputs.ablation)
    blocks += importance(study)
    blocks += detail_figures(study, _drawn_fronts(inputs))
    for view in study.each_objective():
        blocks += samples_section(view, inputs.samples.get(view.metric))
    return blocks + reproduce(study)
