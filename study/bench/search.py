"""`cvae-study bench search`: which search finds good configs soonest, over many seeds.

Studies are replayed (study.tune.replay) on the landscape `bench landscape` measured: a
proposed config's curve is the surrogate's (study.bench.surrogate) over the landscape's
mean curves, plus the seed noise of one of the landscape's repeats, drawn at random. Each
method runs under `replays` search seeds for 10 times the epochs of 12 full-length trials;
its best-so-far curve over those epochs holds the 1x and 3x budgets too, since no method
here looks at the budget.

The figure per budget B: random search's expected best within B (the mean over seeds of
its best-so-far at B); the epochs each method's expected best-so-far needs to reach 95% of
it, over the epochs random search needs (so below 1 is sooner); a 95% interval from
resampling the seeds (paired: one seed is one replay of every method). A method that does
not get there within B has a ratio above B over random search's epochs.
"""

import dataclasses
import json
import math
import multiprocessing
import os
import random
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import optuna

from cvae_study.models.schedules import comparison_epochs
from cvae_study.study import config, spaces
from cvae_study.study import names as n
from cvae_study.study.bench import landscape as ls
from cvae_study.study.bench.surrogate import CurveSurrogate
from cvae_study.study.bench.sweep import REACH, SEARCH_TRIALS
from cvae_study.study.errors import UsageError

BUDGETS = (1, 3, 10)  # times the epochs of SEARCH_TRIALS full-length trials
RESAMPLES = 2000
WARM_SEED_OFFSET = 10_000  # the earlier study a warm start learns from: another seed


@dataclass(frozen=True)
class Landscape:
    """A landscape file, read: each config's searched values and its curves by seed."""

    path: Path
    header: dict[str, Any]
    params: list[dict[str, Any]]  # by config index
    curves: list[dict[int, list[float]]]  # by config index: train.seed -> val/score by epoch

    @classmethod
    def read(cls, path: Path, metric: str = n.VAL_SCORE) -> "Landscape":
        header, records = ls.read(path)
        if header is None:
            raise UsageError(f"--landscape {path}: no such file (write it with `cvae-study "
                             "bench landscape`)")
        by_config: dict[int, dict] = {}
        for record in records:
            entry = by_config.setdefault(record["config"], {"params": record["params"],
                                                            "curves": {}})
            entry["curves"][record["seed"]] = [v if v is not None else 0.0
                                               for v in record["curves"][metric]]
        indices = sorted(i for i, entry in by_config.items() if 0 in entry["curves"])
        if len(indices) < 3:
            raise UsageError(f"--landscape {path}: {len(indices)} configs; a replay needs at "
                             "least 3")
        return cls(path, header, [by_config[i]["params"] for i in indices],
                   [by_config[i]["curves"] for i in indices])

    @property
    def epochs(self) -> int:
        return self.header["epochs"]

    @property
    def space(self) -> spaces.SearchSpace:
        return spaces.build_space(self.header["task"], overrides=self.header["fixed"])

    def padded(self, curve: list[float]) -> list[float]:
        """A diverged run's curve, its missing epochs at the objective's worst."""
        return curve + [0.0] * (self.epochs - len(curve))

    def mean_curves(self) -> list[list[float]]:
        return [np.mean([self.padded(c) for c in by_seed.values()], axis=0).tolist()
                for by_seed in self.curves]

    def residuals(self) -> list[list[float]]:
        """Seed noise: each repeat's curve minus its config's mean, scaled by sqrt(k/(k-1))
        (k seeds), so its spread is one run's and not that of a deviation from a mean."""
        pool = []
        for by_seed in self.curves:
            k = len(by_seed)
            if k < 2:
                continue
            runs = np.array([self.padded(c) for c in by_seed.values()])
            pool += ((runs - runs.mean(0)) * math.sqrt(k / (k - 1))).tolist()
        return pool

    def seed_spread(self) -> float:
        """The mean over repeated configs of the final epoch's standard deviation."""
        spreads = [float(np.std([c[-1] for c in s.values()], ddof=1))
                   for s in self.curves if len(s) > 1]
        return float(np.mean(spreads)) if spreads else math.nan


