"""The Trade-off section of a study of several objectives (its Pareto front, the knobs
along it, the hypervolume against a random baseline), and the front `--pareto` asks of any
study."""

from cvae_study.analysis.figure_data.tradeoff import front_info, hypervolume_info
from cvae_study.analysis.figures.registry import caption
from cvae_study.analysis.figures.tradeoff import front_figure, hypervolume_figure
from cvae_study.analysis.report.document import Block, Heading, Paragraph, Table
from cvae_study.analysis.report.figure_blocks import figure_block
from cvae_study.analysis.runs import StudyTables
from cvae_study.analysis.tradeoff import (
    NEAR_FRONT,
    Tradeoff,
    categorical_knobs,
    front_table,
    knob_correlations,
    ranked_outcome,
    tradeoff,
)
from cvae_study.study import names as n

RANKING_TEXT = {
    n.COMPLETED: "The front ranks the completed trials by their final values, as the study "
                 "records its front when it ends; trials stopped early are drawn hollow at "
                 "their last value, not ranked, as that value is not final.",
    n.STOPPED_EARLY: "No trial has completed yet: the front ranks the trials stopped early, "
                     "by their last values.",
}


def _front_blocks(trade: Tradeoff, name: str) -> list[Block]:
    """The front figure and its trials' table."""
    info = front_info(trade)
    if info is None:
        return [Paragraph("No trial has finished with a value of "
                          f"{' and '.join(trade.objectives)} yet: no front to draw.")]
    first = trade.objectives[0]
    return [Paragraph(RANKING_TEXT[ranked_outcome(trade.trials)]),
            figure_block(front_figure(info), name, caption(front_figure)),
            Paragraph(f"The front's trials ({len(trade.front())}), best first by {first}:"),
            Table(front_table(trade))]


def _correlation_blocks(trade: Tradeoff) -> list[Block]:
    near = trade.ranked[trade.ranked["front"] <= NEAR_FRONT]
    text = (f"Which knobs move a trial along the front (observational, not an experiment): "
            f"Spearman's rank correlation of each numeric searched knob with each objective, "
            f"over the {len(near)} trials on the front or the next one (fronts 0 and 1); n: "
            "those that drew the knob. The search chose these trials, so a knob's "
            "correlation mixes its own effect with the knobs the sampler paired it with; only "
            "varying the knob alone, over seeds, would isolate it.")
    unordered = categorical_knobs(trade)
    if unordered:
        text += (f" Categorical knobs ({', '.join(unordered)}) have no order to rank: the "
                 "front's table shows their levels.")
    return [Paragraph(text), Table(knob_correlations(trade))]


def _baseline_text(study: StudyTables, baseline: StudyTables | None) -> str:
    if baseline is not None:
        return (f"Against study {baseline.name}: random search of the same task, objectives "
                f"and budget ({len(baseline.trials)} trials so far). One study of each, one "
                f"search seed: two runs compared, not the two methods (`bench search` "
                f"compares methods over seeds).")
    metric = n.OBJECTIVE_SEPARATOR.join(study.objectives)
    budget = study.parent.data.params.get(f"{n.STUDY_PREFIX}num_samples", "N")
    return (f"No random-search study of the same task, objectives and budget in this store "
            f"to compare with: `cvae-study sweep {study.task} --metric {metric} --search "
            f"random --num-samples {budget}` makes one (`report --baseline NAME` names one).")


def _hypervolume_block(study: StudyTables, baseline: StudyTables | None) -> Block:
    info = hypervolume_info(study, baseline)
    figure = None if info is None else hypervolume_figure(info)
    return figure_block(figure, "hypervolume", caption(hypervolume_figure))


def trade_off(study: StudyTables, baseline: StudyTables | None) -> list[Block]:
    """The trade-off section of a study of several objectives."""
    trade = tradeoff(study, study.objectives)
    blocks = [Heading("Trade-off"), *_front_blocks(trade, "tradeoff_front")]
    if len(trade.ranked):
        blocks += _correlation_blocks(trade)
    return blocks + [_hypervolume_block(study, baseline),
                     Paragraph(_baseline_text(study, baseline))]


def asked_front(study: StudyTables, metrics: tuple[str, ...]) -> list[Block]:
    """`report --pareto M1,M2`: the front of any metrics of any study."""
    return [Heading(f"Trade-off of {' and '.join(metrics)} (--pareto)"),
            *_front_blocks(tradeoff(study, metrics), "pareto_front")]
