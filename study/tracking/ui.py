"""`cvae-study ui`: MLflow's own server over the study store, started lean.

MLflow's server also starts background job consumers for GenAI features, which a study
store never uses: MLFLOW_SERVER_ENABLE_JOB_EXECUTION=false leaves only the processes that
serve the UI and the REST API (benchmarks/README.md#code-mlflow-lean).

MLflow 3.17's UI opens in its GenAI mode (traces, judges, prompts), whose experiment page
shows nothing of a training study. The links printed open each study's trials in the UI's
"Model training" mode, ranked by the study's objective; what each URL parameter does is
said where it is set, and tests/test_export.py checks it in headless Chromium.
"""

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

from mlflow import MlflowClient

from cvae_study.study import names as n
from cvae_study.study import serving
from cvae_study.study.tracking.store import open_store, study_experiments, study_parent
from cvae_study.study.tracking.workdir import artifact_location


class UIError(serving.ServerError):
    """The UI cannot start as asked: the store is already a server."""


# The UI's URL parameters (read by mlflow/server/js, 3.17):
TRAINING_MODE = {"workflowType": "machine_learning"}  # "Model training": Runs, Models, Model
#   registry in the side bar, not GenAI's Traces, Judges, Prompts
CHART_VIEW = {"compareRunsMode": "CHART"}  # the runs' charts instead of their table
# viewStateShareKey=KEY: the view saved in the experiment's tag SHARED_VIEW_TAG + KEY, as the
# UI's own "Share" saves one; the user's own saved view is left as it was. Only a shared view
# can choose the table's columns, and the UI ignores it where the URL has its own sort or
# filter (orderByKey, searchFilter), so these are in the shared view too.
SHARED_VIEW_TAG = "mlflow.sharedViewState."
VIEW_KEY = "cvae-study-trials"


@dataclass(frozen=True)
class StudyLinks:
    objective: str  # the metric the trials are ranked by
    trials: str  # the table of the trials, best first, with their objective and outcome
    chart: str  # the objective of the best 10 trials per epoch (the UI charts 10 at first)


def trials_view(metric: str, mode: str) -> dict:
    """A study's trials, best first. Sorted by a metric the UI lists runs flat, not nested
    under their parent (which it does for the default sort by start time, collapsed)."""
    column = f"metrics.`{metric}`"
    return {"searchFilter": n.TRIAL_FILTER,  # not the study's run, nor an ablation's runs
            "orderByKey": column, "orderByAsc": mode == "min",
            "selectedColumns": [column, f"tags.`{n.OUTCOME}`"],
            # the chart view's search box: the objective's chart, not one per metric
            "chartsSearchFilter": metric}


def objective(parent) -> tuple[str, str]:
    """The study's metric and its direction, as the sweep logged them."""
    params = parent.data.params
    metric = params[f"{n.STUDY_PREFIX}metric"]
    return metric, n.modes_of(params[f"{n.STUDY_PREFIX}task"], [metric])[0]


def study_links(uri: str, base_url: str) -> dict[str, StudyLinks]:
    """Each study (an experiment with a parent run) -> its links; saves each study's view of
    its trials in its experiment, for the links to open."""
    client = MlflowClient(uri)
    links = {}
    for name, experiment_id in study_experiments(client).items():
        metric, mode = objective(study_parent(client, name))
        client.set_experiment_tag(experiment_id, SHARED_VIEW_TAG + VIEW_KEY,
                                  json.dumps(trials_view(metric, mode)))
        runs = f"{base_url}/#/experiments/{experiment_id}/runs?"
        view = {**TRAINING_MODE, "viewStateShareKey": VIEW_KEY}
        links[name] = StudyLinks(metric, runs + urlencode(view),
                                 runs + urlencode({**view, **CHART_VIEW}))
    return links


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
    serving.check_port_free(host, port)
    open_store(uri)  # created and migrated here, under the store's lock, not by the server
    env = {**os.environ, "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}
    return serving.start(server_command(uri, host, port), env)
