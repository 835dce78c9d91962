"""Everything a report reads from MLflow, fetched before any section is built: the study,
its latest ablation and finish, its random-search baseline, and the samples its best trials logged.
Checks of the command's input run here too, so a refused report creates nothing."""

from dataclasses import dataclass
from typing import Any

from mlflow import MlflowClient

from cvae_study.analysis.ablation import AblationTables, load_ablation
from cvae_study.analysis.baseline import load_baseline
from cvae_study.analysis.finished import FinishTables, load_finish
from cvae_study.analysis.runs import StudyTables, read_study
from cvae_study.analysis.tradeoff import check_metrics
from cvae_study.study import names as n
from cvae_study.study.tracking.store import load_json_artifact, open_client


@dataclass(frozen=True)
class BestSamples:
    """What the best completed trial of an objective logged at its last epoch."""

    trial_id: str
    epochs: int
    artifact: str  # its samples' path in the run
    samples: dict[str, Any] | None  # None: the run has no such artifact


@dataclass(frozen=True)
class ReportInputs:
    study: StudyTables
    ablation: AblationTables | None  # the latest, if the study has one
    finish: FinishTables | None  # the latest, if the study has one
    baseline: StudyTables | None  # a study of several objectives: its random-search twin
    pareto: tuple[str, ...]  # --pareto: the metrics whose front to draw too
    samples: dict[str, BestSamples]  # per objective with a completed trial


def _best_samples(client: MlflowClient, study: StudyTables) -> dict[str, BestSamples]:
    found = {}
    for view in study.each_objective():
        done = view.completed_best_first()
        if done.empty:
            continue
        best = done.iloc[0]
        artifact = n.samples_artifact(int(best["epochs"]))
        found[view.metric] = BestSamples(best["trial_id"], int(best["epochs"]), artifact,
                                         load_json_artifact(client, best["run_id"], artifact))
    return found


def fetch_inputs(uri: str, name: str, pareto: str | None = None,
                 baseline: str | None = None) -> ReportInputs:
    """pareto: `--pareto M1,M2`; baseline: `--baseline NAME` (default: found in the store).
    StudyNotFound, or TradeoffError naming the flag, for what cannot be reported."""
    study = read_study(uri, name)
    metrics = check_metrics(study, pareto) if pareto is not None else ()
    compared = load_baseline(uri, study, baseline)
    return ReportInputs(study, load_ablation(uri, name), load_finish(uri, name), compared,
                        metrics, _best_samples(open_client(uri), study))
