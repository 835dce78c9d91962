"""`cvae-study bench sweep`: what Ray Tune costs, and what search with early stopping buys.

Overhead: the wall time of k trials of one fixed config run through `cvae-study sweep`
(one trial at a time, holding every CPU) over k bare `cvae-study train` runs of that config,
each a fresh process as a user would run them (target <= 1.15).

Value of search: random search without early stopping runs N trials of E epochs, a
budget of N * E epochs; TPE + ASHA runs 2N trials of at most E epochs, and only its first
N * E epochs count. Each epoch any trial reports counts as one epoch spent; the figure is
the epochs each study spends, in the order it reported them, before some trial first
scores 95% of the best value either study found within the budget. TPE + ASHA over random
(target <= 0.5); where random search never reaches the target, TPE + ASHA's epochs over
the budget bound the ratio from above. The best value after a quarter, half and all of the
budget is reported beside.
"""

import os
import platform
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from mlflow import MlflowClient

from cvae_study.study import config
from cvae_study.study.metrics import DEFAULT_OBJECTIVE
from cvae_study.study.spaces import TEXT_SPACE
from cvae_study.study.study_records import ROLE

OVERHEAD_TRIALS, OVERHEAD_EPOCHS = 3, 3
SEARCH_TRIALS, SEARCH_EPOCHS = 12, 6
# Both search studies: the default space at hidden 128, so the budget fits a bench run.
SEARCH_SET = ["model.hidden_size=128", "eval.verbs=200"]
REACH = 0.95
ARMS = {"tpe_asha": ["--num-samples", str(2 * SEARCH_TRIALS)],
        "random": ["--num-samples", str(SEARCH_TRIALS), "--search", "random",
                   "--no-early-stopping"]}


def _command(*args: str) -> list[str]:
    return [sys.executable, "-m", "cvae_study.study.cli", *args]


def _timed(command: list[str], log: Path) -> float:
    started = time.perf_counter()
    with open(log, "w") as handle:
        subprocess.run(command, stdout=handle, stderr=subprocess.STDOUT, check=True)
    return time.perf_counter() - started


def _sets(assignments: list[str]) -> list[str]:
    return [arg for item in assignments for arg in ("--set", item)]


def measure_overhead(home: Path, assignments: list[str]) -> dict[str, Any]:
    """k fixed-config trials through sweep vs k bare train runs, all defaults pinned."""
    defaults = config.flatten(config.build("text", {}))
    fixed = [f"{key}={defaults[key]}" for key in TEXT_SPACE] + assignments
    fixed.append(f"train.epochs={OVERHEAD_EPOCHS}")
    train_s = sum(
        _timed(_command("train", "text", "--quiet", "--workdir", str(home / "bare"),
                        *_sets(fixed)), home / f"train-{i}.log")
        for i in range(OVERHEAD_TRIALS))
    sweep_s = _timed(_command(
        "sweep", "text", "--name", "overhead", "--workdir", str(home / "tune"),
        "--num-samples", str(OVERHEAD_TRIALS), "--max-concurrent", "1",
        "--cpus-per-trial", str(os.cpu_count()), "--no-early-stopping", *_sets(fixed)),
        home / "sweep-overhead.log")
    return {"trials": OVERHEAD_TRIALS, "epochs": OVERHEAD_EPOCHS, "train_s": round(train_s, 1),
            "sweep_s": round(sweep_s, 1), "ratio": round(sweep_s / train_s, 3),
            "target": 1.15}


def epoch_reports(uri: str, name: str, metric: str) -> list[float]:
    """Every epoch's objective of every trial of a study, in the order they were logged."""
    client = MlflowClient(uri)
    experiment = client.get_experiment_by_name(name)
    points = []
    for run in client.search_runs([experiment.experiment_id], f"tags.`{ROLE}` = 'trial'"):
        points += client.get_metric_history(run.info.run_id, metric)
    return [point.value for point in sorted(points, key=lambda p: (p.timestamp, p.step))]


def epochs_to_reach(values: list[float], target: float) -> int | None:
    for spent, value in enumerate(values, start=1):
        if value >= target:
            return spent
    return None


def measure_search(home: Path, assignments: list[str], seed: int = 0) -> dict[str, Any]:
    metric = DEFAULT_OBJECTIVE["text"]
    reports, walls = {}, {}
    for arm, flags in ARMS.items():
        workdir = home / arm
        walls[arm] = _timed(_command(
            "sweep", "text", "--name", arm, "--workdir", str(workdir),
            "--epochs", str(SEARCH_EPOCHS), "--seed", str(seed), *flags,
            *_sets(SEARCH_SET + assignments)),
            home / f"sweep-{arm}.log")
        reports[arm] = epoch_reports(f"sqlite:///{workdir / 'mlflow.db'}", arm, metric)
    return {"seed": seed, **compare_search(reports, walls, metric)}


def best_so_far(values: list[float], spent: int) -> float:
    return round(max(values[:spent], default=float("nan")), 4)


def compare_search(reports: dict[str, list[float]], walls: dict[str, float],
                   metric: str) -> dict[str, Any]:
    """Only the first `budget` epochs of each study count, so both get the same budget."""
    budget = SEARCH_TRIALS * SEARCH_EPOCHS
    within = {arm: values[:budget] for arm, values in reports.items()}
    best = max(max(values) for values in within.values())
    target = REACH * best
    result: dict[str, Any] = {"budget_epochs": budget, "epochs": SEARCH_EPOCHS,
                              "metric": metric, "best": round(best, 4),
                              "target_value": round(target, 4)}
    for arm, values in within.items():
        result[arm] = {"trials": int(ARMS[arm][1]),
                       "epochs_to_target": epochs_to_reach(values, target),
                       "epochs_run": len(reports[arm]),
                       "best_within_budget": best_so_far(values, budget),
                       "best_after": {spent: best_so_far(values, spent)
                                      for spent in (budget // 4, budget // 2, budget)},
                       "wall_s": round(walls[arm], 1)}
    tpe, random = result["tpe_asha"]["epochs_to_target"], result["random"]["epochs_to_target"]
    result["ratio"] = round(tpe / random, 3) if tpe and random else None
    # Random search that never reaches the target within the budget would need more than
    # the budget, so TPE's epochs over the budget bound the ratio from above.
    result["ratio_at_most"] = (round(tpe / budget, 3) if tpe and not random
                               else result["ratio"])
    result["target"] = 0.5
    return result


def run_sweep_bench(home: Path, assignments: list[str], seed: int = 0) -> dict[str, Any]:
    home.mkdir(parents=True)
    return {
        "machine": {"cpus": os.cpu_count(), "processor": platform.processor() or "unknown",
                    "python": platform.python_version()},
        "overhead": measure_overhead(home, assignments),
        "search": measure_search(home, assignments, seed),
    }
