"""`cvae-study sweep` on a real local Ray: trials, Optuna states and MLflow records read back.

Trials train the tiny text model on the lab-format files of conftest for a few epochs."""

import json
import re
from pathlib import Path

import pytest
from mlflow import MlflowClient
from optuna.trial import TrialState
from PIL import Image

from cvae_study.study import cli
from cvae_study.study import names as m
from cvae_study.study.config import parse_assignments
from cvae_study.study.names import (
    COMPLETED,
    ROLE,
    STOPPED_EARLY,
    TRIAL_ID,
)
from cvae_study.study.names import PARENT_RUN as PARENT
from cvae_study.study.options import SweepOptions
from cvae_study.study.storage import ResultsStore
from cvae_study.study.tune import sweep

pytestmark = pytest.mark.slow


def tiny_overrides(lab_dir, tiny_args, epochs):
    sets = [value for flag, value in zip(tiny_args[::2], tiny_args[1::2], strict=True)]
    return {**parse_assignments(sets), "data.source": "lab", "data.dir": str(lab_dir),
            "train.epochs": epochs}


def workdir_of(study):
    """The workdir whose sqlite store a test study records to."""
    return Path(study.uri.removeprefix("sqlite:///")).parent


def new_study(tmp_path, lab_dir, tiny_args, name, epochs=4, study_file=None, metric="",
              **options):
    """A prepared study of the tiny model; metric: its objectives as --metric takes them."""
    home = tmp_path / "w"
    home.mkdir(exist_ok=True)
    options = SweepOptions(task="text", name=name,
                           objectives=m.objectives_of(metric) if metric else (), **options)
    return sweep.prepare(options, ResultsStore(home / "ray_results"),
                         f"sqlite:///{home / 'mlflow.db'}", study_file=study_file,
                         overrides=tiny_overrides(lab_dir, tiny_args, epochs))


def trial_runs(study):
    client = MlflowClient(study.uri)
    experiment = client.get_experiment_by_name(study.options.name)
    runs = client.search_runs([experiment.experiment_id], f"tags.`{ROLE}` = 'trial'")
    return client, runs


def epochs_logged(client, run):
    return [point.step for point in client.get_metric_history(run.info.run_id, m.TRAIN_LOSS)]


def module_study(tmp_path_factory, request, folder: str, name: str, **options):
    """A module fixture's study of the tiny model on the lab files, run -> (its temporary
    folder, lab folder, --set flags, the study, its result)."""
    tmp_path = tmp_path_factory.mktemp(folder)
    lab_dir = request.getfixturevalue("module_lab_dir")
    tiny_args = request.getfixturevalue("module_tiny_args")
    study = new_study(tmp_path, lab_dir, tiny_args, name, **options)
    return tmp_path, lab_dir, tiny_args, study, sweep.run(study)


@pytest.fixture(scope="module")
def finished_study(tmp_path_factory, request):
    """Eight trials of four epochs with ASHA on: the study most tests below read back."""
    # val/score (heldout BLEU-4 + Gaussian) is about 0 for every tiny trial; seen BLEU-4 ranks.
    *_, study, result = module_study(tmp_path_factory, request, "study", "eight",
                                     num_samples=8, max_concurrent=2, metric=m.VAL_BLEU4_SEEN)
    return study, result


@pytest.fixture(scope="module")
def module_lab_dir(tmp_path_factory):
    from conftest import LAB_TEST, LAB_TRAIN

    folder = tmp_path_factory.mktemp("lab")
    (folder / "train.txt").write_text(LAB_TRAIN)
    (folder / "test.txt").write_text(LAB_TEST)
    return folder


@pytest.fixture(scope="module")
def module_tiny_args():
    from conftest import TINY

    return [arg for key, value in TINY.items() if key != "train.epochs"
            for arg in ("--set", f"{key}={value}")]


