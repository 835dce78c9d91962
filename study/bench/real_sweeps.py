"""`cvae-study bench sweep`: what Ray Tune costs, and what search with early stopping buys.

Overhead: the wall time of k trials of one fixed config run through `cvae-study sweep`
(one trial at a time, holding every CPU) over k bare `cvae-study train` runs of that config,
each a fresh process as a user would run them (target <= 1.15).

Value of search: random search without early stopping runs N trials of E epochs, a
budget of N * E epochs; TPE + ASHA runs 3N trials of at most E epochs (more than fit in
the budget, so the budget, not the trial count, ends it), and only its first N * E epochs
count. Each epoch any trial reports counts as one epoch spent; the figure is the epochs
each study spends, in the order it reported them, before some trial first scores 95% of
the best value either study found within the budget. TPE + ASHA over random (target
<= 0.5); where random search never reaches the target, TPE + ASHA's epochs over the budget
bound the ratio from above. The same figure against 95% of random search's own best
(`matching_random`) says how much sooner TPE + ASHA finds what random search finds.

One pair of studies finds a rare good trial or not (of 96 random trials, one scored within
95% of the best), so the pair runs under several search seeds, and the same figure is taken
on the best-so-far curves averaged over the seeds: the epochs at which the expected best
reaches 95% of the better final expectation.
"""

import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from mlflow import MlflowClient

from cvae_study.study import config
from cvae_study.study import names as n
from cvae_study.study.bench.study_curves import (
    RANDOM,
    REACH,
    SEARCH_TRIALS,
    TPE_ASHA,
    best_so_far,
    epochs_to_reach,
)
from cvae_study.study.config import Overrides
from cvae_study.study.landscape_file import SEARCH_SET
from cvae_study.study.spaces import TEXT_SPACE
from cvae_study.study.tracking.workdir import tracking_uri

OVERHEAD_TRIALS, OVERHEAD_EPOCHS = 3, 3
SEARCH_EPOCHS = 6  # each search study's trials; its budget: SEARCH_TRIALS of them
ARMS = {TPE_ASHA: ["--num-samples", str(3 * SEARCH_TRIALS)],
        RANDOM: ["--num-samples", str(SEARCH_TRIALS), "--search", "random",
                 "--no-early-stopping"]}


def _command(*args: str) -> list[str]:
    return [sys.executable, "-m", "cvae_study.study.cli", *args]


def _timed(command: list[str], log: Path) -> float:
    started = time.perf_counter()
    with open(log, "w") as handle:
        subprocess.run(command, stdout=handle, stderr=subprocess.STDOUT, check=True)
    return time.perf_counter() - started


def measure_overhead(folder: Path, overrides: Overrides) -> dict[str, Any]:
    """k fixed-config trials through sweep vs k bare train runs, all defaults pinned."""
    fixed = {**config.defaults_of("text", TEXT_SPACE), **overrides,
             "train.epochs": OVERHEAD_EPOCHS}
    train_s = sum(
        _timed(_command("train", "text", "--quiet", "--workdir", str(folder / "bare"),
                        *config.set_flags(fixed)), folder / f"train-{i}.log")
        for i in range(OVERHEAD_TRIALS))
    sweep_s = _timed(_command(
        "sweep", "text", "--name", "overhead", "--workdir", str(folder / "tune"),
        "--num-samples", str(OVERHEAD_TRIALS), "--max-concurrent", "1",
        "--cpus-per-trial", str(os.cpu_count()), "--no-early-stopping", *config.set_flags(fixed)),
        folder / "sweep-overhead.log")
    return {"trials": OVERHEAD_TRIALS, "epochs": OVERHEAD_EPOCHS, "train_s": round(train_s, 1),
            "sweep_s": round(sweep_s, 1), "ratio": round(sweep_s / train_s, 3),
            "target": 1.15}


def epoch_reports(uri: str, name: str, metric: str) -> list[float]:
    """Every epoch's objective of every trial of a study, in the order they were logged."""
    client = MlflowClient(uri)
    experiment = client.get_experiment_by_name(name)
    points = []
    for run in client.search_runs([experiment.experiment_id], n.TRIAL_FILTER):
        points += client.get_metric_history(run.info.run_id, metric)
    return [point.value for point in sorted(points, key=lambda p: (p.timestamp, p.step))]


