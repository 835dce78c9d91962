"""Export a real (tiny) study's best trial, load it back, use it; the MLflow UI over it."""

import json
import os
import socket
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import mlflow
import pandas as pd
import pytest
import torch
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException
from safetensors.torch import load_file
from test_sweep import new_study, workdir_of
from test_team_services import free_port, start, stop, wait_for

from cvae_study.datasets.tense import TENSES, Conversion
from cvae_study.study import cli, serving
from cvae_study.study.bundle.bundle import BundleError, load_bundle
from cvae_study.study.tasks.text import convert_words
from cvae_study.study.tracking import ui
from cvae_study.study.tune import sweep

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    from conftest import LAB_TEST, LAB_TRAIN, TINY

    tmp_path = tmp_path_factory.mktemp("export")
    lab = tmp_path / "lab"
    lab.mkdir()
    (lab / "train.txt").write_text(LAB_TRAIN)
    (lab / "test.txt").write_text(LAB_TEST)
    tiny_args = [arg for key, value in TINY.items() if key != "train.epochs"
                 for arg in ("--set", f"{key}={value}")]
    study = new_study(tmp_path, lab, tiny_args, "small", epochs=2, num_samples=2,
                      early_stopping=False)
    return study, sweep.run(study)


def run_cli(args, capsys):
    code = cli.main(args)
    out, err = capsys.readouterr()
    return code, out, err


def export_args(study, out, *extra):
    return ["export", "small", "--out", str(out), "--workdir", str(workdir_of(study)), *extra]


def test_export_load_and_convert_round_trip(finished, tmp_path, capsys):
    study, result = finished
    out = tmp_path / "bundle"
    code, stdout, _ = run_cli(export_args(study, out), capsys)
    assert code == 0
    exported = json.loads(stdout)
    bundle = load_bundle(out)
    best_run = MlflowClient(study.uri).get_run(exported["run_id"])
    assert best_run.data.metrics["val/score"] == max(t["val/score"] for t in result.trials)
    trial_checkpoint = best_run.data.tags["ray.checkpoint"]
    saved = load_file(f"{trial_checkpoint}/model.safetensors")
    for key, value in bundle.model.state_dict().items():
        assert torch.equal(value, saved[key]), key  # the trial's last checkpoint, exactly
    expected = convert_words(bundle.model, [Conversion("walk", 0, "", 3)],
                             bundle.meta["max_length"])[0]
    code, stdout, _ = run_cli(["convert", "--model", str(out), "walk", "--from", "sp",
                               "--to", "simple past"], capsys)
    assert code == 0 and stdout.strip() == expected
    code, stdout, _ = run_cli(["generate", "--model", str(out), "-n", "3", "--seed", "1"], capsys)
    lines = stdout.rstrip("\n").split("\n")  # a tiny model may generate empty words
    assert code == 0 and len(lines) == 3 and all(len(line.split(" / ")) == 4 for line in lines)
    card = (out / "README.md").read_text()
    assert exported["trial_id"] in card and "cvae-study convert --model" in card
    code, _, err = run_cli(["predict", "--model", str(out), "--clip", str(tmp_path),
                            "--out", str(tmp_path / "x.gif")], capsys)
    assert code == 2 and f"{out}: a text model; this command needs a video model" in err


def test_an_existing_folder_is_refused_unless_forced(finished, tmp_path, capsys):
    study, _ = finished
    out = tmp_path / "taken"
    out.mkdir()
    code, _, err = run_cli(export_args(study, out), capsys)
    assert code == 2 and "exists; pass --force" in err
    assert run_cli(export_args(study, out, "--force"), capsys)[0] == 0
    assert (out / "model.safetensors").is_file()


def test_tampered_bundles_are_refused_naming_the_file(finished, tmp_path, capsys):
    study, _ = finished
    out = tmp_path / "bundle"
    assert run_cli(export_args(study, out), capsys)[0] == 0
    meta = json.loads((out / "config.json").read_text())
    meta["config"]["model.hidden_size"] = 32  # the weights are hidden 16
    (out / "config.json").write_text(json.dumps(meta))
    with pytest.raises(BundleError, match="model.safetensors: does not fit config.json"):
        load_bundle(out)
    meta["task"] = "speech"
    (out / "config.json").write_text(json.dumps(meta))
    code, _, err = run_cli(["generate", "--model", str(out)], capsys)
    assert code == 2 and "unknown task 'speech'" in err
    (out / "metrics.json").unlink()
    with pytest.raises(BundleError, match="metrics.json: missing"):
        load_bundle(out)
    code, _, err = run_cli(["convert", "--model", str(out), "walk1", "--from", "sp", "--to",
                            "p"], capsys)
    assert code == 2 and "outside a-z" in err


