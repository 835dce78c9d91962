"""The report's first and last sections: what the study is and how far it got (Summary),
and how to run it again (Reproduce)."""

import json
import time

import pandas as pd

from cvae_study.analysis.report.document import Block, Heading, Paragraph, Table
from cvae_study.analysis.runs import StudyTables
from cvae_study.study import names as n
from cvae_study.study.cost import StudyCost


def written_range(entry: dict) -> str:
    """A searched knob's values as a person writes them: `0.25 - 4, log`, `gru, lstm`."""
    if "choices" in entry:
        return ", ".join(map(str, entry["choices"]))
    return f"{entry['low']:g} - {entry['high']:g}" + (", log" if entry.get("log") else "")


def objectives_text(study: StudyTables) -> str:
    directions = ", ".join(f"{objective} ({mode}imised)"
                           for objective, mode in zip(study.objectives, study.modes, strict=True))
    if not study.multi_objective:
        return f"Objective: {directions}."
    return f"Objectives, traded off: {directions}; searched by {study.search}."


def _cost_sentence(study: StudyTables, counts: pd.Series) -> str:
    """What the study cost, as its parent run recorded when it ended; '' before."""
    metrics = study.parent.data.metrics
    if n.CPU_HOURS not in metrics:
        return ""
    cost = StudyCost.from_metrics(metrics, len(study.trials),
                                  int(counts.get(n.STOPPED_EARLY, 0)))
    sentence = cost.sentence()
    return f"\n{sentence[0].upper()}{sentence[1:]}."


def _overview(study: StudyTables) -> str:
    parent = study.parent
    counts = study.trials["outcome"].value_counts() if len(study.trials) else pd.Series()
    end = parent.info.end_time or int(time.time() * 1000)  # a running study: until now
    status = ", ".join(f"{count} {outcome}" for outcome, count in counts.items()) or "none yet"
    return (f"Task: {study.task}. {objectives_text(study)}\n"
            f"Trials: {len(study.trials)} of "
            f"{parent.data.params.get(f'{n.STUDY_PREFIX}num_samples', '?')}"
            f" ({status}).\nWall time: {(end - parent.info.start_time) / 60000:.1f} min"
            f" (study run {parent.info.status})." + _cost_sentence(study, counts))


def _search_space(study: StudyTables) -> pd.DataFrame:
    cyclical_only = study.space.get("cyclical_only", [])
    return pd.DataFrame(
        [{"knob": key, "values": written_range(entry)
          + (" (cyclical trials only)" if key in cyclical_only else "")}
         for key, entry in study.space.get("searched", {}).items()])


def summary(study: StudyTables) -> list[Block]:
    blocks = [Heading("Summary"), Paragraph(_overview(study))]
    searched = _search_space(study)
    if len(searched):
        blocks += [Paragraph("Search space:"), Table(searched)]
    return blocks


def reproduce(study: StudyTables) -> list[Block]:
    tags, params = study.parent.data.tags, study.parent.data.params
    versions = json.loads(tags.get(n.VERSIONS, "{}"))
    text = (f"Command: {tags.get(n.COMMAND, '?')}\n"
            f"Git commit: {tags.get(n.GIT_COMMIT, 'unknown')}\n"
            f"Search seed: {params.get(f'{n.STUDY_PREFIX}seed', '?')}; training seed: "
            f"{params.get('train.seed', 'searched')}\n"
            "Versions: " + ", ".join(f"{k} {v}" for k, v in versions.items()))
    return [Heading("Reproduce"), Paragraph(text)]
