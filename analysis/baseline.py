"""The random-search baseline of a study of several objectives: a study in the same MLflow
store of the same task and objectives, searched at random with the same budget (its
num_samples). The two hypervolume curves say what the study's search added over chance."""

from mlflow import MlflowClient

from cvae_study.analysis.runs import StudyTables, read_study
from cvae_study.analysis.tradeoff import TradeoffError
from cvae_study.study import names as n
from cvae_study.study.errors import StudyNotFound
from cvae_study.study.tracking.store import open_client, require_study_parent

RANDOM = "random"
FLAG = "--baseline"
SEARCH, TASK, METRIC, NUM_SAMPLES = (f"{n.STUDY_PREFIX}{key}" for key in
                                     ("search", "task", "metric", "num_samples"))


def _mismatches(params: dict[str, str], study: StudyTables) -> list[str]:
    """Why a study's parent run (its params) is not a random baseline of `study`: none when
    it is one."""
    wanted = study.parent.data.params
    reasons = []
    if params.get(SEARCH) != RANDOM:
        reasons.append(f"its search is {params.get(SEARCH)}, not {RANDOM}")
    if params.get(TASK) != wanted.get(TASK):
        reasons.append(f"its task is {params.get(TASK)}, not {wanted.get(TASK)}")
    if n.objectives_of(params.get(METRIC, "")) != study.objectives:
        reasons.append(f"its objectives are {params.get(METRIC)}, not "
                       f"{n.OBJECTIVE_SEPARATOR.join(study.objectives)}")
    if params.get(NUM_SAMPLES) != wanted.get(NUM_SAMPLES):
        reasons.append(f"its budget is {params.get(NUM_SAMPLES)} trials, not "
                       f"{wanted.get(NUM_SAMPLES)}")
    return reasons


def find_baseline(client: MlflowClient, study: StudyTables) -> str | None:
    """The name of the most recently started random baseline of `study` in its store."""
    experiments = [experiment.experiment_id for experiment in client.search_experiments()]
    candidates = client.search_runs(
        experiments, f"{n.PARENT_FILTER} and params.`{SEARCH}` = '{RANDOM}'",
        order_by=["attributes.start_time DESC"])
    for run in candidates:
        if (run.info.experiment_id != study.parent.info.experiment_id
                and not _mismatches(run.data.params, study)):
            return client.get_experiment(run.info.experiment_id).name
    return None


def check_baseline(client: MlflowClient, study: StudyTables, name: str) -> None:
    """TradeoffError naming --baseline unless study `name` is a random baseline of `study`."""
    if not study.multi_objective:
        raise TradeoffError(f"{FLAG} {name}: study {study.name!r} has one objective "
                            f"({study.metric}); a baseline is compared by the hypervolume "
                            "of a study of several")
    if name == study.name:
        raise TradeoffError(f"{FLAG} {name}: that is the study itself")
    try:
        parent = require_study_parent(client, name)
    except StudyNotFound as error:
        raise TradeoffError(f"{FLAG} {name}: {error}") from None
    reasons = _mismatches(parent.data.params, study)
    if reasons:
        raise TradeoffError(f"{FLAG} {name}: not a random-search baseline of study "
                            f"{study.name!r}: {'; '.join(reasons)}")


def load_baseline(uri: str, study: StudyTables, name: str | None) -> StudyTables | None:
    """The baseline named (checked), else the one the store holds, else None. Only a study
    of several objectives has one."""
    client = open_client(uri)
    if name:
        check_baseline(client, study, name)
    elif study.multi_objective:
        name = find_baseline(client, study)
    return read_study(uri, name) if name else None