class LandscapeCurves:
    """Replay's CurveSource over a landscape: the surrogate's curve plus a drawn residual,
    with the config's comparison epochs (ASHA's clock)."""

    def __init__(self, landscape: Landscape):
        self.landscape = landscape
        self.space = landscape.space
        self.surrogate = CurveSurrogate(self.header_space, landscape.params,
                                        landscape.mean_curves())
        self.noise = landscape.residuals()
        self.steps_per_epoch = _steps_per_epoch(self.space)
        self.rungs: dict[tuple, list[int]] = {}

    @property
    def header_space(self) -> dict[str, dict]:
        return self.landscape.header["space"]

    def _rungs(self, schedule: str, cycles: int | None, ratio: float | None) -> list[int]:
        key = (schedule, cycles, ratio)
        if key not in self.rungs:
            values = {"kl.schedule": schedule, **({"kl.cycles": cycles, "kl.ratio": ratio}
                                                  if schedule == "cyclical" else {})}
            kl = config.build(self.space.task, {**self.space.fixed, **values}).kl
            self.rungs[key] = comparison_epochs(kl, self.steps_per_epoch, self.landscape.epochs)
        return self.rungs[key]

    def __call__(self, params: dict[str, Any], rng: random.Random):
        curve = self.surrogate.predict(params)
        if self.noise:
            curve = [value + e for value, e in zip(curve, rng.choice(self.noise), strict=True)]
        schedule = params.get("kl.schedule", self.space.base.kl.schedule)
        return curve, self._rungs(schedule, params.get("kl.cycles"), params.get("kl.ratio"))


def _steps_per_epoch(space: spaces.SearchSpace) -> int:
    import torch

    from cvae_study.study.tasks.registry import make_task

    return make_task(space.task, space.base, torch.device("cpu")).steps_per_epoch


DEFAULT = "tpe_asha"  # what `sweep` does unless told otherwise
VARIANTS = ("tpe_asha_startup5", "tpe_asha_rf2", "tpe_asha_rf4")


def methods():
    """Search methods, then the default with one setting changed (TPE's start-up, ASHA's
    reduction factor): what the defaults are chosen from."""
    from cvae_study.study.tune.replay import Method

    return (Method("random", "random"), Method("tpe"), Method(DEFAULT, brackets=1),
            Method("hyperband", "random", brackets=3), Method("bohb", brackets=3),
            Method("tpe_asha_warm", brackets=1, warm_start=True),
            Method(VARIANTS[0], brackets=1, startup=5),
            Method(VARIANTS[1], brackets=1, reduction_factor=2),
            Method(VARIANTS[2], brackets=1, reduction_factor=4))


_SOURCE: LandscapeCurves | None = None


def _init_worker(path: Path) -> None:
    import torch

    global _SOURCE
    torch.set_num_threads(1)  # one replay per core
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    _SOURCE = LandscapeCurves(Landscape.read(path))


def best_so_far(values: Sequence[float], budget: int) -> list[float]:
    """The best value after each epoch; a study that ran out of trials keeps its best."""
    curve = np.maximum.accumulate(np.asarray(values[:budget], dtype=float)).tolist()
    return curve + curve[-1:] * (budget - len(curve))


def replay_seed(seed: int, budget: int) -> dict[str, list[float]]:
    """Every method under one search seed -> its best-so-far curve over `budget` epochs."""
    from cvae_study.study.tune import warm_start
    from cvae_study.study.tune.replay import replay

    source = _SOURCE
    one_x = budget // BUDGETS[-1]
    default = next(method for method in methods() if method.name == DEFAULT)
    curves = {}
    for method in methods():
        prior = ()
        if method.warm_start:  # from another study of the default, 1x long
            earlier = replay(source.space, source, default, seed + WARM_SEED_OFFSET, one_x)
            prior = warm_start.from_study(earlier.study, "an earlier study")
        values = replay(source.space, source, method, seed, budget, prior=prior).values
        curves[method.name] = best_so_far(values, budget)
    return curves


def epochs_to(curve: np.ndarray, target: float) -> int | None:
    """The first epoch (1-based) at which `curve` is at least `target`."""
    reached = np.nonzero(curve >= target)[0]
    return int(reached[0]) + 1 if len(reached) else None


