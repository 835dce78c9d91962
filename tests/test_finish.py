"""`cvae-study finish`: a real small study's finalists trained longer on fresh seeds, their
records, the report's section, export's choice, a killed driver resumed, and bad input."""

import json
import signal
import statistics
import subprocess
import sys
import time

import pytest
from mlflow import MlflowClient
from test_sweep import module_lab_dir, module_tiny_args, new_study, workdir_of  # noqa: F401

from cvae_study.analysis.finished import finalists_table, load_finish
from cvae_study.analysis.report.build import build_blocks
from cvae_study.analysis.report.document import Heading, Paragraph
from cvae_study.analysis.report.inputs import fetch_inputs
from cvae_study.study import cli
from cvae_study.study import finish_plan as fp
from cvae_study.study import names as n
from cvae_study.study.options import FinishError
from cvae_study.study.tracking.records import StudyRecords
from cvae_study.study.tune import finish, saved, sweep


@pytest.fixture(scope="module")
def small_study(tmp_path_factory, request):
    """Three completed trials of two epochs, every one on the search's seed 0. Their
    objective is seen BLEU-4: val/score is about 0 for every tiny model, so it ties."""
    tmp_path = tmp_path_factory.mktemp("finished")
    study = new_study(tmp_path, request.getfixturevalue("module_lab_dir"),
                      request.getfixturevalue("module_tiny_args"), "small", epochs=2,
                      num_samples=3, early_stopping=False, metric=n.VAL_BLEU4_SEEN)
    sweep.run(study)
    return study


def finish_runs(study, parent_id):
    client = MlflowClient(study.uri)
    experiment = client.get_experiment_by_name(study.options.name).experiment_id
    return client, client.search_runs([experiment], n.children_filter(parent_id))


def kill_after_first_run(command, study, name, log_path):
    """Start a finish driver, SIGKILL it once one of its runs has completed."""
    with open(log_path, "w") as log:
        driver = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        client = MlflowClient(study.uri)
        experiment = client.get_experiment_by_name(study.options.name).experiment_id
        deadline = time.time() + 240
        while time.time() < deadline and driver.poll() is None:
            time.sleep(1)
            parents = client.search_runs([experiment],
                                         f"{n.FINISH_FILTER} and attributes.run_name = '{name}'")
            if parents and client.search_runs(
                    [experiment], f"{n.children_filter(parents[0].info.run_id)} and "
                    f"tags.{n.OUTCOME} = '{n.COMPLETED}'"):
                break
        assert driver.poll() is None, log_path.read_text()[-3000:]
        driver.send_signal(signal.SIGKILL)
        driver.wait()


@pytest.mark.slow
def test_a_killed_finish_resumes_each_run_once_and_export_takes_its_best_mean(small_study,
                                                                             tmp_path):
    """The top two of the study, 2 fresh seeds each: its driver killed after one run and
    resumed; then its records, the report's section and export's choice."""
    home = workdir_of(small_study)
    kill_after_first_run([sys.executable, "-m", "cvae_study.study.cli", "finish", "small",
                          "--top", "2", "--repeats", "2", "--epochs", "3",
                          "--max-concurrent", "1", "--workdir", str(home)],
                         small_study, "small-finish", tmp_path / "driver.log")
    assert cli.main(["resume", "small-finish", "--workdir", str(home)]) == 0
    done = finish.load("small-finish", small_study.storage, None)
    plan = done.plan
    assert plan.seeds == [1, 2] and plan.epochs == 3  # the search ran seed 0 only
    client, runs = finish_runs(small_study, done.parent_id)
    pairs = [(run.data.tags[n.VARIANT], run.data.tags[n.SEED]) for run in runs]
    assert sorted(pairs) == sorted((trial, str(seed)) for trial in plan.finalists
                                   for seed in (1, 2))  # each run once
    parent = client.get_run(done.parent_id)
    assert parent.data.tags[n.ROLE] == n.FINISH_ROLE and parent.info.status == "FINISHED"
    study_parent = client.search_runs([parent.info.experiment_id], n.PARENT_FILTER)[0]
    assert parent.data.tags[n.FINISH_OF] == study_parent.info.run_id
    trials = client.search_runs([parent.info.experiment_id],
                                n.children_filter(study_parent.info.run_id))
    top_two = fp.ranked([fp.Finalist(run.data.tags[n.TRIAL_ID], {},
                                     run.data.metrics[plan.metric], 2, 0) for run in trials],
                        plan.mode)[:2]
    assert list(plan.finalists) == [f.trial_id for f in top_two]  # best first
    for run in runs:
        assert run.data.tags[n.ROLE] == n.FINISH_RUN_ROLE
        assert run.data.tags[n.OUTCOME] == n.COMPLETED
        assert run.data.params["train.epochs"] == "3"
        assert run.data.params["train.seed"] == run.data.tags[n.SEED]

    # the report's section, its numbers those of the store
    by_trial = {}
    for run in runs:
        by_trial.setdefault(run.data.tags[n.VARIANT], []).append(run.data.metrics[plan.metric])
    table = finalists_table(load_finish(small_study.uri, "small")).set_index("trial_id")
    for trial_id, values in by_trial.items():
        assert table.loc[trial_id, "finished"] == pytest.approx(statistics.fmean(values))
        assert table.loc[trial_id, "n"] == 2
        assert table.loc[trial_id, "search"] == plan.finalists[trial_id].search_value
        assert (table.loc[trial_id, "search_epochs"], table.loc[trial_id, "search_seed"]) == (2, 0)
    blocks = build_blocks(fetch_inputs(small_study.uri, "small"))
    assert Heading("Finished at full length") in blocks
    texts = [block.text for block in blocks if isinstance(block, Paragraph)]
    best = max(by_trial, key=lambda trial_id: statistics.fmean(by_trial[trial_id]))
    assert f"Once finished, trial {best} has the best mean {plan.metric}." in " ".join(texts)
    other = next(trial_id for trial_id in by_trial if trial_id != best)
    assert any(text.startswith(f"Trial {other} ") for text in texts)  # against the best, paired

    # export prefers the finalist with the best mean; the bundle is its median-seed run
    out = tmp_path / "bundle"
    assert cli.main(["export", "small", "--out", str(out), "--workdir", str(home)]) == 0
    source = json.loads((out / n.CONFIG_FILE).read_text())["source"]
    assert source["finish"]["trial_id"] == best
    assert source["finish"]["mean"] == pytest.approx(statistics.fmean(by_trial[best]))
    assert client.get_run(source["run_id"]).data.tags[n.ROLE] == n.FINISH_RUN_ROLE
    card = (out / n.CARD_FILE).read_text()
    assert f"trial {best} trained 3 epochs under 2 fresh seeds (1, 2)" in card
    assert "A search trial of" not in card


