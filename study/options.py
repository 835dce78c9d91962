"""What the Ray commands take, as plain values with their checks: a study's options, an
ablation's, an export's, the resources of each trial, the cluster. Ray-free (nor MLflow nor
Optuna): the CLI builds and checks them before any of those is imported.

A study's options are saved with it (the saved study, names.SAVED_STUDY_FILE) and recorded
as its parent run's MLflow params study.*. `SweepOptions.from_record` reads both the saved
form and the older one, whose "metric" held one objective or a comma-joined list.
"""

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cvae_study.study import names as n
from cvae_study.study.errors import UsageError
from cvae_study.study.name_checks import check_name


class SweepError(UsageError):
    """The sweep cannot start as asked; raised before Ray starts."""


class AblationError(UsageError):
    """The ablation cannot be planned as asked; the message names the flag."""


class FinishError(UsageError):
    """A finish that cannot run as asked; the message names the flag or the study."""


@dataclass(frozen=True)
class TrialResources:
    """What each trial holds and how many run at once: a study's and an ablation's."""

    max_concurrent: int | None = None  # None: as many trials as the CPUs hold
    cpus_per_trial: float = 1.0
    gpus_per_trial: float = 0.0  # fractions pack several trials on one GPU
    shared_storage: bool = False  # a local --storage path every node mounts (NFS)
    max_failures: int = 2  # retries of a trial whose worker died


@dataclass(frozen=True)
class Cluster:
    """Where the Ray side runs: --address (None: $RAY_ADDRESS, else a local Ray) and
    --storage, its results (None: WORKDIR/ray_results)."""

    address: str | None = None
    storage: str | None = None


@dataclass(frozen=True)
class SweepOptions:
    task: str
    name: str
    num_samples: int = n.DEFAULT_TRIALS
    max_concurrent: int | None = None  # the fields of TrialResources, flat as saved
    cpus_per_trial: float = 1.0
    gpus_per_trial: float = 0.0
    shared_storage: bool = False
    objectives: tuple[str, ...] = ()  # (): the task's default objective; several: a trade-off
    seed: int = 0
    search: str = "tpe"  # tpe | random | nsga2
    early_stopping: bool = True
    max_failures: int = 2
    warm_start: str = ""  # an earlier study of the task whose trials seed the sampler
    brackets: int = 1  # early stopping: 1 is ASHA, more is asynchronous Hyperband

    @property
    def resources(self) -> TrialResources:
        return TrialResources(**{field.name: getattr(self, field.name)
                                 for field in dataclasses.fields(TrialResources)})

    @property
    def modes(self) -> tuple[str, ...]:
        return n.modes_of(self.task, self.objectives)

    @property
    def multi_objective(self) -> bool:
        return len(self.objectives) > 1

    @property
    def objective(self) -> str:
        """The objective of a study of one (the first, of several)."""
        return self.objectives[0]

    @property
    def mode(self) -> str:
        return self.modes[0]

    @property
    def search_objective(self) -> tuple[str | list[str], str | list[str]]:
        """(metric, mode) as Ray's OptunaSearch takes them: lists for several objectives."""
        if self.multi_objective:
            return list(self.objectives), list(self.modes)
        return self.objective, self.mode

    def record(self) -> dict[str, Any]:
        """As the saved study holds them."""
        return {**dataclasses.asdict(self), "objectives": list(self.objectives)}

    def params(self) -> dict[str, Any]:
        """The parent run's MLflow params: study.KEY, the objectives as study.metric (which
        the analysis reads)."""
        fields = dataclasses.asdict(self)
        fields["metric"] = n.metric_of(fields.pop("objectives"))
        return {f"{n.STUDY_PREFIX}{key}": value for key, value in fields.items()}

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> "SweepOptions":
        """Options as a saved study holds them, in either form."""
        fields = dict(record)
        if "metric" in fields:  # saved before objectives: "val/bleu4,val/gaussian"
            metric = fields.pop("metric")
            fields["objectives"] = n.objectives_of(metric) if metric else ()
        return cls(**{**fields, "objectives": tuple(fields.get("objectives", ()))})


@dataclass(frozen=True)
class AblationOptions:
    study: str
    name: str = ""  # "" = STUDY-ablation
    baseline: str = "default"  # default | a trial id
    target: str = "best"  # best | a trial id
    repeats: int = 3
    epochs: int | None = None  # None = the study's
    knobs: tuple[str, ...] = ()  # () = every knob that differs
    path: bool = False

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> "AblationOptions":
        return cls(**{**record, "knobs": tuple(record["knobs"])})


