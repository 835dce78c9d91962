"""What an ablation runs (Fawcett & Hoos 2016): which knobs differ between a baseline and a
target configuration, and the variants that isolate each one. No Ray, no MLflow.

A knob is a searched key; kl.cycles and kl.ratio only mean something under a cyclical
schedule, so when kl.schedule differs they move with it as one knob named kl.schedule,
and when the schedule is the same and not cyclical they are no knob at all.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from cvae_study.study import names as n
from cvae_study.study.options import AblationError
from cvae_study.study.spaces import CYCLICAL_ONLY

LEAVE_ONE_OUT, PATH = "leave_one_out", "path"
TARGET, BASELINE, WITHOUT, STEP = "target", "baseline", "without", "path"
SCHEDULE = n.KL_SCHEDULE


@dataclass(frozen=True)
class Variant:
    role: str  # target | baseline | without | path
    changes: dict[str, Any]  # flat keys set relative to the target
    knob: str | None = None
    step: int | None = None


@dataclass
class Plan:
    design: str
    metric: str
    mode: str
    seeds: list[int]
    epochs: int
    baseline_trial: str
    target_trial: str
    knobs: dict[str, list[str]]  # knob -> the config keys it moves
    variants: dict[str, Variant] = field(default_factory=dict)
    path: list[dict[str, Any]] = field(default_factory=list)  # chosen knob per step

    def describe(self) -> dict[str, Any]:
        """plan.json: what the report reads back."""
        return {"design": self.design, "metric": self.metric, "mode": self.mode,
                "seeds": self.seeds, "epochs": self.epochs,
                "baseline_trial": self.baseline_trial, "target_trial": self.target_trial,
                "knobs": self.knobs, "path": self.path,
                "variants": {name: {"role": v.role, "knob": v.knob, "step": v.step,
                                    "changes": v.changes}
                             for name, v in self.variants.items()}}


def differing_knobs(searched: Sequence[str], baseline: Mapping[str, Any],
                    target: Mapping[str, Any], wanted: Sequence[str] = ()) -> dict[str, list[str]]:
    """The knobs where target and baseline differ -> the keys each moves; `wanted`
    (--knobs) restricts them, and names a knob the study did not search."""
    unknown = [knob for knob in wanted if knob not in searched]
    if unknown:
        raise AblationError(f"--knobs {unknown[0]}: the study did not search it; it searched "
                            f"{', '.join(searched)}")
    schedules = (baseline.get(SCHEDULE), target.get(SCHEDULE))
    knobs: dict[str, list[str]] = {}
    for key in searched:
        if key in CYCLICAL_ONLY:
            if schedules[0] != schedules[1] or "cyclical" not in schedules:
                continue  # moves with kl.schedule, or means nothing
        if baseline.get(key) != target.get(key):
            knobs[key] = [key]
    if schedules[0] != schedules[1] and SCHEDULE in searched:
        knobs[SCHEDULE] = [SCHEDULE] + [key for key in CYCLICAL_ONLY if key in searched]
    if wanted:
        knobs = {knob: keys for knob, keys in knobs.items() if knob in wanted}
    return knobs


def _set(keys: Sequence[str], source: Mapping[str, Any]) -> dict[str, Any]:
    return {key: source[key] for key in keys}


def leave_one_out(plan: Plan, baseline: Mapping[str, Any]) -> Plan:
    """The target, the baseline, and the target with each knob set back to the baseline."""
    every_key = [key for keys in plan.knobs.values() for key in keys]
    plan.variants = {"target": Variant(TARGET, {}),
                     "baseline": Variant(BASELINE, _set(every_key, baseline))}
    for knob, keys in plan.knobs.items():
        plan.variants[f"without {knob}"] = Variant(WITHOUT, _set(keys, baseline), knob)
    return plan


def path_start(plan: Plan, baseline: Mapping[str, Any]) -> Plan:
    """The path's fixed ends: the target and the baseline; steps are added as they run."""
    every_key = [key for keys in plan.knobs.values() for key in keys]
    plan.variants = {"target": Variant(TARGET, {}),
                     "baseline": Variant(BASELINE, _set(every_key, baseline))}
    return plan


def path_candidates(plan: Plan, baseline: Mapping[str, Any]) -> dict[str, Variant]:
    """The next step's candidates: the knobs chosen so far at the target's values, plus one
    more; every other knob at the baseline's. None left: the path is complete."""
    chosen = [step["knob"] for step in plan.path]
    remaining = [knob for knob in plan.knobs if knob not in chosen]
    step = len(chosen) + 1
    candidates = {}
    for knob in remaining:
        at_baseline = [key for other in remaining if other != knob
                       for key in plan.knobs[other]]
        candidates[f"step {step}: +{knob}"] = Variant(STEP, _set(at_baseline, baseline),
                                                      knob, step)
    return candidates


def best_candidate(means: Mapping[str, float], mode: str) -> str:
    """The candidate whose mean over the seeds is best (ties: the first in order)."""
    sign = 1 if mode == "max" else -1
    return max(means, key=lambda name: sign * means[name])


def variant_config(target: Mapping[str, Any], variant: Variant, seed: int,
                   epochs: int) -> dict[str, Any]:
    """A variant's full flat config at one seed."""
    return {**target, **variant.changes, "train.seed": seed, "train.epochs": epochs}
