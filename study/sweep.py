"""`cvae-study sweep` and `resume`: build, run and resume a Ray Tune study of a task.

A study is named; its Ray results live in <storage>/<name> (with cvae_study.json, what
`resume` needs to rebuild it), its MLflow records in the experiment <name>. Every check of
the user's input happens in `prepare`, before Ray starts.
"""

import dataclasses
import re
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import ray
from ray import tune

from cvae_study.study import cluster, config, spaces
from cvae_study.study import metrics as m
from cvae_study.study.callbacks import MlflowRecorder, TrialLog
from cvae_study.study.metrics import DEFAULT_OBJECTIVE, OBJECTIVES
from cvae_study.study.search import make_scheduler, make_searcher
from cvae_study.study.storage import StudyStorage
from cvae_study.study.study_records import StudyRecords
from cvae_study.study.tasks.registry import check_data
from cvae_study.study.tracking import provenance_tags
from cvae_study.study.trainable import (
    COMPLETED,
    DIVERGED,
    STOPPED_EARLY,
    trainable,
    trial_outcome,
)

STUDY_FILE = "cvae_study.json"
SHOWN_SCORES = (m.VAL_SCORE, m.VAL_BLEU4, m.VAL_BLEU4_SEEN, m.VAL_GAUSSIAN, m.VAL_MORPH, m.VAL_KL)
NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")
CHECKPOINTS_KEPT = 2  # per trial; the latest is what a retry or a resume starts from


class SweepError(ValueError):
    """The sweep cannot start as asked; raised before Ray starts."""


@dataclass(frozen=True)
class SweepOptions:
    task: str
    name: str
    num_samples: int = 8
    max_concurrent: int | None = None  # None: as many trials as the CPUs hold
    cpus_per_trial: float = 1.0
    gpus_per_trial: float = 0.0  # fractions pack several trials on one GPU
    shared_storage: bool = False  # a local --storage path every node mounts (NFS)
    metric: str = ""  # "" = the task's default objective
    seed: int = 0
    search: str = "tpe"  # tpe | random
    early_stopping: bool = True
    max_failures: int = 2  # retries of a trial whose worker died

    @property
    def mode(self) -> str:
        return OBJECTIVES[self.task][self.metric][0]


@dataclass(frozen=True)
class Study:
    """Everything a run or a resume of the study needs."""

    options: SweepOptions
    space: spaces.StudySpace
    storage: StudyStorage
    uri: str
    home: Path

    @property
    def path(self) -> str:
        """The study's folder on its storage's filesystem."""
        return self.storage.path(self.options.name)

    @property
    def epochs(self) -> int:
        return config.build(self.options.task, self.space.fixed).train.epochs


def base_config(study: Study) -> dict[str, Any]:
    """The flat config every trial starts from; the search overrides the searched keys."""
    return config.flatten(config.build(study.options.task, study.space.fixed))


def default_name(task: str) -> str:
    return f"{task}-{time.strftime('%Y%m%d-%H%M%S')}"


def list_studies(storage: StudyStorage) -> list[str]:
    return storage.folders_with(STUDY_FILE)


def check_options(options: SweepOptions) -> SweepOptions:
    """-> the options with the metric resolved; SweepError naming the bad one."""
    if not NAME_PATTERN.fullmatch(options.name):
        raise SweepError(f"--name {options.name!r}: use letters, digits, '-', '_' and '.', "
                         "no path separators")
    if options.num_samples < 1:
        raise SweepError(f"--num-samples {options.num_samples}: must be at least 1")
    if options.max_concurrent is not None and options.max_concurrent < 1:
        raise SweepError(f"--max-concurrent {options.max_concurrent}: must be at least 1")
    if options.cpus_per_trial <= 0:
        raise SweepError(f"--cpus-per-trial {options.cpus_per_trial}: must be above 0")
    if options.gpus_per_trial < 0 or (options.gpus_per_trial > 1
                                      and options.gpus_per_trial != int(options.gpus_per_trial)):
        raise SweepError(f"--gpus-per-trial {options.gpus_per_trial}: a fraction up to 1, or "
                         "a whole number of GPUs")
    metric = options.metric or DEFAULT_OBJECTIVE[options.task]
    if metric not in OBJECTIVES[options.task]:
        raise SweepError(f"--metric {metric!r}: not an objective of the {options.task} task; "
                         f"choose one of {', '.join(OBJECTIVES[options.task])}")
    return dataclasses.replace(options, metric=metric)