def test_every_trial_has_one_nested_mlflow_run_with_its_config_and_epochs(finished_study):
    study, result = finished_study
    assert len(result.trials) == 8
    client, runs = trial_runs(study)
    assert len(runs) == 8
    assert {run.data.tags[TRIAL_ID] for run in runs} == {t["trial_id"] for t in result.trials}
    by_id = {t["trial_id"]: t for t in result.trials}
    for run in runs:
        trial = by_id[run.data.tags[TRIAL_ID]]
        assert run.data.tags[PARENT] == result.parent_run_id
        assert run.data.tags["outcome"] == trial["outcome"] in (COMPLETED, STOPPED_EARLY)
        assert run.info.status == "FINISHED"
        assert run.data.params["model.hidden_size"] == "16"  # fixed for every trial
        assert run.data.params["optim.lr"] == str(trial["config"]["optim.lr"])  # searched
        assert epochs_logged(client, run) == list(range(1, trial["epochs"] + 1))
        assert run.data.tags["device"] == "cpu" and run.data.tags["host.address"]
        assert run.data.tags["torch_threads"] == "1"  # --cpus-per-trial 1
        assert run.data.tags["host.name"] and run.data.tags["ray.checkpoint"]
        assert run.data.tags[m.MLFLOW_GIT_COMMIT] and run.data.tags[m.MLFLOW_USER]
        samples = client.download_artifacts(
            run.info.run_id, f"samples/epoch_{trial['epochs']:03d}.json")
        assert "conversions" in json.loads(open(samples).read())
    completed = [t for t in result.trials if t["outcome"] == COMPLETED]
    assert completed and all(t["epochs"] == 4 for t in completed)
    best = max(completed, key=lambda t: t[m.VAL_BLEU4_SEEN])
    assert result.best["trial_id"] == best["trial_id"]
    parent = client.get_run(result.parent_run_id)
    assert parent.info.status == "FINISHED"
    assert parent.data.tags["study.best_trial_id"] == best["trial_id"]
    assert parent.data.params["study.num_samples"] == "8"
    assert parent.data.tags[m.MLFLOW_GIT_COMMIT] == parent.data.tags[m.GIT_COMMIT]
    assert parent.data.tags[m.MLFLOW_SOURCE_NAME]


def test_trials_reuse_the_worker_processes_instead_of_starting_one_each(finished_study):
    study, result = finished_study
    pids = {json.loads(line)["pid"] for path in Path(study.path).glob("*/result.json")
            for line in path.read_text().splitlines()}
    assert len(result.trials) == 8 and 1 <= len(pids) <= 2  # --max-concurrent 2
    _, runs = trial_runs(study)
    assert 1 <= len({run.data.tags[m.WORKER] for run in runs}) <= 2  # a lane per worker


def test_what_a_study_cost_is_on_its_trial_runs_and_its_parent(finished_study, tmp_path):
    from cvae_study.analysis.report import write_report

    study, result = finished_study
    client, runs = trial_runs(study)
    seconds = {}
    for run in runs:
        last = json.loads(Path(run.data.tags["ray.trial_path"], "result.json")
                          .read_text().splitlines()[-1])
        seconds[run.data.tags[TRIAL_ID]] = last["time_total_s"]
        # one CPU per trial, no GPU: CPU-seconds are the trial's wall time as Tune counts it
        assert run.data.metrics[m.CPU_SECONDS] == pytest.approx(last["time_total_s"])
        assert run.data.metrics[m.GPU_SECONDS] == 0
    parent = client.get_run(result.parent_run_id).data.metrics
    assert parent[m.CPU_HOURS] == pytest.approx(sum(seconds.values()) / 3600)
    assert parent[m.EPOCHS_RUN] == sum(t["epochs"] for t in result.trials)
    assert parent[m.EPOCHS_SAVED] == sum(4 - t["epochs"] for t in result.trials
                                         if t["outcome"] == STOPPED_EARLY) > 0
    stopped = sum(t["outcome"] == STOPPED_EARLY for t in result.trials)
    summary = write_report(study.uri, "eight", tmp_path / "report", log_to_mlflow=False)
    assert (f"Cost: {parent[m.CPU_HOURS]:.2f} CPU-hours held; early stopping ended {stopped} "
            f"of 8 trials early, sparing {int(parent[m.EPOCHS_SAVED])} of "
            f"{int(parent[m.EPOCHS_RUN] + parent[m.EPOCHS_SAVED])} epochs") in (
        summary["markdown"].read_text())


def test_trials_asha_stopped_are_pruned_in_optuna_with_their_epoch_values(finished_study):
    _, result = finished_study
    stopped = [t for t in result.trials if t["outcome"] == STOPPED_EARLY]
    assert stopped, "ASHA stopped no trial: the study is too uniform to test pruning"
    states = [trial.state for trial in result.searcher.optuna_study.get_trials()]
    assert states.count(TrialState.PRUNED) == len(stopped)
    assert states.count(TrialState.COMPLETE) == len(result.trials) - len(stopped)
    for trial in result.searcher.optuna_study.get_trials():
        if trial.state == TrialState.PRUNED:
            assert 1 <= len(trial.intermediate_values) < 4
        else:
            assert sorted(trial.intermediate_values) == [1, 2, 3, 4]


