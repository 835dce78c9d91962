"""The saved study (tune.saved) and the options it holds (study.options): what `resume` reads
back, in today's form and in the form of studies saved before `objectives`."""

import dataclasses

import pytest

from cvae_study.study import names as n
from cvae_study.study import spaces
from cvae_study.study.options import SweepError, SweepOptions, TrialResources, check_sweep
from cvae_study.study.storage import ResultsStore
from cvae_study.study.tune import saved


def test_a_study_saved_with_a_comma_joined_metric_resumes_with_its_objectives(tmp_path):
    store = ResultsStore(tmp_path)
    study = saved.Sweep(check_sweep(SweepOptions(task="text", name="new",
                                                 objectives=(n.VAL_BLEU4, n.VAL_GAUSSIAN))),
                        spaces.build_space("text"), store, "sqlite:///x.db")
    saved.save(study)
    record = store.read_json("new", n.SAVED_STUDY_FILE)
    assert record["options"]["objectives"] == [n.VAL_BLEU4, n.VAL_GAUSSIAN]
    assert saved.load("new", store, None).options == study.options
    old = {**record, "options": {key: value for key, value in record["options"].items()
                                 if key != "objectives"}
           | {"name": "old", "metric": "val/bleu4,val/gaussian"}}
    store.write_json(old, "old", n.SAVED_STUDY_FILE)
    loaded = saved.load("old", store, None).options
    assert loaded == dataclasses.replace(study.options, name="old")
    assert loaded.multi_objective and loaded.modes == ("max", "max")


def test_the_recorded_params_keep_study_metric():
    options = check_sweep(SweepOptions(task="text", name="s"))
    assert options.objectives == (n.VAL_SCORE,)  # the task's default, resolved
    params = options.params()
    assert params["study.metric"] == n.VAL_SCORE and "study.objectives" not in params
    trade = dataclasses.replace(options, objectives=(n.VAL_BLEU4, n.VAL_GAUSSIAN))
    assert trade.params()["study.metric"] == "val/bleu4,val/gaussian"


def test_a_studys_resources_are_its_trial_resources():
    resources = TrialResources(max_concurrent=3, gpus_per_trial=0.5)
    options = SweepOptions(task="text", name="s", **dataclasses.asdict(resources))
    assert options.resources == resources


@pytest.mark.parametrize(("fields", "message"), [
    ({"cpus_per_trial": 0}, "--cpus-per-trial 0: must be above 0"),
    ({"gpus_per_trial": 1.5}, "--gpus-per-trial 1.5: a fraction up to 1"),
    ({"max_concurrent": 0}, "--max-concurrent 0: must be at least 1"),
    ({"search": "grid"}, "--search 'grid': choose one of tpe, random, nsga2"),
])
def test_bad_options_are_named(fields, message):
    with pytest.raises(SweepError, match=message):
        check_sweep(SweepOptions(task="text", name="s", **fields))
