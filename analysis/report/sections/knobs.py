"""The sections on what the search found and what its knobs did: the best trials, what the
search sampled per knob level (observational), the importances, and the detail figures."""

from cvae_study.analysis.ablation import AblationTables
from cvae_study.analysis.figures.registry import DETAIL_FIGURES, OBJECTIVE_FIGURES
from cvae_study.analysis.importance import MIN_TRIALS, param_importances
from cvae_study.analysis.observational import common_rung, sampled_levels_table
from cvae_study.analysis.report.document import Block, Heading, Paragraph, Table
from cvae_study.analysis.report.figure_blocks import figure_block
from cvae_study.analysis.runs import StudyTables
from cvae_study.study import names as n

TOP_TRIALS = 5


def best_trials(study: StudyTables) -> list[Block]:
    done = study.completed_best_first()
    if done.empty:
        return [Heading("Best trials"), Paragraph("No trial has completed yet.")]
    best = done.head(TOP_TRIALS)
    columns = ["trial_id", "final", "best", "epochs", *study.searched]
    return [Heading("Best trials"),
            Paragraph(f"Completed trials by final {study.metric}:"),
            Table(best[[c for c in columns if c in best]])]


def _sampled_text(study: StudyTables, ablation: AblationTables | None) -> str:
    measured = (study.metric if not study.multi_objective
                else f"of each objective ({', '.join(study.objectives)})")
    text = (f"Mean {measured} of finished trials (completed and stopped early alike) per "
            f"level of each searched knob, all compared at epoch {common_rung(study)}, the "
            "last every finished trial reached; 95% t-interval (blank for n < 2); continuous "
            "knobs in tertiles. This is observational, not an experiment: TPE samples good "
            "regions more often, so a level's mean mixes its own effect with what the "
            "sampler paired it with; only an ablation isolates a knob.")
    if ablation is None:
        text += (f" This study has no ablation: run `cvae-study ablate {study.name}` to "
                 "measure each knob's effect over seeds.")
    return text


def sampled(study: StudyTables, ablation: AblationTables | None) -> list[Block]:
    blocks = [Heading("What the search sampled (observational)"),
              Paragraph(_sampled_text(study, ablation))]
    for view in study.each_objective():
        if study.multi_objective:
            blocks.append(Paragraph(f"{view.metric}:"))
        blocks.append(Table(sampled_levels_table(view)))
    return blocks


def importance(study: StudyTables) -> list[Block]:
    blocks = [Heading("Importance")]
    for view in study.each_objective():
        importances = param_importances(view)
        if study.multi_objective:
            blocks.append(Paragraph(f"For {view.metric}:"))
        blocks.append(Table(importances.reset_index(names="knob"))
                      if importances is not None else
                      Paragraph(f"Importances need at least {MIN_TRIALS} trials that ran "
                                "to the end; this study has fewer."))
    return blocks


def detail_figures(study: StudyTables, fronts: list[frozenset[str]]) -> list[Block]:
    """DETAIL_FIGURES; those of one objective once per objective of a study of several.
    BLEU-4 against Gaussian is left out where a trade-off section drew that front."""
    blocks = [Heading("Figures")]
    for name, spec in DETAIL_FIGURES.items():
        if name == "bleu_against_gaussian" and {n.VAL_BLEU4, n.VAL_GAUSSIAN} in fronts:
            continue
        if name not in OBJECTIVE_FIGURES or not study.multi_objective:
            blocks.append(figure_block(spec.of(study), name, spec.caption))
            continue
        for view in study.each_objective():
            blocks.append(figure_block(spec.of(view), f"{name}-{view.metric.replace('/', '-')}",
                                       f"{spec.caption} For {view.metric}."))
    return blocks
