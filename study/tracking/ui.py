"""`cvae-study ui`: MLflow's own server over the study store, started lean.

MLflow's server also starts background job consumers for GenAI features, which a study
store never uses: MLFLOW_SERVER_ENABLE_JOB_EXECUTION=false leaves only the processes that
serve the UI and the REST API (benchmarks/README.md#code-mlflow-lean). An experiment's
landing page is a GenAI overview that shows nothing of a training study, so the links
printed are to each study's runs view, where trials are nested under their study.
"""

import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

from mlflow import MlflowClient

from cvae_study.study.errors import UsageError
from cvae_study.study.tracking.store import list_studies, open_store
from cvae_study.study.tracking.workdir import artifact_location

LOOPBACK = ("127.0.0.1", "localhost", "::1")


class UIError(UsageError):
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
    return {name: f"{base_url}/#/experiments/{experiment_id}/runs"
            for name, experiment_id in list_studies(MlflowClient(uri)).items()}


def server_command(uri: str, host: str, port: int) -> list[str]:
    mlflow = Path(sys.executable).with_name("mlflow")
    command = [str(mlflow), "server", "--backend-store-uri", uri, "--host", host,
               "--port", str(port), "--workers", "1"]
    default_artifacts = artifact_location(uri)
    if default_artifacts:
        command += ["--default-artifact-root", default_artifacts]
    return command


def start(uri: str, host: str, port: int) -> subprocess.Popen:
    if uri.startswith(("http://", "https://")):
        raise UIError(f"--tracking-uri {uri} is already a server: open it in a browser")
    check_port_free(host, port)
    open_store(uri)  # created and migrated here, under the store's lock, not by the server
    env = {**os.environ, "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}
    return subprocess.Popen(server_command(uri, host, port), env=env,
                            start_new_session=True)


def stop(process: subprocess.Popen) -> None:
    """Stop the server and the workers it started."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)