def ratio_at(method: np.ndarray, random_curve: np.ndarray, budget: int) -> dict[str, Any]:
    """Mean curves (over seeds) -> epochs to 95% of random search's expected best at
    `budget`, for both, and their ratio (None: the method does not reach it in `budget`,
    so the ratio is above `at_least`)."""
    target = REACH * float(random_curve[budget - 1])
    spent = epochs_to(method[:budget], target)
    baseline = epochs_to(random_curve[:budget], target)
    return {"target": round(target, 4), "epochs": spent, "random_epochs": baseline,
            "ratio": round(spent / baseline, 3) if spent else None,
            "at_least": None if spent else round(budget / baseline, 3)}


def resampled_ratios(stacked: dict[str, np.ndarray], budget: int,
                     rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Each method's ratio to random search in RESAMPLES resamples of the seeds (per-seed
    curves, seeds x epochs), every method on the same resampled seeds, so two methods'
    ratios can be compared pairwise. A resample in which a method misses counts as an
    infinite ratio."""
    names = [name for name in stacked if name != "random"]
    ratios = {name: np.empty(RESAMPLES) for name in names}
    seeds = len(stacked["random"])
    for i in range(RESAMPLES):
        pick = rng.integers(0, seeds, seeds)
        random_curve = stacked["random"][pick].mean(0)
        for name in names:
            found = ratio_at(stacked[name][pick].mean(0), random_curve, budget)
            ratios[name][i] = found["ratio"] if found["ratio"] is not None else math.inf
    return ratios


def interval(values: np.ndarray) -> list[float | None]:
    """95% percentile interval; None for an infinite bound. Resamples where a ratio of two
    misses is undefined (inf / inf) say nothing and are left out."""
    values = values[~np.isnan(values)]
    low, high = np.percentile(values, [2.5, 97.5], method="inverted_cdf")  # inf stays inf
    return [_json_number(float(low)), _json_number(float(high))]


def _json_number(value: float) -> float | None:
    return None if not math.isfinite(value) else round(value, 3)


def versus(ratios: dict[str, np.ndarray], name: str, default: str) -> dict[str, Any]:
    """`name`'s epochs over the default's, paired by resample: below 1, it gets there
    sooner; an interval below 1 is a measured lead."""
    with np.errstate(invalid="ignore", divide="ignore"):
        relative = ratios[name] / ratios[default]
    return {"median": _json_number(float(np.nanmedian(relative))),
            "interval": interval(relative),
            "sooner_share": round(float(np.mean(relative[~np.isnan(relative)] < 1)), 3)}


def compare(per_seed: list[dict[str, list[float]]], epochs: int, rng_seed: int = 0):
    """Per-seed best-so-far curves -> the ratios at every budget, with intervals, and each
    variant of the default against the default itself."""
    names = list(per_seed[0])
    stacked = {name: np.array([seed[name] for seed in per_seed]) for name in names}
    rng = np.random.default_rng(rng_seed)
    mean = {name: curves.mean(0) for name, curves in stacked.items()}
    results = {}
    for factor in BUDGETS:
        budget = factor * SEARCH_TRIALS * epochs
        ratios = resampled_ratios(stacked, budget, rng)
        row = {"budget_epochs": budget, "random_best": round(float(mean["random"][budget - 1]), 4),
               "methods": {}}
        for name in ratios:
            found = ratio_at(mean[name], mean["random"], budget)
            row["methods"][name] = {**found, "interval": interval(ratios[name]),
                                    "best": round(float(mean[name][budget - 1]), 4)}
        if DEFAULT in ratios:
            row["versus_default"] = {name: versus(ratios, name, DEFAULT)
                                     for name in VARIANTS if name in ratios}
        results[f"{factor}x"] = row
    return results


def anytime(per_seed: list[dict[str, list[float]]]) -> dict[str, dict[str, list[float]]]:
    """Mean best-so-far per method with a 95% band (normal, over seeds) at every epoch."""
    out = {}
    for name in per_seed[0]:
        curves = np.array([seed[name] for seed in per_seed])
        mean, error = curves.mean(0), 1.96 * curves.std(0, ddof=1) / math.sqrt(len(curves))
        out[name] = {"mean": mean.round(4).tolist(), "low": (mean - error).round(4).tolist(),
                     "high": (mean + error).round(4).tolist()}
    return out


def surrogate_check(source: LandscapeCurves) -> dict[str, Any]:
    """Leave-one-out rank correlation of the surrogate's final values, and its fit."""
    from scipy.stats import spearmanr

    def by_epoch(surrogate: CurveSurrogate) -> list[float]:
        predicted = surrogate.leave_one_out()
        return [round(float(spearmanr(predicted[:, e], surrogate.y[:, e]).statistic), 3)
                for e in range(surrogate.y.shape[1])]

    surrogate, landscape = source.surrogate, source.landscape
    per_epoch = by_epoch(surrogate)
    unwarped = CurveSurrogate(source.header_space, landscape.params, landscape.mean_curves(),
                              warp=False)
    return {"kind": "Gaussian-process weights over the landscape's mean curves, in log space",
            "configs": len(landscape.params), "loo_spearman_final": per_epoch[-1],
            "loo_spearman_final_unwarped": by_epoch(unwarped)[-1],
            "loo_spearman_by_epoch": per_epoch, "noise_curves": len(source.noise),
            "seed_spread_final": round(source.landscape.seed_spread(), 4),
            "relevance": surrogate.relevance(), "target": 0.9}


