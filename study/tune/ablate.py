"""`cvae-study ablate NAME`: which of a study's knobs carried its gain, measured.

Every variant of the plan (study.ablation_plan) runs under the same seeds, as a Ray Tune
grid of variants x seeds (tune.seeded_grid) through the study's own trainable. The
runs are recorded in the study's MLflow experiment under their own parent run (role
`ablation`, tagged with the study's parent run), its name claimed once (tracking.claims).
The ablation is saved beside the study's Ray results (the saved study, kind ablation), so
`cvae-study resume NAME` continues it.
A path runs one grid per step: each step's candidates need the previous step's winner.
"""

import dataclasses
import statistics
import sys
from dataclasses import dataclass
from typing import Any

from mlflow import MlflowClient

from cvae_study.study import ablation_plan as ap
from cvae_study.study import config
from cvae_study.study import names as n
from cvae_study.study.name_checks import check_name
from cvae_study.study.options import (
    AblationError,
    AblationOptions,
    SweepOptions,
    TrialResources,
    check_ablation,
    check_resources,
)
from cvae_study.study.storage import ResultsStore
from cvae_study.study.tracking.claims import Name, claim, freed_on_failure, refuse_taken
from cvae_study.study.tracking.records import StudyRecords
from cvae_study.study.tracking.runs import provenance_tags
from cvae_study.study.tracking.store import open_client
from cvae_study.study.tracking.trials import TrialNotFound, config_of_run, pick_trial
from cvae_study.study.tune import saved
from cvae_study.study.tune import sweep as sweeps
from cvae_study.study.tune.seeded_grid import Grid, run_grid


@dataclass
class Ablation:
    options: AblationOptions
    study: saved.Sweep  # as the study saved itself
    runner: saved.Sweep  # the ablation's own Tune side: its name, resources, storage
    plan: ap.Plan
    target: dict[str, Any]  # full flat configs
    baseline: dict[str, Any]
    study_parent_id: str
    parent_id: str = ""  # the ablation's MLflow parent run, once claimed
    max_concurrent: int = 1  # trials at once, once Ray is up

    def save(self) -> None:
        record = {"kind": n.ABLATION_KIND, "options": dataclasses.asdict(self.options),
                  "resources": self.runner.options.record(),
                  "plan": self.plan.describe(), "target": self.target,
                  "baseline": self.baseline, "study_parent_id": self.study_parent_id,
                  "parent_id": self.parent_id, "tracking_uri": self.runner.uri}
        self.runner.storage.write_json(record, self.runner.options.name, n.SAVED_STUDY_FILE)


def _configs(study: saved.Sweep, client: MlflowClient, options: AblationOptions):
    """-> (study parent, target trial run, target and baseline flat configs)."""
    trial = None if options.target == "best" else options.target
    try:
        parent, run = pick_trial(client, study.options.name, None, trial)
    except TrialNotFound as error:
        raise AblationError(f"--target {options.target}: {error}") from None
    task = study.options.task
    target = config_of_run(task, run)
    if options.baseline == "default":
        return parent, run, target, study.space.base_flat
    try:
        _, baseline_run = pick_trial(client, study.options.name, None, options.baseline)
    except TrialNotFound as error:
        raise AblationError(f"--baseline {options.baseline}: {error}") from None
    return parent, run, target, config_of_run(task, baseline_run)


def _load_study(options: AblationOptions, storage: ResultsStore, uri: str | None) -> saved.Sweep:
    """The saved study to ablate, which must be a study of one objective."""
    study = saved.load_study(options.study, storage, uri, "ablate")
    if study.options.multi_objective:
        raise AblationError(f"study {options.study!r} has several objectives "
                            f"({n.metric_of(study.options.objectives)}): an ablation "
                            "measures one")
    return study


def _plan(options: AblationOptions, study: saved.Sweep, target_trial: str,
          target: dict[str, Any], baseline: dict[str, Any]) -> ap.Plan:
    """The variants between baseline and target, each checked as a config."""
    knobs = ap.differing_knobs(list(study.space.searched), baseline, target, options.knobs)
    if not knobs:
        raise AblationError("the target and the baseline do not differ in any searched knob"
                            + (" of --knobs" if options.knobs else ""))
    plan = ap.Plan(ap.PATH if options.path else ap.LEAVE_ONE_OUT, study.options.objective,
                   study.options.mode, list(range(options.repeats)),
                   options.epochs or study.epochs, options.baseline, target_trial, knobs)
    plan = (ap.path_start if options.path else ap.leave_one_out)(plan, baseline)
    for variant_name, variant in plan.variants.items():
        try:
            config.build(study.options.task, ap.variant_config(target, variant, 0, plan.epochs))
        except config.ConfigError as error:
            raise AblationError(f"variant {variant_name!r} is not a valid config: "
                                f"{error}") from None
    return plan


def prepare(options: AblationOptions, storage: ResultsStore, uri: str | None,
            resources: TrialResources | None = None) -> Ablation:
    """Check everything and plan the variants, before Ray starts. uri: the store to record
    to (None: the study's); resources: what each run of the grid holds."""
    check_ablation(options)
    resources = resources or TrialResources()
    check_resources(resources)
    study = _load_study(options, storage, uri)
    name = check_name(options.name or f"{options.study}-ablation", "--as")
    refuse_taken(storage, study.uri, _claimed(options.study, name))  # the claim is in run
    parent, run, target, baseline = _configs(study, open_client(study.uri), options)
    plan = _plan(options, study, run.data.tags[n.TRIAL_ID], target, baseline)
    runner_options = SweepOptions(task=study.options.task, name=name,
                                  objectives=study.options.objectives, early_stopping=False,
                                  **dataclasses.asdict(resources))
    runner = saved.Sweep(runner_options, study.space, storage, study.uri)
    return Ablation(options, study, runner, plan, target, baseline, parent.info.run_id)