def prepare(options: SweepOptions, study_file: str | None, assignments: list[str],
            storage: StudyStorage, uri: str, home: Path) -> Study:
    """Validate everything a new study needs, before Ray starts."""
    options = check_options(options)
    space = spaces.build_space(options.task, study_file, assignments)
    study = Study(options, space, storage, uri, home)
    check_data(options.task, config.build(options.task, space.fixed))
    if storage.exists(options.name):
        raise SweepError(f"study {options.name!r} already exists in {storage}; continue it "
                         f"with `cvae-study resume {options.name}` or choose another --name")
    return study


def save(study: Study) -> None:
    record = {"options": dataclasses.asdict(study.options), "fixed": study.space.fixed,
              "space": spaces.describe(study.space)["searched"], "tracking_uri": study.uri}
    study.storage.write_json(record, study.options.name, STUDY_FILE)


def load(name: str, storage: StudyStorage, uri: str | None, home: Path) -> Study:
    """A saved study, to resume; an unknown name lists the studies there are."""
    if not NAME_PATTERN.fullmatch(name):
        raise SweepError(f"study name {name!r}: no path separators")
    if not storage.exists(name, STUDY_FILE):
        known = ", ".join(list_studies(storage)) or "none"
        raise SweepError(f"no study {name!r} in {storage}; studies there: {known}")
    record = storage.read_json(name, STUDY_FILE)
    options = SweepOptions(**record["options"])
    space = spaces.StudySpace(options.task, spaces.from_description(record["space"]),
                              record["fixed"])
    return Study(options, space, storage, uri or record["tracking_uri"], home)


def trial_dirname(trial) -> str:
    """Short trial folders (Tune's default spells out the whole config)."""
    return f"trial_{trial.trial_id}"


@dataclass
class SweepResult:
    study: Study
    trials: list[dict[str, Any]]  # one per trial: id, outcome, epochs, value, searched config
    best: dict[str, Any] | None
    experiment_id: str
    parent_run_id: str
    searcher: Any = None  # the StudySearch of a new study (its Optuna study), for inspection

    def summary(self) -> dict[str, Any]:
        outcomes: dict[str, int] = {}
        for trial in self.trials:
            outcomes[trial["outcome"]] = outcomes.get(trial["outcome"], 0) + 1
        return {"study": self.study.options.name, "metric": self.study.options.metric,
                "trials": len(self.trials), "outcomes": outcomes, "best": self.best,
                "ray_results": self.study.storage.display(self.study.options.name),
                "mlflow": {"tracking_uri": self.study.uri, "experiment_id": self.experiment_id,
                           "parent_run_id": self.parent_run_id}}


def _connect(study: Study, address: str | None) -> tuple[bool, int]:
    """Start or join Ray and check the study fits it -> (started here, trials at once)."""
    options = study.options
    started = cluster.connect(address)
    try:
        cluster.check_storage(study.storage, options.shared_storage)
        fits = cluster.trials_at_once(options.cpus_per_trial, options.gpus_per_trial)
    except cluster.ClusterError:
        if started:
            ray.shutdown()
        raise
    return started, options.max_concurrent or fits


def _trainable(study: Study):
    options = study.options
    return trainable(options.task, options.metric, options.cpus_per_trial,
                     options.gpus_per_trial)


def _run_config(study: Study, callbacks) -> tune.RunConfig:
    options = study.options
    recorder = MlflowRecorder(study.uri, study.home, options.name, options.task)
    return tune.RunConfig(
        name=options.name, storage_path=study.storage.root,
        storage_filesystem=study.storage.ray_filesystem,
        failure_config=tune.FailureConfig(max_failures=options.max_failures),
        checkpoint_config=tune.CheckpointConfig(num_to_keep=CHECKPOINTS_KEPT),
        callbacks=[recorder, TrialLog(options.metric), *callbacks], verbose=0)


