"""A study whose Ray results go to an S3-compatible server and whose MLflow records go over
HTTP to an `mlflow server`, both started here on 127.0.0.1 and read back afterwards."""

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request

import boto3
import pyarrow.fs as pafs
import pytest
from mlflow import MlflowClient
from test_sweep import tiny_overrides

from cvae_study.study.names import COMPLETED, ROLE, SAVED_STUDY_FILE
from cvae_study.study.options import SweepOptions
from cvae_study.study.storage import ResultsStore
from cvae_study.study.tune import saved, sweep

pytestmark = pytest.mark.slow


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for(url: str, process: subprocess.Popen, seconds: float = 90) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert process.poll() is None, f"server for {url} exited with {process.returncode}"
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            time.sleep(0.5)
    raise TimeoutError(url)


def start(command: list[str], url: str, env=None) -> subprocess.Popen:
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               start_new_session=True, env=env)
    wait_for(url, process)
    return process


def stop(process: subprocess.Popen) -> None:
    os.killpg(process.pid, signal.SIGTERM)  # the server and the workers it started
    process.wait(timeout=30)


@pytest.fixture
def s3_storage(monkeypatch):
    """moto's S3 server with a bucket -> the --storage URI of a folder in it."""
    for key, value in (("AWS_ACCESS_KEY_ID", "test"), ("AWS_SECRET_ACCESS_KEY", "test"),
                       ("AWS_DEFAULT_REGION", "us-east-1")):
        monkeypatch.setenv(key, value)  # read by pyarrow here and in the Ray workers
    port = free_port()
    server = start([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                   f"http://127.0.0.1:{port}/")
    boto3.client("s3", endpoint_url=f"http://127.0.0.1:{port}").create_bucket(Bucket="team")
    yield f"s3://team/studies?endpoint_override=127.0.0.1:{port}&scheme=http"
    stop(server)


@pytest.fixture
def mlflow_server(tmp_path):
    """`mlflow server` with a sqlite backend and served artifacts, started lean."""
    port = free_port()
    env = {**os.environ, "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}
    server = start([shutil.which("mlflow", path=os.path.dirname(sys.executable)), "server",
                    "--backend-store-uri", f"sqlite:///{tmp_path / 'server.db'}",
                    "--artifacts-destination", str(tmp_path / "served-artifacts"),
                    "--host", "127.0.0.1", "--port", str(port), "--workers", "1"],
                   f"http://127.0.0.1:{port}/health", env)
    yield f"http://127.0.0.1:{port}"
    stop(server)


def test_a_study_on_s3_storage_tracked_by_an_mlflow_server(
    s3_storage, mlflow_server, tmp_path, lab_dir, tiny_args
):
    storage = ResultsStore(s3_storage)
    options = SweepOptions(task="text", name="team", num_samples=2, max_concurrent=2,
                           early_stopping=False)
    study = sweep.prepare(options, storage, mlflow_server,
                          overrides=tiny_overrides(lab_dir, tiny_args, 2))
    result = sweep.run(study)
    assert [t["outcome"] for t in result.trials] == [COMPLETED, COMPLETED]

    # Ray's results, read back from the bucket
    assert ResultsStore(s3_storage).read_json("team", SAVED_STUDY_FILE)["options"]["name"] == (
        "team")
    files = storage.filesystem.get_file_info(pafs.FileSelector(study.path, recursive=True))
    checkpoints = {f.path for f in files if f.base_name == "model.safetensors"}
    assert len(checkpoints) >= 2  # every trial checkpointed into the bucket

    # MLflow's records, read back over HTTP
    client = MlflowClient(mlflow_server)
    experiment = client.get_experiment_by_name("team")
    runs = client.search_runs([experiment.experiment_id], f"tags.`{ROLE}` = 'trial'")
    assert len(runs) == 2
    for run in runs:
        assert run.data.tags["mlflow.parentRunId"] == result.parent_run_id
        assert run.data.tags["outcome"] == COMPLETED
        assert run.data.tags["ray.checkpoint"].startswith("team/studies/team/")
        assert [p.step for p in client.get_metric_history(run.info.run_id, "train/loss")] == [1, 2]
        assert {a.path for a in client.list_artifacts(run.info.run_id, "samples")} == {
            "samples/epoch_001.json", "samples/epoch_002.json"}

    # and the study resumes from the bucket: nothing left to run, nothing duplicated
    resumed = sweep.resume(saved.load("team", storage, None))
    assert len(resumed.trials) == 2
    assert len(client.search_runs([experiment.experiment_id], f"tags.`{ROLE}` = 'trial'")) == 2
