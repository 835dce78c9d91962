"""Pareto fronts, crowding and hypervolume worked by hand (study.pareto), and the
multi-objective ASHA built on them (study.tune.mo_asha): called as Tune's controller calls
it, checked against Ray's own ASHA on one objective, and in a real Tune run."""

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
from cvae_study.study.pareto import crowding_distances, hypervolume, pareto_ranking
from cvae_study.study.tune.mo_asha import MultiObjectiveASHA

CONTINUE, STOP = TrialScheduler.CONTINUE, TrialScheduler.STOP
BLEU, SECONDS = n.VAL_BLEU4, n.EPOCH_SECONDS
MODES = ("max", "min")  # BLEU up, seconds down

# (bleu, seconds). Front 0: D, C, B, A trade seconds for bleu (neither better at both).
# E is dominated by B (0.8 > 0.7, 5 < 6), F by C (0.6 > 0.5, 2 < 3): front 1 (E and F do
# not dominate each other). G is dominated by F (0.5 > 0.2, 3 < 4): front 2. H has a NaN.
POINTS = np.array([
    (0.9, 9),  # A 0
    (0.8, 5),  # B 1
    (0.6, 2),  # C 2
    (0.3, 1),  # D 3
    (0.7, 6),  # E 4
    (0.5, 3),  # F 5
    (0.2, 4),  # G 6
    (np.nan, 1),  # H 7
])


def test_fronts_and_crowding_worked_by_hand():
    ranking = pareto_ranking(POINTS, MODES)
    assert ranking.fronts.tolist() == [0, 0, 0, 0, 1, 1, 2, 3]
    # Front 0 by bleu: D .3, C .6, B .8, A .9 (range .6); by seconds: D 1, C 2, B 5, A 9
    # (range 8). D and A are boundaries: infinite. C: (.8 - .3)/.6 + (5 - 1)/8 = 5/6 + 1/2;
    # B: (.9 - .6)/.6 + (9 - 2)/8 = 1/2 + 7/8. Fronts 1 and 2 have 2 and 1 points: all
    # boundary. H has none.
    assert ranking.crowding[:7] == pytest.approx(
        [np.inf, 1 / 2 + 7 / 8, 5 / 6 + 1 / 2, np.inf, np.inf, np.inf, np.inf])
    assert np.isnan(ranking.crowding[7])
    # front 0: A and D (infinite, in index order), B (1.375), C (1.333); then E, F, G, H
    assert ranking.order.tolist() == [0, 3, 1, 2, 4, 5, 6, 7]
    assert ranking.pareto_set.tolist() == [0, 1, 2, 3]


def test_the_modes_say_which_way_is_better():
    # seconds as negative seconds with "max": the same ranking
    flipped = pareto_ranking(POINTS * [1, -1], ("max", "max"))
    ranking = pareto_ranking(POINTS, MODES)
    assert flipped.fronts.tolist() == ranking.fronts.tolist()
    assert flipped.order.tolist() == ranking.order.tolist()
    # both read as "min": G (0.2, 4) has the lowest bleu, D (0.3, 1) the lowest seconds,
    # and every other point has more of both than D
    assert pareto_ranking(POINTS, ("min", "min")).pareto_set.tolist() == [3, 6]


def test_a_nan_point_is_never_on_the_front():
    # (nan, 0) would beat every point on seconds; it ranks after the last real front
    ranking = pareto_ranking([(0.5, 5), (np.nan, 0), (0.4, 6)], MODES)
    assert ranking.fronts.tolist() == [0, 2, 1]
    assert ranking.order.tolist() == [0, 2, 1]
    everything_nan = pareto_ranking([(np.nan, 1), (2, np.nan)], MODES)
    assert everything_nan.fronts.tolist() == [1, 1]  # front 0 is the Pareto set: none
    assert everything_nan.pareto_set.tolist() == []


def test_identical_points_share_their_crowding_distance():
    # min, min. Front 0: (0, 2), (1, 1) twice, (2, 0). Its distinct points: (1, 1) is the
    # interior one, (2 - 0)/2 + (2 - 0)/2 = 2, for both copies, whichever sorts first.
    points = np.array([(1, 1), (0, 2), (1, 1), (2, 0)])
    fronts = np.zeros(4, dtype=int)
    assert crowding_distances(points, fronts).tolist() == [2.0, np.inf, 2.0, np.inf]
    assert crowding_distances(np.ones((3, 2)), np.zeros(3, dtype=int)).tolist() == [np.inf] * 3


def test_a_gap_to_an_infinite_value_is_infinite_not_nan():
    # (bleu, seconds) with a missing seconds as the worst there is: all three on front 0.
    # (0.5, 5) is interior on both: bleu (0.9 - 0.3)/0.6 = 1, seconds (inf - 2) = inf.
    ranking = pareto_ranking([(0.9, np.inf), (0.5, 5), (0.3, 2)], MODES)
    assert ranking.fronts.tolist() == [0, 0, 0]
    assert ranking.crowding.tolist() == [np.inf] * 3


def test_the_hypervolume_of_a_2d_staircase():
    # Up to the reference (bleu 0, 10 seconds), strips by seconds: from 1 to 2 only D
    # (bleu .3) dominates, from 2 to 5 C (.6), from 5 to 9 B (.8), from 9 to 10 A (.9):
    # .3*1 + .6*3 + .8*4 + .9*1 = 6.2. Dominated points and the NaN point add nothing.
    assert hypervolume(POINTS, MODES, (0, 10)) == pytest.approx(6.2)
    assert hypervolume(POINTS[:4], MODES, (0, 10)) == pytest.approx(6.2)
    # with the reference at 4 seconds D, C and F (dominated by C) are inside: .3*1 + .6*2
    assert hypervolume(POINTS, MODES, (0, 4)) == pytest.approx(1.5)
    assert hypervolume(np.empty((0, 2)), MODES, (0, 10)) == 0.0


def test_the_hypervolume_of_three_boxes_in_3d():
    # min, min, min up to (4, 4, 4): each point's box is 3 x 3 x 1 = 9; each pair overlaps
    # in a 1 x 1 x 3 = 3 box, all three in a 1 x 1 x 1 box: 27 - 9 + 1 = 19. (Of the 27
    # unit cubes of [1, 4]^3, those below 3 in every coordinate are uncovered: 27 - 8.)
    boxes = [(1, 1, 3), (1, 3, 1), (3, 1, 1)]
    assert hypervolume(boxes, ("min",) * 3, (4, 4, 4)) == pytest.approx(19)
    # a point inside the first box and one beyond the reference change nothing
    more = [*boxes, (2, 2, 3.5), (5, 0, 0)]
    assert hypervolume(more, ("min",) * 3, (4, 4, 4)) == pytest.approx(19)
    negated = -np.array(boxes, dtype=float)
    assert hypervolume(negated, ("max",) * 3, (-4, -4, -4)) == pytest.approx(19)


def test_bad_shapes_and_modes_are_refused():
    with pytest.raises(ValueError, match="modes"):
        pareto_ranking(POINTS, ("max", "up"))
    with pytest.raises(ValueError, match="shape"):
        pareto_ranking(POINTS, ("max",))
    with pytest.raises(ValueError, match="shape"):
        hypervolume(POINTS, MODES, (0, 10, 1))


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
