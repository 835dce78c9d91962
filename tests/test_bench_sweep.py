"""The arithmetic of `cvae-study bench sweep`, on MLflow records written as a study writes them."""

import pytest

from cvae_study.study import metrics as m
from cvae_study.study.bench_sweep import (
    SEARCH_EPOCHS,
    SEARCH_TRIALS,
    compare_search,
    epoch_reports,
    epochs_to_reach,
)
from cvae_study.study.study_records import StudyRecords


def test_epochs_to_reach_counts_every_epoch_spent_until_the_target():
    assert epochs_to_reach([0.1, 0.5, 0.2, 0.9, 0.95], 0.9) == 4
    assert epochs_to_reach([0.1, 0.2], 0.9) is None


def test_epoch_reports_interleave_trials_in_the_order_they_were_logged(tmp_path, monkeypatch):
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    records = StudyRecords(uri, tmp_path, "s")
    parent = records.open_parent({}, {}, {})
    for trial in ("a", "b"):
        records.trial_started(parent, trial, trial, {"optim.lr": 0.1}, {})
    clock = iter(range(1_000, 10_000, 1_000))
    monkeypatch.setattr("cvae_study.study.study_records.time.time", lambda: next(clock))
    # a's epoch 1, b's epoch 1, a's epoch 2: each epoch is logged as it is reported
    for trial, epoch, score in (("a", 1, 0.1), ("b", 1, 0.3), ("a", 2, 0.2)):
        records.trial_result(trial, epoch, {m.VAL_SCORE: score, m.TRAIN_LOSS: 1.0}, {}, None)
    assert epoch_reports(uri, "s", m.VAL_SCORE) == [0.1, 0.3, 0.2]


def test_compare_search_counts_only_the_budget_and_a_common_target():
    budget = SEARCH_TRIALS * SEARCH_EPOCHS
    tpe = [0.1] * 9 + [0.96] + [0.2] * (budget - 10) + [1.0]  # 1.0 comes after the budget
    random = [0.1] * 29 + [0.95] + [0.3] * (budget - 30)
    result = compare_search({"tpe_asha": tpe, "random": random}, {"tpe_asha": 1.0,
                                                                  "random": 2.0}, "val/score")
    assert result["best"] == 0.96 and result["target_value"] == pytest.approx(0.912)
    assert result["tpe_asha"]["epochs_to_target"] == 10
    assert result["random"]["epochs_to_target"] == 30
    assert result["ratio"] == result["ratio_at_most"] == pytest.approx(0.333)
    assert result["tpe_asha"]["epochs_run"] == budget + 1
    assert result["tpe_asha"]["best_after"][budget // 4] == 0.96


def test_compare_search_bounds_the_ratio_when_random_search_never_reaches_the_target():
    budget = SEARCH_TRIALS * SEARCH_EPOCHS
    tpe = [0.1] * 17 + [1.0] + [0.2] * (budget - 18)
    random = [0.5] * budget
    result = compare_search({"tpe_asha": tpe, "random": random}, {"tpe_asha": 1.0,
                                                                  "random": 2.0}, "val/score")
    assert result["random"]["epochs_to_target"] is None and result["ratio"] is None
    assert result["ratio_at_most"] == pytest.approx(18 / budget, abs=1e-3)
    tpe_never = compare_search({"tpe_asha": [0.1] * budget + [1.0], "random": random},
                             {"tpe_asha": 1.0, "random": 2.0}, "val/score")
    assert tpe_never["tpe_asha"]["epochs_to_target"] is None
    assert tpe_never["ratio"] is None and tpe_never["ratio_at_most"] is None
