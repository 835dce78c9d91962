"""A study in MLflow: one experiment, one parent run, one nested run per trial. No Ray here.

Only the sweep's driver writes (through a Tune callback), so a sqlite store never sees two
writers. Records are found again by tags, never created twice: a resumed study reopens its
parent run and each trial's run, and skips epochs already logged.
"""

import math
import time
from typing import Any

from mlflow.entities import Metric, Param, RunTag

from cvae_study.study import names as n
from cvae_study.study.tracking.runs import log_samples, source_tags
from cvae_study.study.tracking.store import experiment_id, open_client

MAX_BATCH = 1000  # MLflow's limit of metrics in one log_batch


def _epoch_metrics(result: dict[str, Any]) -> dict[str, float]:
    """The task's metrics in a trial's result (train/..., val/...), and the epoch's time."""
    chosen = {key: float(value) for key, value in result.items()
              if key.startswith(("train/", "val/")) and isinstance(value, int | float)
              and not isinstance(value, bool) and math.isfinite(value)}
    if "time_this_iter_s" in result:
        chosen[n.EPOCH_SECONDS] = float(result["time_this_iter_s"])
    return chosen


def _points(metrics: dict[str, float], step: int = 0) -> list[Metric]:
    timestamp = int(time.time() * 1000)
    return [Metric(key, float(value), timestamp, step) for key, value in metrics.items()]


class StudyRecords:
    def __init__(self, uri: str, name: str):
        self.uri, self.name = uri, name
        self.client = open_client(uri)
        self.experiment_id = experiment_id(self.client, name)
        self.runs: dict[str, str] = {}  # Ray trial id -> MLflow run id
        self.logged_epoch: dict[str, int] = {}  # Ray trial id -> last epoch in MLflow

    def _find(self, filter_string: str) -> list:
        return list(self.client.search_runs([self.experiment_id], filter_string))

    # ---- the study's parent run -----------------------------------------------------------

    def parent_run_id(self) -> str | None:
        found = self._find(n.PARENT_FILTER)
        return found[0].info.run_id if found else None

    def open_parent(self, params: dict[str, Any], tags: dict[str, str],
                    documents: dict[str, dict]) -> str:
        """Create the study's run, or reopen it when the study is resumed -> run id."""
        run_id = self.parent_run_id()
        if run_id is not None:
            self.client.update_run(run_id, status="RUNNING")
            return run_id
        return self.create_parent(self.name, n.PARENT_ROLE, params, tags, documents)

    def create_parent(self, run_name: str, role: str, params: dict[str, Any],
                      tags: dict[str, str], documents: dict[str, dict]) -> str:
        """A new parent run of `role` (a study's, or an ablation's) -> run id."""
        run = self.client.create_run(self.experiment_id, run_name=run_name,
                                     tags={n.ROLE: role, **tags})
        run_id = run.info.run_id
        self.client.log_batch(run_id, params=[Param(k, str(v)) for k, v in params.items()])
        for path, document in documents.items():
            self.document(run_id, document, path)
        return run_id

    def document(self, run_id: str, document: dict, path: str) -> None:
        """A JSON artifact of a run (written again when it changes, e.g. a path's plan)."""
        self.client.log_dict(run_id, document, path)

    def discard_parent(self, run_id: str) -> None:
        """A parent run whose study never started: to MLflow's trash, so the name is free."""
        self.client.set_terminated(run_id, n.MLFLOW_STATUS[n.ERRORED])
        self.client.delete_run(run_id)

    def close_parent(self, run_id: str, summary: dict[str, Any], status: str,
                     metrics: dict[str, float] | None = None) -> None:
        tags = {f"{n.STUDY_PREFIX}{key}": str(value) for key, value in summary.items()}
        self.client.log_batch(run_id, metrics=_points(metrics or {}),
                              tags=[RunTag(k, v) for k, v in tags.items()])
        self.client.set_terminated(run_id, status)

    # ---- one run per trial ----------------------------------------------------------------

    def _last_logged_epoch(self, run_id: str) -> int:
        history = self.client.get_metric_history(run_id, n.TRAIN_LOSS)
        return max((point.step for point in history), default=0)

    def trial_started(self, parent_id: str, trial_id: str, trial_name: str,
                      flat_config: dict[str, Any], tags: dict[str, str],
                      role: str = n.TRIAL_ROLE) -> str:
        """The trial's run: found by its Ray trial id, else created with its config."""
        if trial_id in self.runs:
            return self.runs[trial_id]
        found = self._find(f"tags.`{n.TRIAL_ID}` = '{trial_id}' and "
                           f"{n.children_filter(parent_id)}")
        if found:
            run_id = found[0].info.run_id
            self.client.update_run(run_id, status="RUNNING")
            self.logged_epoch[trial_id] = self._last_logged_epoch(run_id)
        else:
            run = self.client.create_run(
                self.experiment_id, run_name=trial_name,
                tags={n.ROLE: role, n.TRIAL_ID: trial_id, n.PARENT_RUN: parent_id,
                      **source_tags(), **tags})
            run_id = run.info.run_id
            params = [Param(k, str(v)) for k, v in flat_config.items()]
            self.client.log_batch(run_id, params=params)
            self.logged_epoch[trial_id] = 0
        self.runs[trial_id] = run_id
        return run_id

    def trial_result(self, trial_id: str, epoch: int, result: dict[str, Any],
                     tags: dict[str, str], samples: dict | None) -> None:
        """One epoch of a trial; an epoch already logged (a resumed trial) is skipped."""
        if epoch <= self.logged_epoch.get(trial_id, 0):
            return
        run_id = self.runs[trial_id]
        points = _points(_epoch_metrics(result), epoch)
        for start in range(0, len(points), MAX_BATCH):
            self.client.log_batch(run_id, metrics=points[start:start + MAX_BATCH])
        self.client.log_batch(run_id, tags=[RunTag(k, str(v)) for k, v in tags.items()])
        if samples:
            log_samples(self.client, run_id, samples, epoch)
        self.logged_epoch[trial_id] = epoch

    def trial_tags(self, trial_id: str, tags: dict[str, str]) -> None:
        run_id = self.runs[trial_id]
        self.client.log_batch(run_id, tags=[RunTag(k, str(v)) for k, v in tags.items()])

    def trial_ended(self, trial_id: str, outcome: str, tags: dict[str, str],
                    metrics: dict[str, float] | None = None) -> None:
        self.client.log_batch(self.runs[trial_id], metrics=_points(metrics or {}))
        self.trial_tags(trial_id, {n.OUTCOME: outcome, **tags})
        self.client.set_terminated(self.runs[trial_id], n.MLFLOW_STATUS[outcome])

    def abandon_unknown(self, parent_id: str, known_trial_ids: set[str],
                        scope: dict[str, str] | None = None) -> list[str]:
        """Runs of trials the study no longer has (started after the last state snapshot of a
        driver that was killed): tagged abandoned and moved to MLflow's trash, not erased.
        scope: tags that mark the runs of this Tune run (a path's steps share a parent)."""
        abandoned = []
        for run in self._find(n.children_filter(parent_id)):
            if any(run.data.tags.get(key) != value for key, value in (scope or {}).items()):
                continue
            if run.data.tags.get(n.TRIAL_ID) not in known_trial_ids:
                self.client.set_tag(run.info.run_id, n.OUTCOME, n.ABANDONED)
                self.client.set_terminated(run.info.run_id, n.MLFLOW_STATUS[n.ABANDONED])
                self.client.delete_run(run.info.run_id)
                abandoned.append(run.info.run_id)
        return abandoned
