"""The runs of a learning-curve landscape (study.landscape_file) as one Ray Tune grid.

Every run is the study's own trainable on a named full config, no search, no early
stopping, as many at once as the cluster holds. The driver appends each finished run to
the landscape file as it ends (landscape_file.append_run fsyncs it), so a killed collection
loses only the runs in flight; Ray's own results go to a scratch folder, since the file is
what resumes.
"""

import sys
import tempfile
from pathlib import Path
from typing import Any

import ray
from ray import tune

from cvae_study.study import landscape_file as lf
from cvae_study.study import names as n
from cvae_study.study import spaces
from cvae_study.study.tracking.runs import provenance_tags
from cvae_study.study.tune import cluster
from cvae_study.study.tune.sweep import CHECKPOINTS_KEPT, trial_dirname
from cvae_study.study.tune.trainable import run_variant, trial_outcome


class LandscapeWriter(tune.Callback):
    """Each run's per-epoch curves, one line in the landscape file when it ends."""

    def __init__(self, path: Path, runs: dict[str, lf.Run], params: dict[str, dict],
                 total: int):
        self.path, self.runs, self.params = path, runs, params
        self.curves: dict[str, dict[str, list]] = {}
        self.done, self.total = total - len(runs), total

    def on_trial_result(self, iteration, trials, trial, result, **info) -> None:
        curves = self.curves.setdefault(trial.trial_id, {m: [] for m in lf.CURVE_METRICS})
        for metric, values in curves.items():
            values.append(lf.finite(result.get(metric)))

    def on_trial_complete(self, iteration, trials, trial, **info) -> None:
        key = trial.config[n.VARIANT]
        last = trial.last_result or {}
        curves = self.curves.pop(trial.trial_id, {})
        lf.append_run(self.path, self.runs[key], self.params[key], curves,
                      trial_outcome(last, False), last.get("time_total_s", 0.0))
        self.done += 1
        score = curves.get(n.VAL_SCORE, [None])[-1]
        shown = f"{n.VAL_SCORE} {score:.4f}" if score is not None else trial_outcome(last, False)
        print(f"landscape: {self.done}/{self.total} runs, {key} {shown} after "
              f"{last.get('training_iteration', 0)} epochs ({last.get('time_total_s', 0):.0f} s)",
              flush=True)

    def on_trial_error(self, iteration, trials, trial, **info) -> None:
        print(f"landscape: {trial.config[n.VARIANT]} errored (it reruns next time): "
              f"{trial.error_file}", file=sys.stderr, flush=True)


def collect(plan: lf.LandscapePlan, path: Path, cpus_per_trial: float = 1.0,
            gpus_per_trial: float = 0.0, address: str | None = None) -> dict[str, Any]:
    """Run every run of `plan` not yet in `path` -> what this piece did."""
    todo, configs = lf.pending(plan, path, provenance_tags())
    total = len(lf.runs_of(plan))
    if not todo:
        return {"out": str(path), "ran": 0, "runs": total}
    space = lf.space_of(plan)
    params = {key: spaces.searched_values(space, flat) for key, flat in configs.items()}
    writer = LandscapeWriter(path, {run.key: run for run in todo}, params, total)
    started = cluster.connect(address)
    try:
        _run_grid(plan, configs, [run.key for run in todo], writer,
                  cluster.trials_at_once(cpus_per_trial, gpus_per_trial),
                  {"cpu": cpus_per_trial, "gpu": gpus_per_trial})
    finally:
        if started:
            ray.shutdown()
    _, records = lf.read(path)
    return {"out": str(path), "ran": len(todo), "runs": total, "recorded": len(records)}


def _run_grid(plan: lf.LandscapePlan, configs: dict[str, dict], keys: list[str],
              writer: LandscapeWriter, at_once: int, resources: dict[str, float]) -> None:
    """One Tune grid over the run keys, each trial run_variant on its named config."""
    trainable = tune.with_resources(
        tune.with_parameters(run_variant, task_name=plan.task,
                             metric=n.DEFAULT_OBJECTIVE[plan.task], configs=configs),
        resources)
    with tempfile.TemporaryDirectory(prefix="landscape-") as scratch:
        tune.Tuner(
            trainable,
            param_space={n.VARIANT: tune.grid_search(keys)},
            tune_config=tune.TuneConfig(max_concurrent_trials=at_once, reuse_actors=True,
                                        trial_dirname_creator=trial_dirname),
            run_config=tune.RunConfig(
                name="landscape", storage_path=scratch, verbose=0,
                checkpoint_config=tune.CheckpointConfig(num_to_keep=CHECKPOINTS_KEPT),
                callbacks=[writer])).fit()
