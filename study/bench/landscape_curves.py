"""A landscape file read for replays: each config's curves by seed, and the curve a replayed
study's config gets (the surrogate's, plus drawn seed noise).

A proposed config's curve is the surrogate's (bench.surrogate) over the landscape's mean
curves, plus the seed noise of one of the landscape's repeats, drawn at random; its
comparison epochs (ASHA's clock) are those of its KL schedule.
"""

import math
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from cvae_study.models.schedules import comparison_epochs
from cvae_study.study import config, spaces
from cvae_study.study import landscape_file as lf
from cvae_study.study import names as n
from cvae_study.study.bench.surrogate import CurveSurrogate
from cvae_study.study.errors import UsageError

WORST = 0.0  # the objective's worst: a diverged epoch's value, and a missing epoch's


@dataclass(frozen=True)
class Landscape:
    """A landscape file, read: each config's searched values and its curves by seed."""

    path: Path
    header: dict[str, Any]
    params: list[dict[str, Any]]  # by config index
    curves: list[dict[int, list[float]]]  # by config index: train.seed -> val/score by epoch

    @classmethod
    def read(cls, path: Path, metric: str = n.VAL_SCORE) -> "Landscape":
        header, records = lf.read(path)
        if header is None:
            raise UsageError(f"--landscape {path}: no such file (write it with `cvae-study "
                             "bench landscape`)")
        by_config: dict[int, dict] = {}
        for record in records:
            entry = by_config.setdefault(record["config"], {"params": record["params"],
                                                            "curves": {}})
            entry["curves"][record["seed"]] = [v if v is not None else WORST
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
        return curve + [WORST] * (self.epochs - len(curve))

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
        self.rungs: dict[tuple, list[int]] = {}  # memo: by schedule, cycles, ratio

    @property
    def header_space(self) -> dict[str, dict]:
        return self.landscape.header["space"]

    def _rungs(self, schedule: str, cycles: int | None, ratio: float | None) -> list[int]:
        key = (schedule, cycles, ratio)
        if key not in self.rungs:
            values = {n.KL_SCHEDULE: schedule}
            if schedule == "cyclical":  # the cycle keys mean nothing otherwise
                values.update({"kl.cycles": cycles, "kl.ratio": ratio})
            kl = config.build(self.space.task, {**self.space.fixed, **values}).kl
            self.rungs[key] = comparison_epochs(kl, self.steps_per_epoch, self.landscape.epochs)
        return self.rungs[key]

    def __call__(self, params: dict[str, Any], rng: random.Random):
        curve = self.surrogate.predict(params)
        if self.noise:
            curve = [value + e for value, e in zip(curve, rng.choice(self.noise), strict=True)]
        schedule = params.get(n.KL_SCHEDULE, self.space.base.kl.schedule)
        return curve, self._rungs(schedule, params.get("kl.cycles"), params.get("kl.ratio"))


def _steps_per_epoch(space: spaces.SearchSpace) -> int:
    import torch

    from cvae_study.study.tasks.registry import make_task

    return make_task(space.task, space.base, torch.device("cpu")).steps_per_epoch
