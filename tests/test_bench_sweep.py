"""The arithmetic of `cvae-study bench sweep`, on MLflow records written as a study writes them."""

import pytest

from cvae_study.study import cli
from cvae_study.study import names as m
from cvae_study.study.bench.real_sweeps import SEARCH_EPOCHS, compare_search, epoch_reports
from cvae_study.study.bench.study_curves import SEARCH_TRIALS, best_so_far, epochs_to_reach
from cvae_study.study.tracking.records import StudyRecords


def test_epochs_to_reach_counts_every_epoch_spent_until_the_target():
    assert epochs_to_reach([0.1, 0.5, 0.2, 0.9, 0.95], 0.9) == 4
    assert epochs_to_reach([0.1, 0.2], 0.9) is None


def test_epoch_reports_interleave_trials_in_the_order_they_were_logged(tmp_path, monkeypatch):
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    records = StudyRecords(uri, "s")
    parent = records.open_parent({}, {}, {})
    for trial in ("a", "b"):
        records.trial_started(parent, trial, trial, {"optim.lr": 0.1}, {})
    clock = iter(range(1_000, 10_000, 1_000))
    monkeypatch.setattr("cvae_study.study.tracking.records.time.time", lambda: next(clock))
    # a's epoch 1, b's epoch 1, a's epoch 2: each epoch is logged as it is reported
    for trial, epoch, score in (("a", 1, 0.1), ("b", 1, 0.3), ("a", 2, 0.2)):
        records.trial_result(trial, epoch, {m.VAL_SCORE: score, m.TRAIN_LOSS: 1.0}, {}, None)
    assert epoch_reports(uri, "s", m.VAL_SCORE) == [0.1, 0.3, 0.2]


def pair(seed, tpe, random):
    return {"seed": seed, "reports": {"tpe_asha": tpe, "random": random},
            "walls": {"tpe_asha": 1.0, "random": 2.0}}


def test_best_so_far_counts_only_the_budget_and_keeps_the_best_of_a_study_out_of_trials():
    assert best_so_far([0.2, 0.1, 0.5, 0.9], budget=3) == [0.2, 0.2, 0.5]
    assert best_so_far([0.2, 0.4], budget=4) == [0.2, 0.4, 0.4, 0.4]


def test_compare_search_counts_only_the_budget_and_a_common_target():
    budget = SEARCH_TRIALS * SEARCH_EPOCHS
    tpe = [0.1] * 9 + [0.96] + [0.2] * (budget - 10) + [1.0]  # 1.0 comes after the budget
    random = [0.1] * 29 + [0.95] + [0.3] * (budget - 30)
    (seed,) = compare_search([pair(0, tpe, random)], "val/score")["seeds"]
    assert seed["best"] == 0.96 and seed["target_value"] == pytest.approx(0.912)
    assert seed["epochs_to_target"] == {"tpe_asha": 10, "random": 30}
    assert seed["ratio"] == seed["ratio_at_most"] == pytest.approx(0.333)
    assert seed["arms"]["tpe_asha"]["epochs_run"] == budget + 1
    assert seed["arms"]["tpe_asha"]["best_after"][budget // 4] == 0.96


def test_compare_search_bounds_the_ratio_when_random_search_never_reaches_the_target():
    budget = SEARCH_TRIALS * SEARCH_EPOCHS
    tpe = [0.1] * 17 + [1.0] + [0.2] * (budget - 18)
    random = [0.5] * budget
    (seed,) = compare_search([pair(0, tpe, random)], "val/score")["seeds"]
    assert seed["epochs_to_target"]["random"] is None and seed["ratio"] is None
    assert seed["ratio_at_most"] == pytest.approx(18 / budget, abs=1e-3)
    (tpe_never,) = compare_search([pair(0, [0.1] * budget + [1.0], random)],
                                  "val/score")["seeds"]
    assert tpe_never["epochs_to_target"]["tpe_asha"] is None
    assert tpe_never["ratio"] is None and tpe_never["ratio_at_most"] is None


def test_compare_search_averages_the_best_so_far_curves_over_seeds():
    budget = SEARCH_TRIALS * SEARCH_EPOCHS
    # Seed 0: TPE + ASHA finds 1.0 after 10 epochs, random 0.8 after 40. Seed 1: random
    # finds 1.0 after 60 epochs, TPE + ASHA 0.9 after 20 and runs out of trials at 50.
    seed0 = pair(0, [0.0] * 9 + [1.0] * (budget - 9), [0.0] * 39 + [0.8] * (budget - 39))
    seed1 = pair(1, [0.0] * 19 + [0.9] * 31, [0.0] * 59 + [1.0] * (budget - 59))
    result = compare_search([seed0, seed1], "val/score")
    assert [seed["ratio"] for seed in result["seeds"]] == [None, None]
    mean = result["mean_over_seeds"]
    # Mean curves end at TPE 0.95 and random 0.9; the target is 0.95 * 0.95 = 0.9025:
    # TPE's mean reaches 0.95 at epoch 20, random's never passes 0.9.
    assert mean["best"] == pytest.approx(0.95) and mean["target_value"] == pytest.approx(0.9025)
    assert mean["epochs_to_target"] == {"tpe_asha": 20, "random": None}
    assert mean["ratio_at_most"] == pytest.approx(20 / budget, abs=1e-3)
    assert mean["best_after"]["tpe_asha"][budget // 4] == pytest.approx(0.5)  # epoch 18
    assert mean["best_after"]["tpe_asha"][budget // 2] == pytest.approx(0.95)
    assert mean["best_after"]["random"][budget] == pytest.approx(0.9)
    # Against random search's best mean, 0.9: 0.855, reached at epoch 20 and epoch 60.
    matching = mean["matching_random"]
    assert matching["target_value"] == pytest.approx(0.855)
    assert matching["epochs_to_target"] == {"tpe_asha": 20, "random": 60}
    assert matching["ratio"] == pytest.approx(0.333)


@pytest.mark.parametrize("seeds", ["0,x", "1,-2"])
def test_bad_bench_seeds_are_named_before_anything_runs(tmp_path, capsys, seeds):
    with pytest.raises(SystemExit) as stopped:
        cli.main(["bench", "sweep", "--seeds", seeds, "--workdir", str(tmp_path)])
    assert stopped.value.code == 2 and repr(seeds) in capsys.readouterr().err
    assert not any(tmp_path.iterdir())