def real_studies(real: dict[str, Any], epochs: int, source: str) -> dict[str, Any]:
    """`bench sweep`'s search section, if its studies are of the landscape's length."""
    search, budget = real["search"], SEARCH_TRIALS * epochs
    if search["epochs"] != epochs or search["budget_epochs"] != budget:
        raise UsageError(f"--real {source}: its studies ran {search['epochs']}-epoch trials "
                         f"for {search['budget_epochs']} epochs; the landscape's are {epochs} "
                         f"and {budget}")
    return search


def real_check(per_seed: list[dict[str, list[float]]], real: dict[str, Any], epochs: int,
               source: str) -> dict[str, Any]:
    """The 1x replay against real studies (`bench sweep`'s JSON), for both of its arms at
    1/4, 1/2 and all of the budget: the replay's mean best over every seed, and whether it
    lies in the real runs' 95% interval; and the replays of the real runs' own search seeds
    (the same sampler seeds propose the same configs), seed by seed."""
    from cvae_study.study.statistics import mean_interval

    search, budget = real_studies(real, epochs, source), SEARCH_TRIALS * epochs
    rows = {}
    for arm in ("tpe_asha", "random"):
        for spent in (budget // 4, budget // 2, budget):
            measured = {seed["seed"]: seed["arms"][arm]["best_after"][str(spent)]
                        for seed in search["seeds"]}
            interval = mean_interval(list(measured.values()))
            replayed = float(np.mean([curves[arm][spent - 1] for curves in per_seed]))
            rows[f"{arm}@{spent}"] = {
                "real_mean": round(interval.mean, 4),
                "real_interval": [round(interval.low, 4), round(interval.high, 4)],
                "replay_mean": round(replayed, 4),
                "agrees": bool(interval.low <= replayed <= interval.high),
                "by_seed": {seed: {"real": value,
                                   "replay": round(per_seed[seed][arm][spent - 1], 4)}
                            for seed, value in measured.items() if seed < len(per_seed)}}
    return {"file": source, "rows": rows, "all_agree": all(r["agrees"] for r in rows.values())}


def run_search_bench(path: Path, replays: int, workers: int | None = None,
                     real: Path | None = None) -> dict[str, Any]:
    _init_worker(path)
    source = _SOURCE
    epochs = source.landscape.epochs
    if real is not None:
        if not real.exists():
            raise UsageError(f"--real {real}: no such file (a `bench sweep` JSON)")
        real_studies(json.loads(real.read_text()), epochs, str(real))  # before the replays
    budget = BUDGETS[-1] * SEARCH_TRIALS * epochs
    workers = workers or os.cpu_count() or 1
    # spawn: a forked child of a process whose torch threads ran can hang
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"),
                             initializer=_init_worker, initargs=(path,)) as pool:
        per_seed = list(pool.map(replay_seed, range(replays), [budget] * replays))
    curves = anytime(per_seed)
    report = {"landscape": {"file": str(path), "configs": len(source.landscape.params),
                            "epochs": epochs, "fixed": source.landscape.header["fixed"]},
              "replays": replays, "workers_per_study": 2, "reach": REACH,
              "methods": {m.name: dataclasses.asdict(m) for m in methods()},
              "surrogate": surrogate_check(source), "budgets": compare(per_seed, epochs)}
    if real is not None:
        report["real_runs"] = real_check(per_seed, json.loads(real.read_text()), epochs,
                                         str(real))
    return {**report, "anytime": curves}


