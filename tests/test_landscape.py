"""`bench landscape` (its resumable file, and a real tiny collection through Ray Tune),
the curve surrogate, and `bench search` end to end on a planted landscape."""

import json
import math
import random

import pytest
import torch

from cvae_study.study import cli, spaces
from cvae_study.study import landscape_file as ls
from cvae_study.study import names as n
from cvae_study.study.bench.landscape_curves import Landscape
from cvae_study.study.bench.surrogate import CurveSurrogate

EPOCHS = 3


def plan(**changes) -> ls.LandscapePlan:
    return ls.LandscapePlan(**{"epochs": EPOCHS, "configs": 4, "repeats": 2, **changes})


def planted_quality(params) -> float:
    """A smooth landscape: best near lr 5e-3 with a GRU, worse with more KL weight."""
    lr = -abs(math.log(params["optim.lr"] / 5e-3)) / 3
    return 0.3 + 0.1 * lr + 0.05 * (params["model.cell"] == "gru") - 0.02 * math.log(
        params["kl.max_weight"])


def plant(path, configs: int, repeats: int = 2, noise: float = 0.005):
    """A landscape file as `bench landscape` writes it, with made-up curves."""
    todo, flat = ls.pending(plan(configs=configs, repeats=repeats), path)
    space = ls.space_of(plan())
    rng = random.Random(0)
    with open(path, "a") as handle:
        for run in todo:
            params = spaces.searched_values(space, flat[run.key])
            quality = planted_quality(params)
            curve = [quality * e / EPOCHS + rng.gauss(0, noise) for e in range(1, EPOCHS + 1)]
            handle.write(ls.record_line(run, params, {n.VAL_SCORE: curve}, n.COMPLETED, 1.0))


def test_a_new_file_gets_its_header_and_every_run_in_order(tmp_path):
    path = tmp_path / "l.jsonl"
    todo, configs = ls.pending(plan(), path)
    header = json.loads(path.read_text().splitlines()[0])
    assert header["kind"] == ls.HEADER and header["epochs"] == EPOCHS
    assert header["fixed"]["model.hidden_size"] == 128  # the bench sweep's space
    # each config's repeats right after it: seed noise from the first piece on
    assert [(r.config, r.seed) for r in todo] == [(0, 0), (0, 1), (0, 2), (1, 0), (1, 1),
                                                  (1, 2), (2, 0), (3, 0)]
    assert configs["c0001-s2"]["train.seed"] == 2
    assert {k: v for k, v in configs["c0001-s2"].items() if k != "train.seed"} == {
        k: v for k, v in configs["c0001-s0"].items() if k != "train.seed"}


def test_a_second_piece_runs_only_what_is_missing(tmp_path):
    path = tmp_path / "l.jsonl"
    todo, configs = ls.pending(plan(), path)
    with open(path, "a") as handle:
        for run in todo[:3]:
            handle.write(ls.record_line(run, {}, {n.VAL_SCORE: [0.1] * EPOCHS}, n.COMPLETED, 1))
        handle.write('{"config": 1, "seed": 0, "par')  # the line a killed run cut short
    again, _ = ls.pending(plan(configs=6), path)  # and it may draw more configs
    assert again[0] == ls.Run(1, 0) and ls.Run(0, 2) not in again
    assert len(again) == 6 + 2 * 2 - 3


def test_growing_the_landscape_keeps_the_configs_drawn_first(tmp_path):
    space = ls.space_of(plan())
    assert ls.draw(space, 6, 0)[:4] == ls.draw(space, 4, 0)
    assert ls.draw(space, 4, 1) != ls.draw(space, 4, 0)


def test_continuing_with_other_settings_is_refused_naming_the_setting(tmp_path):
    path = tmp_path / "l.jsonl"
    ls.pending(plan(), path)
    with pytest.raises(ls.LandscapeError, match="was drawn with epochs = 3, not 4"):
        ls.pending(plan(epochs=4), path)
    with pytest.raises(ls.LandscapeError, match="was drawn with fixed"):
        ls.pending(plan(overrides={"eval.verbs": 50}), path)


def test_a_damaged_line_is_an_error_naming_the_file_and_line(tmp_path):
    path = tmp_path / "l.jsonl"
    ls.pending(plan(), path)
    with open(path, "a") as handle:
        handle.write("not json\n" + ls.record_line(ls.Run(0, 0), {}, {}, n.COMPLETED, 1))
    with pytest.raises(ls.LandscapeError, match=r"l.jsonl:2: not a JSON line"):
        ls.pending(plan(), path)


@pytest.mark.parametrize("changes, message", [
    ({"repeats": 5}, "--repeats 5: more than --configs 4"),
    ({"configs": 0, "repeats": 0}, "--configs 0: must be at least 1"),
    ({"epochs": 0}, "--epochs 0: must be at least 1"),
])
def test_bad_plans_are_refused(tmp_path, changes, message):
    with pytest.raises(ls.LandscapeError, match=message):
        ls.pending(plan(**changes), tmp_path / "l.jsonl")


