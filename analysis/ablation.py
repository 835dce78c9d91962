"""An ablation's MLflow records -> paired effects over seeds: which knob mattered.

`cvae-study ablate NAME` trains variants of the study's best trial (the target) under the
same training seeds: the baseline, the target with one knob set back (leave-one-out), or
the steps of a greedy path from the baseline to the target. A variant's effect is
variant - target, paired by seed; the noise floor is how much the target's own value moves
between seeds. Only completed runs count: a diverged seed is no measurement of the knob.
"""

import math
from dataclasses import dataclass
from typing import Any

import pandas as pd

from cvae_study.study import names as n
from cvae_study.study.ablation_plan import BASELINE, PATH, TARGET
from cvae_study.study.statistics import (
    Effect,
    Interval,
    mean_interval,
    noise_floor,
    paired_effect,
)
from cvae_study.study.tracking.store import load_json_artifact, open_client, require_study_parent
from cvae_study.study.tracking.trials import latest_ablation

# Shown beside the objective, so a reader sees what a variant trades for it.
SECONDARY = (n.VAL_BLEU4, n.VAL_BLEU4_SEEN, n.VAL_GAUSSIAN, n.VAL_MORPH, n.VAL_KL,
             n.VAL_ACTIVE_UNITS, n.VAL_PSNR)
MAX_RUNS = 5000
EFFECT_COLUMNS = ["variant", "knob", "role", "step", "metric", "effect", "ci95_low",
                  "ci95_high", "n", "spread", "verdict"]
MEAN_COLUMNS = ["variant", "metric", "mean", "ci95_low", "ci95_high", "n"]
PATH_COLUMNS = ["step", "knob", "variant", "mean", "ci95_low", "ci95_high", "n", "gain",
                "fraction", "cumulative"]


@dataclass
class AblationTables:
    study: str
    parent: Any  # the ablation's parent mlflow Run
    plan: dict[str, Any]  # ablation/plan.json; its target and baseline bear their roles' names
    finals: pd.DataFrame  # variant, seed, metric, value: completed runs only
    runs: pd.DataFrame  # variant, seed, outcome: every run, to say what did not complete
    configs: dict[str, dict[str, str]]  # variant -> the params (flat config) of one run

    @property
    def metric(self) -> str:
        return self.plan["metric"]

    @property
    def mode(self) -> str:
        return self.plan["mode"]

    @property
    def design(self) -> str:
        return self.plan["design"]

    @property
    def variants(self) -> dict[str, dict[str, Any]]:
        return self.plan["variants"]

    def compared(self) -> list[str]:
        """Every variant but the target, in the plan's order."""
        return [name for name in self.variants if name != TARGET]

    def metrics(self) -> list[str]:
        """The objective, then the secondary metrics the runs logged."""
        logged = set(self.finals["metric"])
        return [self.metric] + [key for key in SECONDARY if key in logged and key != self.metric]

    def values(self, variant: str, metric: str | None = None) -> dict[int, float]:
        """seed -> the variant's final value of `metric` (default: the objective)."""
        rows = self.finals[(self.finals["variant"] == variant)
                           & (self.finals["metric"] == (metric or self.metric))]
        return dict(zip(rows["seed"], rows["value"], strict=True))


def _tables(study_name: str, parent, plan: dict, runs) -> AblationTables:
    """The ablation's runs, oldest first, as tables: a (variant, seed) run again replaces
    its earlier run."""
    outcomes, finals, configs = [], [], {}
    for run in runs:
        tags = run.data.tags
        variant, seed = tags[n.VARIANT], int(tags[n.SEED])
        outcome = tags.get(n.OUTCOME, n.RUNNING)
        outcomes.append({"variant": variant, "seed": seed, "outcome": outcome})
        configs[variant] = run.data.params
        if outcome == n.COMPLETED:
            finals += [{"variant": variant, "seed": seed, "metric": key, "value": value}
                       for key, value in run.data.metrics.items() if not n.is_kl_dim(key)]
    keys = ["variant", "seed"]
    runs_table = pd.DataFrame(outcomes, columns=[*keys, "outcome"])
    finals_table = pd.DataFrame(finals, columns=[*keys, "metric", "value"])
    return AblationTables(study_name, parent, plan,
                          finals_table.drop_duplicates([*keys, "metric"], keep="last"),
                          runs_table.drop_duplicates(keys, keep="last"), configs)


