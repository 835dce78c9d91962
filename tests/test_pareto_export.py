"""Exporting from a study of a trade-off: the front it recorded listed, a trial of it
exported with a card that says where on the front it lies; a best that is not there
refused. The study is test_pareto_report's hand-made one."""

import json

import pytest
from mlflow import MlflowClient
from test_pareto_report import (
    BLEU,
    FINAL,
    FRONT,
    GAUSSIAN,
    run_cli,
    workdir,
    write_trade_off_store,
)

from cvae_study.analysis.runs import read_study
from cvae_study.study import config
from cvae_study.study import names as m
from cvae_study.study.bundle.card import model_card
from cvae_study.study.tasks import checkpoint
from cvae_study.study.tracking.trials import front_place


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    return write_trade_off_store(tmp_path_factory.mktemp("pareto-export"))

def test_export_pareto_lists_the_recorded_front_and_writes_nothing(store, tmp_path, capsys,
                                                                  monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, out, _ = run_cli(["export", "mo", "--pareto", "--workdir", workdir(store)], capsys)
    assert code == 0 and list(tmp_path.iterdir()) == []
    listed = json.loads(out)
    assert listed["objectives"] == [BLEU, GAUSSIAN] and listed["modes"] == ["max", "max"]
    assert [(t["trial_id"], t["values"][BLEU], t["values"][GAUSSIAN])
            for t in listed["trials"]] == [("mo_00003", 0.8, 0.2), ("mo_00001", 0.5, 0.5),
                                           ("mo_00000", 0.2, 0.8)]


@pytest.mark.parametrize(("args", "why"), [
    (["known", "--pareto"], "--pareto: study 'known' has one objective (val/score)"),
    (["mo-random", "--pareto"], "--pareto: study 'mo-random' has not recorded its front"),
    (["mo", "--pareto", "--trial", "mo_00001"], "--pareto lists the study's front"),
    (["mo", "--out", "{out}"], "has several objectives (val/bleu4, val/gaussian): no trial "
                               "is best on all of them; list its Pareto front with --pareto "
                               "and choose one with --trial ID"),
    (["mo"], "--out DIR is required")])
def test_export_refuses_a_front_or_a_best_there_is_not(store, tmp_path, capsys, args, why):
    out = tmp_path / "bundle"
    code, _, err = run_cli(["export", *[arg.format(out=out) for arg in args], "--workdir",
                            workdir(store)], capsys)
    assert code == 2 and why in err
    assert not out.exists()


def test_front_place_of_a_trial_on_the_front_names_its_neighbours(store):
    front = {"objectives": [BLEU, GAUSSIAN], "modes": ["max", "max"],
             "trials": [{"trial_id": t, "values": dict(zip((BLEU, GAUSSIAN), FINAL[t],
                                                           strict=True))} for t in FRONT]}
    place = front_place(front, "mo_00001", {BLEU: 0.5, GAUSSIAN: 0.5, m.VAL_SCORE: 0.1})
    assert place["on_front"] and place["dominated_by"] == [] and place["size"] == 3
    assert (place["below"]["trial_id"], place["above"]["trial_id"]) == ("mo_00000", "mo_00003")
    meta = {"task": "text", "config": {"train.epochs": 3},
            "source": {"study": "mo", "trial_id": "mo_00001", "run_id": "r", "searched": {},
                       "pareto": place}}
    card = model_card(meta, {}, "a table", [])
    assert ("Study mo traded off val/bleu4 (max) and val/gaussian (max); the front it recorded "
            "when it ended holds 3 trials. This trial, val/bleu4 0.5000, val/gaussian 0.5000, "
            "is on the front") in card
    assert ("Its neighbours on the front by val/bleu4: mo_00000 (val/bleu4 0.2000, "
            "val/gaussian 0.8000) below and mo_00003 (val/bleu4 0.8000, val/gaussian 0.2000) "
            "above.") in card


def test_the_card_of_an_exported_dominated_trial_says_where_it_lies(store, tmp_path, capsys,
                                                                   tiny_task):
    saved = checkpoint.save(tmp_path / "checkpoint", tiny_task().state(),
                            config.flatten(tiny_task().config), "text")
    client = MlflowClient(store)
    run = read_study(store, "mo").trials.set_index("trial_id").loc["mo_00002", "run_id"]
    client.set_tag(run, m.CHECKPOINT, str(saved))
    out = tmp_path / "bundle"
    code, _, _ = run_cli(["export", "mo", "--trial", "mo_00002", "--out", str(out),
                          "--workdir", workdir(store)], capsys)
    assert code == 0
    card = (out / m.CARD_FILE).read_text()
    assert ("This trial, val/bleu4 0.4000, val/gaussian 0.4000, is off the front, dominated "
            "by 1 of its trials (mo_00001): each at least as good on every objective and "
            "better on one.") in card
    assert ("Its neighbours on the front by val/bleu4: mo_00000 (val/bleu4 0.2000, "
            "val/gaussian 0.8000) below and mo_00001 (val/bleu4 0.5000, val/gaussian 0.5000) "
            "above.") in card
    source = json.loads((out / m.CONFIG_FILE).read_text())["source"]
    assert source["pareto"]["dominated_by"] == ["mo_00001"]
