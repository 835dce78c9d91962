"""`cvae-study ablate`: a real small ablation of a real study, its records, its resume, and
its bad input. The statistics and the report are tests/test_ablation_analysis.py's."""

import json
import signal
import subprocess
import sys
import time

import pytest
from mlflow import MlflowClient
from test_sweep import module_lab_dir, module_tiny_args, new_study, workdir_of  # noqa: F401

from cvae_study.study import ablation_plan as ap
from cvae_study.study import cli
from cvae_study.study import names as n
from cvae_study.study.options import AblationOptions, TrialResources
from cvae_study.study.tracking.records import StudyRecords
from cvae_study.study.tracking.store import load_json_artifact
from cvae_study.study.tune import ablate, saved, sweep

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def small_study(tmp_path_factory, request):
    """Three trials of two epochs over three knobs (the schedule, the KL weight, the start of
    teacher forcing; the rest fixed, so a path stays short), all completed."""
    tmp_path = tmp_path_factory.mktemp("ablated")
    study_file = tmp_path / "study.yaml"
    study_file.write_text("space:\n  kl.schedule: [none, cyclical]\n"
                          "  tf.start: {low: 0.5, high: 1.0}\n  kl.max_weight: {low: 1, high: 4}\n"
                          "  tf.decay_step: 0.0\n  tf.floor: 0.0\n  optim.lr: 0.005\n"
                          "  model.cell: gru\n")
    study = new_study(tmp_path, request.getfixturevalue("module_lab_dir"),
                      request.getfixturevalue("module_tiny_args"), "small", epochs=2,
                      study_file=str(study_file), num_samples=3, early_stopping=False)
    sweep.run(study)
    return study


RESOURCES = TrialResources(max_concurrent=2)


def ablation_runs(study, parent_id):
    client = MlflowClient(study.uri)
    return client, client.search_runs(
        [client.get_experiment_by_name(study.options.name).experiment_id],
        f"{n.ABLATION_RUN_FILTER} and {n.children_filter(parent_id)}")


def test_leave_one_out_runs_every_variant_under_the_same_seeds(small_study):
    options = AblationOptions(study="small", repeats=2)
    prepared = ablate.prepare(options, small_study.storage, small_study.uri, RESOURCES)
    plan = prepared.plan
    assert plan.design == ap.LEAVE_ONE_OUT and plan.seeds == [0, 1] and plan.epochs == 2
    assert set(plan.variants) == {"target", "baseline", *(f"without {k}" for k in plan.knobs)}
    done = ablate.run(prepared)
    client, runs = ablation_runs(small_study, done.parent_id)
    assert len(runs) == 2 * len(plan.variants)
    pairs = sorted((run.data.tags[n.VARIANT], run.data.tags[n.SEED]) for run in runs)
    assert pairs == sorted((v, str(s)) for v in plan.variants for s in (0, 1))  # each once
    for run in runs:
        assert run.data.tags[n.OUTCOME] == n.COMPLETED
        assert run.data.params["train.seed"] == run.data.tags[n.SEED]
        variant = plan.variants[run.data.tags[n.VARIANT]]
        for key, value in variant.changes.items():  # the run trained the variant, not the target
            assert run.data.params[key] == str(value)
    parent = client.get_run(done.parent_id)
    study_parent = client.search_runs([parent.info.experiment_id], n.PARENT_FILTER)[0]
    assert parent.data.tags[n.ROLE] == n.ABLATION_ROLE
    assert parent.data.tags[n.ABLATION_OF] == study_parent.info.run_id
    saved = load_json_artifact(client, done.parent_id, n.ABLATION_PLAN)
    assert saved["variants"].keys() == plan.variants.keys() and saved["seeds"] == [0, 1]
    # the study's own trials are untouched: still three, nested under the study's run
    trials = client.search_runs([parent.info.experiment_id], n.TRIAL_FILTER)
    assert len(trials) == 3
    # export now takes the variant with the best mean over its seeds, and says so
    out = workdir_of(small_study) / "bundle"
    assert cli.main(["export", "small", "--out", str(out), "--workdir",
                     str(workdir_of(small_study))]) == 0
    source = json.loads((out / n.CONFIG_FILE).read_text())["source"]
    chosen = source["ablation"]
    values = {}
    for run in runs:
        values.setdefault(run.data.tags[n.VARIANT], []).append(run.data.metrics[plan.metric])
    best = max(values, key=lambda variant: sum(values[variant]) / 2)
    assert chosen["variant"] == best and chosen["repeats"] == 2
    assert chosen["mean"] == pytest.approx(sum(values[best]) / 2)
    assert f"variant *{best}*, the best mean" in (out / n.CARD_FILE).read_text()