@pytest.mark.parametrize(("args", "message"), [
    (["--name", "a/b"], "no path separators"),
    (["--num-samples", "0"], "--num-samples 0: must be at least 1"),
    (["--brackets", "0"], "--brackets 0: must be at least 1"),
    (["--metric", "val/nope"], "--metric 'val/nope': 'val/nope' is not an objective"),
    (["--metric", "val/bleu4,val/psnr"], "'val/psnr' is not an objective of the text task"),
    (["--metric", "val/bleu4,val/bleu4"], "val/bleu4 is named twice"),
    (["--metric", "val/bleu4,val/gaussian", "--brackets", "3"],
     "--brackets 3: a study of several objectives"),
    (["--metric", "val/bleu4,val/gaussian", "--warm-start", "earlier"],
     "--warm-start earlier: a study of several objectives"),
    (["--set", "kl.ratio=2"], "kl.ratio: 2.0 is out of range"),
    (["--set", "kl.nope=1"], "unknown config key 'kl.nope'"),
    (["--data", "lab", "--data-dir", "/nonexistent/lab"], "/nonexistent/lab"),
    (["--tracking-uri", "http://127.0.0.1:9"], "http://127.0.0.1:9 cannot be reached"),
])
def test_bad_sweep_input_fails_before_ray_starts(tmp_path, capsys, args, message):
    import ray

    code = cli.main(["sweep", "text", "--workdir", str(tmp_path), *args])
    assert code == 2 and message in capsys.readouterr().err
    assert not ray.is_initialized() and not (tmp_path / "ray_results").exists()


def test_bad_study_file_bounds_fail_before_ray_starts(tmp_path, capsys):
    study_file = tmp_path / "study.toml"
    study_file.write_text('[space]\n"optim.lr" = {low = 0.01, high = 0.001}\n')
    code = cli.main(["sweep", "text", "--workdir", str(tmp_path), "--study", str(study_file)])
    assert code == 2 and "space.optim.lr: the range [0.01, 0.001] is empty or reversed" in (
        capsys.readouterr().err)


def test_unknown_study_lists_the_studies_there_are(finished_study, capsys):
    study, _ = finished_study
    code = cli.main(["resume", "nope", "--workdir", str(workdir_of(study))])
    assert code == 2 and "no study 'nope'" in capsys.readouterr().err
    code = cli.main(["resume", "nope", "--workdir", str(workdir_of(study))])
    assert "studies there: eight" in capsys.readouterr().err


def test_an_existing_study_name_is_refused(finished_study, capsys):
    study, _ = finished_study
    code = cli.main(["sweep", "text", "--name", "eight", "--workdir", str(workdir_of(study))])
    assert code == 2 and "already exists" in capsys.readouterr().err


