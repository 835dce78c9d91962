"""The console's live view of a study and what a study cost, on hand-made Tune events."""

import io
from functools import partial
from types import SimpleNamespace

import pytest
from rich.console import Console

from cvae_study.study import names as n
from cvae_study.study.cost import FinishedTrial, held, study_cost
from cvae_study.study.tune import live
from cvae_study.study.tune.live import LiveView, StudyProgress, keys_of


def fake_trial(trial_id, cpus=1.0, gpus=0.0, **config):
    return SimpleNamespace(trial_id=trial_id, config=config, last_result={}, status="RUNNING",
                           error_file=f"/tmp/{trial_id}/error.txt",
                           placement_group_factory=SimpleNamespace(
                               required_resources={"CPU": cpus, "GPU": gpus}))


def report(view, trial, epoch, value, seconds, outcome=n.RUNNING):
    trial.last_result = {"training_iteration": epoch, "val/score": value, n.OUTCOME: outcome,
                         "time_total_s": seconds}
    view.on_trial_result(0, [], trial, trial.last_result)


def test_progress_counts_best_and_time_left_by_hand():
    progress = StudyProgress(("val/score",), ("max",), total=4, epochs=6,
                             knobs=partial(keys_of, ("kl.cycles",)), started=100.0)
    progress.started_trial("a", {"kl.cycles": 2, "optim.lr": 0.1})
    progress.started_trial("b", {"kl.cycles": 4})
    progress.result("a", {"training_iteration": 2, "val/score": 0.3})
    progress.result("b", {"training_iteration": 2, "val/score": 0.5})
    # 4 epochs done in 40 s; nothing ended: every trial expected to run all 6 epochs:
    # 2 waiting x 6 + (6 - 2) x 2 running = 20 epochs at 10 s each
    assert progress.seconds_left(140.0) == pytest.approx(200.0)
    progress.ended("a", n.STOPPED_EARLY, held(1, 0, 20))
    # now trials are expected to run 2 epochs, as the one that ended did: 2 waiting x 2 +
    # b's 0 left = 4 epochs
    assert progress.seconds_left(140.0) == pytest.approx(40.0)
    assert progress.front()[0][0] == "b"
    progress.result("b", {"training_iteration": 3, n.OUTCOME: n.DIVERGED, "val/score": -1.0})
    progress.ended("b", n.DIVERGED, held(1, 0, 30))
    assert progress.front()[0][0] == "a"  # a diverged trial's worst score is not a best
    lines = progress.lines(140.0)
    assert lines[0] == ("2 of 4 trials ended (0 completed, 1 stopped early, 1 diverged, "
                        "0 errored); 0 running, 2 waiting")
    assert lines[1] == "best val/score 0.3000: trial a at epoch 2 of 6 (kl.cycles=2)"
    assert lines[2].startswith("0:40 elapsed, about ")


def test_best_so_far_follows_the_mode():
    progress = StudyProgress(("val/loss",), ("min",), 2, 3, dict, started=0.0)
    for trial_id, value in (("a", 2.0), ("b", 1.0)):
        progress.started_trial(trial_id, {})
        progress.result(trial_id, {"training_iteration": 1, "val/loss": value})
    assert progress.front()[0][0] == "b"


def test_a_grid_of_fixed_configurations_shows_no_best_run():
    progress = StudyProgress(("val/score",), ("max",), 2, 3,
                             partial(keys_of, (n.VARIANT,)), started=0.0, ranked=False)
    progress.started_trial("a", {n.VARIANT: "baseline"})
    progress.result("a", {"training_iteration": 1, "val/score": 0.4})
    lines = progress.lines(10.0)
    assert not any("best" in line for line in lines), lines
    assert lines[0].startswith("0 of 2 trials ended")


def test_a_study_cost_sums_held_resources_and_counts_the_epochs_spared():
    trials = [FinishedTrial(n.COMPLETED, 9, held(2, 0.5, 3600)),
              FinishedTrial(n.STOPPED_EARLY, 1, held(2, 0.5, 360)),
              FinishedTrial(n.STOPPED_EARLY, 3, held(2, 0.5, 1080)),
              FinishedTrial(n.ERRORED, 2, held(2, 0.5, 720))]
    cost = study_cost(trials, max_epochs=9)
    assert cost.metrics() == pytest.approx({n.CPU_HOURS: 2 * 1.6, n.GPU_HOURS: 0.5 * 1.6,
                                            n.EPOCHS_RUN: 15, n.EPOCHS_SAVED: 8 + 6})
    # the errored trial's missing epochs are not early stopping's saving
    assert cost.sentence() == ("cost: 3.20 CPU-hours and 0.80 GPU-hours held; early stopping "
                               "ended 2 of 4 trials early, sparing 14 of 29 epochs (48%)")
    assert study_cost([trials[0]], 9).sentence() == (
        "cost: 2.00 CPU-hours and 0.50 GPU-hours held; no trial was stopped early")


def plain_view(total=3):
    out = io.StringIO()
    view = LiveView("s", ("val/score",), ("max",), total, 4, partial(keys_of, ("kl.cycles",)),
                    console=Console(file=out, width=200))
    view.setup()
    return view, out


