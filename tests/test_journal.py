"""A study's Optuna study in its journal (Optuna's JournalStorage file), read back with
Optuna alone: every trial once with its state and per-epoch values (across a resume:
test_sweep_faults' killed driver); and `cvae-study dashboard` serving it."""

import json
import pickle
import signal
import subprocess
import sys
import urllib.request

import optuna
import pytest
from optuna.storages import JournalStorage
from optuna.storages.journal import JournalFileBackend
from optuna.trial import TrialState
from test_sweep import (  # noqa: F401 (the module fixtures: used by name)
    module_lab_dir,
    module_study,
    module_tiny_args,
    workdir_of,
)
from test_team_services import free_port, wait_for

from cvae_study.study import cli, journal, serving
from cvae_study.study import names as n
from cvae_study.study.cli import dashboard
from cvae_study.study.spaces import SpaceSampler, build_space
from cvae_study.study.storage import ResultsStore
from cvae_study.study.tune.search import make_searcher

STATE = {n.COMPLETED: TrialState.COMPLETE, n.STOPPED_EARLY: TrialState.PRUNED}


def read_journal(path, name) -> list[optuna.trial.FrozenTrial]:
    """The journal's trials as a new process would read them."""
    storage = JournalStorage(JournalFileBackend(str(path)))
    return optuna.load_study(study_name=name, storage=storage).get_trials()


def by_ray_id(trials) -> dict[str, optuna.trial.FrozenTrial]:
    ids = [trial.user_attrs[n.TRIAL_ID] for trial in trials]
    assert len(ids) == len(set(ids)), f"a Ray trial told twice: {ids}"
    return dict(zip(ids, trials, strict=True))


def epoch(value: float, step: int, outcome: str = n.RUNNING) -> dict:
    return {n.VAL_SCORE: value, "training_iteration": step, n.OUTCOME: outcome}


def test_a_restored_searcher_keeps_what_its_journal_was_told_after_the_snapshot(tmp_path):
    path = tmp_path / n.OPTUNA_JOURNAL
    searcher = make_searcher(SpaceSampler(build_space("text")), n.VAL_SCORE, "max", 0, 8,
                             storage=journal.open_journal(str(path)), study_name="s")
    as_created = pickle.dumps(searcher)  # as Tune keeps it in tuner.pkl
    for trial_id in ("a", "b", "c"):
        searcher.suggest(trial_id)
    searcher.on_trial_result("a", epoch(0.1, 1))
    searcher.on_trial_result("b", epoch(0.3, 1))
    searcher.save(str(tmp_path / "snapshot.pkl"))  # Tune's last snapshot
    # The driver goes on past it, then is killed.
    searcher.on_trial_complete("a", epoch(0.2, 2, n.COMPLETED))
    searcher.on_trial_result("b", epoch(0.4, 2))
    searcher.suggest("d")

    restored = pickle.loads(as_created)
    restored.restore(str(tmp_path / "snapshot.pkl"))
    # Tune runs a, b and c again from their checkpoints, and a new trial in d's place.
    restored.on_trial_result("a", epoch(0.9, 2))
    restored.on_trial_complete("a", epoch(0.9, 2, n.COMPLETED))
    restored.on_trial_result("b", epoch(0.9, 2))
    restored.on_trial_result("b", epoch(0.5, 3))
    restored.on_trial_complete("b", epoch(0.5, 3))  # stopped by ASHA
    restored.on_trial_complete("c", epoch(0.6, 1, n.COMPLETED))
    restored.suggest("e")
    restored.on_trial_complete("e", epoch(0.7, 1, n.COMPLETED))

    trials = by_ray_id(read_journal(path, "s"))
    assert sorted(trials) == ["a", "b", "c", "d", "e"]
    assert (trials["a"].state, trials["a"].value) == (TrialState.COMPLETE, 0.2)  # told once
    assert trials["a"].intermediate_values == {1: 0.1, 2: 0.2}
    assert trials["b"].state == TrialState.PRUNED
    assert trials["b"].intermediate_values == {1: 0.3, 2: 0.4, 3: 0.5}  # first values kept
    assert (trials["c"].state, trials["e"].state) == (TrialState.COMPLETE, TrialState.COMPLETE)
    assert trials["d"].state == TrialState.FAIL  # abandoned: asked after the snapshot


