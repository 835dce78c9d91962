"""`sweep --warm-start STUDY`: a real earlier study's trials, read from MLflow, in the new
study's Optuna study; and what is refused, before Ray starts."""

import pytest
from mlflow import MlflowClient
from optuna.trial import TrialState
from test_sweep import (  # noqa: F401 (the module fixtures: used by name)
    module_lab_dir,
    module_study,
    module_tiny_args,
    new_study,
    trial_runs,
)

from cvae_study.study import cli
from cvae_study.study import names as n
from cvae_study.study.errors import StudyNotFound
from cvae_study.study.tune import sweep
from cvae_study.study.warm_start import WarmStartError

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def earlier(tmp_path_factory, request):
    """Four trials of three epochs with ASHA: completed and stopped trials to learn from."""
    *where, _ = module_study(tmp_path_factory, request, "warm", "earlier", epochs=3,
                             num_samples=4, max_concurrent=2, metric=n.VAL_BLEU4_SEEN)
    return tuple(where)


def test_the_earlier_trials_seed_the_new_studys_sampler(earlier):
    tmp_path, lab_dir, tiny_args, first = earlier
    second = new_study(tmp_path, lab_dir, tiny_args, "later", epochs=3, num_samples=1,
                       metric=n.VAL_BLEU4_SEEN, warm_start="earlier")
    result = sweep.run(second)
    told = result.searcher.optuna_study.get_trials(deepcopy=False)
    assert len(told) == 4 + 1  # the earlier study's four, then its own one
    client, runs = trial_runs(first)
    by_params = {}
    for run in runs:
        outcome = run.data.tags[n.OUTCOME]
        history = {p.step: p.value for p in client.get_metric_history(run.info.run_id,
                                                                      n.VAL_BLEU4_SEEN)}
        by_params[run.data.params["optim.lr"]] = (outcome, run.data.metrics[n.VAL_BLEU4_SEEN],
                                                   history)
    for trial in told[:4]:
        outcome, final, history = by_params[str(trial.params["optim.lr"])]
        assert trial.state == TrialState[n.OPTUNA_STATE[outcome]]
        assert trial.intermediate_values == history
        if trial.state == TrialState.COMPLETE:
            assert trial.value == final
    assert {trial.state for trial in told[:4]} >= {TrialState.COMPLETE}
    parent = MlflowClient(second.uri).search_runs(
        [MlflowClient(second.uri).get_experiment_by_name("later").experiment_id],
        n.PARENT_FILTER)[0]
    assert parent.data.params[f"{n.STUDY_PREFIX}warm_start"] == "earlier"


def test_warm_starting_from_a_study_that_is_not_there_names_the_ones_that_are(earlier):
    tmp_path, lab_dir, tiny_args, _ = earlier
    with pytest.raises(StudyNotFound, match="--warm-start .*: no study .*studies there: .*earlier"):
        new_study(tmp_path, lab_dir, tiny_args, "bad", epochs=3, warm_start="nope")


def test_a_study_run_with_other_fixed_settings_is_refused_naming_the_key(earlier):
    tmp_path, lab_dir, tiny_args, _ = earlier
    with pytest.raises(WarmStartError, match="ran with train.epochs = 3, but this study "
                       "fixes it at 5"):
        new_study(tmp_path, lab_dir, tiny_args, "bad", epochs=5, warm_start="earlier")


def test_a_study_outside_the_new_space_is_refused_naming_the_key(earlier, tmp_path):
    home, lab_dir, tiny_args, _ = earlier
    narrow = tmp_path / "narrow.yaml"
    narrow.write_text("space:\n  optim.lr: {low: 0.0099, high: 0.01}\n")
    with pytest.raises(WarmStartError, match=r"drew optim.lr = .*outside this study's space"):
        new_study(home, lab_dir, tiny_args, "bad", epochs=3, study_file=str(narrow),
                  warm_start="earlier")


def test_a_study_of_the_other_task_is_refused_by_the_command_line(earlier, capsys):
    tmp_path, *_ = earlier
    code = cli.main(["sweep", "video", "--smoke", "--name", "bad", "--warm-start", "earlier",
                     "--workdir", str(tmp_path / "w")])
    assert code == 2
    assert ("--warm-start earlier: a study of the text task; this study is of the video task"
            in capsys.readouterr().err)
