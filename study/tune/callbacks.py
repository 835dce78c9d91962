"""Tune callbacks of a study, run by the driver: its MLflow records (the console view is
tune.live)."""

import json

from ray import tune

from cvae_study.study import names as n
from cvae_study.study.cost import trial_cost
from cvae_study.study.tracking.records import StudyRecords
from cvae_study.study.tune.trainable import trial_outcome


class VariantTrials:
    """An ablation's trials: a trial's config names its variant and seed; its run records
    the variant's full config and is tagged with both. (A class: Tune pickles callbacks.)"""

    def __init__(self, configs: dict[str, dict], grid: str):
        self.configs = configs
        self.scope = {n.GRID: grid}  # the runs of this grid, among the ablation's

    def __call__(self, trial_config: dict) -> tuple[dict, dict]:
        variant, seed = trial_config[n.VARIANT], trial_config["train.seed"]
        return ({**self.configs[variant], "train.seed": seed},
                {n.VARIANT: variant, n.SEED: str(seed), **self.scope})


class MlflowRecorder(tune.Callback):
    """Tune events -> MLflow runs nested under one parent run, written by the driver alone:
    a study's trials (the parent: the experiment's study run), or an ablation's runs."""

    def __init__(self, uri: str, experiment: str, task: str, parent_id: str | None = None,
                 role: str = n.TRIAL_ROLE, describe: VariantTrials | None = None):
        self.where = (uri, experiment)
        self.task = task
        self.records: StudyRecords | None = None  # opened in setup(), never pickled
        self.parent_id = parent_id  # None: the study's parent run, found in setup()
        self.role = role
        self.describe = describe

    def __getstate__(self):
        return {**self.__dict__, "records": None}

    def setup(self, **info) -> None:
        self.records = StudyRecords(*self.where)
        self.parent_id = self.parent_id or self.records.parent_run_id()

    def on_trial_start(self, iteration, trials, trial, **info) -> None:
        params, tags = self.describe(trial.config) if self.describe else (trial.config, {})
        self.records.trial_started(self.parent_id, trial.trial_id, str(trial), params,
                                   {n.TASK: self.task, **tags}, self.role)

    def on_trial_result(self, iteration, trials, trial, result, **info) -> None:
        if result.get(n.OUTCOME) == n.DIVERGED:
            self.records.trial_tags(trial.trial_id, {n.MESSAGE: result.get(n.MESSAGE, "")})
            return
        tags = {n.HOST_NAME: result.get("hostname", ""), n.HOST_ADDRESS: result.get("node_ip", ""),
                **{key: result.get(key, "") for key in n.TRIAL_INFO}}
        self.records.trial_result(trial.trial_id, result["training_iteration"], result, tags,
                                  json.loads(result.get(n.SAMPLES, "{}")))

    def on_trial_recover(self, iteration, trials, trial, **info) -> None:
        self.records.trial_tags(trial.trial_id, {n.FAILURES: trial.num_failures})

    def on_trial_complete(self, iteration, trials, trial, **info) -> None:
        tags = {n.TRIAL_PATH: trial.path}
        if trial.checkpoint is not None:
            tags[n.CHECKPOINT] = trial.checkpoint.path
        self.records.trial_ended(trial.trial_id, trial_outcome(trial.last_result, False), tags,
                                 trial_cost(trial))

    def on_trial_error(self, iteration, trials, trial, **info) -> None:
        self.records.trial_ended(trial.trial_id, trial_outcome(None, True),
                                 {n.ERROR_FILE: trial.error_file or ""}, trial_cost(trial))

    def on_experiment_end(self, trials, **info) -> None:
        self.records.abandon_unknown(self.parent_id, {trial.trial_id for trial in trials},
                                     self.describe.scope if self.describe else None)
