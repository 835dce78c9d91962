"""`cvae-study sweep` and `resume`: build, run and resume a Ray Tune study of a task.

A study is named; its Ray results live in <storage>/<name> (with cvae_study.json, what
`resume` needs to rebuild it), its MLflow records in the experiment <name>, its Optuna study
in a journal (tune.journal). Every check of the user's input happens in `prepare`, before
Ray starts.
"""

import dataclasses
import sys
import time
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import ray
from ray import tune

from cvae_study.study import names as n
from cvae_study.study import spaces
from cvae_study.study.config import Overrides
from cvae_study.study.errors import StudyNotFound, UsageError
from cvae_study.study.name_checks import check_name
from cvae_study.study.storage import ResultsStore
from cvae_study.study.tasks.registry import check_data
from cvae_study.study.tracking.records import StudyRecords
from cvae_study.study.tracking.runs import provenance_tags
from cvae_study.study.tracking.store import has_study, open_store, store_lock
from cvae_study.study.tune import cluster, journal, warm_start
from cvae_study.study.tune.callbacks import MlflowRecorder
from cvae_study.study.tune.live import LiveView, quiet_console
from cvae_study.study.tune.results import SweepResult, summarise
from cvae_study.study.tune.search import make_scheduler, make_searcher
from cvae_study.study.tune.trainable import trainable

CHECKPOINTS_KEPT = 2  # per trial; the latest is what a retry or a resume starts from


class SweepError(UsageError):
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
    metric: str = ""  # "" = the task's default objective; "a,b": several (a trade-off)
    seed: int = 0
    search: str = "tpe"  # tpe | random | nsga2
    early_stopping: bool = True
    max_failures: int = 2  # retries of a trial whose worker died
    warm_start: str = ""  # an earlier study of the task whose trials seed the sampler
    brackets: int = 1  # early stopping: 1 is ASHA, more is asynchronous Hyperband

    @property
    def objectives(self) -> tuple[str, ...]:
        return n.objectives_of(self.metric)

    @property
    def modes(self) -> tuple[str, ...]:
        return n.modes_of(self.task, self.objectives)

    @property
    def multi_objective(self) -> bool:
        return len(self.objectives) > 1

    @property
    def mode(self) -> str:
        """The mode of a single-objective study's metric (of the first, for several)."""
        return self.modes[0]

    @property
    def search_objective(self) -> tuple[str | list[str], str | list[str]]:
        """(metric, mode) as Ray's OptunaSearch takes them: lists for several objectives."""
        if self.multi_objective:
            return list(self.objectives), list(self.modes)
        return self.metric, self.mode


@dataclass(frozen=True)
class Sweep:
    """Everything a run or a resume of a study needs, checked."""

    options: SweepOptions
    space: spaces.SearchSpace
    storage: ResultsStore
    uri: str
    prior: tuple[warm_start.PriorTrial, ...] = ()  # --warm-start's trials, read and checked
    journal: str = ""  # its Optuna study's journal file; "": in memory (and before journals)

    @property
    def path(self) -> str:
        """The study's folder on its storage's filesystem."""
        return self.storage.path(self.options.name)

    @property
    def epochs(self) -> int:
        return self.space.base.train.epochs


def default_name(task: str) -> str:
    return f"{task}-{time.strftime('%Y%m%d-%H%M%S')}"


def stored_studies(storage: ResultsStore) -> list[str]:
    """Names of the studies whose Ray results are in `storage`."""
    return storage.folders_with(n.STUDY_FILE)


def check_options(options: SweepOptions) -> SweepOptions:
    """-> the options with the metric resolved; SweepError naming the bad one."""
    check_name(options.name, "--name")
    if options.num_samples < 1:
        raise SweepError(f"--num-samples {options.num_samples}: must be at least 1")
    if options.max_concurrent is not None and options.max_concurrent < 1:
        raise SweepError(f"--max-concurrent {options.max_concurrent}: must be at least 1")
    if options.brackets < 1:
        raise SweepError(f"--brackets {options.brackets}: must be at least 1")
    if options.cpus_per_trial <= 0:
        raise SweepError(f"--cpus-per-trial {options.cpus_per_trial}: must be above 0")
    if options.gpus_per_trial < 0 or (options.gpus_per_trial > 1
                                      and options.gpus_per_trial != int(options.gpus_per_trial)):
        raise SweepError(f"--gpus-per-trial {options.gpus_per_trial}: a fraction up to 1, or "
                         "a whole number of GPUs")
    objectives = n.objectives_of(options.metric or n.DEFAULT_OBJECTIVE[options.task])
    for objective in objectives:
        if objective not in n.OBJECTIVES[options.task]:
            raise SweepError(f"--metric {options.metric!r}: {objective!r} is not an objective "
                             f"of the {options.task} task; choose from "
                             f"{', '.join(n.OBJECTIVES[options.task])}")
        if objectives.count(objective) > 1:
            raise SweepError(f"--metric {options.metric!r}: {objective} is named twice")
    if len(objectives) > 1:
        if options.brackets > 1:
            raise SweepError(f"--brackets {options.brackets}: a study of several objectives "
                             "stops trials early with one bracket (multi-objective ASHA)")
        if options.warm_start:
            raise SweepError(f"--warm-start {options.warm_start}: a study of several "
                             "objectives starts without an earlier study's trials")
    if options.search not in n.SEARCHES:
        raise SweepError(f"--search {options.search!r}: choose one of "
                         f"{', '.join(n.SEARCHES)}")
    return dataclasses.replace(options, metric=n.OBJECTIVE_SEPARATOR.join(objectives))


