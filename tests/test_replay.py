"""Studies replayed on hand-made landscapes (study.tune.replay), checked against what a
real Ray Tune run of the same searcher and scheduler does on the same curves."""

import os
import random
from pathlib import Path

import numpy as np
import pytest
import ray
from ray import tune

from cvae_study.study import names as n
from cvae_study.study import spaces, warm_start
from cvae_study.study.bench import search_bench, search_ratios
from cvae_study.study.bench.search_methods import DEFAULT, VARIANTS
from cvae_study.study.bench.search_ratios import compare, ratio_at
from cvae_study.study.bench.study_curves import best_so_far, epochs_to_reach
from cvae_study.study.tune.replay import Method, replay
from cvae_study.study.tune.search import make_scheduler, make_searcher

EPOCHS = 4
SEARCHED = ("model.cell", "model.latent_size")
# Six configs; (gru, 64) is the best at every epoch, and every config's curve rises.
QUALITY = {("gru", 16): 3, ("gru", 32): 4, ("gru", 64): 6,
           ("lstm", 16): 1, ("lstm", 32): 2, ("lstm", 64): 5}
BEST = 6 / 10


def tiny_space() -> spaces.SearchSpace:
    """The text space with every knob but the cell and the latent size fixed."""
    fixed = {key: value for key, value in spaces.build_space("text").base_flat.items()
             if key in spaces.TEXT_SPACE and key not in SEARCHED}
    return spaces.build_space("text", overrides={**fixed, "train.epochs": EPOCHS})


def curve_of(params) -> list[float]:
    quality = QUALITY[(params["model.cell"], params["model.latent_size"])] / 10
    return [quality * epoch / EPOCHS for epoch in range(1, EPOCHS + 1)]


def hand_made(params, rng: random.Random):
    return curve_of(params), list(range(1, EPOCHS + 1))


METHODS = [Method("random", "random"), Method("tpe"), Method("tpe_asha", brackets=1),
           Method("hyperband", "random", brackets=3), Method("bohb", brackets=3)]


def test_the_space_searches_only_the_two_knobs():
    assert set(tiny_space().searched) == set(SEARCHED)


@pytest.mark.parametrize("method", METHODS, ids=lambda m: m.name)
def test_every_method_finds_the_known_best_config(method):
    found = replay(tiny_space(), hand_made, method, seed=0, budget=30 * EPOCHS)
    assert max(found.values) == pytest.approx(BEST)
    assert len(found.values) == 30 * EPOCHS  # the budget, not the trial count, ended it
    if method.brackets:
        assert found.stopped  # early stopping stopped some trials
    else:
        completed = [t for t in found.study.trials if t.state.name == "COMPLETE"]
        assert not found.stopped and len(completed) == 30


def test_a_warm_started_study_starts_from_the_earlier_trials():
    space = tiny_space()
    earlier = replay(space, hand_made, Method("random", "random"), seed=1, budget=12 * EPOCHS)
    prior = warm_start.from_study(earlier.study, "the earlier study")
    warm = replay(space, hand_made, Method("tpe"), seed=2, budget=6 * EPOCHS, workers=1,
                  prior=prior)
    cold = replay(space, hand_made, Method("tpe"), seed=2, budget=6 * EPOCHS, workers=1)
    told = warm.study.trials[:len(prior)]
    finished = [t for t in earlier.study.trials if t.state.is_finished()]  # not the one cut off
    assert len(finished) == 12
    assert [t.params for t in told] == [t.params for t in finished]
    assert [t.value for t in told] == [t.value for t in finished]
    # TPE's start-up (2 trials here) is spent on the earlier trials: it models from its
    # first trial on, so each of its trials is one of the two best configs; cold, it is not.
    finals = {name: study.values[EPOCHS - 1::EPOCHS] for name, study in
              (("warm", warm), ("cold", cold))}
    assert min(finals["warm"]) >= 0.5 - 1e-9 and max(finals["warm"]) == pytest.approx(BEST)
    assert min(finals["cold"]) < 0.5


def test_asha_in_a_replay_stops_trials_at_their_rung():
    # rungs at epochs 1 and 3: the lower two thirds of a rung's results stop there
    found = replay(tiny_space(), hand_made, Method("tpe_asha", "random", brackets=1), seed=0,
                   budget=40 * EPOCHS, workers=1)
    pruned = [t for t in found.study.trials if t.state.name == "PRUNED"]
    assert {len(t.intermediate_values) for t in pruned} <= {1, 3}
    assert len(found.stopped) == len(pruned)


def test_epochs_to_reach_and_best_so_far():
    assert best_so_far([0.1, 0.3, 0.2], 5) == [0.1, 0.3, 0.3, 0.3, 0.3]
    assert epochs_to_reach(np.array([0.1, 0.3, 0.5]), 0.3) == 2
    assert epochs_to_reach(np.array([0.1, 0.3]), 0.4) is None


