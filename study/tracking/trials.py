"""A study's trial runs in MLflow: the best one by an objective, one by its id, the typed
config each was trained with; of a study of several objectives, its recorded Pareto front
and where a trial lies on it."""

from typing import Any

from mlflow import MlflowClient

from cvae_study.study import config
from cvae_study.study import names as n
from cvae_study.study.errors import UsageError
from cvae_study.study.pareto import nondominated_fronts
from cvae_study.study.statistics import mean_interval
from cvae_study.study.tracking.store import load_json_artifact, require_study_parent

MAX_TRIALS = 5000


class TrialNotFound(UsageError):
    """No such study, trial, or completed trial; the message names it."""


def config_of_run(task: str, run) -> dict[str, Any]:
    """A run's params (MLflow keeps strings) -> the task's typed flat config; a record from
    another version keeps the strings of the keys this version knows."""
    keys = set(config.valid_keys(config.CONFIGS[task]))
    known = {key: value for key, value in run.data.params.items() if key in keys}
    try:
        return config.flatten(config.build(task, known))
    except config.ConfigError:
        return known


def pick_trial(client: MlflowClient, name: str, metric: str | None, trial_id: str | None):
    """-> (parent run, trial run): the named trial, or the best completed one by `metric`
    (default: the study's objective)."""
    parent = require_study_parent(client, name)
    experiments = [parent.info.experiment_id]
    query = n.children_filter(parent.info.run_id)
    if trial_id:
        found = client.search_runs(experiments, f"{query} and tags.`{n.TRIAL_ID}` = '{trial_id}'")
        if not found:
            raise TrialNotFound(f"study {name!r} has no trial {trial_id!r}")
        return parent, found[0]
    task = parent.data.params[f"{n.STUDY_PREFIX}task"]
    if metric is None and len(study_objectives(parent)) > 1:
        raise TrialNotFound(
            f"study {name!r} has several objectives ({', '.join(study_objectives(parent))}): "
            "no trial is best on all of them; list its Pareto front with --pareto and choose "
            "one with --trial ID (or the best by one objective with --metric M)")
    metric = metric or parent.data.params[f"{n.STUDY_PREFIX}metric"]
    objectives = n.OBJECTIVES[task]
    if metric not in objectives:
        raise TrialNotFound(f"--metric {metric!r}: choose one of {', '.join(objectives)}")
    mode = objectives[metric][0]
    completed = completed_trials(client, parent, metric)
    if not completed:
        raise TrialNotFound(f"study {name!r} has no completed trial yet")
    sign = 1 if mode == "max" else -1
    return parent, max(completed, key=lambda run: sign * run.data.metrics[metric])


def completed_trials(client: MlflowClient, parent, metric: str) -> list:
    """The study's trial runs that completed with a value of `metric`."""
    return [run for run in client.search_runs(
                [parent.info.experiment_id],
                f"{n.children_filter(parent.info.run_id)} and "
                f"tags.{n.OUTCOME} = '{n.COMPLETED}'", max_results=MAX_TRIALS)
            if metric in run.data.metrics]


def study_objectives(parent) -> tuple[str, ...]:
    """The objectives of the study whose parent run this is."""
    return n.objectives_of(parent.data.params[f"{n.STUDY_PREFIX}metric"])


def front_of(client: MlflowClient, parent) -> dict[str, Any] | None:
    """The Pareto front a study of several objectives recorded when it ended
    (names.PARETO_ARTIFACT), or None."""
    return load_json_artifact(client, parent.info.run_id, n.PARETO_ARTIFACT)


def recorded_front(client: MlflowClient, name: str) -> dict[str, Any]:
    """The front study `name` recorded; TrialNotFound naming --pareto for a study of one
    objective, or one that has not ended."""
    parent = require_study_parent(client, name)
    objectives = study_objectives(parent)
    if len(objectives) == 1:
        raise TrialNotFound(
            f"--pareto: study {name!r} has one objective ({objectives[0]}), so no front; "
            "export its best with --out DIR (by another metric with --metric M), or draw the "
            f"front of any metrics with `cvae-study report {name} --pareto M1,M2`")
    front = front_of(client, parent)
    if front is None:
        raise TrialNotFound(f"--pareto: study {name!r} has not recorded its front: it does "
                            f"when it ends; `cvae-study report {name}` draws the front of "
                            "its trials so far")
    return front


def _dominates(a: list[float], b: list[float], modes: list[str]) -> bool:
    # of two points, the one on the second front is the one the other dominates
    return nondominated_fronts([a, b], modes).tolist() == [0, 1]


