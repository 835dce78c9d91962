"""`cvae-study sweep` and `resume`: prepare, run and resume a Ray Tune study of a task.

A study is named; its Ray results live in <storage>/<name> (with the saved study,
tune.saved, what `resume` rebuilds it from), its MLflow records in the experiment <name>,
its Optuna study in a journal (study.journal). Every check of the user's input happens in
`prepare`, before Ray starts.
"""

import contextlib
import sys
from functools import partial
from pathlib import Path

import ray
from ray import tune

from cvae_study.study import journal, spaces, warm_start
from cvae_study.study import names as n
from cvae_study.study.config import Overrides
from cvae_study.study.options import SweepError, SweepOptions, check_sweep
from cvae_study.study.storage import ResultsStore
from cvae_study.study.tasks.registry import check_data
from cvae_study.study.tracking.claims import Name, claim, freed_on_failure, refuse_held
from cvae_study.study.tracking.records import StudyRecords
from cvae_study.study.tracking.runs import provenance_tags
from cvae_study.study.tracking.store import open_store
from cvae_study.study.tune import cluster
from cvae_study.study.tune.callbacks import MlflowRecorder
from cvae_study.study.tune.live import LiveView, quiet_console
from cvae_study.study.tune.results import SweepResult, summarise
from cvae_study.study.tune.saved import Sweep, save
from cvae_study.study.tune.search import StudySearch, make_scheduler, make_searcher
from cvae_study.study.tune.trainable import trainable

CHECKPOINTS_KEPT = 2  # per trial; the latest is what a retry or a resume starts from


def prepare(options: SweepOptions, storage: ResultsStore, uri: str, *,
            study_file: str | None = None, overrides: Overrides | None = None,
            workdir: Path | None = None) -> Sweep:
    """Validate everything a new study needs, before Ray starts. study_file: the user's
    YAML or TOML of space and config sections; workdir: where the Optuna journal of a study
    on remote storage goes (study.journal)."""
    options = check_sweep(options)
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
                                             options.objective, space))
    check_data(options.task, space.base)
    return Sweep(options, space, storage, uri, prior, journal_file)


def trial_dirname(trial) -> str:
    """Short trial folders (Tune's default spells out the whole config)."""
    return f"trial_{trial.trial_id}"


@contextlib.contextmanager
def connected(sweep: Sweep, address: str | None):
    """Ray, started here or joined at `address`, with the study checked to fit it -> the
    trials it runs at once; a Ray started here is shut down on leaving."""
    options = sweep.options
    quiet_console()
    started = cluster.connect(address)
    try:
        cluster.check_storage(sweep.storage, options.shared_storage)
        yield options.max_concurrent or cluster.trials_at_once(options.cpus_per_trial,
                                                               options.gpus_per_trial)
    finally:
        if started:
            ray.shutdown()


def _trainable(sweep: Sweep):
    options = sweep.options
    return trainable(options.task, n.metric_of(options.objectives), options.cpus_per_trial,
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


def _claimed(sweep: Sweep) -> Name:
    return Name(sweep.options.name, n.PARENT_ROLE, sweep.options.name, "study")


def _claim(sweep: Sweep) -> tuple[StudyRecords, str]:
    """The study's experiment and parent run (its options and shared config as params, its
    space), claimed under the store's lock: of two drivers starting the same name at once,
    one gets it and the other is refused (tracking.claims)."""
    options, space = sweep.options, sweep.space
    shared = {key: value for key, value in space.base_flat.items()
              if key not in space.searched}  # what every trial of the study shares
    return claim(
        sweep.uri, _claimed(sweep), options.params() | shared,
        {n.TASK: options.task, n.COMMAND: " ".join(sys.argv), n.STORAGE: str(sweep.storage),
         **provenance_tags()},
        {n.SPACE_ARTIFACT: spaces.describe(space)})


def _searcher(sweep: Sweep) -> StudySearch:
    """The study's Optuna search (its journal, or memory), seeded with --warm-start's trials
    (Tune's snapshots of the searcher keep them for a resume)."""
    options = sweep.options
    told = journal.open_journal(sweep.journal) if sweep.journal else None
    metric, mode = options.search_objective
    searcher = make_searcher(spaces.SpaceSampler(sweep.space), metric, mode, options.seed,
                             options.num_samples, search=options.search, storage=told,
                             study_name=options.name)
    if sweep.prior:
        seeded = warm_start.add_to(searcher.optuna_study, sweep.space, list(sweep.prior))
        print(f"warm start: {seeded} trials of study {options.warm_start!r} seed the "
              "sampler", flush=True)
    return searcher


def _tuner(sweep: Sweep, searcher: StudySearch, max_concurrent: int, callbacks,
           quiet: bool) -> tune.Tuner:
    options = sweep.options
    metric, mode = options.search_objective
    scheduler = (make_scheduler(metric, mode, sweep.epochs, options.brackets)
                 if options.early_stopping else None)
    view = LiveView(options.name, options.objectives, options.modes, options.num_samples,
                    sweep.epochs, partial(spaces.searched_values, sweep.space), quiet=quiet)
    return tune.Tuner(
        _trainable(sweep),
        param_space=sweep.space.base_flat,
        tune_config=tune.TuneConfig(num_samples=options.num_samples, search_alg=searcher,
                                    scheduler=scheduler, max_concurrent_trials=max_concurrent,
                                    trial_dirname_creator=trial_dirname,
                                    # a fresh worker per trial spends seconds importing
                                    # (benchmarks/README.md#code-reuse-actors)
                                    reuse_actors=True),
        run_config=run_config(sweep, options.name,
                              MlflowRecorder(sweep.uri, options.name, options.task), view,
                              callbacks))


def run(sweep: Sweep, callbacks=(), address: str | None = None,
        quiet: bool = False) -> SweepResult:
    """A new study: claim its MLflow parent run, save it, run every trial. Until the trials
    start, a failure leaves nothing in MLflow that would block the name. quiet: no live
    view, only errors and its final lines."""
    open_store(sweep.uri)  # unreachable or damaged: fails here, nothing created
    refuse_held(sweep.uri, _claimed(sweep))
    with connected(sweep, address) as max_concurrent:
        records, parent_id = _claim(sweep)
        with freed_on_failure(records, parent_id):
            save(sweep)
        searcher = _searcher(sweep)
        results = _tuner(sweep, searcher, max_concurrent, callbacks, quiet).fit()
        return summarise(sweep, results, records, parent_id, searcher)


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
    with connected(sweep, address):
        tuner = tune.Tuner.restore(sweep.path, trainable=_trainable(sweep),
                                   resume_unfinished=True, resume_errored=True,
                                   storage_filesystem=filesystem)
        return summarise(sweep, tuner.fit(), records, parent_id)