def test_the_ratio_to_random_search_worked_by_hand():
    random_curve = np.array([0.1, 0.2, 0.5, 0.8, 1.0])  # its best at 5 epochs: 1.0
    method = np.array([0.5, 0.96, 0.96, 1.0, 1.0])
    # 95% of 1.0 = 0.95: the method gets there after 2 epochs, random search after 5
    assert ratio_at(method, random_curve, 5) == {
        "target": 0.95, "epochs": 2, "random_epochs": 5, "ratio": 0.4, "at_least": None}
    # within 4 epochs: 95% of 0.8 = 0.76, reached after 2 and 4 epochs
    assert ratio_at(method, random_curve, 4)["ratio"] == 0.5
    slow = np.array([0.1, 0.1, 0.1, 0.1, 0.9])
    assert ratio_at(slow, random_curve, 5) == {
        "target": 0.95, "epochs": None, "random_epochs": 5, "ratio": None, "at_least": 1.0}


def test_compare_reports_every_budget_with_an_interval(monkeypatch):
    monkeypatch.setattr(search_ratios, "SEARCH_TRIALS", 1)  # budgets of 1, 3 and 10 epochs
    monkeypatch.setattr(search_ratios, "RESAMPLES", 200)
    epochs = 1
    rng = np.random.default_rng(0)
    per_seed = []
    for _ in range(20):
        random_values = rng.uniform(0, 1, 10)
        sooner = np.concatenate([[random_values.max()], random_values[1:]])  # its best first
        per_seed.append({"random": best_so_far(list(random_values), 10),
                         "sooner": best_so_far(list(sooner), 10)})
    found = compare(per_seed, epochs)
    assert list(found) == ["1x", "3x", "10x"]
    tenfold = found["10x"]["methods"]["sooner"]
    assert tenfold["epochs"] == 1 and tenfold["ratio"] < 0.5
    low, high = tenfold["interval"]
    assert low <= tenfold["ratio"] <= high


def test_a_variant_is_compared_with_the_default_on_the_same_resamples(monkeypatch):
    monkeypatch.setattr(search_ratios, "SEARCH_TRIALS", 1)
    monkeypatch.setattr(search_ratios, "RESAMPLES", 200)
    rng = np.random.default_rng(1)
    per_seed = []
    for _ in range(20):
        values = list(rng.uniform(0, 1, 10))
        best_first = [max(values), *values[1:]]
        per_seed.append({"random": best_so_far(values, 10),
                         DEFAULT: best_so_far(values, 10),  # no better than random
                         VARIANTS[0]: best_so_far(values, 10),  # the default's twin
                         VARIANTS[1]: best_so_far(best_first, 10)})
    versus = compare(per_seed, 1)["10x"]["versus_default"]
    twin, sooner = versus[VARIANTS[0]], versus[VARIANTS[1]]
    assert twin["median"] == 1.0 and twin["interval"] == [1.0, 1.0]
    assert twin["sooner_share"] == 0.0
    assert sooner["interval"][1] < 1 and sooner["sooner_share"] == 1.0
    table = search_bench.markdown({"budgets": compare(per_seed, 1)})
    assert "epochs over tpe_asha's, paired" in table


def curve_trainable(config):
    """A Tune trainable that reports a hand-made curve instead of training."""
    curve = curve_of(config)
    for epoch, value in enumerate(curve, start=1):
        tune.report({n.VAL_SCORE: value, n.RUNG_EPOCH: epoch,
                     n.OUTCOME: n.COMPLETED if epoch == len(curve) else n.RUNNING})


@pytest.mark.slow
@pytest.mark.parametrize("brackets", [1, 3])
def test_the_replay_decides_what_a_real_tune_run_decides(tmp_path, monkeypatch, brackets):
    """One trial at a time, so the order is Tune's: the same trials get the same configs,
    ASHA stops the same ones after the same epochs, Optuna is told the same."""
    # Ray's workers unpickle curve_trainable by its module: they need this folder
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(
        [str(Path(__file__).parent), *filter(None, [os.environ.get("PYTHONPATH")])]))
    space, trials, seed = tiny_space(), 10, 5
    searcher = make_searcher(spaces.SpaceSampler(space), n.VAL_SCORE, "max", seed, trials)
    np.random.seed(seed)  # Ray's bracket choice, as the replay seeds it
    ray.init(num_cpus=2, include_dashboard=False, configure_logging=False)
    try:
        tune.Tuner(
            tune.with_resources(curve_trainable, {"cpu": 1}), param_space=space.base_flat,
            tune_config=tune.TuneConfig(
                num_samples=trials, search_alg=searcher, max_concurrent_trials=1, reuse_actors=True,
                scheduler=make_scheduler(n.VAL_SCORE, "max", EPOCHS, brackets)),
            run_config=tune.RunConfig(storage_path=str(tmp_path), verbose=0)).fit()
    finally:
        ray.shutdown()
    replayed = replay(space, hand_made, Method("tpe_asha", brackets=brackets), seed,
                      budget=trials * EPOCHS, workers=1, num_samples=trials)

    def told(study):
        return [(t.params, t.state.name, t.intermediate_values) for t in study.trials]

    assert told(replayed.study) == told(searcher.optuna_study)
    assert any(state == "PRUNED" for _, state, _ in told(replayed.study))
