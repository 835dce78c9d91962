"""Which knob mattered: Optuna's importance evaluators on a study rebuilt from MLflow.

The search's own Optuna study lives in the driver; rebuilding it from the records works
for any study, finished or not, and from any machine that can read the tracking store.
"""

import warnings

import optuna
import pandas as pd
from optuna.trial import TrialState

from cvae_study.analysis.runs import StudyTables
from cvae_study.study import names as n
from cvae_study.study import spaces

# Below this, a random forest over the knobs (fANOVA) fits noise; the report says so.
MIN_TRIALS = 5
EVALUATORS = {"fANOVA": lambda: optuna.importance.FanovaImportanceEvaluator(seed=0),
              "PED-ANOVA": lambda: optuna.importance.PedAnovaImportanceEvaluator()}


def distributions(study: StudyTables) -> dict:
    """The searched space as Optuna distributions, as the study's sampler drew from it."""
    searched = spaces.from_description(study.space.get("searched", {}))
    if not searched:
        return {}
    space = spaces.saved_space(study.task, searched, study.space.get("fixed", {}))
    return spaces.optuna_distributions(space)


def rebuild_optuna_study(study: StudyTables) -> optuna.Study:
    """Trials as the search told them: completed and diverged (at the worst score)
    COMPLETE, stopped early PRUNED with their per-epoch values, errored FAIL."""
    optuna.logging.set_verbosity(optuna.logging.WARNING)  # not "A new study created"
    rebuilt = optuna.create_study(direction="maximize" if study.mode == "max" else "minimize")
    spaces = distributions(study)
    worst = n.OBJECTIVES[study.task][study.metric][1]
    objective = study.history[study.history["metric"] == study.metric]
    for row in study.trials.to_dict("records"):
        if row["outcome"] not in n.OPTUNA_STATE:
            continue  # still running
        params = {key: row[key] for key in spaces if pd.notna(row.get(key))}
        own = objective[objective["trial_id"] == row["trial_id"]]
        state = TrialState[n.OPTUNA_STATE[row["outcome"]]]
        value = {n.COMPLETED: row["final"], n.DIVERGED: worst}.get(row["outcome"])
        rebuilt.add_trial(optuna.trial.create_trial(
            state=state, value=value, params=params,
            distributions={key: spaces[key] for key in params},
            intermediate_values=dict(zip(own["epoch"], own["value"], strict=True))))
    return rebuilt


def param_importances(study: StudyTables) -> pd.DataFrame | None:
    """-> importance per knob (rows) and evaluator (columns); None when it cannot be
    estimated (fewer than MIN_TRIALS finished trials, or nothing searched)."""
    rebuilt = rebuild_optuna_study(study)
    complete = rebuilt.get_trials(states=(TrialState.COMPLETE,))
    if len(complete) < MIN_TRIALS or not distributions(study):
        return None
    columns = {}
    for name, make in EVALUATORS.items():
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # Optuna's experimental-feature notices
                columns[name] = optuna.importance.get_param_importances(rebuilt,
                                                                        evaluator=make())
        except (ValueError, RuntimeError):  # e.g. every value equal, too few trials
            columns[name] = {}
    table = pd.DataFrame(columns)
    return None if table.empty else table.fillna(0.0).sort_values("fANOVA", ascending=False)