@pytest.fixture(scope="module")
def registered(finished, tmp_path_factory):
    """The best trial exported and registered as version 1 of `tense-cvae`."""
    study, _ = finished
    out = tmp_path_factory.mktemp("registered") / "bundle"
    assert cli.main(export_args(study, out, "--register", "tense-cvae")) == 0
    return study, out


def test_register_makes_a_pyfunc_model_the_registry_loads(registered):
    study, out = registered
    client = MlflowClient(study.uri)
    (version,) = client.search_model_versions("name = 'tense-cvae'")
    assert int(version.version) == 1
    previous = mlflow.get_tracking_uri()  # `train` tests set it for the process
    mlflow.set_tracking_uri(study.uri)  # the registry follows it
    try:
        model = mlflow.pyfunc.load_model("models:/tense-cvae/1")
    finally:
        mlflow.set_tracking_uri(previous)
    bundle = load_bundle(out)
    words = [("abandon", 0, 3), ("run", 0, 2), ("walked", 3, 1)]
    expected = convert_words(bundle.model, [Conversion(w, s, "", t) for w, s, t in words],
                             bundle.meta["max_length"])
    converted = model.predict(pd.DataFrame(
        [{"word": w, "from": TENSES[s], "to": TENSES[t]} for w, s, t in words]))
    assert list(converted["converted"]) == expected
    generated = model.predict(pd.DataFrame([{"n": 3, "seed": 0}]))
    assert len(generated) == 3 and list(generated.columns[1:]) == list(TENSES)
    assert model.metadata.get_input_schema().input_names() == ["word", "from", "to", "n",
                                                                "seed"]
    with pytest.raises(MlflowException, match="conversions .* or generation"):
        model.predict(pd.DataFrame([{"word": "run", "n": 1}]))


def test_the_registered_model_is_served_by_mlflow_and_stopped(registered, capsys):
    study, out = registered
    bundle = load_bundle(out)
    (expected,) = convert_words(bundle.model, [Conversion("abandon", 0, "", 3)],
                                bundle.meta["max_length"])
    port = free_port()
    venv = Path(sys.executable).parent  # on PATH as in an activated environment: the
    env = {**os.environ, "MLFLOW_TRACKING_URI": study.uri,  # server runs its uvicorn
           "PATH": os.pathsep.join([str(venv), os.environ.get("PATH", "")])}
    server = start(["mlflow", "models", "serve", "-m",
                    "models:/tense-cvae/1", "--env-manager", "local", "-h", "127.0.0.1",
                    "-p", str(port)], f"http://127.0.0.1:{port}/ping", env=env)
    try:
        def post(records):
            request = urllib.request.Request(
                f"http://127.0.0.1:{port}/invocations", method="POST",
                data=json.dumps({"dataframe_records": records}).encode(),
                headers={"Content-Type": "application/json"})
            with urllib.request.urlopen(request, timeout=30) as response:
                return json.loads(response.read())

        answer = post([{"word": "abandon", "from": "sp", "to": "p"}])
        assert answer["predictions"][0]["converted"] == expected
        with pytest.raises(urllib.error.HTTPError) as refused:
            post([{"word": "abandon", "from": "sp", "to": "future"}])
        assert refused.value.code == 400 and "future" in refused.value.read().decode()
    finally:
        stop(server)
    deadline = time.monotonic() + 30  # uvicorn finishes its shutdown after the CLI exits
    while time.monotonic() < deadline and _answers(f"http://127.0.0.1:{port}/ping"):
        time.sleep(0.5)
    assert not _answers(f"http://127.0.0.1:{port}/ping")


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2):
            return True
    except OSError:
        return False


def test_a_video_study_is_not_registered(finished, tmp_path, capsys, monkeypatch):
    from cvae_study.study.bundle import export

    study, _ = finished
    monkeypatch.setattr(export, "pick_trial", _as_video(export.pick_trial))
    code, _, err = run_cli(export_args(study, tmp_path / "v", "--register", "clips"), capsys)
    assert code == 2 and "a video model stays a bundle" in err
    assert not (tmp_path / "v").exists()