def run_search_pair(folder: Path, overrides: Overrides, seed: int) -> dict[str, Any]:
    """Both studies under one search seed -> every epoch each reported, and their walls."""
    metric = n.DEFAULT_OBJECTIVE["text"]
    reports, walls = {}, {}
    for arm, flags in ARMS.items():
        workdir = folder / f"seed{seed}" / arm
        walls[arm] = _timed(_command(
            "sweep", "text", "--name", arm, "--workdir", str(workdir),
            "--epochs", str(SEARCH_EPOCHS), "--seed", str(seed), *flags,
            *config.set_flags({**SEARCH_SET, **overrides})),
            folder / f"sweep-seed{seed}-{arm}.log")
        reports[arm] = epoch_reports(tracking_uri(None, workdir), arm, metric)
    return {"reports": reports, "walls": walls}


def reach(curves: dict[str, list[float]], best: float | None = None) -> dict[str, Any]:
    """Epochs each study's curve needs to reach 95% of `best`, by default the best value on
    any curve."""
    best = max(max(curve) for curve in curves.values()) if best is None else best
    target = REACH * best
    spent = {arm: epochs_to_reach(curve, target) for arm, curve in curves.items()}
    tpe, random = spent[TPE_ASHA], spent[RANDOM]
    ratio = round(tpe / random, 3) if tpe and random else None
    # Random search that never reaches the target within the budget would need more than
    # the budget, so TPE's epochs over the budget bound the ratio from above.
    budget = len(curves[RANDOM])
    return {"best": round(best, 4), "target_value": round(target, 4),
            "epochs_to_target": spent, "ratio": ratio,
            "ratio_at_most": round(tpe / budget, 3) if tpe and not random else ratio}


def matching_random(curves: dict[str, list[float]]) -> dict[str, Any]:
    """The same figure against random search's own best: how much sooner TPE + ASHA finds
    what random search finds in its whole budget (the issue's figure is `reach`)."""
    return reach(curves, max(curves[RANDOM]))


def best_after(curve: list[float]) -> dict[int, float]:
    budget = len(curve)
    return {spent: round(curve[spent - 1], 4) for spent in (budget // 4, budget // 2, budget)}


def compare_search(pairs: list[dict[str, Any]], metric: str) -> dict[str, Any]:
    """Each seed's pair on its own, then the best-so-far curves averaged over the seeds.

    Only the first `budget` epochs of each study count, so both get the same budget."""
    budget = SEARCH_TRIALS * SEARCH_EPOCHS
    seeds, curves = [], {arm: [] for arm in ARMS}
    for pair in pairs:
        pair_curves = {arm: best_so_far(values, budget) for arm, values in pair["reports"].items()}
        seeds.append({"seed": pair["seed"], **reach(pair_curves),
                      "matching_random": matching_random(pair_curves), "arms": {
            arm: {"trials": int(ARMS[arm][1]), "epochs_run": len(pair["reports"][arm]),
                  "best_after": best_after(curve), "wall_s": round(pair["walls"][arm], 1)}
            for arm, curve in pair_curves.items()}})
        for arm, curve in pair_curves.items():
            curves[arm].append(curve)
    mean = {arm: [statistics.fmean(column) for column in zip(*arm_curves, strict=True)]
            for arm, arm_curves in curves.items()}
    return {"budget_epochs": budget, "epochs": SEARCH_EPOCHS, "metric": metric,
            "seeds": seeds,
            "mean_over_seeds": {**reach(mean), "matching_random": matching_random(mean),
                                "best_after": {arm: best_after(curve)
                                               for arm, curve in mean.items()}},
            "target": 0.5}


def run_sweep_bench(folder: Path, overrides: Overrides,
                    seeds: tuple[int, ...]) -> dict[str, Any]:
    folder.mkdir(parents=True)
    overhead = measure_overhead(folder, overrides)
    pairs = [{"seed": seed, **run_search_pair(folder, overrides, seed)} for seed in seeds]
    return {
        "machine": {"cpus": os.cpu_count(), "processor": platform.processor() or "unknown",
                    "python": platform.python_version()},
        "overhead": overhead,
        "search": compare_search(pairs, n.DEFAULT_OBJECTIVE["text"]),
    }