def prepare(options: SweepOptions, study_file: str | None, overrides: Overrides,
            storage: ResultsStore, uri: str, workdir: Path | None = None) -> Sweep:
    """Validate everything a new study needs, before Ray starts. workdir: where the Optuna
    journal of a study on remote storage goes (tune.journal)."""
    options = check_options(options)
    space = spaces.build_space(options.task, study_file, overrides)
    if storage.exists(options.name):
        raise SweepError(f"study {options.name!r} already exists in {storage}; continue it "
                         f"with `cvae-study resume {options.name}` or choose another --name")
    journal_file = journal.journal_path(storage, options.name, workdir)
    if journal_file and Path(journal_file).exists():  # Optuna would load its trials as ours
        raise SweepError(f"study {options.name!r}: an Optuna journal of that name is already "
                         f"at {journal_file}; choose another --name")
    prior = ()
    if options.warm_start:
        open_store(uri)
        prior = tuple(warm_start.from_mlflow(uri, options.warm_start, options.task,
                                             options.metric, space))
    check_data(options.task, space.base)
    return Sweep(options, space, storage, uri, prior, journal_file)


def save(sweep: Sweep) -> None:
    record = {"options": dataclasses.asdict(sweep.options), "fixed": sweep.space.fixed,
              "space": spaces.describe(sweep.space)["searched"], "tracking_uri": sweep.uri,
              "optuna_journal": sweep.journal}
    sweep.storage.write_json(record, sweep.options.name, n.STUDY_FILE)


def load(name: str, storage: ResultsStore, uri: str | None) -> Sweep:
    """A saved study, to resume; an unknown name lists the studies there are."""
    check_name(name, "study name")
    if not storage.exists(name, n.STUDY_FILE):
        raise StudyNotFound(name, str(storage), stored_studies(storage))
    record = storage.read_json(name, n.STUDY_FILE)
    options = SweepOptions(**record["options"])
    space = spaces.saved_space(options.task, spaces.from_description(record["space"]),
                               record["fixed"])
    return Sweep(options, space, storage, uri or record["tracking_uri"],
                 journal=record.get("optuna_journal", ""))  # none before journals


def trial_dirname(trial) -> str:
    """Short trial folders (Tune's default spells out the whole config)."""
    return f"trial_{trial.trial_id}"


def connect(sweep: Sweep, address: str | None) -> tuple[bool, int]:
    """Start or join Ray and check the study fits it -> (started here, trials at once)."""
    options = sweep.options
    quiet_console()
    started = cluster.connect(address)
    try:
        cluster.check_storage(sweep.storage, options.shared_storage)
        fits = cluster.trials_at_once(options.cpus_per_trial, options.gpus_per_trial)
    except cluster.ClusterError:
        if started:
            ray.shutdown()
        raise
    return started, options.max_concurrent or fits


def _trainable(sweep: Sweep):
    options = sweep.options
    return trainable(options.task, options.metric, options.cpus_per_trial,
                     options.gpus_per_trial)


def run_config(sweep: Sweep, tune_name: str, recorder: MlflowRecorder, view: LiveView,
               callbacks) -> tune.RunConfig:
    """Where Tune keeps the run, how it retries and checkpoints, who records it, and the
    console's view of it."""
    options = sweep.options
    return tune.RunConfig(
        name=tune_name, storage_path=sweep.storage.root,
        storage_filesystem=sweep.storage.ray_filesystem,
        failure_config=tune.FailureConfig(max_failures=options.max_failures),
        checkpoint_config=tune.CheckpointConfig(num_to_keep=CHECKPOINTS_KEPT),
        callbacks=[recorder, view, *callbacks], verbose=0)