def test_an_ablation_path_explains_the_gain_step_by_step(small_study):
    options = AblationOptions(study="small", name="small-path", repeats=2, path=True)
    done = ablate.run(ablate.prepare(options, small_study.storage, small_study.uri, RESOURCES))
    plan = done.plan
    k = len(plan.knobs)
    assert [step["step"] for step in plan.path] == list(range(1, k + 1))
    assert {step["knob"] for step in plan.path} == set(plan.knobs)  # each knob once, in order
    steps = [v for v in plan.variants.values() if v.role == ap.STEP]
    assert len(steps) == k * (k + 1) // 2 - 1  # the last step's candidate is the target
    _, runs = ablation_runs(small_study, done.parent_id)
    assert len(runs) == 2 * (2 + len(steps))


def test_a_killed_ablation_driver_resumes_with_each_run_once(small_study, tmp_path):
    home = workdir_of(small_study)
    command = [sys.executable, "-m", "cvae_study.study.cli", "ablate", "small", "--as", "cut",
               "--repeats", "2", "--max-concurrent", "1", "--workdir", str(home)]
    log = open(tmp_path / "driver.log", "w")
    driver = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
    store = small_study.storage
    deadline = time.time() + 240
    client = MlflowClient(small_study.uri)
    experiment = client.get_experiment_by_name("small").experiment_id
    while time.time() < deadline and driver.poll() is None:
        time.sleep(1)
        finished = client.search_runs(
            [experiment], f"{n.ABLATION_RUN_FILTER} and tags.outcome = 'completed'")
        if store.exists("cut", n.SAVED_STUDY_FILE) and any(
                run.data.tags.get(n.GRID) == "cut" for run in finished):
            break  # a run of this ablation has finished
    assert driver.poll() is None, (tmp_path / "driver.log").read_text()[-3000:]
    driver.send_signal(signal.SIGKILL)
    driver.wait()
    assert cli.main(["resume", "cut", "--workdir", str(home)]) == 0
    resumed = ablate.load("cut", store, None)
    _, runs = ablation_runs(small_study, resumed.parent_id)
    pairs = [(run.data.tags[n.VARIANT], run.data.tags[n.SEED]) for run in runs]
    assert sorted(pairs) == sorted((v, str(s)) for v in resumed.plan.variants for s in (0, 1))


@pytest.mark.parametrize(("flags", "message"), [
    (["--knobs", "train.batch_size"], "--knobs train.batch_size: the study did not search"),
    (["--repeats", "0"], "--repeats 0: must be at least 1"),
    (["--target", "nope"], "--target nope: study 'small' has no trial 'nope'"),
    (["--baseline", "nope"], "--baseline nope: study 'small' has no trial 'nope'"),
])
def test_bad_ablation_input_is_refused_before_anything_runs(small_study, capsys, flags,
                                                           message):
    home = workdir_of(small_study)
    before = sorted(p.name for p in (home / "ray_results").iterdir())
    assert cli.main(["ablate", "small", *flags, "--as", "never-made", "--workdir",
                     str(home)]) == 2
    assert message in capsys.readouterr().err
    assert sorted(p.name for p in (home / "ray_results").iterdir()) == before