@pytest.mark.slow
@pytest.mark.parametrize(("flags", "message"), [
    (["--top", "0"], "--top 0: must be at least 1"),
    (["--repeats", "0"], "--repeats 0: must be at least 1"),
    (["--trial", "nope"], "--trial nope: study 'small' has no completed trial 'nope'"),
])
def test_bad_finish_input_is_refused_before_anything_is_recorded(small_study, capsys, flags,
                                                                message):
    home = workdir_of(small_study)
    before = sorted(p.name for p in (home / "ray_results").iterdir())
    assert cli.main(["finish", "small", *flags, "--as", "never-made", "--workdir",
                     str(home)]) == 2
    assert message in capsys.readouterr().err
    assert sorted(p.name for p in (home / "ray_results").iterdir()) == before
    client = MlflowClient(small_study.uri)
    experiment = client.get_experiment_by_name("small").experiment_id
    assert not client.search_runs([experiment], "attributes.run_name = 'never-made'")


@pytest.mark.slow
def test_a_study_without_a_completed_trial_cannot_be_finished(tmp_path, lab_dir, tiny_args,
                                                              capsys):
    study = new_study(tmp_path, lab_dir, tiny_args, "none-done", epochs=2, num_samples=1)
    saved.save(study)  # saved and recorded, but no trial has run
    StudyRecords(study.uri, "none-done").open_parent(
        {"study.task": "text", "study.metric": n.VAL_SCORE}, {}, {})
    code = cli.main(["finish", "none-done", "--workdir", str(workdir_of(study))])
    assert code == 2 and "no completed trial to finish" in capsys.readouterr().err
    assert not (workdir_of(study) / "ray_results" / "none-done-finish").exists()


def finalist(trial_id: str, value: float, seed: int = 0) -> fp.Finalist:
    return fp.Finalist(trial_id, {}, value, 6, seed)


def test_fresh_seeds_skip_every_seed_the_search_used():
    assert fp.fresh_seeds({0}, 3) == [1, 2, 3]
    assert fp.fresh_seeds({0, 2, 5}, 4) == [1, 3, 4, 6]
    assert fp.fresh_seeds(set(), 2) == [0, 1]


def test_finalists_are_the_best_the_top_k_a_named_trial_or_the_front():
    trials = [finalist("a", 0.2), finalist("b", 0.9), finalist("c", 0.5)]
    assert [f.trial_id for f in fp.choose(trials, "max", study="s")] == ["b"]
    assert [f.trial_id for f in fp.choose(trials, "min", study="s")] == ["a"]
    assert [f.trial_id for f in fp.choose(trials, "max", study="s", top=2)] == ["b", "c"]
    assert [f.trial_id for f in fp.choose(trials, "max", study="s", trial="a")] == ["a"]
    assert [f.trial_id for f in fp.choose(trials, "max", study="s", front=["a", "c"])] == [
        "c", "a"]
    with pytest.raises(FinishError, match="no completed trial 'z'; its completed trials: b, c, a"):
        fp.choose(trials, "max", study="s", trial="z")
    with pytest.raises(FinishError, match="study 's' has no completed trial to finish"):
        fp.choose([], "max", study="s")
