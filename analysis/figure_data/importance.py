"""What the importance figure draws: each knob's importance per evaluator (fANOVA,
PED-ANOVA) for the objective, from Optuna's evaluators (analysis.importance)."""

from dataclasses import dataclass

import pandas as pd

from cvae_study.analysis.importance import param_importances
from cvae_study.analysis.runs import StudyTables


@dataclass(frozen=True)
class ImportanceInfo:
    metric: str
    table: pd.DataFrame  # knob (rows) x evaluator (columns)


def importance_info(study: StudyTables) -> ImportanceInfo | None:
    """None where importance cannot be estimated (too few trials, nothing searched)."""
    table = param_importances(study)
    return None if table is None else ImportanceInfo(study.metric, table)
