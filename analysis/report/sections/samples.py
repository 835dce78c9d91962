"""The Samples of the best trial section: the conversions and generated words its run
logged at its last epoch (fetched with the report's inputs)."""

import pandas as pd

from cvae_study.analysis.report.document import Block, Heading, Paragraph, Table
from cvae_study.analysis.report.inputs import BestSamples
from cvae_study.analysis.runs import StudyTables

SHOWN_CONVERSIONS, SHOWN_GENERATED = 12, 10


def _by_objective(study: StudyTables, text: str) -> str:
    """The heading of a section of one objective: which, for a study of several."""
    return f"{text} by {study.metric}" if study.multi_objective else text


def _generated(samples: dict) -> pd.DataFrame:
    return pd.DataFrame([{"words": " / ".join(g["words"]),
                          "in training table": g["in_training_table"]}
                         for g in samples["generated"][:SHOWN_GENERATED]])


def samples_section(view: StudyTables, best: BestSamples | None) -> list[Block]:
    """`view`: the study as one of its objectives; best: its best trial's samples, None
    when no trial has completed."""
    if best is None:
        return []
    heading = Heading(_by_objective(view, "Samples of the best trial"))
    if best.samples is None:
        return [heading, Paragraph(f"No {best.artifact} logged.")]
    blocks = [heading, Paragraph(f"Trial {best.trial_id}, epoch {best.epochs}.")]
    if best.samples.get("conversions"):
        blocks.append(Table(pd.DataFrame(best.samples["conversions"][:SHOWN_CONVERSIONS])))
    if best.samples.get("generated"):
        blocks += [Paragraph("Generated from N(0, I), all four tenses from one z:"),
                   Table(_generated(best.samples))]
    return blocks
