"""Where records go: the workdir and the MLflow store it holds by default. No MLflow
import, so the commands that only train or benchmark also run where only torch is."""

import os
from dataclasses import dataclass
from pathlib import Path

from cvae_study.study.errors import UsageError

WORKDIR_ENV = "CVAE_STUDY_HOME"
DEFAULT_WORKDIR = "cvae-study-runs"
SQLITE = "sqlite:///"
STORE_FILE = "mlflow.db"


class TrackingError(UsageError):
    """The store --tracking-uri names cannot be used; raised before any training starts."""


def workdir_path(path: str | Path | None = None) -> Path:
    """--workdir, else $CVAE_STUDY_HOME, else ./cvae-study-runs."""
    return Path(path or os.environ.get(WORKDIR_ENV) or DEFAULT_WORKDIR).expanduser().resolve()


def workdir(path: str | Path | None = None) -> Path:
    """workdir_path, created."""
    chosen = workdir_path(path)
    chosen.mkdir(parents=True, exist_ok=True)
    return chosen


def tracking_uri(uri: str | None, folder: Path) -> str:
    """--tracking-uri, else a sqlite store in the workdir (MLflow 3 refuses a bare ./mlruns)."""
    return uri or f"{SQLITE}{folder / STORE_FILE}"


def artifact_location(uri: str) -> str | None:
    """Artifacts of a sqlite store live in a folder beside it (MLflow would pick ./mlruns
    of whatever folder the command ran in); a server decides its own."""
    if not uri.startswith(SQLITE):
        return None
    return (Path(uri.removeprefix(SQLITE)).resolve().parent / "artifacts").as_uri()


@dataclass(frozen=True)
class Workspace:
    """Where a command's records go: the workdir and the tracking URI (by default the
    sqlite store in it)."""

    workdir: Path
    tracking_uri: str

    @classmethod
    def at(cls, folder: str | Path | None = None, uri: str | None = None) -> "Workspace":
        """--workdir and --tracking-uri as given (None: the defaults)."""
        chosen = workdir(folder)
        return cls(chosen, tracking_uri(uri, chosen))
