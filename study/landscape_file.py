"""The landscape file: the learning curves of random configs of the text study.

The configs are drawn as a random-search study draws them (Optuna's RandomSampler over the
study's own define-by-run space, seeded), by default from the space of the search benches'
studies (SEARCH_SET). Each is trained for `epochs` epochs under train.seed 0 and its every
epoch recorded; the first `repeats` configs again under `repeat_seeds`, so the landscape
holds its own seed noise. `bench landscape` writes it (tune.landscape_grid), `bench search`
replays studies on it (bench.landscape_curves).

The file is JSON lines: a header (what was drawn, and how), then one line per finished run,
appended (and fsynced) as each run ends. Run again with the same file, it runs only what is
missing, so a landscape that takes hours is collected in pieces; a different header is an
error.

Below both of its users, so it imports neither tune nor bench, nor MLflow (the caller hands
in the header's provenance tags); Optuna only while drawing.
"""

import json
import math
import os
import platform
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cvae_study.study import names as n
from cvae_study.study import spaces
from cvae_study.study.errors import UsageError

# The space of the search benches' studies, `bench sweep`'s real ones and the landscapes
# their replays run on: the default text space at hidden 128, 200-verb evaluations, so a
# study fits a bench run. Here, the lowest module that needs it.
SEARCH_SET = {"model.hidden_size": 128, "eval.verbs": 200}
HEADER = "landscape"
# Kept per epoch: the objective, its parts, and what explains them.
CURVE_METRICS = (n.VAL_SCORE, n.VAL_BLEU4, n.VAL_GAUSSIAN, n.VAL_BLEU4_SEEN, n.VAL_KL,
                 n.TRAIN_LOSS, n.TRAIN_KL)


class LandscapeError(UsageError):
    """A landscape file that cannot be continued as asked."""


@dataclass(frozen=True)
class LandscapePlan:
    epochs: int
    configs: int
    repeats: int = 10  # configs run again under every repeat seed
    repeat_seeds: tuple[int, ...] = (1, 2)
    draw_seed: int = 0
    task: str = "text"
    overrides: dict[str, Any] = field(default_factory=dict)

    @property
    def fixed(self) -> dict[str, Any]:
        return {**SEARCH_SET, **self.overrides, "train.epochs": self.epochs}

    def header(self, space: spaces.SearchSpace) -> dict[str, Any]:
        """What makes two pieces of a landscape the same landscape (not `configs`: a later
        piece may draw more, the same draws first)."""
        typed = space.base_flat
        return {"kind": HEADER, "task": self.task, "epochs": self.epochs,
                "draw_seed": self.draw_seed, "fixed": {key: typed[key] for key in self.fixed},
                "space": spaces.describe(space)["searched"],
                "metric": n.DEFAULT_OBJECTIVE[self.task]}

    def check(self) -> None:
        for flag, value, low in (("--epochs", self.epochs, 1), ("--configs", self.configs, 1),
                                 ("--repeats", self.repeats, 0)):
            if value < low:
                raise LandscapeError(f"{flag} {value}: must be at least {low}")
        if self.repeats > self.configs:
            raise LandscapeError(f"--repeats {self.repeats}: more than --configs {self.configs}")
        if 0 in self.repeat_seeds:
            raise LandscapeError("repeat seeds: 0 is every config's first seed")


def space_of(plan: LandscapePlan) -> spaces.SearchSpace:
    return spaces.build_space(plan.task, overrides=plan.fixed)


def draw(space: spaces.SearchSpace, count: int, seed: int) -> list[dict[str, Any]]:
    """The searched values of the first `count` configs a random-search study would try."""
    import optuna  # here: reading a landscape needs no Optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=seed))
    suggest = spaces.SpaceSampler(space)
    drawn = []
    for _ in range(count):
        trial = study.ask()
        suggest(trial)
        drawn.append(dict(trial.params))
    return drawn


@dataclass(frozen=True)
class Run:
    config: int  # index of the drawn config
    seed: int  # train.seed

    @property
    def key(self) -> str:
        return f"c{self.config:04d}-s{self.seed}"


def runs_of(plan: LandscapePlan) -> list[Run]:
    """Every run, the repeats of a config right after its first run: a landscape collected
    in pieces holds its seed noise from the first piece on."""
    return [Run(i, seed) for i in range(plan.configs)
            for seed in (0, *(plan.repeat_seeds if i < plan.repeats else ()))]


def read(path: Path) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
    """-> (header, run records); a line cut short by a killed run is dropped (it reruns)."""
    if not path.exists():
        return None, []
    header, records = None, []
    lines = path.read_text().splitlines()
    for number, line in enumerate(lines, start=1):
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            if number == len(lines):
                break  # the last line, cut short when the process died
            raise LandscapeError(f"{path}:{number}: not a JSON line") from None
        if number == 1:
            if record.get("kind") != HEADER:
                raise LandscapeError(f"{path}:1: not a landscape file (no header line)")
            header = record
        else:
            records.append(record)
    return header, records


def check_same(path: Path, saved: dict[str, Any], wanted: dict[str, Any]) -> None:
    for key in wanted:
        if saved.get(key) != wanted[key]:
            raise LandscapeError(f"{path}: was drawn with {key} = {saved.get(key)!r}, not "
                                 f"{wanted[key]!r}; continue it as it began or choose another "
                                 "--out")


def pending(plan: LandscapePlan, path: Path, tags: Mapping[str, str] | None = None,
            ) -> tuple[list[Run], dict[str, dict[str, Any]]]:
    """Check the file against the plan (writing its header, with the provenance `tags`, if
    new) -> (runs still to do, the full flat config of each by run key)."""
    plan.check()
    space = space_of(plan)
    header = plan.header(space)
    saved, records = read(path)
    if saved is None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({**header, **_provenance(tags)}) + "\n")
    else:
        check_same(path, saved, header)
    done = {Run(record["config"], record["seed"]) for record in records}
    drawn = draw(space, plan.configs, plan.draw_seed)
    todo = [run for run in runs_of(plan) if run not in done]
    configs = {run.key: {**space.trial_config(drawn[run.config]), "train.seed": run.seed}
               for run in todo}
    return todo, configs


def _provenance(tags: Mapping[str, str] | None) -> dict[str, Any]:
    return {"started": time.strftime("%Y-%m-%d %H:%M:%S"), "python": platform.python_version(),
            "tags": dict(tags or {})}


def record_line(run: Run, params: dict[str, Any], curves: dict[str, list[float]],
                outcome: str, seconds: float) -> str:
    return json.dumps({"config": run.config, "seed": run.seed, "params": params,
                       "outcome": outcome, "curves": curves, "seconds": round(seconds, 1)},
                      allow_nan=False) + "\n"


def append_run(path: Path, run: Run, params: dict[str, Any], curves: dict[str, list[float]],
               outcome: str, seconds: float) -> None:
    """One finished run's line, on disk before the next run ends (fsync): a killed
    collection loses only the runs in flight."""
    with open(path, "a") as handle:
        handle.write(record_line(run, params, curves, outcome, seconds))
        handle.flush()
        os.fsync(handle.fileno())


def finite(value: Any) -> float | None:
    """A value as the file keeps it: JSON has no NaN, so a missing or non-finite one is
    None."""
    return float(value) if isinstance(value, int | float) and math.isfinite(value) else None
