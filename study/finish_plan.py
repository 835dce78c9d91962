"""What a finish runs: a study's finalists (its winner, its K best, a chosen trial, or the
trials of its Pareto front) trained at full length under fresh seeds. No Ray, no MLflow.

A search scores each trial once, on the seed it ran with, and keeps the best score: the
winner's number is the maximum of noisy estimates, optimistic by construction (the
winner's curse). Seeds the search never used measure the configuration, not that luck.
"""

from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from cvae_study.study.options import FinishError


@dataclass(frozen=True)
class Finalist:
    """A completed trial of the study, as the search scored it."""

    trial_id: str
    config: dict[str, Any]  # its full flat config
    search_value: float  # the objective at its last epoch in the search
    search_epochs: int
    search_seed: int


@dataclass
class FinishPlan:
    metric: str
    mode: str
    epochs: int
    seeds: list[int]
    finalists: dict[str, Finalist] = field(default_factory=dict)  # by trial id, best first

    def describe(self) -> dict[str, Any]:
        """finish/plan.json: what the report and export read back."""
        return {"metric": self.metric, "mode": self.mode, "epochs": self.epochs,
                "seeds": self.seeds,
                "finalists": {name: asdict(finalist) for name, finalist in self.finalists.items()}}

    @classmethod
    def from_description(cls, kept: dict[str, Any]) -> "FinishPlan":
        return cls(kept["metric"], kept["mode"], kept["epochs"], kept["seeds"],
                   {name: Finalist(**finalist) for name, finalist in kept["finalists"].items()})

    def config(self, name: str) -> dict[str, Any]:
        """A finalist's full flat config at the finish's length (the grid sets the seed)."""
        return {**self.finalists[name].config, "train.epochs": self.epochs}


def fresh_seeds(used: Iterable[int], count: int) -> list[int]:
    """The `count` smallest non-negative seeds not in `used`."""
    taken, seeds, seed = set(used), [], 0
    while len(seeds) < count:
        if seed not in taken:
            seeds.append(seed)
        seed += 1
    return seeds


def ranked(completed: Sequence[Finalist], mode: str) -> list[Finalist]:
    """Best first by the search's value (ties: by trial id, so the order is stable)."""
    sign = -1 if mode == "max" else 1
    return sorted(completed, key=lambda f: (sign * f.search_value, f.trial_id))


def choose(completed: Sequence[Finalist], mode: str, *, study: str, trial: str | None = None,
           top: int | None = None, front: Sequence[str] = ()) -> list[Finalist]:
    """The finalists: the named trial; else of a study of several objectives, the trials of
    its recorded `front` (the first `top` of them by the first objective); else the `top`
    best (default 1, the winner)."""
    if not completed:
        raise FinishError(f"study {study!r} has no completed trial to finish")
    if trial is not None:
        chosen = [f for f in completed if f.trial_id == trial]
        if not chosen:
            raise FinishError(f"--trial {trial}: study {study!r} has no completed trial "
                              f"{trial!r}; its completed trials: "
                              f"{', '.join(f.trial_id for f in ranked(completed, mode))}")
        return chosen
    if front:
        on_front = [f for f in ranked(completed, mode) if f.trial_id in set(front)]
        return on_front[:top] if top else on_front
    return ranked(completed, mode)[:top or 1]
