"""MLflow tracking: experiments, reachability checks, and logging one run's epochs."""

import base64
import io
import json
import platform
import socket
import subprocess
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import mlflow
from mlflow import MlflowClient
from PIL import Image

from cvae_study.study.tasks.base import IMAGES
from cvae_study.study.workdir import TrackingError


def artifact_location(uri: str, home: Path) -> str | None:
    """Artifacts of a local store live beside it in the workdir (MLflow would pick ./mlruns
    of whatever folder the command ran in); a server decides its own."""
    return (home / "artifacts").as_uri() if uri.startswith("sqlite:") else None


def experiment_id(client: MlflowClient, name: str, home: Path) -> str:
    """The id of the experiment `name` in the client's store, created if new."""
    existing = client.get_experiment_by_name(name)
    if existing is not None:
        return existing.experiment_id
    return client.create_experiment(name, artifact_location(client.tracking_uri, home))


def use_experiment(uri: str, name: str, home: Path) -> str:
    """Point MLflow's fluent API at `uri` and the experiment `name` -> experiment id."""
    mlflow.set_tracking_uri(uri)
    chosen = experiment_id(MlflowClient(uri), name, home)
    mlflow.set_experiment(experiment_id=chosen)
    return chosen


def check_reachable(uri: str, timeout: float = 5.0) -> None:
    """Fail fast on a tracking server that does not answer, naming the URI."""
    if uri.startswith(("http://", "https://")):
        health = uri.rstrip("/") + "/health"
        try:
            with urllib.request.urlopen(health, timeout=timeout) as response:
                if response.status != 200:
                    raise TrackingError(f"tracking server {uri} answered {response.status}")
        except (TimeoutError, urllib.error.URLError, ConnectionError) as error:
            raise TrackingError(f"tracking server {uri} cannot be reached: {error}") from None
    elif uri.startswith("sqlite:///"):
        folder = Path(uri.removeprefix("sqlite:///")).parent
        if not folder.is_dir():
            raise TrackingError(f"tracking store {uri}: folder {folder} does not exist")


def provenance_tags() -> dict[str, str]:
    """What reproducing a record needs: the git commit of the code and the stack's versions."""
    from importlib.metadata import PackageNotFoundError, version

    versions = {}
    for package in ("cvae-study", "torch", "ray", "optuna", "mlflow", "python"):
        try:
            versions[package] = platform.python_version() if package == "python" else version(
                package)
        except PackageNotFoundError:
            versions[package] = "absent"
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True,
                                cwd=Path(__file__).parent, timeout=10).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        commit = ""
    return {"study.git_commit": commit or "unknown", "study.versions": json.dumps(versions)}


def host_tags(device: str) -> dict[str, str]:
    """Where a run executed, so records can be read back machine by machine."""
    hostname = socket.gethostname()
    try:
        address = socket.gethostbyname(hostname)
    except OSError:
        address = "unknown"
    return {"host.name": hostname, "host.address": address, "device": device}


def log_samples(client: MlflowClient, run_id: str, samples: dict[str, Any], epoch: int) -> None:
    """A task's samples of one epoch: samples/epoch_003.json, and its images beside it as
    samples/epoch_003_strip.png."""
    document = {key: value for key, value in samples.items() if key != IMAGES}
    client.log_dict(run_id, document, f"samples/epoch_{epoch:03d}.json")
    for name, encoded in samples.get(IMAGES, {}).items():
        image = Image.open(io.BytesIO(base64.b64decode(encoded)))
        client.log_image(run_id, image, f"samples/epoch_{epoch:03d}_{name}")


class RunLogger:
    """One MLflow run: params once, metrics per epoch (step = epochs completed), samples."""

    def __init__(self, uri: str, home: Path, experiment: str, run_name: str, tags: dict):
        check_reachable(uri)
        use_experiment(uri, experiment, home)
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
        mlflow.set_tag("outcome", outcome)
        status = {"completed": "FINISHED", "interrupted": "KILLED"}.get(outcome, "FAILED")
        mlflow.end_run(status=status)