def _open_parent(sweep: Sweep, records: StudyRecords) -> str:
    """The study's parent run: its options and shared config as params, its space."""
    options, space = sweep.options, sweep.space
    shared = {key: value for key, value in space.base_flat.items()
              if key not in space.searched}  # what every trial of the study shares
    return records.open_parent(
        {f"{n.STUDY_PREFIX}{k}": v for k, v in dataclasses.asdict(options).items()} | shared,
        {n.TASK: options.task, n.COMMAND: " ".join(sys.argv), n.STORAGE: str(sweep.storage),
         **provenance_tags()},
        {n.SPACE_ARTIFACT: spaces.describe(space)})


def _refuse_existing(sweep: Sweep) -> None:
    if has_study(sweep.uri, sweep.options.name):
        raise SweepError(f"MLflow experiment {sweep.options.name!r} already holds a study at "
                         f"{sweep.uri}; choose another --name")


def _claim(sweep: Sweep) -> tuple[StudyRecords, str]:
    """The study's experiment and parent run, created under the store's lock: of two
    drivers starting the same name at once, one gets it and the other is refused."""
    with store_lock(sweep.uri):
        _refuse_existing(sweep)
        records = StudyRecords(sweep.uri, sweep.options.name)
        return records, _open_parent(sweep, records)


def run(sweep: Sweep, callbacks=(), address: str | None = None,
        quiet: bool = False) -> SweepResult:
    """A new study: claim its MLflow parent run, save it, run every trial. Until the trials
    start, a failure leaves nothing in MLflow that would block the name."""
    options = sweep.options
    open_store(sweep.uri)  # unreachable or damaged: fails here, nothing created
    _refuse_existing(sweep)
    started_ray, max_concurrent = connect(sweep, address)
    try:
        records, parent_id = _claim(sweep)
        try:
            save(sweep)
        except BaseException:
            records.discard_parent(parent_id)
            raise
        told = journal.open_journal(sweep.journal) if sweep.journal else None  # None: memory
        metric, mode = options.search_objective
        searcher = make_searcher(spaces.SpaceSampler(sweep.space), metric, mode, options.seed,
                                 options.num_samples, search=options.search, storage=told,
                                 study_name=options.name)
        if sweep.prior:  # Tune's snapshots of the searcher keep them for a resume
            seeded = warm_start.add_to(searcher.optuna_study, sweep.space, list(sweep.prior))
            print(f"warm start: {seeded} trials of study {options.warm_start!r} seed the "
                  "sampler", flush=True)
        scheduler = (make_scheduler(metric, mode, sweep.epochs, options.brackets)
                     if options.early_stopping else None)
        tuner = tune.Tuner(
            _trainable(sweep),
            param_space=sweep.space.base_flat,
            tune_config=tune.TuneConfig(num_samples=options.num_samples, search_alg=searcher,
                                        scheduler=scheduler,
                                        max_concurrent_trials=max_concurrent,
                                        trial_dirname_creator=trial_dirname,
                                        # a fresh worker per trial spends seconds
                                        # importing (benchmarks/README.md#code-reuse-actors)
                                        reuse_actors=True),
            run_config=run_config(sweep, options.name,
                                  MlflowRecorder(sweep.uri, options.name, options.task),
                                  LiveView(options.name, options.objectives, options.modes,
                                           options.num_samples, sweep.epochs,
                                           partial(spaces.searched_values, sweep.space),
                                           quiet=quiet),
                                  callbacks))
        results = tuner.fit()
        return summarise(sweep, results, records, parent_id, searcher)
    finally:
        if started_ray:
            ray.shutdown()


def resume(sweep: Sweep, address: str | None = None) -> SweepResult:
    """Continue an interrupted study where its last state snapshot left it."""
    filesystem = sweep.storage.ray_filesystem
    if not tune.Tuner.can_restore(sweep.path, storage_filesystem=filesystem):
        raise SweepError(f"study {sweep.options.name!r} at {sweep.path} stopped before Ray "
                         "saved any state; nothing to resume (start it again under a new name)")
    if sweep.journal and not Path(sweep.journal).is_file():  # the restored search appends to it
        raise SweepError(f"study {sweep.options.name!r}: its Optuna journal {sweep.journal} is "
                         "gone; resume the study where it started, with that file in place")
    records = StudyRecords(sweep.uri, sweep.options.name)
    parent_id = records.open_parent({}, {}, {})
    started_ray, _ = connect(sweep, address)
    try:
        tuner = tune.Tuner.restore(sweep.path, trainable=_trainable(sweep),
                                   resume_unfinished=True, resume_errored=True,
                                   storage_filesystem=filesystem)
        return summarise(sweep, tuner.fit(), records, parent_id)
    finally:
        if started_ray:
            ray.shutdown()