def write(report: dict[str, Any], out: Path) -> Path:
    """The JSON at `out`, its table beside it (OUT.md) and the anytime figure (OUT.png)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=1) + "\n")
    out.with_suffix(".md").write_text(markdown(report))
    figure = out.with_suffix(".png")
    plot_anytime(report, figure)
    return figure


def _cell(found: dict[str, Any]) -> str:
    """`ratio (low to high)`; a bound is None where resamples never reach the target."""
    low, high = ("never" if bound is None else f"{bound:.2f}" for bound in found["interval"])
    shown = f"{found['ratio']:.2f}" if found["ratio"] is not None else f"> {found['at_least']:.2f}"
    return f"{shown} ({low} to {high})"


def markdown(report: dict[str, Any]) -> str:
    """Each method's ratio to random search per budget, with its interval, as a table."""
    budgets = report["budgets"]
    head = " | ".join(f"{factor} ({row['budget_epochs']} epochs)" for factor, row in
                      budgets.items())
    lines = [f"| method | {head} |", "|---|" + "---|" * len(budgets),
             "| random search's expected best | " + " | ".join(
                 f"{row['random_best']:.3f}" for row in budgets.values()) + " |"]
    for name in next(iter(budgets.values()))["methods"]:
        lines.append(f"| {name} | " + " | ".join(
            _cell(row["methods"][name]) for row in budgets.values()) + " |")
    variants = next(iter(budgets.values())).get("versus_default", {})
    if variants:
        lines += ["", f"| epochs over {DEFAULT}'s, paired | {head} |",
                  "|---|" + "---|" * len(budgets)]
        for name in variants:
            lines.append(f"| {name} | " + " | ".join(
                _relative_cell(row["versus_default"][name]) for row in budgets.values()) + " |")
    return "\n".join(lines) + "\n"


def _relative_cell(found: dict[str, Any]) -> str:
    low, high = ("never" if bound is None else f"{bound:.2f}" for bound in found["interval"])
    median = "never" if found["median"] is None else f"{found['median']:.2f}"
    return f"{median} ({low} to {high}); sooner in {found['sooner_share']:.0%}"


def plot_anytime(report: dict[str, Any], path: Path) -> None:
    """Left: the search methods; right: the default beside its one-setting variants."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(13, 5), sharey=True)
    colours = dict(zip(report["anytime"], plt.get_cmap("tab10").colors, strict=False))
    groups = ([name for name in report["anytime"] if name not in VARIANTS],
              ["random", DEFAULT, *VARIANTS])
    for ax, names in zip(axes, groups, strict=True):
        for name in names:
            curve = report["anytime"][name]
            x = np.arange(1, len(curve["mean"]) + 1)
            ax.plot(x, curve["mean"], label=name, color=colours[name])
            ax.fill_between(x, curve["low"], curve["high"], alpha=0.15, color=colours[name])
        for factor, row in report["budgets"].items():
            ax.axvline(row["budget_epochs"], color="grey", linestyle=":", linewidth=1)
            ax.annotate(factor, (row["budget_epochs"], 0), xycoords=("data", "axes fraction"),
                        xytext=(2, 2), textcoords="offset points", color="grey")
        ax.set_xscale("log")
        ax.set_xlabel("epochs spent (all trials)")
        ax.legend(loc="lower right")
    axes[0].set_ylabel(f"best {n.VAL_SCORE} so far (mean of {report['replays']} seeds, 95% band)")
    axes[0].set_title("search methods")
    axes[1].set_title("the default, one setting changed")
    fig.suptitle(f"Studies replayed on the text landscape ({report['landscape']['configs']} "
                 f"configs of {report['landscape']['epochs']} epochs)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