def front_place(front: dict[str, Any], trial_id: str,
                metrics: dict[str, float]) -> dict[str, Any] | None:
    """Where a trial of final `metrics` lies on a recorded front: its values, whether it is
    on it, the front trials that dominate it, and its neighbours on the front by the first
    objective (the nearest below and above); None without a value of every objective."""
    objectives, modes = front["objectives"], front["modes"]
    if any(objective not in metrics for objective in objectives):
        return None
    point = [metrics[objective] for objective in objectives]
    others = [trial for trial in front["trials"] if trial["trial_id"] != trial_id]

    def first(trial):
        return trial["values"][objectives[0]]

    below = [trial for trial in others if first(trial) <= point[0]]
    above = [trial for trial in others if first(trial) > point[0]]
    return {"objectives": objectives, "modes": modes, "size": len(front["trials"]),
            "values": dict(zip(objectives, point, strict=True)),
            "on_front": len(others) < len(front["trials"]),
            "dominated_by": [trial["trial_id"] for trial in others if _dominates(
                [trial["values"][objective] for objective in objectives], point, modes)],
            "below": max(below, key=first, default=None),
            "above": min(above, key=first, default=None)}


def latest_grid(client: MlflowClient, parent, role: str, of_tag: str,
                finished_only: bool = True):
    """The study's most recently started grid parent run of `role` (an ablation, a finish:
    tagged `of_tag` with the study's parent run id), or None. A report reads a running one
    as it reads a running study; export takes finished ones only."""
    finished = " and attributes.status = 'FINISHED'" if finished_only else ""
    found = client.search_runs(
        [parent.info.experiment_id],
        f"tags.`{n.ROLE}` = '{role}' and tags.`{of_tag}` = '{parent.info.run_id}'{finished}",
        order_by=["attributes.start_time DESC"], max_results=1)
    return found[0] if found else None


def latest_ablation(client: MlflowClient, parent, finished_only: bool = True):
    return latest_grid(client, parent, n.ABLATION_ROLE, n.ABLATION_OF, finished_only)


def latest_finish(client: MlflowClient, parent, finished_only: bool = True):
    return latest_grid(client, parent, n.FINISH_ROLE, n.FINISH_OF, finished_only)


def _best_of_grid(client: MlflowClient, grid, metric: str, mode: str):
    """The configuration of a grid (its runs' variant tag) with the best mean `metric` over
    its completed seeds -> (its name, its runs, the mean's interval); None without runs."""
    runs = [run for run in client.search_runs(
                [grid.info.experiment_id],
                f"{n.children_filter(grid.info.run_id)} and "
                f"tags.{n.OUTCOME} = '{n.COMPLETED}'", max_results=MAX_TRIALS)
            if metric in run.data.metrics]
    by_variant: dict[str, list] = {}
    for run in runs:
        by_variant.setdefault(run.data.tags[n.VARIANT], []).append(run)
    if not by_variant:
        return None
    means = {variant: mean_interval([run.data.metrics[metric] for run in group])
             for variant, group in by_variant.items()}
    sign = 1 if mode == "max" else -1
    variant = max(means, key=lambda name: sign * means[name].mean)
    return variant, by_variant[variant], means[variant]


def best_variant(client: MlflowClient, parent, metric: str, mode: str):
    """From the study's latest ablation: the variant with the best mean over its seeds ->
    (its run nearest that mean, a summary of the variant), or None without an ablation.
    A mean over repeats, not a single lucky seed; but an ablation trained shorter than the
    study's trials (the demo's) measures knobs, not the model to take home: None then."""
    ablation = latest_ablation(client, parent)
    study_epochs = parent.data.params.get("train.epochs")
    if ablation is None or (study_epochs is not None and int(
            ablation.data.params["ablation.epochs"]) < int(study_epochs)):
        return None
    best = _best_of_grid(client, ablation, metric, mode)
    if best is None:
        return None
    variant, runs, summary = best
    chosen = min(runs, key=lambda run: abs(run.data.metrics[metric] - summary.mean))
    return chosen, {"ablation_run": ablation.info.run_id, "variant": variant,
                    "metric": metric, "mean": summary.mean, "ci95": [summary.low, summary.high],
                    "repeats": summary.n, "seed": chosen.data.tags[n.SEED]}


def best_finished(client: MlflowClient, parent, metric: str, mode: str):
    """From the study's latest finish: the finalist with the best mean over its fresh seeds
    -> (its median-seed run, a summary with the search's own number), or None without a
    finish. The median run, not the best: the bundle is a typical run of the configuration."""
    finish = latest_finish(client, parent)
    if finish is None:
        return None
    best = _best_of_grid(client, finish, metric, mode)
    plan = load_json_artifact(client, finish.info.run_id, n.FINISH_PLAN)
    if best is None or plan is None:
        return None
    trial_id, runs, summary = best
    ranked = sorted(runs, key=lambda run: run.data.metrics[metric])
    chosen = ranked[(len(ranked) - 1) // 2]
    searched = plan["finalists"][trial_id]
    return chosen, {"finish_run": finish.info.run_id, "trial_id": trial_id, "metric": metric,
                    "mean": summary.mean, "ci95": [summary.low, summary.high],
                    "repeats": summary.n, "seed": chosen.data.tags[n.SEED],
                    "seeds": sorted(int(run.data.tags[n.SEED]) for run in runs),
                    "epochs": plan["epochs"], "search_value": searched["search_value"],
                    "search_epochs": searched["search_epochs"],
                    "search_seed": searched["search_seed"]}
