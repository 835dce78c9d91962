"""What a finished study run hands back: every trial's outcome and scores, the best one,
and the study's parent run closed with them."""

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cvae_study.study import names as n
from cvae_study.study import spaces
from cvae_study.study.cost import FinishedTrial, StudyCost, held, study_cost
from cvae_study.study.pareto import pareto_ranking
from cvae_study.study.tracking.records import StudyRecords
from cvae_study.study.tune.trainable import trial_outcome

SHOWN_SCORES = (n.VAL_SCORE, n.VAL_BLEU4, n.VAL_BLEU4_SEEN, n.VAL_GAUSSIAN, n.VAL_MORPH,
                n.VAL_KL)


@dataclass
class SweepResult:
    sweep: Any  # the tune.saved.Sweep that ran
    trials: list[dict[str, Any]]  # one per trial: id, outcome, epochs, value, searched config
    best: dict[str, Any] | None  # of a single-objective study
    experiment_id: str
    parent_run_id: str
    cost: StudyCost | None = None
    pareto: list[dict[str, Any]] | None = None  # of a study of several objectives: its front
    searcher: Any = None  # the StudySearch of a new study (its Optuna study), for inspection

    def summary(self) -> dict[str, Any]:
        outcomes: dict[str, int] = {}
        for trial in self.trials:
            outcomes[trial["outcome"]] = outcomes.get(trial["outcome"], 0) + 1
        options = self.sweep.options
        return {"study": options.name, "metric": n.metric_of(options.objectives),
                "trials": len(self.trials), "outcomes": outcomes,
                **({"pareto": self.pareto} if self.pareto is not None else {"best": self.best}),
                "cost": self.cost.metrics() if self.cost else None,
                "ray_results": self.sweep.storage.display(options.name),
                "mlflow": {"tracking_uri": self.sweep.uri, "experiment_id": self.experiment_id,
                           "parent_run_id": self.parent_run_id}}


def summarise(sweep, results, records: StudyRecords, parent_id: str,
              searcher=None) -> SweepResult:
    """Tune's results of a study -> a SweepResult; the best trial tagged on the parent run."""
    options = sweep.options
    trials, finished_trials = [], []
    for result in results:
        last = result.metrics or {}
        outcome = trial_outcome(last, result.error is not None)
        finished_trials.append(FinishedTrial(
            outcome, last.get("training_iteration", 0),
            held(options.cpus_per_trial, options.gpus_per_trial, last.get("time_total_s", 0))))
        trials.append({
            "trial_id": last.get("trial_id", Path(result.path).name),
            "outcome": outcome,
            "epochs": last.get("training_iteration", 0),
            **{objective: last.get(objective) for objective in options.objectives},
            "scores": {key: round(value, 4) for key, value in last.items()
                       if key in SHOWN_SCORES and outcome != n.DIVERGED},
            "config": spaces.searched_values(sweep.space, result.config or {}),
        })
    finished = [t for t in trials if t["outcome"] == n.COMPLETED] or [
        t for t in trials if t["outcome"] == n.STOPPED_EARLY]
    best, pareto, outcome_tags = None, None, {"trials": len(trials)}
    if options.multi_objective:
        pareto = front(finished, options.objectives, options.modes)
        outcome_tags[n.PARETO_TAG.removeprefix(n.STUDY_PREFIX)] = ",".join(
            t["trial_id"] for t in pareto)
        records.document(parent_id, {"objectives": list(options.objectives),
                                     "modes": list(options.modes),
                                     "trials": [{"trial_id": t["trial_id"],
                                                 "values": {o: t[o] for o in options.objectives}}
                                                for t in pareto]}, n.PARETO_ARTIFACT)
    else:
        sign = 1 if options.mode == "max" else -1
        best = max(finished, key=lambda t: sign * t[options.objective], default=None)
        outcome_tags |= {"best_trial_id": best["trial_id"] if best else "none",
                         f"best_{options.objective}": best[options.objective] if best else "none"}
    cost = study_cost(finished_trials, sweep.epochs)
    records.close_parent(parent_id, outcome_tags, n.MLFLOW_STATUS[n.COMPLETED], cost.metrics())
    return SweepResult(sweep, trials, best, records.experiment_id, parent_id, cost=cost,
                       pareto=pareto, searcher=searcher)


def front(trials: list[dict[str, Any]], objectives: tuple[str, ...],
          modes: tuple[str, ...]) -> list[dict[str, Any]]:
    """The trials no other trial beats on every objective (their final values)."""
    if not trials:
        return []
    points = [[math.nan if t[objective] is None else t[objective] for objective in objectives]
              for t in trials]
    return [trials[i] for i in pareto_ranking(points, modes).pareto_set]