def _summarise(study: Study, results, records: StudyRecords, parent_id: str,
               searcher=None) -> SweepResult:
    options = study.options
    trials = []
    for result in results:
        last = result.metrics or {}
        outcome = trial_outcome(last, result.error is not None)
        trials.append({
            "trial_id": last.get("trial_id", Path(result.path).name),
            "outcome": outcome,
            "epochs": last.get("training_iteration", 0),
            options.metric: last.get(options.metric),
            "scores": {key: round(value, 4) for key, value in last.items()
                       if key in SHOWN_SCORES and outcome != DIVERGED},
            "config": spaces.searched_values(study.space, result.config or {}),
        })
    finished = [t for t in trials if t["outcome"] == COMPLETED] or [
        t for t in trials if t["outcome"] == STOPPED_EARLY]
    sign = 1 if options.mode == "max" else -1
    best = max(finished, key=lambda t: sign * t[options.metric], default=None)
    outcome_tags = {"best_trial_id": best["trial_id"] if best else "none",
                    f"best_{options.metric}": best[options.metric] if best else "none",
                    "trials": len(trials)}
    records.close_parent(parent_id, outcome_tags, "FINISHED")
    return SweepResult(study, trials, best, records.experiment_id, parent_id, searcher)


def run(study: Study, callbacks=(), address: str | None = None) -> SweepResult:
    """A new study: save it, open its MLflow parent run, run every trial."""
    options = study.options
    records = StudyRecords(study.uri, study.home, options.name)  # unreachable: fails here
    if records.parent_run_id() is not None:
        raise SweepError(f"MLflow experiment {options.name!r} already holds a study at "
                         f"{study.uri}; choose another --name")
    started_ray, max_concurrent = _connect(study, address)
    try:
        save(study)
        shared = {key: value for key, value in base_config(study).items()
                  if key not in study.space.space}  # what every trial of the study shares
        parent_id = records.open_parent(
            {f"study.{k}": v for k, v in dataclasses.asdict(options).items()} | shared,
            {"task": options.task, "study.command": " ".join(sys.argv),
             "study.storage": str(study.storage), **provenance_tags()},
            {"study/space.json": spaces.describe(study.space)})
        searcher = make_searcher(spaces.SpaceSampler(study.space), options.metric,
                                 options.mode, options.seed, options.num_samples,
                                 random=options.search == "random")
        scheduler = (make_scheduler(options.metric, options.mode, study.epochs)
                     if options.early_stopping else None)
        tuner = tune.Tuner(
            _trainable(study),
            param_space=base_config(study),
            tune_config=tune.TuneConfig(num_samples=options.num_samples, search_alg=searcher,
                                        scheduler=scheduler,
                                        max_concurrent_trials=max_concurrent,
                                        trial_dirname_creator=trial_dirname,
                                        # a fresh worker per trial spends ~4 s importing
                                        reuse_actors=True),
            run_config=_run_config(study, callbacks))
        results = tuner.fit()
        return _summarise(study, results, records, parent_id, searcher)
    finally:
        if started_ray:
            ray.shutdown()


def resume(study: Study, address: str | None = None) -> SweepResult:
    """Continue an interrupted study where its last state snapshot left it."""
    filesystem = study.storage.ray_filesystem
    if not tune.Tuner.can_restore(study.path, storage_filesystem=filesystem):
        raise SweepError(f"study {study.options.name!r} at {study.path} stopped before Ray "
                         "saved any state; nothing to resume (start it again under a new name)")
    records = StudyRecords(study.uri, study.home, study.options.name)
    parent_id = records.open_parent({}, {}, {})
    started_ray, _ = _connect(study, address)
    try:
        tuner = tune.Tuner.restore(study.path, trainable=_trainable(study),
                                   resume_unfinished=True, resume_errored=True,
                                   storage_filesystem=filesystem)
        return _summarise(study, tuner.fit(), records, parent_id)
    finally:
        if started_ray:
            ray.shutdown()