def _grid(ablation: Ablation, variants: dict[str, ap.Variant], step: int, callbacks,
          restore: bool) -> dict[str, dict[int, float]]:
    """One Tune grid of variants x seeds -> the objective of each variant by seed."""
    runner, plan = ablation.runner, ablation.plan
    configs = {name: ap.variant_config(ablation.target, variant, 0, plan.epochs)
               for name, variant in variants.items()}
    tune_name = f"{runner.options.name}/step{step}" if plan.design == ap.PATH else (
        runner.options.name)
    grid = Grid(runner, ablation.study.options.name, ablation.parent_id, n.ABLATION_RUN_ROLE,
                plan.metric, plan.mode, tuple(plan.seeds), plan.epochs,
                ablation.max_concurrent)
    return run_grid(grid, configs, tune_name, callbacks, restore)


def _means(values: dict[str, dict[int, float]]) -> dict[str, float]:
    return {name: statistics.fmean(by_seed.values()) for name, by_seed in values.items()
            if by_seed}


def _run_path(ablation: Ablation, callbacks, restore: bool) -> None:
    """The ends first, then one grid per step; the record is saved after each."""
    plan = ablation.plan
    values = _grid(ablation, plan.variants, 0, callbacks, restore)
    while candidates := ap.path_candidates(plan, ablation.baseline):
        step = len(plan.path) + 1
        # The last step's only candidate is the target itself: its runs are there already.
        to_run = {name: v for name, v in candidates.items() if v.changes}
        if to_run:
            values.update(_grid(ablation, to_run, step, callbacks, restore))
        means = _means(values)
        means.update({name: means.get("target", float("nan"))
                      for name, v in candidates.items() if not v.changes})
        chosen = ap.best_candidate({name: means[name] for name in candidates}, plan.mode)
        plan.variants.update(to_run)
        plan.path.append({"step": step, "knob": candidates[chosen].knob,
                          "variant": chosen if candidates[chosen].changes else "target",
                          "candidates": list(candidates)})
        ablation.save()
        StudyRecords(ablation.runner.uri, ablation.study.options.name).document(
            ablation.parent_id, plan.describe(), n.ABLATION_PLAN)


def _claimed(study: str, name: str) -> Name:
    return Name(study, n.ABLATION_ROLE, name, "ablation", "--as")


def _claim(ablation: Ablation) -> StudyRecords:
    """The ablation's parent run, claimed under the store's lock (tracking.claims) before
    anything of it is written: of two drivers of one name, the second is refused."""
    options, plan, runner = ablation.options, ablation.plan, ablation.runner
    records, ablation.parent_id = claim(
        runner.uri, _claimed(ablation.study.options.name, runner.options.name),
        {"ablation.design": plan.design, "ablation.repeats": options.repeats,
         "ablation.epochs": plan.epochs, "ablation.baseline": options.baseline,
         "ablation.target": plan.target_trial, "ablation.metric": plan.metric,
         "ablation.knobs": ",".join(plan.knobs)},
        {n.ABLATION_OF: ablation.study_parent_id, n.TASK: runner.options.task,
         n.COMMAND: " ".join(sys.argv), n.STORAGE: str(runner.storage), **provenance_tags()},
        {n.ABLATION_PLAN: plan.describe()})
    return records


def run(ablation: Ablation, callbacks=(), address: str | None = None,
        restore: bool = False) -> Ablation:
    """Run (or, restore=True, continue) every variant x seed of the plan."""
    with sweeps.connected(ablation.runner, address) as ablation.max_concurrent:
        if not ablation.parent_id:
            records = _claim(ablation)
            with freed_on_failure(records, ablation.parent_id):
                ablation.save()
        if ablation.plan.design == ap.PATH:
            _run_path(ablation, callbacks, restore)
        else:
            _grid(ablation, ablation.plan.variants, 0, callbacks, restore)
        StudyRecords(ablation.runner.uri, ablation.study.options.name).close_parent(
            ablation.parent_id, {}, n.MLFLOW_STATUS[n.COMPLETED])
        return ablation


def load(name: str, storage: ResultsStore, uri: str | None) -> Ablation:
    """A saved ablation, to continue."""
    record = storage.read_json(name, n.SAVED_STUDY_FILE)
    options = AblationOptions.from_record(record["options"])
    study = saved.load(options.study, storage, uri or record["tracking_uri"])
    kept = record["plan"]
    plan = ap.Plan(kept["design"], kept["metric"], kept["mode"], kept["seeds"],
                   kept["epochs"], kept["baseline_trial"], kept["target_trial"],
                   kept["knobs"], {name: ap.Variant(**v) for name, v in kept["variants"].items()},
                   kept["path"])
    runner = saved.Sweep(SweepOptions.from_record(record["resources"]), study.space, storage,
                         study.uri)
    return Ablation(options, study, runner, plan, record["target"], record["baseline"],
                    record["study_parent_id"], record["parent_id"])
