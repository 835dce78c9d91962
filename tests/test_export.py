"""Export a real (tiny) study's best trial (conftest's `finished`), load it back, use it,
register and serve it."""

import json
import os
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import mlflow
import pandas as pd
import pytest
import torch
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException
from safetensors.torch import load_file
from test_sweep import workdir_of
from test_team_services import free_port, start, stop

from cvae_study.datasets.tense import TENSES, Conversion
from cvae_study.study import cli
from cvae_study.study.bundle.bundle import BundleError, load_bundle
from cvae_study.study.tasks.text import convert_words

pytestmark = pytest.mark.slow


def run_cli(args, capsys):
    code = cli.main(args)
    out, err = capsys.readouterr()
    return code, out, err


def export_args(study, out, *extra):
    return ["export", "small", "--out", str(out), "--workdir", str(workdir_of(study)), *extra]


def test_export_load_and_convert_round_trip(finished, tmp_path, capsys):
    study, result = finished
    out = tmp_path / "bundle"
    code, stdout, _ = run_cli(export_args(study, out), capsys)
    assert code == 0
    exported = json.loads(stdout)
    bundle = load_bundle(out)
    best_run = MlflowClient(study.uri).get_run(exported["run_id"])
    assert best_run.data.metrics["val/score"] == max(t["val/score"] for t in result.trials)
    trial_checkpoint = best_run.data.tags["ray.checkpoint"]
    saved = load_file(f"{trial_checkpoint}/model.safetensors")
    for key, value in bundle.model.state_dict().items():
        assert torch.equal(value, saved[key]), key  # the trial's last checkpoint, exactly
    expected = convert_words(bundle.model, [Conversion("walk", 0, "", 3)],
                             bundle.meta["max_length"])[0]
    code, stdout, _ = run_cli(["convert", "--model", str(out), "walk", "--from", "sp",
                               "--to", "simple past"], capsys)
    assert code == 0 and stdout.strip() == expected
    code, stdout, _ = run_cli(["generate", "--model", str(out), "-n", "3", "--seed", "1"], capsys)
    lines = stdout.rstrip("\n").split("\n")  # a tiny model may generate empty words
    assert code == 0 and len(lines) == 3 and all(len(line.split(" / ")) == 4 for line in lines)
    card = (out / "README.md").read_text()
    assert exported["trial_id"] in card and "cvae-study convert --model" in card
    assert "A search trial of 2 epochs on one seed" in card  # no finish: it says so
    code, _, err = run_cli(["predict", "--model", str(out), "--clip", str(tmp_path),
                            "--out", str(tmp_path / "x.gif")], capsys)
    assert code == 2 and f"{out}: a text model; this command needs a video model" in err


def test_an_existing_folder_is_refused_unless_forced(finished, tmp_path, capsys):
    study, _ = finished
    out = tmp_path / "taken"
    out.mkdir()
    code, _, err = run_cli(export_args(study, out), capsys)
    assert code == 2 and "exists; pass --force" in err
    assert run_cli(export_args(study, out, "--force"), capsys)[0] == 0
    assert (out / "model.safetensors").is_file()


def test_tampered_bundles_are_refused_naming_the_file(finished, tmp_path, capsys):
    study, _ = finished
    out = tmp_path / "bundle"
    assert run_cli(export_args(study, out), capsys)[0] == 0
    meta = json.loads((out / "config.json").read_text())
    meta["config"]["model.hidden_size"] = 32  # the weights are hidden 16
    (out / "config.json").write_text(json.dumps(meta))
    with pytest.raises(BundleError, match="model.safetensors: does not fit config.json"):
        load_bundle(out)
    meta["task"] = "speech"
    (out / "config.json").write_text(json.dumps(meta))
    code, _, err = run_cli(["generate", "--model", str(out)], capsys)
    assert code == 2 and "unknown task 'speech'" in err
    (out / "metrics.json").unlink()
    with pytest.raises(BundleError, match="metrics.json: missing"):
        load_bundle(out)
    code, _, err = run_cli(["convert", "--model", str(out), "walk1", "--from", "sp", "--to",
                            "p"], capsys)
    assert code == 2 and "outside a-z" in err


@pytest.fixture(scope="module")
def registered(finished, tmp_path_factory):
    """The best trial exported and registered as version 1 of `tense-cvae`."""
    study, _ = finished
    out = tmp_path_factory.mktemp("registered") / "bundle"
    assert cli.main(export_args(study, out, "--register", "tense-cvae")) == 0
    return study, out


def test_register_makes_a_pyfunc_model_the_registry_loads(registered):
    study, out = registered
    client = MlflowClient(study.uri)
    (version,) = client.search_model_versions("name = 'tense-cvae'")
    assert int(version.version) == 1
    previous = mlflow.get_tracking_uri()  # `train` tests set it for the process
    mlflow.set_tracking_uri(study.uri)  # the registry follows it
    try:
        model = mlflow.pyfunc.load_model("models:/tense-cvae/1")
        strict = mlflow.pyfunc.load_model("models:/tense-cvae/1",  # as a server's operator
                                          model_config={"max_rows": 2})  # may set it
    finally:
        mlflow.set_tracking_uri(previous)
    bundle = load_bundle(out)
    words = [("abandon", 0, 3), ("run", 0, 2), ("walked", 3, 1)]
    expected = convert_words(bundle.model, [Conversion(w, s, "", t) for w, s, t in words],
                             bundle.meta["max_length"])
    converted = model.predict(pd.DataFrame(
        [{"word": w, "from": TENSES[s], "to": TENSES[t]} for w, s, t in words]))
    assert list(converted["converted"]) == expected
    generated = model.predict(pd.DataFrame([{"n": 3, "seed": 0}]))
    assert len(generated) == 3 and list(generated.columns[1:]) == list(TENSES)
    assert model.metadata.get_input_schema().input_names() == ["word", "from", "to", "n",
                                                                "seed"]
    with pytest.raises(MlflowException, match="conversions .* or generation"):
        model.predict(pd.DataFrame([{"word": "run", "n": 1}]))
    assert model.metadata.flavors["python_function"]["config"] == {"max_rows": 100,
                                                                   "max_generated": 2000}
    with pytest.raises(MlflowException, match="at most 2 rows .*; this one has 3"):
        strict.predict(pd.DataFrame([{"word": w, "from": "sp", "to": "p"} for w, _, _ in words]))


