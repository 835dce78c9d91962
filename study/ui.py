"""`cvae-study ui`: MLflow's own server over the study store, started lean.

MLflow 3.17's server also starts background job consumers for GenAI features (measured
here: 10 processes, 2,117 MB resident); MLFLOW_SERVER_ENABLE_JOB_EXECUTION=false leaves 2
processes, 485 MB, that serve the UI and the REST API. An experiment's landing page is a GenAI
overview that shows nothing of a training study, so the links printed are to each study's
runs view, where trials are nested under their study.
"""

import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

from mlflow import MlflowClient

from cvae_study.study.study_records import ROLE
from cvae_study.study.tracking import artifact_location

LOOPBACK = ("127.0.0.1", "localhost", "::1")


class UIError(ValueError):
    """The UI cannot start as asked (port in use, a store that is already a server)."""


def check_port_free(host: str, port: int) -> None:
    with socket.socket() as probe:
        try:
            probe.bind((host, port))
        except OSError as error:
            raise UIError(f"--port {port}: {host}:{port} is already in use ({error.strerror}); "
                          "choose another port") from None


def study_links(uri: str, base_url: str) -> dict[str, str]:
    """Each study (an experiment with a parent run) -> the URL of its runs view."""
    client = MlflowClient(uri)
    links = {}
    for experiment in client.search_experiments():
        if client.search_runs([experiment.experiment_id], f"tags.`{ROLE}` = 'parent'",
                              max_results=1):
            links[experiment.name] = f"{base_url}/#/experiments/{experiment.experiment_id}/runs"
    return links


def server_command(uri: str, home: Path, host: str, port: int) -> list[str]:
    mlflow = Path(sys.executable).with_name("mlflow")
    command = [str(mlflow), "server", "--backend-store-uri", uri, "--host", host,
               "--port", str(port), "--workers", "1"]
    default_artifacts = artifact_location(uri, home)
    if default_artifacts:
        command += ["--default-artifact-root", default_artifacts]
    return command


def start(uri: str, home: Path, host: str, port: int) -> subprocess.Popen:
    if uri.startswith(("http://", "https://")):
        raise UIError(f"--tracking-uri {uri} is already a server: open it in a browser")
    check_port_free(host, port)
    env = {**os.environ, "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}
    return subprocess.Popen(server_command(uri, home, host, port), env=env,
                            start_new_session=True)


def stop(process: subprocess.Popen) -> None:
    """Stop the server and the workers it started."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)
