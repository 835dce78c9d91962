"""The Ray Tune function trainable: one trial is one task, trained epoch by epoch.

This is the only module that calls Tune's worker API (`tune.report`, `tune.get_checkpoint`),
because that API moves between Ray releases. Each epoch reports the task's metrics with a
checkpoint (state dicts + counters, no pickled modules); a retried or resumed trial starts
from the latest one.
"""

import json
import logging
import tempfile
from typing import Any

import ray
import torch
from ray import tune

from cvae_study.models.schedules import comparison_epochs
from cvae_study.study import config
from cvae_study.study import names as n
from cvae_study.study.tasks import checkpoint
from cvae_study.study.tasks.base import Diverged, resolve_device
from cvae_study.study.tasks.registry import make_task


def trial_outcome(last_result: dict[str, Any] | None, errored: bool) -> str:
    """How a finished trial ended: completed, stopped_early, diverged or errored.

    A trial that reported neither completion nor divergence was stopped by the scheduler."""
    if errored:
        return n.ERRORED
    reported = (last_result or {}).get(n.OUTCOME, n.RUNNING)
    return reported if reported in (n.COMPLETED, n.DIVERGED) else n.STOPPED_EARLY


def _cpus_held() -> int:
    cpus = ray.get_runtime_context().get_assigned_resources().get("CPU", 1)
    return max(1, int(cpus))


def _restore(task) -> int:
    """Load the latest checkpoint of this trial, if any -> the epoch it was taken at."""
    saved = tune.get_checkpoint()
    if saved is None:
        return 0
    with saved.as_directory() as folder:
        task.load_state(checkpoint.load(folder, task.device)["state"])
    return task.epoch


def run_trial(flat_config: dict[str, Any], task_name: str, metric: str) -> None:
    """Train one trial to `train.epochs`, reporting after every epoch."""
    # Ray logs every persisted checkpoint at INFO: one line per trial-epoch on the console.
    logging.getLogger("ray.train._internal.storage").setLevel(logging.WARNING)
    torch.set_num_threads(_cpus_held())
    cfg = config.build(task_name, flat_config)  # Tune's param space is flat, on the wire
    # CUDA when Ray gave this trial a GPU: Ray sets CUDA_VISIBLE_DEVICES to its ids.
    device = resolve_device("auto")
    task = make_task(task_name, cfg, device)
    restored_from = _restore(task)
    epochs = cfg.train.epochs
    comparable = comparison_epochs(cfg.kl, task.steps_per_epoch, epochs)
    context = ray.get_runtime_context()
    info = {n.DEVICE: str(device), n.THREADS: torch.get_num_threads(),
            n.RESTORED_FROM: restored_from, n.GPU_IDS: ",".join(map(str, ray.get_gpu_ids())),
            n.NODE_ID: context.get_node_id(), n.WORKER: context.get_actor_id() or ""}
    while task.epoch < epochs:
        try:
            metrics = task.train_epoch()
        except Diverged as error:  # the worst score of each of the study's objectives
            worst = {objective: n.OBJECTIVES[task_name][objective][1]
                     for objective in n.objectives_of(metric)}
            tune.report({**worst, n.OUTCOME: n.DIVERGED, n.RUNG_EPOCH: task.epoch + 1,
                         n.MESSAGE: str(error), **info})
            return
        evaluation = task.evaluate()
        rung = max((e for e in comparable if e <= task.epoch), default=0)
        result = {**metrics, **evaluation.metrics, n.RUNG_EPOCH: rung,
                  n.SAMPLES: json.dumps(evaluation.samples), **info,
                  n.OUTCOME: n.COMPLETED if task.epoch == epochs else n.RUNNING}
        with tempfile.TemporaryDirectory() as folder:
            checkpoint.save(folder, task.state(), config.flatten(cfg), task_name)
            tune.report(result, checkpoint=tune.Checkpoint.from_directory(folder))


def run_variant(grid_config: dict[str, Any], task_name: str, metric: str,
                configs: dict[str, dict[str, Any]]) -> None:
    """One point of a grid over named configs (an ablation's variant x seed, a landscape's
    run): the named full config, with the grid's other keys (train.seed) over it."""
    variant = configs[grid_config[n.VARIANT]]
    run_trial({**variant, **{k: v for k, v in grid_config.items() if k != n.VARIANT}},
              task_name, metric)


def trainable(task_name: str, metric: str, cpus_per_trial: float, gpus_per_trial: float = 0):
    """run_trial bound to its task and objective, asking Ray for its resources."""
    bound = tune.with_parameters(run_trial, task_name=task_name, metric=metric)
    return tune.with_resources(bound, {"cpu": cpus_per_trial, "gpu": gpus_per_trial})
