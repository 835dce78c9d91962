"""A study's MLflow records -> tidy pandas tables. Reads only: works on a running study.

`trials`: one row per trial (its searched and fixed params, typed; outcome; final and best
values of the first objective; each objective's final value in a column named after it;
duration; epochs; its run's start and end time, UTC; the worker and host that ran it, None in
records older than the tags). `history`: one row per trial x epoch x metric.
Errored, diverged and still-running trials are rows like any other, with their outcome.
"""

import dataclasses
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from mlflow import MlflowClient

from cvae_study.study import names as n
from cvae_study.study.tracking.store import (
    load_json_artifact,
    open_client,
    require_study_parent,
)
from cvae_study.study.tracking.trials import config_of_run

FETCH_THREADS = 8  # metric histories are one request each; fetch them side by side


@dataclass
class StudyTables:
    """A study's records as tables.

    `objectives` and `modes`: one of each, or several for a study of a trade-off. `metric`
    and `mode` are the first objective's, and the trials' `final` and `best` columns its
    values, so that what ranks trials by one objective reads any study; `for_objective`
    gives the same study ranked by another of its objectives."""

    name: str
    task: str
    metric: str  # the first objective
    mode: str  # its direction: max | min
    parent: Any  # the parent mlflow Run
    space: dict[str, Any]  # study/space.json: searched, fixed, cyclical_only
    trials: pd.DataFrame
    history: pd.DataFrame  # columns trial_id, epoch, metric, value
    objectives: tuple[str, ...]
    modes: tuple[str, ...]

    @property
    def searched(self) -> list[str]:
        return list(self.space.get("searched", {}))

    @property
    def multi_objective(self) -> bool:
        return len(self.objectives) > 1

    @property
    def search(self) -> str:
        """The sampler that searched it: tpe | random | nsga2."""
        return self.parent.data.params.get(f"{n.STUDY_PREFIX}search", "?")

    def finished(self) -> pd.DataFrame:
        """Trials that ended with a score: completed or stopped early."""
        return self.trials[self.trials["outcome"].isin(n.FINISHED_OUTCOMES)]

    def completed_best_first(self) -> pd.DataFrame:
        """Completed trials, the best final value first: the report's best trials."""
        done = self.trials[self.trials["outcome"] == n.COMPLETED]
        return done.sort_values("final", ascending=self.mode == "min")

    def for_objective(self, objective: str) -> "StudyTables":
        """The study seen as one of `objective` (one of its objectives): metric, mode and
        the trials' final and best values that objective's."""
        mode = self.modes[self.objectives.index(objective)]
        best = best_values(self.history, objective, mode)
        trials = self.trials.assign(final=self.trials[objective],
                                    best=self.trials["trial_id"].map(best))
        return dataclasses.replace(self, metric=objective, mode=mode, trials=trials)

    def each_objective(self) -> list["StudyTables"]:
        """The study once per objective: itself alone when it has one."""
        if not self.multi_objective:
            return [self]
        return [self.for_objective(objective) for objective in self.objectives]


def final_values(history: pd.DataFrame, metrics) -> pd.DataFrame:
    """trial_id x metric: each trial's value of each metric at the last epoch it logged it
    (NaN where it logged none)."""
    rows = history[history["metric"].isin(metrics)].sort_values("epoch")
    last = rows.groupby(["trial_id", "metric"])["value"].last().unstack()
    return last.reindex(columns=list(metrics))


def best_values(history: pd.DataFrame, metric: str, mode: str) -> pd.Series:
    """Per trial_id: its best value of `metric` over its epochs."""
    values = history[history["metric"] == metric].groupby("trial_id")["value"]
    return values.max() if mode == "max" else values.min()


def in_start_order(trials: pd.DataFrame) -> pd.DataFrame:
    """Trials sorted by the start of their runs, numbered 1, 2, ... as column `number`."""
    ordered = trials.sort_values(["start_time", "trial_id"], ignore_index=True)
    return ordered.assign(number=np.arange(1, len(ordered) + 1))


def _histories(client: MlflowClient, runs, include) -> pd.DataFrame:
    jobs = [(run.data.tags[n.TRIAL_ID], run.info.run_id, key)
            for run in runs for key in run.data.metrics if include(key)]

    def fetch(job):
        trial_id, run_id, key = job
        return [(trial_id, point.step, key, point.value)
                for point in client.get_metric_history(run_id, key)]

    with ThreadPoolExecutor(FETCH_THREADS) as pool:
        rows = [row for rows in pool.map(fetch, jobs) for row in rows]
    return pd.DataFrame(rows, columns=["trial_id", "epoch", "metric", "value"])


def read_study(uri: str, name: str, kl_dims: bool = False) -> StudyTables:
    """Read a study's runs. kl_dims: also fetch the per-dimension KL histories (many)."""
    client = open_client(uri)
    parent = require_study_parent(client, name)
    params = parent.data.params
    task = params.get(f"{n.STUDY_PREFIX}task", "text")
    objectives = n.objectives_of(params[f"{n.STUDY_PREFIX}metric"])
    modes = n.modes_of(task, objectives)
    metric, mode = objectives[0], modes[0]
    space = load_json_artifact(client, parent.info.run_id, n.SPACE_ARTIFACT) or {}
    runs = list(client.search_runs([parent.info.experiment_id], n.TRIAL_FILTER,
                                   max_results=5000))
    history = _histories(client, runs, lambda key: kl_dims or not n.is_kl_dim(key))
    trials = pd.DataFrame([_trial_row(task, run, history, metric) for run in runs])
    if len(trials):
        trials["best"] = trials["trial_id"].map(best_values(history, metric, mode))
        trials = trials.join(final_values(history, objectives), on="trial_id")
    for column in ("start_time", "end_time"):  # NaT: still running
        if column in trials:  # as floats: a column of None alone would become seconds
            trials[column] = pd.to_datetime(trials[column].astype(float), unit="ms")
    for key in space.get("cyclical_only", []):  # not drawn by trials of other schedules
        if key in trials:
            trials[key] = trials[key].where(trials[n.KL_SCHEDULE] == "cyclical")
    return StudyTables(name, task, metric, mode, parent, space, trials, history, objectives,
                       modes)


def _trial_row(task, run, history: pd.DataFrame, metric: str) -> dict[str, Any]:
    trial_id = run.data.tags[n.TRIAL_ID]
    own = history[(history["trial_id"] == trial_id) & (history["metric"] == metric)]
    end = run.info.end_time or None
    return {
        "trial_id": trial_id,
        "run_id": run.info.run_id,
        "outcome": run.data.tags.get(n.OUTCOME, n.RUNNING),
        "epochs": int(own["epoch"].max()) if len(own) else 0,
        "final": run.data.metrics.get(metric) if len(own) else None,
        "duration_s": (end - run.info.start_time) / 1000 if end else None,
        "start_time": run.info.start_time,  # MLflow's milliseconds: made times in read_study
        "end_time": end,
        "worker_id": run.data.tags.get(n.WORKER) or None,  # "" from a trial outside an actor
        "host": run.data.tags.get(n.HOST_NAME) or None,
        **config_of_run(task, run),
    }
