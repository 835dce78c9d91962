"""The sweep bench's two search studies replayed on the measured landscape, over many seeds.

    python simulate.py landscape-cuda.jsonl [SEEDS]

A proposed config scores the six-epoch val/score curve of its nearest measured config (the
distance weighting chosen by leave-one-out below), so a study trains nothing. Optuna's
samplers propose (the study's own, `search.make_sampler`, and variants); a loop written
after Ray's asynchronous successive halving stops trials (rungs after epochs 1 and 3,
keeping the top third, two trials at a time); each epoch any trial reports is one epoch
spent, and the figures are `cvae-study bench sweep`'s own (`bench_sweep.reach`). The
numbers rank search settings against each other; real studies say what they are worth.
"""

import json
import math
import statistics
import sys

import numpy as np
import optuna
from scipy.stats import spearmanr

from cvae_study.study.bench.real_sweeps import SEARCH_EPOCHS, matching_random, reach
from cvae_study.study.bench.study_curves import best_so_far
from cvae_study.study.landscape_file import SEARCH_SET
from cvae_study.study.spaces import Choice, SpaceSampler, build_space
from cvae_study.study.tune.search import make_sampler

SPACE = build_space("text", overrides=SEARCH_SET)  # the bench's search studies' space
CONCURRENT = 2
ASHA = {"rungs 1, 3, keep 1/3 (the study's)": ((1, 3), 1 / 3),
        "rungs 1, 2, 4, keep 1/2": ((1, 2, 4), 1 / 2),
        "rung 1, keep 1/5": ((1,), 1 / 5)}
SAMPLERS = {
    "the study's TPE (multivariate, startup 10)": lambda seed, n: make_sampler(seed, n),
    "TPE, startup 3": lambda seed, n: optuna.samplers.TPESampler(seed=seed, n_startup_trials=3),
    "independent TPE, startup 10": lambda seed, n: optuna.samplers.TPESampler(
        seed=seed, multivariate=False),
    "independent TPE, startup 3": lambda seed, n: optuna.samplers.TPESampler(
        seed=seed, multivariate=False, n_startup_trials=3),
}


def features(drawn: dict) -> dict:
    """Ranges on [0, 1] (log ones on a log scale); choices as they are; absent keys None."""
    out = {}
    for key, entry in SPACE.searched.items():
        value = drawn.get(key)
        if isinstance(entry, Choice) or value is None:
            out[key] = value
        elif entry.log:
            out[key] = math.log(value / entry.low) / math.log(entry.high / entry.low)
        else:
            out[key] = (value - entry.low) / (entry.high - entry.low)
    return out


def distance(a: dict, b: dict, weights: dict) -> float:
    total = 0.0
    for key, weight in weights.items():
        if a[key] is None or b[key] is None:
            continue  # the cycle keys: compared between two cyclical configs only
        gap = float(a[key] != b[key]) if isinstance(SPACE.searched[key], Choice) else abs(
            a[key] - b[key])
        total += weight * gap
    return total


class Surrogate:
    def __init__(self, rows: list[dict], weights: dict):
        self.points = [features(row["config"]) for row in rows]
        self.curves = [row["scores"] for row in rows]
        self.weights = weights

    def curve(self, drawn: dict, skip: int | None = None) -> list[float]:
        point = features(drawn)
        nearest = min((i for i in range(len(self.points)) if i != skip),
                      key=lambda i: distance(point, self.points[i], self.weights))
        return self.curves[nearest]


def choose_surrogate(rows: list[dict]) -> Surrogate:
    """The weighting whose nearest neighbour (leaving the config out) best ranks finals."""
    finals = [row["scores"][-1] for row in rows]
    best, best_rho = None, -1.0
    for heavy in (1.0, 3.0, 10.0):
        weights = {key: heavy if key in ("optim.lr", "model.cell") else 1.0
                   for key in SPACE.searched}
        surrogate = Surrogate(rows, weights)
        rho = spearmanr([surrogate.curve(row["config"], skip=i)[-1]
                         for i, row in enumerate(rows)], finals).statistic
        print(f"surrogate, lr and cell weighted x{heavy:g}: leave-one-out Spearman {rho:.3f}")
        if rho > best_rho:
            best, best_rho = surrogate, rho
    return best


def propose(study: optuna.Study, surrogate: Surrogate):
    trial = study.ask()
    SpaceSampler(SPACE)(trial)
    return trial, surrogate.curve(trial.params)