def test_a_study_on_remote_storage_keeps_its_journal_in_the_workdir(tmp_path):
    local = ResultsStore(tmp_path / "ray_results")
    assert journal.journal_path(local, "s", tmp_path / "elsewhere") == str(
        tmp_path / "ray_results" / "s" / n.OPTUNA_JOURNAL)  # beside the saved study
    remote = ResultsStore("mock:///bucket/studies")
    assert journal.journal_path(remote, "s", tmp_path) == str(
        tmp_path / "optuna" / "s" / n.OPTUNA_JOURNAL)
    assert journal.journal_path(remote, "s", None) == ""  # a library call: in memory


def test_the_dashboard_without_its_extra_names_the_extra(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(dashboard.shutil, "which", lambda *args, **kwargs: None)
    code = cli.main(["dashboard", "any", "--workdir", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 2 and "pip install 'cvae-study[dashboard]'" in err
    assert "Traceback" not in err


def test_the_dashboard_of_an_unknown_study_lists_the_studies_there_are(tmp_path, capsys):
    for name in ("first", "second"):
        ResultsStore(tmp_path / "ray_results").write_json({}, name, n.SAVED_STUDY_FILE)
    code = cli.main(["dashboard", "nope", "--workdir", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 2 and "no study 'nope'" in err and "studies there: first, second" in err


@pytest.fixture(scope="module")
def searched(tmp_path_factory, request):
    """Six trials of four epochs with ASHA: completed and pruned trials in the journal."""
    *_, study, result = module_study(tmp_path_factory, request, "journal", "searched",
                                     num_samples=6, max_concurrent=2,
                                     metric=n.VAL_BLEU4_SEEN)
    return study, result


@pytest.mark.slow
def test_the_journal_holds_every_trial_with_its_state_and_epoch_values(searched):
    study, result = searched
    recorded = study.storage.read_json("searched", n.SAVED_STUDY_FILE)["optuna_journal"]
    assert recorded == study.journal == study.storage.path("searched", n.OPTUNA_JOURNAL)
    told = by_ray_id(read_journal(recorded, "searched"))
    assert sorted(told) == sorted(t["trial_id"] for t in result.trials)
    for trial in result.trials:
        optuna_trial = told[trial["trial_id"]]
        assert optuna_trial.state == STATE[trial["outcome"]]
        assert sorted(optuna_trial.intermediate_values) == list(range(1, trial["epochs"] + 1))
        last = optuna_trial.intermediate_values[trial["epochs"]]
        assert last == pytest.approx(trial[n.VAL_BLEU4_SEEN])
        if optuna_trial.state == TrialState.COMPLETE:
            assert optuna_trial.value == pytest.approx(trial[n.VAL_BLEU4_SEEN])
            assert trial["epochs"] == 4
    states = {trial.state for trial in told.values()}
    assert states == {TrialState.COMPLETE, TrialState.PRUNED}, "ASHA stopped no trial"
    storage = JournalStorage(JournalFileBackend(str(recorded)))
    # the dashboard names the objective, not "Objective 0"
    assert optuna.load_study(study_name="searched", storage=storage).metric_names == [
        n.VAL_BLEU4_SEEN]


@pytest.mark.slow
def test_the_dashboard_serves_the_studys_journal_until_stopped(searched):
    study, result = searched
    port = free_port()
    command = [sys.executable, "-m", "cvae_study.study.cli", "dashboard", "searched",
               "--workdir", str(workdir_of(study)), "--port", str(port)]
    driver = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              text=True)
    try:
        wait_for(f"http://127.0.0.1:{port}/api/studies", driver)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/studies") as response:
            assert response.status == 200
            studies = json.loads(response.read())["study_summaries"]
        assert [s["study_name"] for s in studies] == ["searched"]
        detail = f"http://127.0.0.1:{port}/api/studies/{studies[0]['study_id']}"
        with urllib.request.urlopen(detail) as response:
            assert len(json.loads(response.read())["trials"]) == len(result.trials)
    finally:
        driver.send_signal(signal.SIGTERM)
        out, _ = driver.communicate(timeout=60)
    assert driver.returncode == 0, out
    assert f"Optuna dashboard: http://127.0.0.1:{port}/dashboard" in out
    assert "stopping the Optuna dashboard" in out
    serving.check_port_free("127.0.0.1", port)  # its server went with it


@pytest.mark.slow
def test_the_dashboard_of_a_study_without_a_journal_says_so(searched, tmp_path, capsys):
    study, _ = searched
    record = study.storage.read_json("searched", n.SAVED_STUDY_FILE)
    del record["optuna_journal"]  # as studies saved themselves before journals
    ResultsStore(tmp_path).write_json(record, "older", n.SAVED_STUDY_FILE)
    code = cli.main(["dashboard", "older", "--workdir", str(workdir_of(study)),
                     "--storage", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 2 and "study 'older' keeps no Optuna journal" in err
