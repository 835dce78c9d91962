"""The multi-objective ASHA (study.tune.mo_asha): called as Tune's controller calls it,
checked against Ray's own ASHA on one objective, and in a real Tune run."""

import os
import pickle
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import ray
from ray import tune
from ray.tune.schedulers import ASHAScheduler, TrialScheduler

from cvae_study.study import names as n
from cvae_study.study.pareto import pareto_ranking
from cvae_study.study.tune.mo_asha import MultiObjectiveASHA

CONTINUE, STOP = TrialScheduler.CONTINUE, TrialScheduler.STOP
BLEU, SECONDS = n.VAL_BLEU4, n.EPOCH_SECONDS
MODES = ("max", "min")  # BLEU up, seconds down


# ---- the scheduler, called as Tune's controller calls it -------------------------------------


@dataclass(frozen=True)
class FakeTrial:
    trial_id: str


def scheduler(max_t=9, reduction_factor=3) -> MultiObjectiveASHA:
    return MultiObjectiveASHA((BLEU, SECONDS), MODES, max_t=max_t,
                              reduction_factor=reduction_factor)


def decide(chooser, trial_id: str, epoch: float, **metrics) -> str:
    """One result as Tune hands it over: bleu= and seconds= name the objectives."""
    names = {"bleu": BLEU, "seconds": SECONDS}
    result = {n.RUNG_EPOCH: epoch, **{names[key]: value for key, value in metrics.items()}}
    return chooser.on_trial_result(None, FakeTrial(trial_id), result)


def test_rungs_as_ray_places_them():
    assert scheduler(max_t=9).milestones == (1, 3, 9)
    assert scheduler(max_t=4).milestones == (1, 3)
    # Ray's logarithm gives 4.999... rungs here and drops 243; a rung at max_t never
    # decides (max_t stops a trial first) but records last results, as Ray's do
    assert scheduler(max_t=243).milestones == (1, 3, 9, 27, 81, 243)


def test_each_trial_at_the_first_rung_worked_by_hand():
    chooser = scheduler()
    # t0 (.5, 5): the first result at the rung continues (as Ray's ASHA: no cutoff yet)
    assert decide(chooser, "t0", 1, bleu=0.5, seconds=5) == CONTINUE
    # t1 (.4, 6): dominated by t0; 1 of 2 ahead, not < 2/3: stopped (Ray's ASHA stops the
    # second result too when it is worse than the first)
    assert decide(chooser, "t1", 1, bleu=0.4, seconds=6) == STOP
    # t2 (.6, 8): better bleu, more seconds than t0: front 0 of two, both infinite; nobody
    # strictly ahead, 0 < 3/3
    assert decide(chooser, "t2", 1, bleu=0.6, seconds=8) == CONTINUE
    # t3 (.3, 2): the cheapest, a boundary of front 0 {t3, t0, t2}: 0 ahead (t2 ties at
    # infinity), 0 < 4/3
    assert decide(chooser, "t3", 1, bleu=0.3, seconds=2) == CONTINUE
    # t4 (.55, 6): on front 0 {t3, t0, t4, t2} but interior. By bleu (.3 .5 .55 .6, range
    # .3) and seconds (2 5 6 8, range 6): t0 .25/.3 + 4/6 = 1.5, t4 .1/.3 + 3/6 = 0.83.
    # t3, t2 (infinite) and t0 are ahead: 3, not < 5/3. On the front, but too crowded.
    assert decide(chooser, "t4", 1, bleu=0.55, seconds=6) == STOP
    # t5 (.2, 9): dominated by t1, which is dominated by t0: front 2; 5 ahead, not < 6/3
    assert decide(chooser, "t5", 1, bleu=0.2, seconds=9) == STOP


def test_a_tie_continues_as_in_rays_asha():
    chooser = scheduler()
    assert decide(chooser, "a", 1, bleu=0.5, seconds=5) == CONTINUE
    # the same vector: same front, same (infinite) crowding, so not ahead
    assert decide(chooser, "b", 1, bleu=0.5, seconds=5) == CONTINUE
    # better than neither: front 1 behind both, 2 ahead, not < 3/3
    assert decide(chooser, "c", 1, bleu=0.5, seconds=6) == STOP


