"""What StudySearch tells Optuna about each way a trial can end (no Ray cluster needed)."""

from types import SimpleNamespace

import pytest
from optuna.trial import TrialState
from ray.tune.schedulers import TrialScheduler

from cvae_study.study.names import COMPLETED, DIVERGED, OUTCOME, RUNG_EPOCH, RUNNING
from cvae_study.study.spaces import SpaceSampler, build_space
from cvae_study.study.tune.search import make_scheduler, make_searcher

METRIC = "val/score"
CONTINUE, STOP = TrialScheduler.CONTINUE, TrialScheduler.STOP


def run_trial(searcher, trial_id, scores, last_outcome, error=False):
    searcher.suggest(trial_id)
    result = None
    for epoch, score in enumerate(scores, start=1):
        outcome = last_outcome if epoch == len(scores) else RUNNING
        result = {METRIC: score, "training_iteration": epoch, OUTCOME: outcome}
        if epoch < len(scores):  # as Tune does: the result that ends a trial goes to
            searcher.on_trial_result(trial_id, result)  # on_trial_complete alone
    searcher.on_trial_complete(trial_id, result, error=error)


def test_each_way_a_trial_ends_reaches_optuna_as_what_it_is():
    searcher = make_searcher(SpaceSampler(build_space("text")), METRIC, "max", 0, 8)
    run_trial(searcher, "done", [0.1, 0.3, 0.5], COMPLETED)
    run_trial(searcher, "stopped", [0.05, 0.07], RUNNING)  # ASHA stopped it after epoch 2
    run_trial(searcher, "diverged", [0.0], DIVERGED)  # the worst score, reported on divergence
    run_trial(searcher, "crashed", [0.2], RUNNING, error=True)
    done, stopped, diverged, crashed = searcher.optuna_study.get_trials(deepcopy=False)
    assert (done.state, done.value) == (TrialState.COMPLETE, 0.5)
    assert done.intermediate_values == {1: 0.1, 2: 0.3, 3: 0.5}
    assert stopped.state == TrialState.PRUNED and stopped.intermediate_values == {1: 0.05, 2: 0.07}
    assert stopped.value == 0.07  # its last epoch's score, at that epoch
    assert (diverged.state, diverged.value) == (TrialState.COMPLETE, 0.0)
    assert crashed.state == TrialState.FAIL


def test_a_second_completion_of_the_same_trial_is_ignored():
    searcher = make_searcher(SpaceSampler(build_space("text")), METRIC, "max", 0, 8)
    run_trial(searcher, "done", [0.4], COMPLETED)
    searcher.on_trial_complete("done", {METRIC: 0.9, OUTCOME: COMPLETED})
    assert searcher.optuna_study.get_trials()[0].value == 0.4


def test_seeded_searches_suggest_the_same_trials():
    def suggestions(seed):
        searcher = make_searcher(SpaceSampler(build_space("text")), METRIC, "max", seed, 8)
        return [searcher.suggest(f"t{i}") for i in range(3)]

    assert suggestions(3) == suggestions(3)
    assert suggestions(3) != suggestions(4)


def test_asha_ranks_a_cyclical_trial_only_at_the_end_of_a_cycle():
    scheduler = make_scheduler(METRIC, "max", epochs=8)  # rungs at epochs 1 and 3

    def report(trial, rung_epoch, score):
        return scheduler.on_trial_result(None, trial, {RUNG_EPOCH: rung_epoch, METRIC: score})

    monotonic, cyclical, weak = (SimpleNamespace(trial_id=name) for name in "abc")
    for trial in (monotonic, cyclical, weak):
        scheduler.on_trial_add(None, trial)
    assert report(monotonic, 1, 0.5) == CONTINUE  # the first result at the rung sets the bar
    # Cycles ending in epochs 3, 6, 8: at epochs 1 and 2 (mid-cycle, weak score) its clock
    # still reads 0, so it is not ranked; at epoch 3 it is, on its end-of-cycle score.
    assert report(cyclical, 0, 0.1) == CONTINUE
    assert report(cyclical, 3, 0.6) == CONTINUE
    # epoch 4, mid-cycle again: its clock still reads 3. Ranked at the rung it skipped
    # (epoch 1) on this weak score, it would be stopped (Ray's default stop_last_trials
    # does that); it is not ranked again until its clock passes the next rung.
    assert report(cyclical, 3, 0.1) == CONTINUE
    assert report(weak, 1, 0.1) == STOP  # the same weak score, ranked: stopped


def run_two_objectives(searcher, trial_id, epochs, outcome, error=False):
    searcher.suggest(trial_id)
    for epoch in range(1, epochs + 1):
        result = {"val/bleu4": 0.1 * epoch, "val/gaussian": 0.05 * epoch,
                  "training_iteration": epoch, OUTCOME: outcome if epoch == epochs else RUNNING}
        if epoch < epochs:
            searcher.on_trial_result(trial_id, result)
    searcher.on_trial_complete(trial_id, result, error=error)


@pytest.mark.parametrize(("search", "sampler"), [("tpe", "TPESampler"),
                                                 ("nsga2", "NSGAIISampler")])
def test_a_study_of_two_objectives_tells_optuna_both_final_values(search, sampler):
    searcher = make_searcher(SpaceSampler(build_space("text")), ["val/bleu4", "val/gaussian"],
                             ["max", "max"], 0, 8, search=search)
    assert type(searcher.optuna_study.sampler).__name__ == sampler
    assert len(searcher.optuna_study.directions) == 2
    run_two_objectives(searcher, "done", 3, COMPLETED)
    run_two_objectives(searcher, "stopped", 1, RUNNING)  # stopped by the scheduler
    run_two_objectives(searcher, "crashed", 1, RUNNING, error=True)
    done, stopped, crashed = searcher.optuna_study.get_trials(deepcopy=False)
    assert done.state == TrialState.COMPLETE
    assert done.values == pytest.approx([0.3, 0.15])
    # Optuna keeps no per-epoch values of a multi-objective trial
    assert done.intermediate_values == {} and stopped.intermediate_values == {}
    assert stopped.state == TrialState.PRUNED and stopped.values is None
    assert crashed.state == TrialState.FAIL


def test_several_objectives_are_stopped_early_by_multi_objective_asha():
    from cvae_study.study.tune.mo_asha import MultiObjectiveASHA

    scheduler = make_scheduler(["val/bleu4", "val/gaussian"], ["max", "max"], epochs=9)
    assert isinstance(scheduler, MultiObjectiveASHA) and scheduler.milestones == (1, 3, 9)