def _as_video(pick_trial):
    """pick_trial whose parent run says its study is of the video task."""
    def picked(*args, **kwargs):
        parent, run = pick_trial(*args, **kwargs)
        parent.data.params["study.task"] = "video"
        return parent, run
    return picked


def test_ui_serves_the_study_and_stops(finished):
    study, result = finished
    port = free_port()
    server = ui.start(study.uri, "127.0.0.1", port)
    try:
        wait_for(f"http://127.0.0.1:{port}/health", server)
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/api/2.0/mlflow/runs/search", method="POST",
            data=json.dumps({"experiment_ids": [result.experiment_id]}).encode(),
            headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=30) as response:
            runs = json.loads(response.read())["runs"]
        assert len(runs) == 3  # the study's run and its two trials
        links = ui.study_links(study.uri, f"http://127.0.0.1:{port}")["small"]
        runs_view = f"http://127.0.0.1:{port}/#/experiments/{result.experiment_id}/runs?"
        assert links.trials.startswith(runs_view) and links.chart.startswith(runs_view)
        saved_view = MlflowClient(study.uri).get_experiment(result.experiment_id).tags[
            ui.SHARED_VIEW_TAG + ui.VIEW_KEY]
        assert json.loads(saved_view)["orderByKey"] == f"metrics.`{links.objective}`"
    finally:
        serving.stop(server)
    assert server.poll() is not None


def test_ui_refuses_a_port_in_use(tmp_path, capsys):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        port = taken.getsockname()[1]
        code, _, err = run_cli(["ui", "--port", str(port), "--workdir", str(tmp_path)], capsys)
    assert code == 2 and f"--port {port}" in err and "already in use" in err


def test_ui_in_headless_chromium_shows_the_trials_by_their_objective(finished, tmp_path):
    import re

    from browser import chromium, render

    from cvae_study.study import names as n

    chromium()  # skipped here, before a server starts, where there is none
    study, result = finished
    port = free_port()
    server = ui.start(study.uri, "127.0.0.1", port)
    try:
        wait_for(f"http://127.0.0.1:{port}/health", server)
        links = ui.study_links(study.uri, f"http://127.0.0.1:{port}")["small"]
        table = render(links.trials, tmp_path / "ui-trials.png")
        chart = render(links.chart, tmp_path / "ui-chart.png")
    finally:
        serving.stop(server)
    metric = links.objective
    # the order the UI asks the store for; ties broken as the store breaks them
    trials = MlflowClient(study.uri).search_runs(
        [result.experiment_id], n.TRIAL_FILTER, order_by=[f"metrics.`{metric}` DESC"])
    names = [run.info.run_name for run in trials]
    for text in (table, chart):
        assert "Model registry" in text and "Judges" not in text  # training mode, not GenAI
        assert f"Sort: {metric}" in text and f"{len(trials)} matching runs" in text  # trials only
        assert re.search(" .*".join(map(re.escape, names)), text)  # best first
    # the objective's and the outcome's columns, each trial's value (JavaScript prints 0.0 as 0)
    assert f"Duration {metric} {n.OUTCOME}" in table
    for run in trials:
        assert f" {str(run.data.metrics[metric]).removesuffix('.0')} " in table
    assert f"{names[0]} ({metric})" in chart  # the best trial's line on the objective's chart


def test_ui_command_stops_its_server_on_ctrl_c(finished):
    import os
    import signal
    import subprocess
    import sys

    study, _ = finished
    port = free_port()
    command = [sys.executable, "-m", "cvae_study.study.cli", "ui", "--port", str(port),
               "--workdir", str(workdir_of(study))]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                               text=True, start_new_session=True)
    try:
        wait_for(f"http://127.0.0.1:{port}/health", process)
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=60) == 0
        out = process.stdout.read()
        assert "study small, trials by val/score: http://" in out
        assert "workflowType=machine_learning" in out and "compareRunsMode=CHART" in out
        with socket.socket() as probe:
            # SO_REUSEADDR lets the probe bind past the closed connections' TIME_WAIT, and
            # still fails while anything listens on the port.
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind(("127.0.0.1", port))  # the server let go of its port
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
