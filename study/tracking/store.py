"""The MLflow store: reaching it, its experiments, and finding a study's runs in it.

A study is an experiment holding one parent run (tag study.role = parent) with one nested
run per trial; this module is how every reader (report, export, ui, bench) finds them.
"""

import contextlib
import json
import sqlite3
import tempfile
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from filelock import FileLock
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

from cvae_study.study import names as n
from cvae_study.study.errors import StudyNotFound, SystemFailure
from cvae_study.study.tracking.workdir import SQLITE, TrackingError, artifact_location

SQLITE_HEADER = b"SQLite format 3\x00"
_opened: set[str] = set()  # stores this process has checked and created


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
    elif uri.startswith(SQLITE):
        folder = Path(uri.removeprefix(SQLITE)).parent
        if not folder.is_dir():
            raise TrackingError(f"tracking store {uri}: folder {folder} does not exist")


def check_not_damaged(path: Path) -> None:
    """A sqlite file that is not one, or fails sqlite's quick check, is never written to."""
    if not path.is_file() or path.stat().st_size == 0:
        return  # a new store
    with open(path, "rb") as handle:
        header = handle.read(len(SQLITE_HEADER))
    problem = None if header == SQLITE_HEADER else "not a sqlite database"
    if problem is None:
        try:  # read-write: sqlite rolls back the hot journal of a writer killed mid-write
            with sqlite3.connect(path) as connection:
                verdict = connection.execute("pragma quick_check").fetchone()[0]
            problem = None if verdict == "ok" else verdict
        except sqlite3.DatabaseError as error:
            problem = str(error)
    if problem:
        raise SystemFailure(
            f"the MLflow store {path} is damaged ({problem}): restore it from a backup or move "
            f"it aside (a new store is then created); `sqlite3 {path} \"pragma "
            "integrity_check\"` says more. Nothing was written to it")


def open_store(uri: str) -> None:
    """Make the store at `uri` safe to use before anything reads or writes it: a server
    answers; a sqlite file is not damaged, and is created and migrated once, under a lock
    beside it, however many processes start at the same moment."""
    check_reachable(uri)
    if not uri.startswith(SQLITE) or uri in _opened:
        return
    check_not_damaged(Path(uri.removeprefix(SQLITE)))
    with store_lock(uri):
        MlflowClient(uri).search_experiments(max_results=1)  # MLflow creates the schema here
    _opened.add(uri)


def open_client(uri: str) -> MlflowClient:
    """A client of the store at `uri`, opened (open_store) first: every reader's entry."""
    open_store(uri)
    return MlflowClient(uri)


def store_lock(uri: str):
    """The inter-process lock of a sqlite store (a file beside it); a server is its own."""
    if not uri.startswith(SQLITE):
        return contextlib.nullcontext()
    return FileLock(f"{uri.removeprefix(SQLITE)}.lock")


def experiment_id(client: MlflowClient, name: str) -> str:
    """The id of the experiment `name` in the client's store, created if new."""
    existing = client.get_experiment_by_name(name)
    if existing is not None:
        return existing.experiment_id
    return client.create_experiment(name, artifact_location(client.tracking_uri))


def study_parent(client: MlflowClient, name: str):
    """The parent run of the study `name`, or None when the store has no such study."""
    experiment = client.get_experiment_by_name(name)
    if experiment is None:
        return None
    found = client.search_runs([experiment.experiment_id], n.PARENT_FILTER, max_results=1)
    return found[0] if found else None


def require_study_parent(client: MlflowClient, name: str, flag: str = ""):
    """The parent run of the study `name`; StudyNotFound, listing the studies there are
    (and naming `flag` when a flag gave the name), when the store has none."""
    parent = study_parent(client, name)
    if parent is None:
        raise StudyNotFound(name, client.tracking_uri, study_experiments(client), flag)
    return parent


def study_experiments(client: MlflowClient) -> dict[str, str]:
    """Every study in the store: its name -> its experiment id."""
    return {experiment.name: experiment.experiment_id
            for experiment in client.search_experiments()
            if client.search_runs([experiment.experiment_id], n.PARENT_FILTER, max_results=1)}


def load_json_artifact(client: MlflowClient, run_id: str, path: str) -> Any | None:
    """A JSON artifact of a run, or None when the run has no such file."""
    with tempfile.TemporaryDirectory() as folder:
        try:
            local = client.download_artifacts(run_id, path, folder)
        except (MlflowException, OSError):
            return None
        return json.loads(Path(local).read_text())
