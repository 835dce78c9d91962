"""Writing one MLflow run: its provenance, its epochs, its samples. `train` and the
study records both log through here."""

import base64
import functools
import getpass
import io
import json
import platform
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import mlflow
from mlflow import MlflowClient
from PIL import Image

from cvae_study.study import names as n
from cvae_study.study.tracking.store import experiment_id, open_client


@functools.cache
def _git_commit() -> str:
    """The commit of the code that runs (found from this file, not the working folder)."""
    try:
        return subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True,
                              cwd=Path(__file__).parent, timeout=10).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        return ""


def source_tags() -> dict[str, str]:
    """MLflow's standard provenance tags, shown on its run page: every run we create."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # no name for this uid (a bare container)
        user = "unknown"
    tags = {n.MLFLOW_SOURCE_NAME: Path(sys.argv[0]).name or "cvae-study",
            n.MLFLOW_SOURCE_TYPE: "LOCAL", n.MLFLOW_USER: user}
    if _git_commit():
        tags[n.MLFLOW_GIT_COMMIT] = _git_commit()
    return tags


def provenance_tags() -> dict[str, str]:
    """What reproducing a record needs: the git commit of the code and the stack's versions
    (ours), and MLflow's standard source tags."""
    from importlib.metadata import PackageNotFoundError, version

    versions = {}
    for package in ("cvae-study", "torch", "ray", "optuna", "mlflow", "python"):
        try:
            versions[package] = platform.python_version() if package == "python" else version(
                package)
        except PackageNotFoundError:
            versions[package] = "absent"
    return {n.GIT_COMMIT: _git_commit() or "unknown", n.VERSIONS: json.dumps(versions),
            **source_tags()}


def host_tags(device: str) -> dict[str, str]:
    """Where a run executed, so records can be read back machine by machine."""
    hostname = socket.gethostname()
    try:
        address = socket.gethostbyname(hostname)
    except OSError:
        address = "unknown"
    return {n.HOST_NAME: hostname, n.HOST_ADDRESS: address, n.DEVICE: device}


def log_samples(client: MlflowClient, run_id: str, samples: dict[str, Any], epoch: int) -> None:
    """A task's samples of one epoch: samples/epoch_003.json, and its images beside it as
    samples/epoch_003_strip.png."""
    document = {key: value for key, value in samples.items() if key != n.IMAGES}
    artifact = n.samples_artifact(epoch)
    client.log_dict(run_id, document, artifact)
    for name, encoded in samples.get(n.IMAGES, {}).items():
        image = Image.open(io.BytesIO(base64.b64decode(encoded)))
        client.log_image(run_id, image, artifact.replace(".json", f"_{name}"))


class RunLogger:
    """One MLflow run: params once, metrics per epoch (step = epochs completed), samples."""

    def __init__(self, uri: str, experiment: str, run_name: str, tags: dict):
        client = open_client(uri)
        mlflow.set_tracking_uri(uri)
        mlflow.set_experiment(experiment_id=experiment_id(client, experiment))
        self.run = mlflow.start_run(run_name=run_name, tags=tags)
        self.run_id = self.run.info.run_id
        self.experiment_id = self.run.info.experiment_id

    def params(self, flat_config: dict[str, Any]) -> None:
        mlflow.log_params(flat_config)

    def epoch(self, epoch: int, metrics: dict[str, float]) -> None:
        mlflow.log_metrics(metrics, step=epoch)

    def json(self, data: dict[str, Any], path: str) -> None:
        """A JSON artifact of the run, e.g. results/final_metrics.json."""
        mlflow.log_dict(data, path)

    def samples(self, samples: dict[str, Any], epoch: int) -> None:
        log_samples(mlflow.MlflowClient(), self.run_id, samples, epoch)

    def artifacts(self, directory: Path, path: str) -> None:
        mlflow.log_artifacts(str(directory), artifact_path=path)

    def end(self, outcome: str) -> None:
        """outcome: completed | diverged | errored | interrupted (tag `outcome`)."""
        mlflow.set_tag(n.OUTCOME, outcome)
        mlflow.end_run(status=n.MLFLOW_STATUS[outcome])