def test_one_objective_decides_as_rays_asha():
    # Ray's cutoff: the (1 - 1/3) percentile of the earlier results, interpolated:
    #   5 (none yet) C; 3 < 5 S; 7 >= 3 + 2/3*2 C; 1 < 5 + 1/3*2 S; 6 >= 5 C;
    #   2 < 5 + 2/3*1 S; 8 >= 5 + 1/3*1 C
    # Ours, strictly better earlier results of n: 0/1 C, 1/2 S, 0/3 C, 3/4 S, 1/5 C, 4/6 S,
    # 0/7 C (continue while fewer than n/3)
    ours = MultiObjectiveASHA((BLEU,), ("max",), max_t=9)
    rays = ASHAScheduler(time_attr=n.RUNG_EPOCH, metric=BLEU, mode="max", max_t=9,
                         grace_period=1, reduction_factor=3)
    expected = [CONTINUE, STOP, CONTINUE, STOP, CONTINUE, STOP, CONTINUE]
    for index, (value, decision) in enumerate(zip([5, 3, 7, 1, 6, 2, 8], expected, strict=True)):
        trial = FakeTrial(f"t{index}")
        rays.on_trial_add(None, trial)
        result = {n.RUNG_EPOCH: 1, BLEU: value}
        assert ours.on_trial_result(None, trial, result) == decision
        assert rays.on_trial_result(None, trial, result) == decision


@pytest.mark.parametrize("reduction_factor", [2, 2.5, 3, 4])
def test_one_objective_decides_as_rays_asha_outside_its_interpolation(reduction_factor):
    """Ray stops a result below the interpolated (1 - 1/rf) percentile of the earlier ones;
    between the two earlier results it interpolates between, only the values can tell."""
    rng = np.random.default_rng(0)
    for sequence in range(40):
        ours = MultiObjectiveASHA((BLEU,), ("max",), max_t=9, reduction_factor=reduction_factor)
        rays = ASHAScheduler(time_attr=n.RUNG_EPOCH, metric=BLEU, mode="max", max_t=9,
                             reduction_factor=reduction_factor)
        earlier = []
        for value in rng.integers(0, 6, size=12).astype(float):  # many ties
            trial = FakeTrial(f"{sequence}-{len(earlier)}")
            rays.on_trial_add(None, trial)
            result = {n.RUNG_EPOCH: 1, BLEU: value}
            decisions = {ours.on_trial_result(None, trial, result),
                         rays.on_trial_result(None, trial, result)}
            if earlier:
                position = (1 - 1 / reduction_factor) * (len(earlier) - 1)
                ascending = sorted(earlier)
                low, high = (ascending[int(np.floor(position))],
                             ascending[int(np.ceil(position))])
                assert len(decisions) == 1 or low <= value < high
            else:
                assert decisions == {CONTINUE}
            earlier.append(value)


def test_a_missing_objective_counts_as_the_worst_there_is():
    chooser = scheduler()
    assert decide(chooser, "t0", 1, bleu=0.5, seconds=5) == CONTINUE
    # a diverged trial reports only bleu: (.4, worst seconds) is dominated by t0
    assert decide(chooser, "diverged", 1, bleu=0.4) == STOP
    # the worst on the missing one only: (worst bleu, 1 s) is the cheapest so far, not
    # dominated; the front {t0, it} ties at infinity, 0 ahead < 3/3
    assert decide(chooser, "no bleu", 1, seconds=1) == CONTINUE


def test_a_trial_is_judged_once_per_rung_on_the_rung_clock():
    chooser = scheduler()
    assert chooser.on_trial_result(None, FakeTrial("t0"), {BLEU: 0.1}) == CONTINUE  # no clock
    assert chooser.debug_string().endswith(
        "rung_epoch 1: 0 results | rung_epoch 3: 0 results | rung_epoch 9: 0 results")
    assert decide(chooser, "t0", 0, bleu=0.1, seconds=9) == CONTINUE  # before the first rung
    assert decide(chooser, "t0", 1, bleu=0.5, seconds=5) == CONTINUE
    assert decide(chooser, "t1", 1, bleu=0.6, seconds=4) == CONTINUE  # dominates t0
    # t0's clock stays at 1 (a KL cycle has not ended) or is between rungs: no new verdict,
    # even though it is now worse than t1 ever was
    assert decide(chooser, "t0", 1, bleu=0.2, seconds=9) == CONTINUE
    assert decide(chooser, "t0", 2, bleu=0.2, seconds=9) == CONTINUE
    # t2's clock jumps from 0 to 4 (a 4-epoch cycle): judged at rung 3, where it is first,
    assert decide(chooser, "t2", 4, bleu=0.1, seconds=9) == CONTINUE
    # and never at rung 1 after that, where both t0 and t1 dominate it (Ray's ASHA would
    # judge it there on this later, mid-cycle result, and stop it)
    assert decide(chooser, "t2", 4, bleu=0.1, seconds=9) == CONTINUE
    assert list(chooser._rungs[0].recorded) == ["t0", "t1"]
    assert decide(chooser, "t0", 9, bleu=0.9, seconds=1) == STOP  # max_t
    chooser.on_trial_complete(None, FakeTrial("t0"), {n.RUNG_EPOCH: 9, BLEU: 0.9, SECONDS: 1})
    assert list(chooser._rungs[2].recorded) == ["t0"]  # its last result counts at its rung
    assert chooser.debug_string().startswith("Using MultiObjectiveASHA: num_stopped=1")


