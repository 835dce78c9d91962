"""`cvae-study finish NAME`: a study's finalists trained at full length under fresh seeds.

A search runs short (ASHA stops most trials early; a demo's trials run a few epochs) and
scores each trial on one seed, so what it finds is a configuration, and its winner's number
is optimistic. A finish trains each finalist (study.finish_plan) to the task's full length
under R seeds the search did not use, as a grid of finalists x seeds (tune.seeded_grid)
through the study's own trainable. The runs are recorded in the study's MLflow experiment
under their own parent run (role `finish`, tagged with the study's parent run), its name
claimed once (tracking.claims); the finish is saved beside the study's Ray results (kind
finish), so `cvae-study resume NAME` continues it.
"""

import dataclasses
import sys
from dataclasses import dataclass, field

from mlflow import MlflowClient

from cvae_study.study import config
from cvae_study.study import finish_plan as fp
from cvae_study.study import names as n
from cvae_study.study.name_checks import check_name
from cvae_study.study.options import (
    FinishError,
    FinishOptions,
    SweepOptions,
    TrialResources,
    check_finish,
    check_resources,
)
from cvae_study.study.storage import ResultsStore
from cvae_study.study.tracking.claims import Name, claim, freed_on_failure, refuse_taken
from cvae_study.study.tracking.records import StudyRecords
from cvae_study.study.tracking.runs import provenance_tags
from cvae_study.study.tracking.store import open_client, require_study_parent
from cvae_study.study.tracking.trials import completed_trials, config_of_run, front_of
from cvae_study.study.tune import saved
from cvae_study.study.tune import sweep as sweeps
from cvae_study.study.tune.seeded_grid import Grid, run_grid


@dataclass
class Finish:
    options: FinishOptions
    study: saved.Sweep  # as the study saved itself
    runner: saved.Sweep  # the finish's own Tune side: its name, resources, storage
    plan: fp.FinishPlan
    study_parent_id: str
    parent_id: str = ""  # the finish's MLflow parent run, once claimed
    max_concurrent: int = 1  # runs at once, once Ray is up
    values: dict[str, dict[int, float]] = field(default_factory=dict)  # once run: by seed

    def save(self) -> None:
        record = {"kind": n.FINISH_KIND, "options": dataclasses.asdict(self.options),
                  "resources": self.runner.options.record(), "plan": self.plan.describe(),
                  "study_parent_id": self.study_parent_id, "parent_id": self.parent_id,
                  "tracking_uri": self.runner.uri}
        self.runner.storage.write_json(record, self.runner.options.name, n.SAVED_STUDY_FILE)


def _finalist(task: str, run, metric: str) -> fp.Finalist:
    flat = config_of_run(task, run)
    return fp.Finalist(run.data.tags[n.TRIAL_ID], flat, run.data.metrics[metric],
                       int(flat["train.epochs"]), int(flat["train.seed"]))


def _finalists(options: FinishOptions, study: saved.Sweep, client: MlflowClient, parent):
    """The study's completed trials -> (the finalists, every seed the search used)."""
    objective = study.options.objective
    completed = [_finalist(study.options.task, run, objective)
                 for run in completed_trials(client, parent, objective)]
    front = ()
    if study.options.multi_objective and options.trial is None:
        recorded = front_of(client, parent)
        if recorded is None:
            raise FinishError(f"study {options.study!r} has several objectives and no "
                              "recorded Pareto front yet: name a trial with --trial ID")
        front = [trial["trial_id"] for trial in recorded["trials"]]
    chosen = fp.choose(completed, study.options.mode, study=options.study,
                       trial=options.trial, top=options.top, front=front)
    return chosen, {finalist.search_seed for finalist in completed}


def _claimed(study: str, name: str) -> Name:
    return Name(study, n.FINISH_ROLE, name, "finish", "--as")


def prepare(options: FinishOptions, storage: ResultsStore, uri: str | None,
            resources: TrialResources | None = None) -> Finish:
    """Check everything and choose the finalists, before Ray starts. uri: the store to
    record to (None: the study's); resources: what each run holds."""
    check_finish(options)
    resources = resources or TrialResources()
    check_resources(resources)
    study = saved.load_study(options.study, storage, uri, "finish")
    name = check_name(options.name or f"{options.study}-finish", "--as")
    refuse_taken(storage, study.uri, _claimed(options.study, name))  # the claim is in run
    client = open_client(study.uri)
    parent = require_study_parent(client, options.study)
    chosen, used = _finalists(options, study, client, parent)
    task = study.options.task
    epochs = options.epochs or config.defaults_of(task, ["train.epochs"])["train.epochs"]
    plan = fp.FinishPlan(study.options.objective, study.options.mode, epochs,
                         fp.fresh_seeds(used, options.repeats),
                         {finalist.trial_id: finalist for finalist in chosen})
    for finalist in plan.finalists:
        try:
            config.build(task, plan.config(finalist))
        except config.ConfigError as error:
            raise FinishError(f"trial {finalist}'s config no longer builds: {error}") from None
    runner_options = SweepOptions(task=task, name=name, objectives=study.options.objectives,
                                  early_stopping=False, **dataclasses.asdict(resources))
    runner = saved.Sweep(runner_options, study.space, storage, study.uri)
    return Finish(options, study, runner, plan, parent.info.run_id)


def _claim(finish: Finish) -> StudyRecords:
    """The finish's parent run, claimed under the store's lock (tracking.claims)."""
    plan, runner = finish.plan, finish.runner
    records, finish.parent_id = claim(
        runner.uri, _claimed(finish.study.options.name, runner.options.name),
        {"finish.repeats": len(plan.seeds), "finish.epochs": plan.epochs,
         "finish.metric": plan.metric, "finish.trials": ",".join(plan.finalists),
         "finish.seeds": ",".join(map(str, plan.seeds))},
        {n.FINISH_OF: finish.study_parent_id, n.TASK: runner.options.task,
         n.COMMAND: " ".join(sys.argv), n.STORAGE: str(runner.storage), **provenance_tags()},
        {n.FINISH_PLAN: plan.describe()})
    return records


def run(finish: Finish, callbacks=(), address: str | None = None,
        restore: bool = False) -> Finish:
    """Run (or, restore=True, continue) every finalist x seed of the plan."""
    plan, runner = finish.plan, finish.runner
    with sweeps.connected(runner, address) as finish.max_concurrent:
        if not finish.parent_id:
            records = _claim(finish)
            with freed_on_failure(records, finish.parent_id):
                finish.save()
        grid = Grid(runner, finish.study.options.name, finish.parent_id, n.FINISH_RUN_ROLE,
                    plan.metric, plan.mode, tuple(plan.seeds), plan.epochs,
                    finish.max_concurrent)
        configs = {name: plan.config(name) for name in plan.finalists}
        finish.values = run_grid(grid, configs, runner.options.name, callbacks, restore)
        StudyRecords(runner.uri, finish.study.options.name).close_parent(
            finish.parent_id, {}, n.MLFLOW_STATUS[n.COMPLETED])
    return finish


def load(name: str, storage: ResultsStore, uri: str | None) -> Finish:
    """A saved finish, to continue."""
    record = storage.read_json(name, n.SAVED_STUDY_FILE)
    options = FinishOptions(**record["options"])
    study = saved.load(options.study, storage, uri or record["tracking_uri"])
    runner = saved.Sweep(SweepOptions.from_record(record["resources"]), study.space, storage,
                         study.uri)
    return Finish(options, study, runner, fp.FinishPlan.from_description(record["plan"]),
                  record["study_parent_id"], record["parent_id"])