def test_off_a_terminal_each_ending_is_a_plain_line_and_errors_are_said(monkeypatch):
    view, out = plain_view()
    a, b, c = fake_trial("a", cpus=2, **{"kl.cycles": 4}), fake_trial("b"), fake_trial("c")
    for trial in (a, b, c):
        view.on_trial_start(0, [], trial)
    report(view, a, 4, 0.4, 180.0, n.COMPLETED)
    report(view, b, 1, 0.1, 45.0)
    view.on_step_end(0, [a, b, c])
    assert out.getvalue() == ""  # no line before PLAIN_EVERY seconds or an ending
    view.on_trial_complete(0, [], a)
    view.on_trial_complete(0, [], b)  # stopped by the scheduler: no outcome reported
    view.on_trial_error(0, [], c)
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("study s: 1 of 3 trials ended (1 completed, 0 stopped early")
    assert "best val/score 0.4000: trial a at epoch 4 of 4 (kl.cycles=4)" in lines[0]
    assert "trial c errored: see /tmp/c/error.txt" in lines
    assert lines[-1].startswith("study s: 3 of 3 trials ended (1 completed, 1 stopped early, "
                                "0 diverged, 1 errored); 0 running, 0 waiting")
    monkeypatch.setattr(live.time, "time", lambda: view.last_drawn + live.PLAIN_EVERY)
    view.on_step_end(0, [a, b, c])
    assert len(out.getvalue().splitlines()) == len(lines) + 1  # the periodic line
    view.on_experiment_end([a, b, c])
    final = out.getvalue().splitlines()[-4:]
    assert final[0].startswith("study s ended: 3 of 3 trials ended")
    # a held 2 CPUs for 180 s, b one for 45 s, c none: 405 CPU-seconds; b spared 3 epochs
    assert final[3] == ("cost: 0.11 CPU-hours held; early stopping ended 1 of 3 trials early, "
                        "sparing 3 of 8 epochs (38%)")


def test_a_resumed_study_counts_the_trials_that_ended_before_it():
    view, out = plain_view(total=2)
    before = fake_trial("a")
    before.status, before.last_result = "TERMINATED", {
        "training_iteration": 4, "val/score": 0.2, n.OUTCOME: n.COMPLETED, "time_total_s": 60}
    view.on_step_end(0, [before, fake_trial("b")])
    assert view.progress.count(n.COMPLETED) == 1 and view.progress.front()[0][0] == "a"


def test_on_a_terminal_the_view_is_redrawn_in_place_and_leaves_its_final_lines():
    out = io.StringIO()
    view = LiveView("s", ("val/score",), ("max",), 1, 4, dict,
                    console=Console(file=out, force_terminal=True, width=120))
    view.setup()
    trial = fake_trial("a")
    view.on_trial_start(0, [], trial)
    report(view, trial, 2, 0.25, 10.0)
    view.draw(force=True)
    drawn = out.getvalue()
    assert "best val/score 0.2500: trial a at epoch 2 of 4" in drawn
    assert "\x1b[" in drawn  # cursor movement: the lines are redrawn, not appended
    report(view, trial, 4, 0.5, 20.0, n.COMPLETED)
    view.on_trial_complete(0, [], trial)
    view.on_experiment_end([trial])
    assert "study s ended: 1 of 1 trials ended (1 completed" in out.getvalue()[len(drawn):]


def test_a_quiet_view_says_only_errors_and_its_final_lines():
    out = io.StringIO()
    view = LiveView("s", ("val/score",), ("max",), 2, 4, dict,
                    console=Console(file=out, force_terminal=True, width=120), quiet=True)
    view.setup()
    a, b = fake_trial("a"), fake_trial("b")
    for trial in (a, b):
        view.on_trial_start(0, [], trial)
    report(view, a, 4, 0.5, 20.0, n.COMPLETED)
    view.on_trial_complete(0, [], a)
    view.draw(force=True)
    assert out.getvalue() == ""
    view.on_trial_error(0, [], b)
    view.on_experiment_end([a, b])
    lines = out.getvalue().splitlines()
    assert lines[0] == "trial b errored: see /tmp/b/error.txt"
    assert lines[1].startswith("study s ended: 2 of 2 trials ended (1 completed")
    assert "\x1b[" not in out.getvalue()  # nothing redrawn


def test_a_study_of_two_objectives_shows_its_front_so_far():
    progress = StudyProgress(("val/bleu4", "val/gaussian"), ("max", "max"), 3, 6, dict,
                             started=0.0)
    for trial_id, values in (("a", (0.8, 0.1)), ("b", (0.5, 0.4)), ("c", (0.4, 0.3))):
        progress.started_trial(trial_id, {})
        progress.result(trial_id, {"training_iteration": 2, "val/bleu4": values[0],
                                   "val/gaussian": values[1]})
    # c is beaten by b on both: the front is a and b, a trade-off
    assert {trial_id for trial_id, _ in progress.front()} == {"a", "b"}
    line = progress.lines(10.0)[1]
    assert line.startswith("front of 2 by val/bleu4, val/gaussian: trial ")
    assert "trial a (0.800, 0.100, epoch 2)" in line and "trial c" not in line
