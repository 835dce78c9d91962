"""`cvae-study ui`: the MLflow UI over a real (tiny) study (conftest's `finished`): served,
linked, shown in a browser, stopped."""

import json
import os
import socket
import sys
import urllib.error
import urllib.request

import pytest
from mlflow import MlflowClient
from test_export import run_cli
from test_sweep import workdir_of
from test_team_services import free_port, wait_for

from cvae_study.study import serving
from cvae_study.study.tracking import ui

pytestmark = pytest.mark.slow


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
    import signal
    import subprocess

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
