"""Where records go: the workdir and its default MLflow store. No MLflow import, so the
commands that only train or benchmark also run where only torch is installed."""

import os
from pathlib import Path

HOME_ENV = "CVAE_STUDY_HOME"
DEFAULT_WORKDIR = "cvae-study-runs"


class TrackingError(RuntimeError):
    """The tracking store cannot be used; raised before any training starts."""


def workdir(path: str | None = None) -> Path:
    """--workdir, else $CVAE_STUDY_HOME, else ./cvae-study-runs (created)."""
    chosen = Path(path or os.environ.get(HOME_ENV) or DEFAULT_WORKDIR).expanduser().resolve()
    chosen.mkdir(parents=True, exist_ok=True)
    return chosen


def tracking_uri(uri: str | None, home: Path) -> str:
    """--tracking-uri, else a sqlite store in the workdir (MLflow 3 refuses a bare ./mlruns)."""
    return uri or f"sqlite:///{home / 'mlflow.db'}"