def test_the_read_landscape_has_its_configs_and_scaled_seed_noise(tmp_path):
    path = tmp_path / "l.jsonl"
    plant(path, configs=5, repeats=2)
    landscape = Landscape.read(path)
    assert len(landscape.params) == 5 and landscape.epochs == EPOCHS
    assert len(landscape.residuals()) == 2 * 3  # two configs, three seeds each
    # residuals of k seeds from their mean, scaled by sqrt(k / (k - 1)): summing to zero
    first = torch.tensor(landscape.residuals()[:3])
    assert first.sum(0).abs().max() < 1e-9


def test_the_surrogate_ranks_held_out_configs_of_a_smooth_landscape(tmp_path):
    path = tmp_path / "l.jsonl"
    plant(path, configs=60, repeats=0, noise=0.002)
    landscape = Landscape.read(path)
    surrogate = CurveSurrogate(landscape.header["space"], landscape.params,
                               landscape.mean_curves())
    loo = surrogate.leave_one_out()[:, -1]
    truth = torch.tensor([planted_quality(p) for p in landscape.params])
    ranks = [torch.argsort(torch.argsort(v)).double() for v in (loo, truth)]
    assert torch.corrcoef(torch.stack(ranks))[0, 1] > 0.9
    assert surrogate.relevance()["optim.lr"] > surrogate.relevance()["tf.floor"]


def test_leave_one_out_in_closed_form_is_the_prediction_without_that_config(tmp_path):
    path = tmp_path / "l.jsonl"
    plant(path, configs=12, repeats=0)
    landscape = Landscape.read(path)
    surrogate = CurveSurrogate(landscape.header["space"], landscape.params,
                               landscape.mean_curves())
    i = 5
    others = [j for j in range(12) if j != i]
    x, y = surrogate.x, surrogate.y
    kernel = surrogate._kernel(x[others], x[others]) + surrogate.noise * torch.eye(11,
                                                                                 dtype=x.dtype)
    weights = surrogate._kernel(x[i:i + 1], x[others]) @ torch.linalg.inv(kernel)
    z = (y - surrogate.origin).log()  # fit in log space, from just below the lowest value
    assert surrogate.origin < float(y.min())
    by_hand = (surrogate.mean + weights @ (z[others] - surrogate.mean)).exp() + surrogate.origin
    assert torch.allclose(surrogate.leave_one_out()[i], by_hand[0], atol=1e-8)


@pytest.mark.slow
def test_bench_search_replays_every_method_and_writes_the_figure(tmp_path, capsys):
    path = tmp_path / "l.jsonl"
    plant(path, configs=12, repeats=2)
    out = tmp_path / "search" / "search.json"
    assert cli.main(["bench", "search", "--landscape", str(path), "--replays", "2",
                     "--out", str(out)]) == 0
    report = json.loads(out.read_text())
    assert list(report["budgets"]) == ["1x", "3x", "10x"]
    assert set(report["budgets"]["3x"]["methods"]) == {
        "tpe", "tpe_asha", "hyperband", "bohb", "tpe_asha_warm", "tpe_asha_startup5",
        "tpe_asha_rf2", "tpe_asha_rf4"}
    assert report["budgets"]["1x"]["budget_epochs"] == 12 * EPOCHS
    assert len(report["anytime"]["random"]["mean"]) == 10 * 12 * EPOCHS
    assert out.with_suffix(".png").stat().st_size > 10_000
    assert report["surrogate"]["configs"] == 12


@pytest.mark.parametrize("args, message", [
    (["--replays", "3", "--out", "x.json"], "--landscape FILE and --out FILE.json are required"),
    (["--landscape", "missing.jsonl", "--out", "x.json"], "missing.jsonl: no such file"),
    (["--landscape", "l.jsonl", "--replays", "1", "--out", "x.json"], "--replays 1: at least 2"),
])
def test_bench_search_bad_input_exits_2_naming_it(tmp_path, monkeypatch, capsys, args, message):
    monkeypatch.chdir(tmp_path)
    plant(tmp_path / "l.jsonl", configs=4)
    assert cli.main(["bench", "search", *args]) == 2
    assert message in capsys.readouterr().err


def test_bench_landscape_needs_its_file_and_length(capsys):
    assert cli.main(["bench", "landscape", "--configs", "2"]) == 2
    assert "--out FILE is required" in capsys.readouterr().err


@pytest.mark.slow
def test_a_tiny_landscape_is_collected_through_ray_and_continued(tmp_path, lab_dir, tiny_args,
                                                                 capsys):
    out = tmp_path / "tiny.jsonl"
    args = ["bench", "landscape", "--configs", "2", "--repeats", "1", "--epochs", "2",
            "--set", "data.source=lab", "--set", f"data.dir={lab_dir}", *tiny_args,
            "--out", str(out)]
    assert cli.main(args) == 0
    header, records = ls.read(out)
    assert sorted((r["config"], r["seed"]) for r in records) == [(0, 0), (0, 1), (0, 2), (1, 0)]
    for record in records:
        assert record["outcome"] == n.COMPLETED
        assert len(record["curves"][n.VAL_SCORE]) == 2
        assert all(v is not None for v in record["curves"][n.TRAIN_LOSS])
    capsys.readouterr()
    assert cli.main(args) == 0  # nothing left: nothing run
    assert '"ran": 0' in capsys.readouterr().out