def test_demo_smoke_runs_the_whole_job_and_says_where_everything_is(tmp_path, capfd):
    """The text job, then (--with-video) a video study whose best model predicts a clip."""
    code = cli.main(["demo", "--smoke", "--with-video", "--workdir", str(tmp_path)])
    out, err = capfd.readouterr()  # what reached the terminal, from every library
    assert code == 0
    # the live view's final lines, and none of Ray's, Optuna's or MLflow's chatter
    assert re.search(r"study demo-\S+ ended: 2 of 2 trials ended \(\d completed", out)
    assert re.search(r"cost: [0-9.]+ CPU-hours held; (no trial was stopped early|early "
                     r"stopping ended 1 of 2 trials early)", out)
    for chatter in ("SearchGenerator", "TensorBoard", "A new study created",
                    "Downloading artifacts", "View detailed results"):
        assert chatter not in out + err
    # a short readable summary, not JSON: counts, the best trials, the cost, where things are
    name = re.search(r"\nStudy (demo-\S+): 2 trials of val/score \(max\): ", out).group(1)
    assert '"trials":' not in out and re.search(r"\n  \w+ +[0-9.]+ +[12] +kl\.schedule=", out)
    store = f"sqlite:///{tmp_path / 'mlflow.db'}"
    parent_id = re.search(f"MLflow store: {re.escape(store)} \\(experiment {name}, parent run "
                          r"(\w+)\)", out).group(1)
    assert f"Ray results:  {tmp_path / 'ray_results' / name}" in out
    client = MlflowClient(store)
    assert client.get_run(parent_id).data.params["data.source"] == "lemminflect"
    # then the winner finished on a fresh seed, the report, the finished model exported, used
    assert f"Finish {name}-finish of study {name}: 1 finalist(s) x 1 fresh seeds (1)" in out
    report = tmp_path / "reports" / name / "index.html"
    bundle = tmp_path / "bundles" / name
    source = json.loads((bundle / "config.json").read_text())["source"]
    assert client.get_run(source["run_id"]).data.tags[m.ROLE] == m.FINISH_RUN_ROLE
    assert f"Report:       {report}" in out and report.is_file()
    assert f"Model bundle: {bundle}" in out and (bundle / "model.safetensors").is_file()
    assert "convert walk (sp -> p): " in out and out.count("generated: ") == 5
    assert f"Open the UI:  cvae-study ui --workdir {tmp_path}" in out
    video = out[out.index("Video bundle: "):].split()[2].rsplit("/", 1)[1]
    assert video == f"{name}-video"
    assert (tmp_path / "reports" / video / "index.html").is_file()
    assert (tmp_path / "bundles" / video / "samples.png").is_file()
    gif = tmp_path / "predictions" / f"{video}.gif"
    assert f"{gif} (PSNR " in out
    with Image.open(gif) as animation:
        assert animation.n_frames == 12
    assert client.get_experiment_by_name(video) is not None


def test_a_notebook_lists_and_loads_studies_by_their_workdir(finished_study):
    from cvae_study.analysis import list_studies, load_study

    study, result = finished_study
    listed = list_studies(workdir_of(study)).set_index("name")
    row = listed.loc["eight"]
    assert (row["task"], row["metric"], row["state"], row["trials"]) == (
        "text", m.VAL_BLEU4_SEEN, "FINISHED", 8)
    assert row["best"] == pytest.approx(result.best[m.VAL_BLEU4_SEEN])
    assert row["best_trial"] == result.best["trial_id"]
    tables = load_study("eight", workdir_of(study))
    assert len(tables.trials) == 8 and tables.metric == m.VAL_BLEU4_SEEN
    assert set(tables.history["trial_id"]) == set(tables.trials["trial_id"])


def test_a_study_of_two_objectives_records_its_pareto_front(tmp_path, lab_dir, tiny_args):
    objectives = (m.VAL_BLEU4, m.VAL_BLEU4_SEEN)  # both move in a tiny model
    study = new_study(tmp_path, lab_dir, tiny_args, "trade", epochs=3, num_samples=6,
                      max_concurrent=2, metric=",".join(objectives))
    result = sweep.run(study)
    assert result.best is None and result.summary()["pareto"] == result.pareto
    finished = [t for t in result.trials if t["outcome"] == COMPLETED]
    # the front by hand: the completed trials no other completed trial beats on both
    def beaten(t):
        return any(all(o[k] >= t[k] for k in objectives) and any(o[k] > t[k] for k in objectives)
                   for o in finished)
    assert {t["trial_id"] for t in result.pareto} == {
        t["trial_id"] for t in finished if not beaten(t)}
    optuna_study = result.searcher.optuna_study
    assert len(optuna_study.directions) == 2
    states = [trial.state for trial in optuna_study.get_trials()]
    assert states.count(TrialState.COMPLETE) == len(finished)
    assert states.count(TrialState.PRUNED) == sum(t["outcome"] == STOPPED_EARLY
                                                  for t in result.trials)
    client = MlflowClient(study.uri)
    parent = client.get_run(result.parent_run_id)
    assert parent.data.params["study.metric"] == "val/bleu4,val/bleu4_seen"
    assert set(parent.data.tags[m.PARETO_TAG].split(",")) == {t["trial_id"] for t in result.pareto}
    recorded = json.loads(Path(client.download_artifacts(result.parent_run_id,
                                                         m.PARETO_ARTIFACT)).read_text())
    assert recorded["objectives"] == list(objectives) and recorded["modes"] == ["max", "max"]
    assert {t["trial_id"]: t["values"] for t in recorded["trials"]} == {
        t["trial_id"]: {k: t[k] for k in objectives} for t in result.pareto}
