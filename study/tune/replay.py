"""A study replayed on a learning-curve landscape, with the sweep's own search code.

The searcher is the one `sweep` builds (StudySearch over the study's define-by-run space,
make_sampler's TPE or random) and the scheduler Ray's own ASHA as make_scheduler builds it;
they are called as Tune's controller calls them (suggest when a slot frees; each result to
the scheduler, then to the searcher unless the trial stops; on_trial_complete with the
result that ended it). Only the training is replaced: a trial's epoch k reports point k of
the curve the landscape gives its config, and every epoch of every trial takes one unit
of a clock shared by `workers` slots, so what a study spends is counted in epochs.
"""

import heapq
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from ray.tune.schedulers import TrialScheduler

from cvae_study.study import names as n
from cvae_study.study import spaces, warm_start
from cvae_study.study.tune.search import (
    REDUCTION_FACTOR,
    StudySearch,
    make_scheduler,
    make_searcher,
)

# params, rng -> (per-epoch objective, shorter than the study's epochs if it diverged;
# the epochs after which it may be compared: models.schedules.comparison_epochs)
CurveSource = Callable[[dict[str, Any], random.Random], tuple[list[float], list[int]]]


@dataclass(frozen=True)
class Method:
    name: str
    sampler: str = "tpe"  # tpe | random
    brackets: int = 0  # 0: no early stopping; 1: ASHA; more: asynchronous Hyperband
    warm_start: bool = False  # seeded with the trials of another replayed study
    startup: int | None = None  # TPE's random start-up trials; None: make_sampler's rule
    reduction_factor: float = REDUCTION_FACTOR


@dataclass(frozen=True)
class _TrialStub:
    """What Ray's ASHA reads of a Tune trial: its id."""
    trial_id: str


@dataclass
class _Running:
    trial_id: str
    curve: list[float]
    rungs: list[int]
    epoch: int = 0


@dataclass
class Replay:
    values: list[float] = field(default_factory=list)  # every reported epoch, in order
    trials: int = 0
    stopped: list[str] = field(default_factory=list)  # trial ids ASHA stopped
    study: Any = None  # the searcher's Optuna study, as the search left it


def replay(space: spaces.SearchSpace, curves: CurveSource, method: Method, seed: int,
           budget: int, workers: int = 2, num_samples: int | None = None,
           prior: Sequence[warm_start.PriorTrial] = ()) -> Replay:
    """One study of `method` until it has spent `budget` epochs (or run `num_samples`
    trials, by default more than the budget holds: the budget ends it)."""
    metric, epochs = n.DEFAULT_OBJECTIVE[space.task], space.base.train.epochs
    mode = n.OBJECTIVES[space.task][metric][0]
    num_samples = num_samples or budget
    searcher = make_searcher(spaces.SpaceSampler(space), metric, mode, seed, num_samples,
                             search=method.sampler, startup=method.startup)
    if prior:
        warm_start.add_to(searcher.optuna_study, space, list(prior))
    scheduler = (make_scheduler(metric, mode, epochs, method.brackets, method.reduction_factor)
                 if method.brackets else None)
    np.random.seed(seed)  # Ray's ASHA puts a trial in a bracket with numpy's global RNG
    controller = _Controller(searcher, scheduler, curves, random.Random(seed), metric, epochs)
    controller.run(budget, workers, num_samples)
    return controller.result


@dataclass
class _Controller:
    """Tune's controller loop, as the searcher and the scheduler see it: a trial starts
    when a slot frees, and each epoch's report goes to the scheduler, then to the searcher."""

    searcher: StudySearch
    scheduler: TrialScheduler | None
    curves: CurveSource
    rng: random.Random
    metric: str
    epochs: int
    result: Replay = field(default_factory=Replay)
    # (time of its next report, start order, trial): the next report due comes first
    clock: list[tuple[int, int, _Running]] = field(default_factory=list)

    def run(self, budget: int, workers: int, num_samples: int) -> None:
        now = 0
        while len(self.result.values) < budget:
            while len(self.clock) < workers and self.result.trials < num_samples:
                self._start(now)
            if not self.clock:
                break
            now, order, trial = heapq.heappop(self.clock)
            if self._report(trial):
                heapq.heappush(self.clock, (now + 1, order, trial))
        self.result.study = self.searcher.optuna_study

    def _start(self, now: int) -> None:
        trial_id = f"{self.result.trials:05d}"
        params = self.searcher.suggest(trial_id)
        curve, rungs = self.curves(params, self.rng)
        if self.scheduler:
            self.scheduler.on_trial_add(None, _TrialStub(trial_id))
        heapq.heappush(self.clock, (now + 1, self.result.trials, _Running(trial_id, curve, rungs)))
        self.result.trials += 1

    def _report(self, trial: _Running) -> bool:
        """The trial's next epoch, reported -> whether it runs on (it neither ended nor was
        stopped); the result that ends it goes to on_trial_complete only, as in Tune."""
        trial.epoch += 1
        report = _result(trial, self.metric, self.epochs)
        self.result.values.append(report[self.metric])
        stub = _TrialStub(trial.trial_id)
        decision = (self.scheduler.on_trial_result(None, stub, report) if self.scheduler
                    else TrialScheduler.CONTINUE)
        running = report[n.OUTCOME] == n.RUNNING
        if running and decision != TrialScheduler.STOP:
            self.searcher.on_trial_result(trial.trial_id, report)
            return True
        if running:
            self.result.stopped.append(trial.trial_id)
        self.searcher.on_trial_complete(trial.trial_id, report)
        if self.scheduler:
            self.scheduler.on_trial_complete(None, stub, report)
        return False


def _result(trial: _Running, metric: str, epochs: int) -> dict[str, Any]:
    """What run_trial reports after epoch `trial.epoch`."""
    value = trial.curve[trial.epoch - 1]
    if trial.epoch == len(trial.curve) < epochs:
        outcome = n.DIVERGED
    else:
        outcome = n.COMPLETED if trial.epoch == epochs else n.RUNNING
    rung = trial.epoch if outcome == n.DIVERGED else max(
        (e for e in trial.rungs if e <= trial.epoch), default=0)
    return {metric: value, "training_iteration": trial.epoch, n.RUNG_EPOCH: rung,
            n.OUTCOME: outcome}