def load_ablation(uri: str, study_name: str) -> AblationTables | None:
    """Read the study's latest ablation; None when it has none (or its plan is not written
    yet). StudyNotFound when there is no such study."""
    client = open_client(uri)
    parent = latest_ablation(client, require_study_parent(client, study_name),
                             finished_only=False)
    if parent is None:
        return None
    plan = load_json_artifact(client, parent.info.run_id, n.ABLATION_PLAN)
    if plan is None:
        return None
    runs = client.search_runs(
        [parent.info.experiment_id],
        f"{n.ABLATION_RUN_FILTER} and {n.children_filter(parent.info.run_id)}",
        order_by=["attributes.start_time ASC"], max_results=MAX_RUNS)
    return _tables(study_name, parent, plan, runs)


def effect_of(ab: AblationTables, variant: str, reference: str = TARGET,
              metric: str | None = None) -> Effect:
    """variant - reference, paired by seed, judged against the target's own seed noise."""
    floor = noise_floor(list(ab.values(TARGET, metric).values()))
    return paired_effect(ab.values(variant, metric), ab.values(reference, metric), floor)


def effects(ab: AblationTables) -> pd.DataFrame:
    """One row per variant but the target, per metric (the objective first): its effect
    (variant - target, whatever the metric's direction), 95% interval, n, spread, verdict."""
    rows = []
    for metric in ab.metrics():
        for name in ab.compared():
            spec, effect = ab.variants[name], effect_of(ab, name, metric=metric)
            rows.append({"variant": name, "knob": spec["knob"], "role": spec["role"],
                         "step": spec["step"], "metric": metric, "effect": effect.mean,
                         "ci95_low": effect.low, "ci95_high": effect.high, "n": effect.n,
                         "spread": effect.spread, "verdict": effect.verdict})
    return pd.DataFrame(rows, columns=EFFECT_COLUMNS)


@dataclass(frozen=True)
class Noise:
    metric: str
    floor: float  # the standard deviation of the target's objective over seeds
    target: Interval  # the target's mean objective and its 95% interval


def noise(ab: AblationTables) -> Noise:
    """What reseeding alone does to the objective: the yardstick of every effect."""
    values = list(ab.values(TARGET).values())
    return Noise(ab.metric, noise_floor(values), mean_interval(values))


def variant_means(ab: AblationTables) -> pd.DataFrame:
    """Each variant's mean of each metric over its seeds, with 95% intervals (the target
    first): the trade-offs a knob makes beside the objective."""
    rows = []
    for name in [TARGET, *ab.compared()]:
        for metric in ab.metrics():
            interval = mean_interval(list(ab.values(name, metric).values()))
            rows.append({"variant": name, "metric": metric, "mean": interval.mean,
                         "ci95_low": interval.low, "ci95_high": interval.high,
                         "n": interval.n})
    return pd.DataFrame(rows, columns=MEAN_COLUMNS)


def path_table(ab: AblationTables) -> pd.DataFrame:
    """Path design: the objective after each step from the baseline (step 0), the step's
    gain, and the fraction of the total gain (target - baseline) it explains, cumulative
    too. Empty for another design."""
    if ab.design != PATH:
        return pd.DataFrame(columns=PATH_COLUMNS)
    means = {name: mean_interval(list(ab.values(name).values())) for name in ab.variants}
    total = means[TARGET].mean - means[BASELINE].mean
    steps = [{"step": 0, "knob": None, "variant": BASELINE}, *ab.plan.get("path", [])]
    rows, previous = [], None
    for step in steps:
        interval = means[step["variant"]]
        gain = interval.mean - previous if previous is not None else math.nan
        rows.append({"step": step["step"], "knob": step["knob"], "variant": step["variant"],
                     "mean": interval.mean, "ci95_low": interval.low,
                     "ci95_high": interval.high, "n": interval.n, "gain": gain,
                     "fraction": _share(gain, total),
                     "cumulative": _share(interval.mean - means[BASELINE].mean, total)})
        previous = interval.mean
    return pd.DataFrame(rows, columns=PATH_COLUMNS)


def _share(part: float, total: float) -> float:
    return part / total if total and math.isfinite(total) else math.nan