def test_the_registered_model_is_served_by_mlflow_and_stopped(registered, capsys):
    study, out = registered
    bundle = load_bundle(out)
    (expected,) = convert_words(bundle.model, [Conversion("abandon", 0, "", 3)],
                                bundle.meta["max_length"])
    port = free_port()
    venv = Path(sys.executable).parent  # on PATH as in an activated environment: the
    env = {**os.environ, "MLFLOW_TRACKING_URI": study.uri,  # server runs its uvicorn
           "PATH": os.pathsep.join([str(venv), os.environ.get("PATH", "")])}
    server = start(["mlflow", "models", "serve", "-m",
                    "models:/tense-cvae/1", "--env-manager", "local", "-h", "127.0.0.1",
                    "-p", str(port)], f"http://127.0.0.1:{port}/ping", env=env)
    try:
        def post(records):
            request = urllib.request.Request(
                f"http://127.0.0.1:{port}/invocations", method="POST",
                data=json.dumps({"dataframe_records": records}).encode(),
                headers={"Content-Type": "application/json"})
            with urllib.request.urlopen(request, timeout=30) as response:
                return json.loads(response.read())

        answer = post([{"word": "abandon", "from": "sp", "to": "p"}])
        assert answer["predictions"][0]["converted"] == expected
        _refuses_what_it_cannot_answer(post, out, capsys)
    finally:
        stop(server)
    deadline = time.monotonic() + 30  # uvicorn finishes its shutdown after the CLI exits
    while time.monotonic() < deadline and _answers(f"http://127.0.0.1:{port}/ping"):
        time.sleep(0.5)
    assert not _answers(f"http://127.0.0.1:{port}/ping")


def _cli_error(args, capsys) -> str:
    """The message `cvae-study ARGS` exits 2 with."""
    code, _, err = run_cli(args, capsys)
    assert code == 2
    return err.strip().removeprefix("error: ")


def _refuses_what_it_cannot_answer(post, out, capsys):
    """Each bad or oversized request: 400 with the CLI's message for it, no traceback."""
    def refused(records) -> str:
        with pytest.raises(urllib.error.HTTPError) as error:
            post(records)
        body = error.value.read().decode()
        assert error.value.code == 400 and "Traceback" not in body, body
        answer = json.loads(body)
        assert answer["error_code"] == "INVALID_PARAMETER_VALUE" and "stack_trace" not in answer
        return answer["message"]

    convert = ["convert", "--model", str(out)]
    bad_word = _cli_error([*convert, "w4lk", "--from", "sp", "--to", "p"], capsys)
    bad_tense = _cli_error([*convert, "walk", "--from", "xx", "--to", "p"], capsys)
    assert "outside a-z" in bad_word and "tense 'xx'" in bad_tense
    walk = {"word": "walk", "from": "sp", "to": "p"}
    assert bad_word in refused([walk, {**walk, "word": "w4lk"}])
    assert bad_tense in refused([{**walk, "from": "xx"}])
    assert "at most 100 rows" in refused([walk] * 101)
    assert "at most 2000 verbs" in refused([{"n": 1000, "seed": s} for s in range(2)]
                                           + [{"n": 1, "seed": 2}])
    assert "n 0: must be at least 1" in refused([{"n": 0, "seed": 0}])
    assert "n 1001: at most 1000 per row" in refused([{"n": 1001, "seed": 0}])
    assert "word is empty" in refused([{**walk, "word": None}])
    for wrong in ([{"word": "walk", "from": "sp"}], [{**walk, "n": 1}],
                  [walk, {"n": 1, "seed": 0}]):  # missing, extra, mixed
        assert "rows are conversions (word, from, to) or generation" in refused(wrong)
    for empty in (None, float("nan")):  # JSON null, and NaN (which json.dumps writes)
        assert "row 1: n is empty (null or NaN)" in refused([{"n": empty, "seed": 0}])
    for odd in (1.5, "x"):
        assert f"row 1: n {odd!r}: a whole number" in refused([{"n": odd, "seed": 0}])


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2):
            return True
    except OSError:
        return False


def test_a_video_study_is_not_registered(finished, tmp_path, capsys, monkeypatch):
    from cvae_study.study.bundle import export

    study, _ = finished
    monkeypatch.setattr(export, "pick_trial", _as_video(export.pick_trial))
    code, _, err = run_cli(export_args(study, tmp_path / "v", "--register", "clips"), capsys)
    assert code == 2 and "a video model stays a bundle" in err
    assert not (tmp_path / "v").exists()


def _as_video(pick_trial):
    """pick_trial whose parent run says its study is of the video task."""
    def picked(*args, **kwargs):
        parent, run = pick_trial(*args, **kwargs)
        parent.data.params["study.task"] = "video"
        return parent, run
    return picked
