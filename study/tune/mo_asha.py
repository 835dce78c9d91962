"""Asynchronous successive halving on several objectives at once (MO-ASHA).

Ray's ASHA ranks trials on one metric, and Ray has no multi-objective early stopping
(ray-project/ray#8018 suggests a weighted sum). This is ASHA with Ray's structure (one
bracket, rungs at grace_period * reduction_factor**k up to max_t) whose rungs rank by
objective vectors, as MO-ASHA does (Schmucker et al. 2021, "Multi-objective Asynchronous
Successive Halving"): by Pareto front, then by crowding distance (NSGA-II).

The rung rule. A trial reaching a rung is recorded there and ranked among the rung's n
results so far (its own included); it continues when fewer than n / reduction_factor of
them rank strictly ahead of it (study.pareto.ParetoRanking.places_ahead), i.e. when it is in
the top ceil(n / reduction_factor). As in Ray's ASHA, the first result at a rung always
continues and every later one is decided at once, against the results already there (Ray:
stop when below the (1 - 1/rf) percentile of the earlier results, so the second trial stops
when it is worse than the first). With one objective and a reduction factor of 2 or more
the decision is Ray's, ties included, unless the new result lies between the two earlier
results Ray's percentile interpolates between: there Ray's depends on the values, this one
on the rank alone (tests/test_pareto.py compares the two on random results).

Three differences from Ray's _Bracket, on purpose. A trial is judged only at the highest
rung its clock has reached: a clock that jumps a rung (RUNG_EPOCH with a cyclical KL
schedule) skips it, where Ray's would judge it there later on a mid-cycle score (with its
default stop_last_trials, which tune.search.make_scheduler turns off for that). A result
missing an objective is not skipped: it counts as the worst value there is on that
objective. A NaN ranks last (Ray lets it pass:
NaN < cutoff is false).
"""

import math
import pickle
from collections.abc import Mapping, Sequence

from ray.tune.schedulers import FIFOScheduler, TrialScheduler

from cvae_study.study import names as n
from cvae_study.study.pareto import MODES, pareto_ranking


class _Rung:
    """The objective vectors recorded at one milestone, by trial id (plain data: pickles)."""

    def __init__(self, milestone: float):
        self.milestone = milestone
        self.recorded: dict[str, tuple[float, ...]] = {}

    def admits(self, trial_id: str, objectives: tuple[float, ...], modes: Sequence[str],
               reduction_factor: float) -> bool:
        """Record the trial's objectives -> whether it is in the rung's top 1 / rf."""
        self.recorded[trial_id] = objectives
        ranking = pareto_ranking(list(self.recorded.values()), modes)
        newest = len(self.recorded) - 1  # dicts keep insertion order
        return ranking.places_ahead(newest) < len(self.recorded) / reduction_factor


class MultiObjectiveASHA(FIFOScheduler):
    """ASHA that stops a trial unless it ranks in the top 1 / reduction_factor of its rung
    by Pareto front, then crowding distance, over `metrics` (each with its mode).

    Its objectives are its own: Tune's TuneConfig gives it no metric (with several
    objectives there is no single one), and one given there is refused, as Ray's ASHA
    refuses one when it was built with its own."""

    def __init__(self, metrics: Sequence[str], modes: Sequence[str], max_t: float,
                 grace_period: float = 1, reduction_factor: float = 3,
                 time_attr: str = n.RUNG_EPOCH):
        _check(metrics, modes, max_t, grace_period, reduction_factor)
        super().__init__()
        self._metrics = tuple(metrics)
        self._modes = tuple(modes)
        self._max_t = max_t
        self._reduction_factor = reduction_factor
        self._time_attr = time_attr
        self._rungs = [_Rung(milestone) for milestone in
                       _milestones(grace_period, reduction_factor, max_t)]
        self._num_stopped = 0

    @property
    def milestones(self) -> tuple[float, ...]:
        return tuple(rung.milestone for rung in self._rungs)

    def set_search_properties(self, metric: str | None, mode: str | None, **spec) -> bool:
        # Tune's strict metric check reads `metric`: it stays None, as no result holds a
        # key that names several objectives.
        return metric is None and mode is None

    def on_trial_result(self, tune_controller, trial, result: dict) -> str:
        if self._time_attr not in result:
            return TrialScheduler.CONTINUE
        if result[self._time_attr] >= self._max_t:
            action = TrialScheduler.STOP
        else:
            action = self._judge(trial.trial_id, result)
        if action == TrialScheduler.STOP:
            self._num_stopped += 1
        return action

    def on_trial_complete(self, tune_controller, trial, result: dict) -> None:
        # A trial's last result counts at its rung for those that come later (Ray's too).
        if self._time_attr in result:
            self._judge(trial.trial_id, result)

    def debug_string(self) -> str:
        rungs = " | ".join(f"{self._time_attr} {rung.milestone}: {len(rung.recorded)} results"
                           for rung in self._rungs)
        return f"Using MultiObjectiveASHA: num_stopped={self._num_stopped}\n{rungs}"

    def save(self, checkpoint_path: str) -> None:
        with open(checkpoint_path, "wb") as file:
            pickle.dump(self.__dict__, file)

    def restore(self, checkpoint_path: str) -> None:
        with open(checkpoint_path, "rb") as file:
            self.__dict__.update(pickle.load(file))

    def _judge(self, trial_id: str, result: Mapping) -> str:
        """Decide at the highest rung the trial's clock has reached, once per rung."""
        reached = [rung for rung in self._rungs if rung.milestone <= result[self._time_attr]]
        if not reached or trial_id in reached[-1].recorded:
            return TrialScheduler.CONTINUE
        admitted = reached[-1].admits(trial_id, self._objectives(result), self._modes,
                                      self._reduction_factor)
        return TrialScheduler.CONTINUE if admitted else TrialScheduler.STOP

    def _objectives(self, result: Mapping) -> tuple[float, ...]:
        """The result's objective vector; a missing objective is the worst there is."""
        pairs = zip(self._metrics, self._modes, strict=True)
        return tuple(float(result[metric]) if result.get(metric) is not None else _worst(mode)
                     for metric, mode in pairs)


def _worst(mode: str) -> float:
    return -math.inf if mode == "max" else math.inf


def _milestones(grace_period: float, reduction_factor: float,
                max_t: float) -> list[float]:
    """grace_period * reduction_factor**k for k = 0, 1, ... up to max_t, as Ray's ASHA
    (counted by multiplying, where Ray's logarithm can lose the last rung to rounding)."""
    milestones = [grace_period]
    while milestones[-1] * reduction_factor <= max_t:
        milestones.append(milestones[-1] * reduction_factor)
    return milestones


def _check(metrics: Sequence[str], modes: Sequence[str], max_t: float,
           grace_period: float, reduction_factor: float) -> None:
    if not metrics or len(metrics) != len(modes):
        raise ValueError(f"one mode per metric: {list(metrics)} with {list(modes)}")
    if any(mode not in MODES for mode in modes):
        raise ValueError(f"modes must be 'max' or 'min', not {list(modes)}")
    if not 0 < grace_period <= max_t:
        raise ValueError(f"grace_period {grace_period} must be in (0, max_t = {max_t}]")
    if reduction_factor <= 1:
        raise ValueError(f"reduction_factor {reduction_factor} must be above 1")
