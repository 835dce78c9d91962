"""A study under faults, on a real local Ray: a diverging trial, a killed worker retried
from its checkpoint, a trial out of retries, a driver killed and its study resumed with
exact counts (in MLflow and in its Optuna journal)."""

import os
import signal
import subprocess
import sys
import time

import pytest
from mlflow import MlflowClient
from optuna.trial import TrialState
from ray import tune
from test_journal import STATE, by_ray_id, read_journal
from test_sweep import epochs_logged, new_study, tiny_overrides, trial_runs

from cvae_study.study import config
from cvae_study.study import names as m
from cvae_study.study.names import (
    COMPLETED,
    DIVERGED,
    ERRORED,
    SAVED_STUDY_FILE,
    STOPPED_EARLY,
    TRIAL_ID,
)
from cvae_study.study.storage import ResultsStore
from cvae_study.study.tune import saved, sweep

pytestmark = pytest.mark.slow


def test_a_diverging_trial_ends_as_diverged_and_scores_worst(tmp_path, lab_dir, tiny_args):
    study_file = tmp_path / "study.yaml"
    # Every other searched key is fixed, so that only the lr decides. The old text defaults
    # (z every step, word dropout, KL weight 2, constant lr) make lr=10 blow up in its
    # first epoch, before any val/score is logged.
    study_file.write_text("space:\n  optim.lr: [0.001, 10.0]\n"
                          "config:\n  optim.name: sgd\n  optim.grad_clip: 0\n"
                          "  optim.lr_decay: none\n  model.z_every_step: true\n"
                          "  train.word_dropout: 0.3\n  kl.max_weight: 2\n"
                          "  kl.schedule: monotonic\n  tf.start: 1.0\n  tf.decay_step: 0.05\n"
                          "  tf.floor: 0.0\n  model.cell: gru\n")
    # Random search with seed 0 draws lr 10, 0.001, 10, 10: both outcomes, whatever the
    # scores (TPE's later draws would depend on them).
    study = new_study(tmp_path, lab_dir, tiny_args, "diverging", epochs=2,
                      study_file=str(study_file), num_samples=4, max_concurrent=2,
                      early_stopping=False, search="random")
    assert list(study.space.searched) == ["optim.lr"]
    result = sweep.run(study)
    outcomes = {t["trial_id"]: t["outcome"] for t in result.trials}
    lrs = {t["trial_id"]: t["config"]["optim.lr"] for t in result.trials}
    assert set(outcomes.values()) == {COMPLETED, DIVERGED}  # the study went on
    assert all((outcomes[i] == DIVERGED) == (lrs[i] == 10.0) for i in outcomes)
    assert result.best["config"]["optim.lr"] == 0.001
    values = {t.value for t in result.searcher.optuna_study.get_trials()
              if t.params["optim.lr"] == 10.0}
    assert values == {0.0}  # the worst val/score, told to Optuna as a finished trial
    client, runs = trial_runs(study)
    for run in runs:
        if outcomes[run.data.tags[TRIAL_ID]] == DIVERGED:
            assert run.info.status == "FAILED" and "loss became" in run.data.tags["message"]
            assert run.data.metrics.get(m.VAL_SCORE) is None  # no made-up metric logged


class KillWorker(tune.Callback):
    """Kill the first trial's worker once Tune holds its first epoch's checkpoint, `times`
    times (each retry's first epoch, as long as it restarts from scratch or epoch 1)."""

    def __init__(self, times=1):
        self.times, self.victim = times, None

    def on_trial_save(self, iteration, trials, trial, **info):
        self.victim = self.victim or trial.trial_id
        if self.times and trial.trial_id == self.victim:
            self.times -= 1
            os.kill(trial.last_result["pid"], signal.SIGKILL)


