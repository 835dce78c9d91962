"""A Ray Tune grid of named configurations x seeds, every point trained to its full length
(no early stopping), each recorded as an MLflow run nested under one parent run: what an
ablation (its variants) and a finish (a study's finalists) run.

Every configuration runs under the same seeds, so comparisons between them are paired. The
grid is restored from its Ray results when a driver is resumed.
"""

from collections import defaultdict
from dataclasses import dataclass
from functools import partial
from typing import Any

from ray import tune

from cvae_study.study import names as n
from cvae_study.study.tune import saved
from cvae_study.study.tune import sweep as sweeps
from cvae_study.study.tune.callbacks import MlflowRecorder, VariantTrials
from cvae_study.study.tune.live import LiveView, keys_of
from cvae_study.study.tune.trainable import run_variant

SEED_KEY = "train.seed"  # the grid's second axis: every configuration under the same seeds


@dataclass(frozen=True)
class Grid:
    """Where a grid's runs go and what they are scored by."""

    runner: saved.Sweep  # the driver's own Tune side: its name, resources, storage, store
    experiment: str  # the MLflow experiment (the study's)
    parent_id: str  # the MLflow parent run of the grid's runs
    run_role: str  # study.role of each run
    metric: str
    mode: str
    seeds: tuple[int, ...]
    epochs: int
    max_concurrent: int = 1


def _tuner(grid: Grid, trainable, configs: dict[str, dict[str, Any]], tune_name: str,
           callbacks) -> tune.Tuner:
    recorder = MlflowRecorder(grid.runner.uri, grid.experiment, grid.runner.options.task,
                              grid.parent_id, grid.run_role, VariantTrials(configs, tune_name))
    view = LiveView(tune_name, (grid.metric,), (grid.mode,), len(configs) * len(grid.seeds),
                    grid.epochs, partial(keys_of, (n.VARIANT, SEED_KEY)), ranked=False)
    return tune.Tuner(
        trainable,
        param_space={n.VARIANT: tune.grid_search(list(configs)),
                     SEED_KEY: tune.grid_search(list(grid.seeds))},
        tune_config=tune.TuneConfig(max_concurrent_trials=grid.max_concurrent,
                                    trial_dirname_creator=sweeps.trial_dirname,
                                    reuse_actors=True),
        run_config=sweeps.run_config(grid.runner, tune_name, recorder, view, callbacks))


def run_grid(grid: Grid, configs: dict[str, dict[str, Any]], tune_name: str, callbacks=(),
             restore: bool = False) -> dict[str, dict[int, float]]:
    """Train every named full flat config in `configs` under each of the grid's seeds (or,
    restore=True, continue the grid `tune_name` where it stopped) -> the objective of each
    completed run, by configuration name and seed."""
    runner = grid.runner
    trainable = tune.with_resources(
        tune.with_parameters(run_variant, task_name=runner.options.task, metric=grid.metric,
                             configs=configs),
        {"cpu": runner.options.cpus_per_trial, "gpu": runner.options.gpus_per_trial})
    path, filesystem = runner.storage.path(tune_name), runner.storage.ray_filesystem
    if restore and tune.Tuner.can_restore(path, storage_filesystem=filesystem):
        tuner = tune.Tuner.restore(path, trainable=trainable, resume_unfinished=True,
                                   resume_errored=True, storage_filesystem=filesystem)
    else:
        tuner = _tuner(grid, trainable, configs, tune_name, callbacks)
    values: dict[str, dict[int, float]] = defaultdict(dict)
    for result in tuner.fit():
        last = result.metrics or {}
        if last.get(n.OUTCOME) == n.COMPLETED:
            values[result.config[n.VARIANT]][result.config[SEED_KEY]] = last[grid.metric]
    return values