def random_study(surrogate: Surrogate, seed: int, trials: int) -> list[float]:
    """Every epoch's score, trials run CONCURRENT at a time, each epoch one time unit."""
    study = optuna.create_study(direction="maximize", sampler=make_sampler(seed, trials, True))
    slots, events = [0] * CONCURRENT, []
    for _ in range(trials):
        trial, curve = propose(study, surrogate)
        study.tell(trial, curve[-1])
        slot = min(range(CONCURRENT), key=slots.__getitem__)
        events += [(slots[slot] + epoch, slot, value) for epoch, value in enumerate(curve, 1)]
        slots[slot] += len(curve)
    return [value for _, _, value in sorted(events)]


def tpe_asha_study(surrogate: Surrogate, sampler, trials: int, budget: int,
                   rungs: tuple[int, ...], keep: float) -> list[float]:
    """A slot that frees asks the sampler; ASHA judges a trial at each rung it reaches."""
    study = optuna.create_study(direction="maximize", sampler=sampler)
    recorded = {rung: [] for rung in rungs}
    running, reports, started = [], [], 0  # [next report's time, epochs done, trial, curve]
    clock = 0
    while len(reports) < budget and (started < trials or running):
        while len(running) < CONCURRENT and started < trials:
            running.append([clock + 1, 0, *propose(study, surrogate)])
            started += 1
        entry = min(running, key=lambda r: r[0])
        clock, done, trial, curve = entry
        epoch, value = done + 1, curve[done]
        reports.append(value)
        trial.report(value, epoch)
        entry[:2] = [clock + 1, epoch]
        scores = recorded.get(epoch)
        stop = bool(scores) and value < np.percentile(scores, (1 - keep) * 100)
        if scores is not None:
            scores.append(value)
        if stop or epoch == SEARCH_EPOCHS:
            study.tell(trial, None if stop else value,
                       state=optuna.trial.TrialState.PRUNED if stop else None)
            running.remove(entry)
    return reports


def mean_curve(curves: list[list[float]]) -> list[float]:
    return [statistics.fmean(column) for column in zip(*curves, strict=True)]


def three_seed_pass_rate(tpes: list, randoms: list, draws: int = 300) -> float:
    """How often a bench of three seeds (drawn from these) would show a ratio <= 0.5."""
    rng, passed = np.random.default_rng(0), 0
    for _ in range(draws):
        pick = rng.choice(len(tpes), 3, replace=False)
        figure = reach({"tpe_asha": mean_curve([tpes[i] for i in pick]),
                        "random": mean_curve([randoms[i] for i in pick])})
        passed += (figure["ratio_at_most"] or 1.0) <= 0.5
    return passed / draws


def at(curve: list[float], epochs: tuple[int, ...]) -> str:
    return " / ".join(f"{curve[epoch - 1]:.3f}" for epoch in epochs)


def compare(surrogate: Surrogate, seeds: int, trials: int, sampler_name: str,
            asha_name: str) -> None:
    budget = trials * SEARCH_EPOCHS
    randoms = [best_so_far(random_study(surrogate, seed, trials), budget)
               for seed in range(seeds)]
    tpes = [best_so_far(tpe_asha_study(surrogate, SAMPLERS[sampler_name](seed, 3 * trials),
                                       3 * trials, budget, *ASHA[asha_name]), budget)
            for seed in range(seeds)]
    mean = {"tpe_asha": mean_curve(tpes), "random": mean_curve(randoms)}
    figure, matching = reach(mean), matching_random(mean)
    quarters = (budget // 4, budget // 2, budget)
    print(f"| {sampler_name} | {asha_name} | {budget} | "
          f"{figure['epochs_to_target']['tpe_asha']} / {figure['epochs_to_target']['random']}"
          f" ({figure['ratio'] or figure['ratio_at_most']}) | "
          f"{three_seed_pass_rate(tpes, randoms):.0%} | "
          f"{matching['epochs_to_target']['tpe_asha']} / "
          f"{matching['epochs_to_target']['random']} ({matching['ratio']}) | "
          f"{at(mean['tpe_asha'], quarters)} | {at(mean['random'], quarters)} |")


def main(path: str, seeds: int) -> None:
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    rows = [row for row in map(json.loads, open(path)) if row["seed"] == 0]
    surrogate = choose_surrogate(rows)
    print(f"\n{seeds} seeds each. | sampler | ASHA | budget (epochs) | seed-averaged figure, "
          "TPE + ASHA / random (ratio or its bound) | 3-seed benches <= 0.5 | against random's "
          "best (ratio) | mean best after 1/4, 1/2, all of the budget, TPE + ASHA | random |")
    study_sampler, study_asha = next(iter(SAMPLERS)), next(iter(ASHA))
    for sampler_name in SAMPLERS:
        compare(surrogate, seeds, 12, sampler_name, study_asha)
    for asha_name in list(ASHA)[1:]:
        compare(surrogate, seeds, 12, study_sampler, asha_name)
    for trials in (24, 36):
        compare(surrogate, seeds, trials, study_sampler, study_asha)


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 40)
