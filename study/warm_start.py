"""`sweep --warm-start STUDY`: an earlier study's trials seed the new study's sampler.

Each earlier trial enters the new Optuna study as the search left it: COMPLETE with its
final value, PRUNED (ASHA stopped it) with its per-epoch values, diverged as COMPLETE at
the objective's worst; errored trials carry nothing. Their values are of the new study's
objective (every trial logs all of them). They only mean the same thing if everything the
new study does not search was the same for them, and if what it searches has room for
them: both are checked, and a mismatch is an error naming the key.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import optuna
from mlflow import MlflowClient
from optuna.distributions import BaseDistribution, CategoricalDistribution
from optuna.trial import TrialState

from cvae_study.study import names as n
from cvae_study.study import spaces
from cvae_study.study.errors import UsageError
from cvae_study.study.tracking.store import require_study_parent
from cvae_study.study.tracking.trials import config_of_run


class WarmStartError(UsageError):
    """The earlier study cannot seed this one; the message names why."""


@dataclass(frozen=True)
class PriorTrial:
    label: str  # where it came from, for messages: "trial 1a2b3 of study X"
    params: dict[str, Any]  # the values of the new study's searched keys
    state: str  # an optuna.trial.TrialState member name
    value: float | None  # of a COMPLETE trial
    intermediate: dict[int, float] = field(default_factory=dict)  # epoch -> objective


def _contains(distribution: BaseDistribution, value: Any) -> bool:
    if isinstance(distribution, CategoricalDistribution):
        return value in distribution.choices
    return distribution.low <= value <= distribution.high


def check_covers(space: spaces.SearchSpace, prior: list[PriorTrial],
                 configs: list[Mapping[str, Any]], source: str) -> None:
    """Every prior trial ran with the new study's fixed config and drew its searched
    values inside the new space."""
    fixed = {key: value for key, value in space.base_flat.items() if key not in space.searched}
    found = spaces.optuna_distributions(space)
    for trial, flat in zip(prior, configs, strict=True):
        for key, value in fixed.items():
            if key in flat and flat[key] != value:
                searchable = ", or search it" if key in spaces.SPACES[space.task] else ""
                raise WarmStartError(
                    f"--warm-start {source}: {trial.label} ran with {key} = {flat[key]!r}, "
                    f"but this study fixes it at {value!r}; its scores are not of this study's "
                    f"space (set {key} to match{searchable})")
        for key, value in trial.params.items():
            if not _contains(found[key], value):
                raise WarmStartError(
                    f"--warm-start {source}: {trial.label} drew {key} = {value!r}, outside this "
                    f"study's space ({found[key]}); widen space.{key} or warm-start from a "
                    "study inside it")


def add_to(study: optuna.Study, space: spaces.SearchSpace, prior: list[PriorTrial]) -> int:
    """Tell `study` the prior trials as finished trials -> how many it now holds."""
    found = spaces.optuna_distributions(space)
    for trial in prior:
        if trial.state == TrialState.FAIL.name:
            continue
        study.add_trial(optuna.trial.create_trial(
            params=trial.params, distributions={key: found[key] for key in trial.params},
            value=trial.value, state=TrialState[trial.state],
            intermediate_values=trial.intermediate))
    return len(study.trials)


def from_study(study: optuna.Study, label: str) -> list[PriorTrial]:
    """The finished trials of an Optuna study (a replayed one)."""
    return [PriorTrial(f"trial {t.number} of {label}", dict(t.params), t.state.name, t.value,
                       dict(t.intermediate_values))
            for t in study.trials if t.state.is_finished()]


def from_mlflow(uri: str, name: str, task: str, metric: str,
                space: spaces.SearchSpace) -> list[PriorTrial]:
    """The trials of study `name` in the MLflow store at `uri`, checked against `space`."""
    client = MlflowClient(uri)
    parent = require_study_parent(client, name, "--warm-start")
    other = parent.data.tags.get(n.TASK)
    if other != task:
        raise WarmStartError(f"--warm-start {name}: a study of the {other} task; this study "
                             f"is of the {task} task")
    worst = n.OBJECTIVES[task][metric][1]
    prior, configs = [], []
    for run in client.search_runs([parent.info.experiment_id],
                                  n.children_filter(parent.info.run_id)):
        outcome = run.data.tags.get(n.OUTCOME)
        if outcome not in n.OPTUNA_STATE:
            continue  # running, abandoned or interrupted: nothing the search was told
        flat = config_of_run(task, run)
        history = {point.step: point.value
                   for point in client.get_metric_history(run.info.run_id, metric)}
        state = n.OPTUNA_STATE[outcome]
        value = (worst if outcome == n.DIVERGED else run.data.metrics.get(metric)) if (
            state == TrialState.COMPLETE.name) else None
        if state == TrialState.COMPLETE.name and value is None:
            continue
        prior.append(PriorTrial(f"trial {run.data.tags.get(n.TRIAL_ID, run.info.run_id)} of "
                                f"study {name}", spaces.searched_values(space, flat), state,
                                value, history))
        configs.append(flat)
    if not [trial for trial in prior if trial.state != TrialState.FAIL.name]:
        raise WarmStartError(f"--warm-start {name}: the study has no finished trial to learn "
                             "from")
    check_covers(space, prior, configs, name)
    return prior