def test_tune_gives_it_no_metric_and_it_takes_none():
    chooser = scheduler()
    assert chooser.set_search_properties(None, None, config={})
    assert chooser.metric is None  # Tune's strict metric check then leaves its results be
    assert not chooser.set_search_properties(BLEU, "max")
    assert not chooser.set_search_properties(None, "max")


def test_it_pickles_and_restores_with_its_rungs(tmp_path):
    chooser = scheduler()
    decide(chooser, "t0", 1, bleu=0.5, seconds=5)
    copy = pickle.loads(pickle.dumps(chooser))
    assert decide(copy, "t1", 1, bleu=0.4, seconds=6) == STOP  # t0 is still at rung 1
    chooser.save(str(tmp_path / "scheduler.pkl"))
    restored = scheduler()
    restored.restore(str(tmp_path / "scheduler.pkl"))
    assert decide(restored, "t1", 1, bleu=0.4, seconds=6) == STOP


@pytest.mark.parametrize("arguments, words", [
    (dict(metrics=(BLEU, SECONDS), modes=("max",), max_t=9), "one mode per metric"),
    (dict(metrics=(BLEU,), modes=("up",), max_t=9), "modes"),
    (dict(metrics=(BLEU,), modes=("max",), max_t=9, grace_period=10), "grace_period"),
    (dict(metrics=(BLEU,), modes=("max",), max_t=9, reduction_factor=1), "reduction_factor"),
])
def test_bad_settings_are_refused(arguments, words):
    with pytest.raises(ValueError, match=words):
        MultiObjectiveASHA(**arguments)


# ---- a real Tune run -------------------------------------------------------------------------

EPOCHS = 4  # rungs at epochs 1 and 3; epoch 4 is max_t
# Per trial: bleu after each epoch and seconds per epoch. Bleu rises to its final value in
# equal steps, except t5's: the best after one epoch, then stalled.
CURVES = {
    "t0": ([0.125, 0.25, 0.375, 0.5], 5),
    "t1": ([0.1, 0.2, 0.3, 0.4], 6),
    "t2": ([0.15, 0.3, 0.45, 0.6], 8),
    "t3": ([0.075, 0.15, 0.225, 0.3], 2),
    "t4": ([0.05, 0.1, 0.15, 0.2], 9),
    "t5": ([0.2, 0.2, 0.2, 0.2], 7),
}


def curves_trainable(config):
    """A Tune trainable that reports a hand-made curve of two objectives instead of training."""
    bleus, seconds = CURVES[config["point"]]
    for epoch, bleu in enumerate(bleus, start=1):
        tune.report({BLEU: bleu, SECONDS: seconds, n.RUNG_EPOCH: epoch})


@pytest.mark.slow
def test_a_real_tune_run_stops_the_dominated_trials_and_keeps_the_front(tmp_path,
                                                                        monkeypatch):
    """One trial at a time, in grid order, so each rung sees its results in that order.

    Rung 1 (bleu, seconds after epoch 1): t0 (.125, 5) first: on. t1 (.1, 6) dominated by t0:
    stop. t2 (.15, 8) on front 0 with t0: on. t3 (.075, 2) the cheapest: on. t4 (.05, 9)
    dominated by all: stop. t5 (.2, 7) the best bleu, dominating t2: on (1 of 6 <= 2).
    Rung 3 (after epoch 3): t0 (.375, 5), t2 (.45, 8), t3 (.225, 2) form a front, each a
    boundary or first: on. t5 (.2, 7) is dominated by t0: 3 ahead of 4, stop.
    The three left train to max_t: exactly the Pareto set of everyone's final values."""
    # Ray's workers unpickle curves_trainable by its module: they need this folder
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(
        [str(Path(__file__).parent), *filter(None, [os.environ.get("PYTHONPATH")])]))
    ray.init(num_cpus=2, include_dashboard=False, configure_logging=False)
    try:
        results = tune.Tuner(
            tune.with_resources(curves_trainable, {"cpu": 1}),
            param_space={"point": tune.grid_search(list(CURVES))},
            tune_config=tune.TuneConfig(
                max_concurrent_trials=1, reuse_actors=True,
                scheduler=MultiObjectiveASHA((BLEU, SECONDS), MODES, max_t=EPOCHS)),
            run_config=tune.RunConfig(storage_path=str(tmp_path), verbose=0)).fit()
    finally:
        ray.shutdown()
    assert not results.errors
    epochs_run = {result.config["point"]: result.metrics["training_iteration"]
                  for result in results}
    assert epochs_run == {"t0": 4, "t1": 1, "t2": 4, "t3": 4, "t4": 1, "t5": 3}
    finals = [(bleus[-1], seconds) for bleus, seconds in CURVES.values()]
    front = {list(CURVES)[i] for i in pareto_ranking(finals, MODES).pareto_set}
    assert front == {point for point, epochs in epochs_run.items() if epochs == EPOCHS}