@dataclass(frozen=True)
class FinishOptions:
    """`finish STUDY`: its finalists trained at full length under fresh seeds."""

    study: str
    name: str = ""  # "" = STUDY-finish
    trial: str | None = None  # this completed trial instead of the best
    top: int | None = None  # the K best (None: the winner; of several objectives, the front)
    epochs: int | None = None  # None = the task's default length
    repeats: int = 3


@dataclass(frozen=True)
class ExportOptions:
    """`export NAME`: a trial of the study -> a bundle at `out`; pareto: list the study's
    recorded front instead, writing nothing."""

    name: str
    out: Path | None = None
    metric: str | None = None  # the best by this metric (default: the study's objective)
    trial: str | None = None  # this trial instead of the best
    force: bool = False  # replace an existing `out`
    register: str | None = None  # also register the bundle as this MLflow model
    pareto: bool = False


def check_resources(resources: TrialResources) -> None:
    if resources.max_concurrent is not None and resources.max_concurrent < 1:
        raise SweepError(f"--max-concurrent {resources.max_concurrent}: must be at least 1")
    if resources.cpus_per_trial <= 0:
        raise SweepError(f"--cpus-per-trial {resources.cpus_per_trial}: must be above 0")
    gpus = resources.gpus_per_trial
    if gpus < 0 or (gpus > 1 and gpus != int(gpus)):
        raise SweepError(f"--gpus-per-trial {gpus}: a fraction up to 1, or a whole number "
                         "of GPUs")


def _check_objectives(options: SweepOptions, objectives: tuple[str, ...]) -> None:
    asked = n.metric_of(objectives)
    for objective in objectives:
        if objective not in n.OBJECTIVES[options.task]:
            raise SweepError(f"--metric {asked!r}: {objective!r} is not an objective of the "
                             f"{options.task} task; choose from "
                             f"{', '.join(n.OBJECTIVES[options.task])}")
        if objectives.count(objective) > 1:
            raise SweepError(f"--metric {asked!r}: {objective} is named twice")
    if len(objectives) > 1 and options.brackets > 1:
        raise SweepError(f"--brackets {options.brackets}: a study of several objectives "
                         "stops trials early with one bracket (multi-objective ASHA)")
    if len(objectives) > 1 and options.warm_start:
        raise SweepError(f"--warm-start {options.warm_start}: a study of several "
                         "objectives starts without an earlier study's trials")


def check_sweep(options: SweepOptions) -> SweepOptions:
    """-> the options with their objectives resolved (the task's default when none); a
    SweepError names the bad flag."""
    check_name(options.name, "--name")
    if options.num_samples < 1:
        raise SweepError(f"--num-samples {options.num_samples}: must be at least 1")
    if options.brackets < 1:
        raise SweepError(f"--brackets {options.brackets}: must be at least 1")
    check_resources(options.resources)
    objectives = options.objectives or n.objectives_of(n.DEFAULT_OBJECTIVE[options.task])
    _check_objectives(options, objectives)
    if options.search not in n.SEARCHES:
        raise SweepError(f"--search {options.search!r}: choose one of "
                         f"{', '.join(n.SEARCHES)}")
    return dataclasses.replace(options, objectives=objectives)


def check_ablation(options: AblationOptions) -> None:
    if options.repeats < 1:
        raise AblationError(f"--repeats {options.repeats}: must be at least 1")
    if options.epochs is not None and options.epochs < 1:
        raise AblationError(f"--epochs {options.epochs}: must be at least 1")


def check_finish(options: FinishOptions) -> None:
    if options.repeats < 1:
        raise FinishError(f"--repeats {options.repeats}: must be at least 1")
    if options.top is not None and options.top < 1:
        raise FinishError(f"--top {options.top}: must be at least 1")
    if options.top is not None and options.trial is not None:
        raise FinishError("--trial and --top both choose the finalists: give one")
    if options.epochs is not None and options.epochs < 1:
        raise FinishError(f"--epochs {options.epochs}: must be at least 1")


def check_export(options: ExportOptions) -> None:
    if options.pareto and (options.out or options.trial or options.register):
        raise UsageError("--pareto lists the study's front and writes no bundle: drop --out, "
                         "--trial and --register, then export one with --trial ID --out DIR")
    if options.out is None and not options.pareto:
        raise UsageError("--out DIR is required: the bundle's folder (or --pareto, to list "
                         "the front of a study of several objectives)")