def test_a_killed_worker_is_retried_from_its_checkpoint(tmp_path, lab_dir, tiny_args):
    study = new_study(tmp_path, lab_dir, tiny_args, "killed", epochs=3, num_samples=1,
                      early_stopping=False, cpus_per_trial=2)
    result = sweep.run(study, callbacks=[KillWorker()])
    assert [t["outcome"] for t in result.trials] == [COMPLETED]
    client, (run,) = trial_runs(study)
    assert run.data.tags["ray.failures"] == "1"
    assert int(run.data.tags["restored_from_epoch"]) >= 1  # not restarted from scratch
    assert epochs_logged(client, run) == [1, 2, 3]  # no epoch lost, none twice
    assert run.data.tags["torch_threads"] == "2"  # the trial's CPUs


def test_a_trial_out_of_retries_is_errored_and_the_study_goes_on(tmp_path, lab_dir, tiny_args):
    study = new_study(tmp_path, lab_dir, tiny_args, "errored", epochs=2, num_samples=2,
                      max_concurrent=1, early_stopping=False, max_failures=0)
    result = sweep.run(study, callbacks=[KillWorker()])
    assert sorted(t["outcome"] for t in result.trials) == [COMPLETED, ERRORED]
    assert sorted(t.state.name for t in result.searcher.optuna_study.get_trials()) == [
        "COMPLETE", "FAIL"]
    _, runs = trial_runs(study)
    errored = [run for run in runs if run.data.tags["outcome"] == ERRORED]
    assert len(errored) == 1 and errored[0].info.status == "FAILED"
    assert errored[0].data.tags["ray.error_file"]


def test_a_study_whose_driver_was_killed_resumes_with_exact_counts(tmp_path, lab_dir, tiny_args):
    """Exactly once in MLflow and in the Optuna journal: each trial's run, epochs and state."""
    home = tmp_path / "w"
    command = [sys.executable, "-m", "cvae_study.study.cli", "sweep", "text", "--name", "cut",
               "--num-samples", "4", "--max-concurrent", "1", "--workdir", str(home),
               *config.set_flags(tiny_overrides(lab_dir, tiny_args, 3))]
    log = open(tmp_path / "driver.log", "w")
    driver = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
    uri = f"sqlite:///{home / 'mlflow.db'}"
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline and driver.poll() is None:
        time.sleep(0.5)
        # The saved study is written once the driver has set up the MLflow tables.
        saved_study = home / "ray_results" / "cut" / SAVED_STUDY_FILE
        if saved_study.exists() and _finished_trials(uri) >= 1:
            break
    assert driver.poll() is None, (tmp_path / "driver.log").read_text()[-3000:]
    driver.send_signal(signal.SIGKILL)
    driver.wait()

    study = saved.load("cut", ResultsStore(home / "ray_results"), None)
    result = sweep.resume(study)
    assert len(result.trials) == 4
    client, runs = trial_runs(study)
    assert len(runs) == 4
    assert {run.data.tags[TRIAL_ID] for run in runs} == {t["trial_id"] for t in result.trials}
    epochs = {t["trial_id"]: t["epochs"] for t in result.trials}
    for run in runs:
        assert epochs_logged(client, run) == list(range(1, epochs[run.data.tags[TRIAL_ID]] + 1))
        assert run.data.tags["outcome"] in (COMPLETED, STOPPED_EARLY)
    told = by_ray_id(read_journal(home / "ray_results" / "cut" / m.OPTUNA_JOURNAL, "cut"))
    for trial in result.trials:
        optuna_trial = told[trial["trial_id"]]
        assert optuna_trial.state == STATE[trial["outcome"]]
        assert sorted(optuna_trial.intermediate_values) == list(range(1, trial["epochs"] + 1))
    abandoned = set(told) - {trial["trial_id"] for trial in result.trials}
    assert all(told[trial_id].state == TrialState.FAIL for trial_id in abandoned)


def _finished_trials(uri) -> int:
    client = MlflowClient(uri)
    experiment = client.get_experiment_by_name("cut")
    if experiment is None:
        return 0
    return len(client.search_runs([experiment.experiment_id], "tags.outcome = 'completed'"))
