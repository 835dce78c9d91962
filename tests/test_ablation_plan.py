"""The ablation's plan, worked by hand: which knobs differ, how cycle keys move with the
schedule, the leave-one-out variants and the path's candidates."""

import math
import statistics

import pytest
from scipy import stats

from cvae_study.study import ablation_plan as ap
from cvae_study.study import statistics as st

SEARCHED = ["kl.schedule", "kl.cycles", "kl.ratio", "optim.lr", "tf.start"]
BASE = {"kl.schedule": "monotonic", "kl.cycles": 4, "kl.ratio": 0.5, "optim.lr": 0.005,
        "tf.start": 1.0}


def plan_of(knobs):
    return ap.Plan(ap.LEAVE_ONE_OUT, "val/score", "max", [0, 1], 2, "default", "t1", knobs)


def test_cycle_keys_move_with_a_changed_schedule():
    target = {**BASE, "kl.schedule": "cyclical", "kl.cycles": 2, "optim.lr": 0.002}
    knobs = ap.differing_knobs(SEARCHED, BASE, target)
    assert knobs == {"kl.schedule": ["kl.schedule", "kl.cycles", "kl.ratio"],
                     "optim.lr": ["optim.lr"]}


def test_cycle_keys_are_knobs_of_their_own_only_under_a_shared_cyclical_schedule():
    cyclical = {**BASE, "kl.schedule": "cyclical"}
    assert ap.differing_knobs(SEARCHED, cyclical, {**cyclical, "kl.cycles": 7}) == {
        "kl.cycles": ["kl.cycles"]}
    # under a monotonic schedule kl.cycles changes nothing: no knob
    assert ap.differing_knobs(SEARCHED, BASE, {**BASE, "kl.cycles": 7}) == {}


def test_knobs_the_study_did_not_search_are_refused():
    with pytest.raises(ap.AblationError, match="--knobs model.cell: the study did not"):
        ap.differing_knobs(SEARCHED, BASE, BASE, ["model.cell"])
    target = {**BASE, "optim.lr": 0.002, "tf.start": 0.7}
    assert list(ap.differing_knobs(SEARCHED, BASE, target, ["tf.start"])) == ["tf.start"]


def test_leave_one_out_sets_each_knob_back_to_the_baseline():
    target = {**BASE, "kl.schedule": "cyclical", "optim.lr": 0.002}
    plan = ap.leave_one_out(plan_of(ap.differing_knobs(SEARCHED, BASE, target)), BASE)
    assert plan.variants["target"].changes == {}
    assert plan.variants["without optim.lr"].changes == {"optim.lr": 0.005}
    assert plan.variants["without kl.schedule"].changes == {
        "kl.schedule": "monotonic", "kl.cycles": 4, "kl.ratio": 0.5}
    assert ap.variant_config(target, plan.variants["baseline"], 1, 3) == {
        **BASE, "train.seed": 1, "train.epochs": 3}


def test_the_path_adds_one_target_value_a_step_until_the_target():
    target = {**BASE, "optim.lr": 0.002, "tf.start": 0.7}
    plan = ap.path_start(plan_of(ap.differing_knobs(SEARCHED, BASE, target)), BASE)
    first = ap.path_candidates(plan, BASE)
    assert first == {
        "step 1: +optim.lr": ap.Variant(ap.STEP, {"tf.start": 1.0}, "optim.lr", 1),
        "step 1: +tf.start": ap.Variant(ap.STEP, {"optim.lr": 0.005}, "tf.start", 1)}
    assert ap.best_candidate({"step 1: +optim.lr": 0.3, "step 1: +tf.start": 0.4},
                             "max") == "step 1: +tf.start"
    plan.path.append({"step": 1, "knob": "tf.start"})
    assert ap.path_candidates(plan, BASE) == {
        "step 2: +optim.lr": ap.Variant(ap.STEP, {}, "optim.lr", 2)}  # the target itself
    plan.path.append({"step": 2, "knob": "optim.lr"})
    assert ap.path_candidates(plan, BASE) == {}


def test_paired_effects_and_their_verdicts_by_hand():
    target = {0: 0.50, 1: 0.52, 2: 0.48}
    floor = st.noise_floor(list(target.values()))
    assert floor == pytest.approx(0.02)
    worse = {0: 0.30, 1: 0.33, 2: 0.29}  # differences -0.20, -0.19, -0.19
    effect = st.paired_effect(worse, target, floor)
    half = stats.t.ppf(0.975, 2) * statistics.stdev([-0.2, -0.19, -0.19]) / math.sqrt(3)
    assert effect.mean == pytest.approx(-0.19333, abs=1e-5)
    assert (effect.low, effect.high) == pytest.approx((effect.mean - half, effect.mean + half))
    assert effect.verdict == st.MATTERS
    assert st.paired_effect(dict(target), target, floor).verdict == st.NO_EFFECT
    noisy = {0: 0.51, 1: 0.50, 2: 0.50}  # +0.01, -0.02, +0.02
    assert st.paired_effect(noisy, target, floor).verdict == st.WITHIN_NOISE
    tiny = {seed: value + 0.001 for seed, value in target.items()}  # consistent, no spread
    assert st.paired_effect(tiny, target, floor).verdict == st.NEGLIGIBLE_EFFECT
    assert st.paired_effect({0: 0.1}, target, floor).verdict == st.TOO_FEW