def test_a_study_without_a_completed_trial_cannot_be_ablated(tmp_path, lab_dir, tiny_args,
                                                             capsys):
    study = new_study(tmp_path, lab_dir, tiny_args, "none-done", epochs=2, num_samples=1)
    saved.save(study)  # saved and recorded, but no trial has run
    StudyRecords(study.uri, "none-done").open_parent(
        {"study.task": "text", "study.metric": n.VAL_SCORE}, {}, {})
    code = cli.main(["ablate", "none-done", "--workdir", str(workdir_of(study))])
    assert code == 2 and "no completed trial" in capsys.readouterr().err


def test_a_study_of_several_objectives_is_not_ablated(tmp_path, lab_dir, tiny_args, capsys):
    study = new_study(tmp_path, lab_dir, tiny_args, "trade", epochs=2, num_samples=1,
                      metric="val/bleu4,val/gaussian")
    saved.save(study)
    code = cli.main(["ablate", "trade", "--workdir", str(workdir_of(study))])
    assert code == 2 and "has several objectives (val/bleu4,val/gaussian)" in (
        capsys.readouterr().err)


def test_an_ablation_shorter_than_the_study_does_not_choose_the_exported_model(small_study):
    """The demo's kind: knobs measured at fewer epochs than the study trained; the model to
    take home stays the study's best trial."""
    options = AblationOptions(study="small", name="small-short", repeats=1, epochs=1,
                              knobs=("kl.max_weight",))
    ablate.run(ablate.prepare(options, small_study.storage, small_study.uri, RESOURCES))
    out = workdir_of(small_study) / "short-bundle"
    assert cli.main(["export", "small", "--out", str(out), "--workdir",
                     str(workdir_of(small_study))]) == 0
    source = json.loads((out / n.CONFIG_FILE).read_text())["source"]
    assert "ablation" not in source
    chosen = MlflowClient(small_study.uri).get_run(source["run_id"])
    assert chosen.data.tags[n.ROLE] == n.TRIAL_ROLE  # one of the study's own trials


def test_two_ablation_drivers_of_one_name_make_one_ablation(small_study, tmp_path):
    """Started at the same moment on one workdir: one runs the plan, the other is refused
    (exit 2) naming the holder before it writes anything; one Ray results folder."""
    home = workdir_of(small_study)
    command = [sys.executable, "-m", "cvae_study.study.cli", "ablate", "small", "--as", "dup",
               "--knobs", "kl.max_weight", "--repeats", "1", "--epochs", "1",
               "--max-concurrent", "1", "--workdir", str(home)]
    logs = [tmp_path / f"driver{i}.log" for i in range(2)]
    drivers = [subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=open(log, "w"))
               for log in logs]
    codes = [driver.wait(timeout=300) for driver in drivers]
    errors = [log.read_text() for log in logs]
    assert sorted(codes) == [0, 2], errors
    refused = errors[codes.index(2)]
    client = MlflowClient(small_study.uri)
    experiment = client.get_experiment_by_name("small").experiment_id
    (parent,) = client.search_runs([experiment],
                                   f"{n.ABLATION_FILTER} and attributes.run_name = 'dup'")
    assert "ablation 'dup' already exists" in refused and parent.info.run_id in refused
    assert "Traceback" not in refused
    done = ablate.load("dup", small_study.storage, None)
    assert done.parent_id == parent.info.run_id
    _, runs = ablation_runs(small_study, parent.info.run_id)
    pairs = sorted((run.data.tags[n.VARIANT], run.data.tags[n.SEED]) for run in runs)
    assert pairs == sorted((variant, "0") for variant in done.plan.variants)  # each once
    folder = home / "ray_results" / "dup"  # one driver's Tune run, its trials only
    assert len(list(folder.glob("experiment_state-*.json"))) == 1
    assert len(list(folder.glob("trial_*"))) == len(done.plan.variants)
