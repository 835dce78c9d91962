"""What the ablation's figures draw: each variant's paired effect on the objective with the
noise floor (the forest plot), and the objective along a path's steps."""

from dataclasses import dataclass

import pandas as pd

from cvae_study.analysis.ablation import AblationTables, effects, noise, path_table


@dataclass(frozen=True)
class ForestInfo:
    metric: str
    # the objective's effects (variant, effect, ci95_low, ci95_high, n), the smallest |effect|
    # first: drawn bottom up, so the largest is on top
    effects: pd.DataFrame
    floor: float  # the noise floor: what reseeding alone moves the objective by


def forest_info(ab: AblationTables) -> ForestInfo | None:
    table = effects(ab)
    table = table[(table["metric"] == ab.metric) & table["effect"].notna()]
    if table.empty:
        return None
    table = table.assign(size=table["effect"].abs()).sort_values("size")
    return ForestInfo(ab.metric, table, noise(ab).floor)


@dataclass(frozen=True)
class PathInfo:
    metric: str
    steps: pd.DataFrame  # ablation.path_table: the objective after each step
    labels: list[str]  # per step: baseline, +knob, ...
    target: float  # the target's mean objective over seeds


def path_info(ab: AblationTables) -> PathInfo | None:
    """None for a design without a path (leave-one-out) or a path not yet measured."""
    table = path_table(ab)
    if table.empty:
        return None
    labels = ["baseline", *(f"+{knob}" for knob in table["knob"].iloc[1:])]
    return PathInfo(ab.metric, table, labels, noise(ab).target.mean)
