"""The records of studies as pandas tables, for a notebook:

    from cvae_study.analysis import list_studies, load_study

    list_studies("cvae-study-runs")               # one row per study
    study = load_study("kl-study", "cvae-study-runs")
    study.trials.sort_values(study.metric, ascending=study.mode == "min").head()
    study.history.query("metric == 'val/score'")  # every trial's epochs

`workdir` is a `--workdir` folder (default: $CVAE_STUDY_HOME, else ./cvae-study-runs);
`tracking_uri` any MLflow store instead. Reading only: a running study can be read.
"""

from pathlib import Path

import pandas as pd
from mlflow import MlflowClient

from cvae_study.analysis import runs
from cvae_study.analysis.runs import StudyTables
from cvae_study.study import names as n
from cvae_study.study.tracking import store
from cvae_study.study.tracking.workdir import tracking_uri as default_uri
from cvae_study.study.tracking.workdir import workdir_path

LIST_COLUMNS = ["name", "task", "metric", "state", "trials", "best", "best_trial",
                "started", "experiment_id"]


def _uri(workdir: str | Path | None, tracking_uri: str | None) -> str:
    uri = default_uri(tracking_uri, workdir_path(workdir))
    store.open_store(uri)
    return uri


def load_study(name: str, workdir: str | Path | None = None, tracking_uri: str | None = None,
               kl_dims: bool = False) -> StudyTables:
    """A study's tables: `.trials` (one row per trial: its params, outcome, each objective's
    final value in its own column, final and best of the first, epochs, seconds),
    `.history` (trial x epoch x metric), `.space`, `.objectives` and `.modes` (several for a
    study of a trade-off), `.metric` and `.mode` (the first objective's). kl_dims: also the
    per-dimension KL histories (many)."""
    return runs.read_study(_uri(workdir, tracking_uri), name, kl_dims)


def list_studies(workdir: str | Path | None = None,
                 tracking_uri: str | None = None) -> pd.DataFrame:
    """One row per study in the store: its task, objective, state, trial count and best."""
    client = MlflowClient(_uri(workdir, tracking_uri))
    rows = []
    for name, experiment in sorted(store.study_experiments(client).items()):
        parent = store.study_parent(client, name)
        params, tags = parent.data.params, parent.data.tags
        metric = params.get(f"{n.STUDY_PREFIX}metric")
        trials = client.search_runs([experiment], n.TRIAL_FILTER, max_results=5000)
        rows.append({  # best: tagged when the study ends
            "name": name, "task": tags.get(n.TASK), "metric": metric,
            "state": parent.info.status, "trials": len(trials),
            "best": pd.to_numeric(tags.get(f"{n.STUDY_PREFIX}best_{metric}"), errors="coerce"),
            "best_trial": tags.get(f"{n.STUDY_PREFIX}best_trial_id"),
            "started": pd.to_datetime(parent.info.start_time, unit="ms"),
            "experiment_id": experiment})
    return pd.DataFrame(rows, columns=LIST_COLUMNS)
