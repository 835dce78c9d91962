"""A finish's MLflow records -> each finalist's fresh full-length seeds beside the number the
search gave it, and, of several finalists, which is best once finished.

`cvae-study finish NAME` trains the study's finalists at full length under seeds the search
never used, every finalist under the same seeds, so finalists compare paired by seed. Only
completed runs count.
"""

from dataclasses import dataclass
from typing import Any

import pandas as pd

from cvae_study.study import names as n
from cvae_study.study.statistics import (
    Effect,
    Interval,
    mean_interval,
    noise_floor,
    paired_effect,
)
from cvae_study.study.tracking.store import load_json_artifact, open_client, require_study_parent
from cvae_study.study.tracking.trials import MAX_TRIALS, latest_finish

FINALIST_COLUMNS = ["trial_id", "search", "search_epochs", "search_seed", "finished",
                    "ci95_low", "ci95_high", "n", "per_seed", "finished_minus_search"]


@dataclass
class FinishTables:
    study: str
    parent: Any  # the finish's parent mlflow Run
    plan: dict[str, Any]  # finish/plan.json
    values: dict[str, dict[int, float]]  # finalist -> seed -> its objective, completed runs

    @property
    def metric(self) -> str:
        return self.plan["metric"]

    @property
    def mode(self) -> str:
        return self.plan["mode"]

    @property
    def finalists(self) -> dict[str, dict[str, Any]]:
        return self.plan["finalists"]

    def interval(self, trial_id: str) -> Interval:
        by_seed = self.values.get(trial_id, {})
        return mean_interval([by_seed[seed] for seed in sorted(by_seed)])


def load_finish(uri: str, study_name: str) -> FinishTables | None:
    """The study's latest finish; None when it has none (or its plan is not written yet).
    StudyNotFound when there is no such study."""
    client = open_client(uri)
    parent = latest_finish(client, require_study_parent(client, study_name),
                           finished_only=False)
    if parent is None:
        return None
    plan = load_json_artifact(client, parent.info.run_id, n.FINISH_PLAN)
    if plan is None:
        return None
    runs = client.search_runs([parent.info.experiment_id],
                              n.children_filter(parent.info.run_id),
                              order_by=["attributes.start_time ASC"], max_results=MAX_TRIALS)
    values: dict[str, dict[int, float]] = {}
    for run in runs:  # a (finalist, seed) run again replaces its earlier run
        tags = run.data.tags
        if tags.get(n.OUTCOME) == n.COMPLETED and plan["metric"] in run.data.metrics:
            values.setdefault(tags[n.VARIANT], {})[int(tags[n.SEED])] = (
                run.data.metrics[plan["metric"]])
    return FinishTables(study_name, parent, plan, values)


def finalists_table(finish: FinishTables) -> pd.DataFrame:
    """One row per finalist, in the search's order: its search value (epochs, seed), its
    mean over the fresh seeds with a 95% interval, the per-seed values, and the difference."""
    rows = []
    for trial_id, searched in finish.finalists.items():
        interval = finish.interval(trial_id)
        by_seed = finish.values.get(trial_id, {})
        rows.append({"trial_id": trial_id, "search": searched["search_value"],
                     "search_epochs": searched["search_epochs"],
                     "search_seed": searched["search_seed"], "finished": interval.mean,
                     "ci95_low": interval.low, "ci95_high": interval.high, "n": interval.n,
                     "per_seed": ", ".join(f"{seed}: {by_seed[seed]:.4f}"
                                           for seed in sorted(by_seed)),
                     "finished_minus_search": interval.mean - searched["search_value"]})
    return pd.DataFrame(rows, columns=FINALIST_COLUMNS)


def best_finalist(finish: FinishTables) -> str | None:
    """The finalist with the best mean over its fresh seeds; None before any completed."""
    means = {trial_id: finish.interval(trial_id).mean for trial_id in finish.values}
    if not means:
        return None
    sign = 1 if finish.mode == "max" else -1
    return max(means, key=lambda trial_id: sign * means[trial_id])


def against_best(finish: FinishTables) -> dict[str, Effect]:
    """Every other finalist - the best one, paired by seed, judged against the best one's
    own seed noise (statistics.paired_effect)."""
    best = best_finalist(finish)
    if best is None:
        return {}
    reference = finish.values[best]
    floor = noise_floor(list(reference.values()))
    return {trial_id: paired_effect(finish.values.get(trial_id, {}), reference, floor)
            for trial_id in finish.finalists if trial_id != best}

