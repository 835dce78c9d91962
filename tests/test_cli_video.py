"""`cvae-study data video` and `cvae-study train video` end to end, on tiny written data."""

import json

import pytest
from mlflow.tracking import MlflowClient
from PIL import Image

from cvae_study.datasets import synthetic
from cvae_study.study import cli, scoring
from cvae_study.study import names as m
from cvae_study.study.bundle.bundle import load_bundle
from cvae_study.study.bundle.predict import predict_clip

TINY_SETS = ["--set", "model.latent_size=4", "--set", "model.condition_size=8",
             "--set", "model.preset=cpu", "--set", "train.batch_size=4",
             "--set", "eval.clips=4", "--set", "data.n_future=4"]


def _run(args, capsys):
    code = cli.main(args)
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["pushing", "dance"])
def test_written_data_trains_through_the_cli_into_mlflow(kind, tmp_path, capsys):
    data = tmp_path / kind
    code, out, _ = _run(["data", "video", "--kind", kind, "--out", str(data),
                         "--sequences", "4"], capsys)
    assert code == 0 and str(data) in out
    code, out, _ = _run(["train", "video", "--data", kind, "--data-dir", str(data),
                         "--epochs", "2", "--workdir", str(tmp_path / "runs"), "--quiet",
                         *TINY_SETS], capsys)
    assert code == 0
    summary = json.loads(out)
    assert summary["outcome"] == "completed" and summary["epochs"] == 2
    client = MlflowClient(summary["mlflow"]["tracking_uri"])
    run_id = summary["mlflow"]["run_id"]
    run = client.get_run(run_id)
    assert run.data.params["data.kind"] == kind and run.data.tags["device"] == "cpu"
    for key in (m.TRAIN_LOSS, m.VAL_PSNR, m.val_psnr_at(4), m.VAL_PSNR_COPY_LAST,
                m.VAL_PSNR_OTHER_CONDITION):
        assert [p.step for p in client.get_metric_history(run_id, key)] == [1, 2], key
    samples = {a.path for a in client.list_artifacts(run_id, "samples")}
    assert {"samples/epoch_002.json", "samples/epoch_002_strip.png"} <= samples


def test_text_data_choices_are_refused_for_video(tmp_path, capsys):
    code, _, err = _run(["train", "video", "--data", "lab", "--workdir", str(tmp_path)], capsys)
    assert code == 2 and "--data lab: video data is pushing or dance" in err


def test_a_missing_data_dir_is_named(tmp_path, capsys):
    missing = tmp_path / "nowhere"
    code, _, err = _run(["train", "video", "--data-dir", str(missing), "--epochs", "1",
                         "--workdir", str(tmp_path / "runs"), "--quiet"], capsys)
    assert code == 2 and str(missing) in err


def test_data_refuses_an_existing_folder(tmp_path, capsys):
    code, _, err = _run(["data", "video", "--out", str(tmp_path)], capsys)
    assert code == 2 and "already exists" in err


@pytest.fixture(scope="module")
def video_study(tmp_path_factory):
    """A smoke study of Ray Tune trials of the video task on the default synthetic data (made
    on first use) -> its workdir."""
    home = tmp_path_factory.mktemp("video-study")
    assert cli.main(["sweep", "video", "--smoke", "--name", "video-smoke",
                     "--workdir", str(home)]) == 0
    return home


@pytest.mark.slow
def test_a_video_smoke_study_records_psnr_and_strips_per_trial(video_study, capsys):
    client = MlflowClient(f"sqlite:///{video_study / 'mlflow.db'}")
    experiment = client.get_experiment_by_name("video-smoke")
    trials = client.search_runs([experiment.experiment_id], "tags.`study.role` = 'trial'")
    assert len(trials) == 2
    for run in trials:
        assert run.data.tags["outcome"] in ("completed", "stopped_early")
        assert m.VAL_PSNR in run.data.metrics and m.val_psnr_at(10) in run.data.metrics
        samples = {a.path for a in client.list_artifacts(run.info.run_id, "samples")}
        assert "samples/epoch_001_strip.png" in samples
    code, out, _ = _run(["report", "video-smoke", "--workdir", str(video_study)], capsys)
    assert code == 0
    markdown = (video_study / "reports" / "video-smoke" / "report.md").read_text()
    assert m.VAL_PSNR in markdown


@pytest.mark.slow
def test_the_best_video_model_exports_loads_and_predicts_a_clip(video_study, tmp_path, capsys):
    bundle_dir = tmp_path / "bundle"
    code, _, _ = _run(["export", "video-smoke", "--out", str(bundle_dir),
                       "--workdir", str(video_study)], capsys)
    assert code == 0
    meta = json.loads((bundle_dir / "config.json").read_text())
    assert meta["task"] == "video" and meta["preset"] == "cpu"
    assert meta["frame_size"] == [64, 64] and meta["condition_shape"] == [7]
    assert (meta["n_past"], meta["n_future"]) == (2, 10)
    assert (bundle_dir / "samples.png").is_file()
    assert "cvae-study predict --model" in (bundle_dir / "README.md").read_text()
    bundle = load_bundle(bundle_dir)
    assert bundle.task == "video" and bundle.config.data.kind == "pushing"

    clip = next((synthetic.default_dataset("pushing", 16, 0) / "validate").glob("*/0"))
    gif, png = tmp_path / "clip.gif", tmp_path / "clip.png"
    for out in (gif, png):
        code, printed, _ = _run(["predict", "--model", str(bundle_dir), "--clip", str(clip),
                                 "--out", str(out)], capsys)
        assert code == 0 and str(out) in printed and "PSNR" in printed
    with Image.open(gif) as animation:
        assert animation.n_frames == 12 and animation.size == (128, 64)  # truth | prediction
    with Image.open(png) as strip:
        assert strip.size == (12 * 64, 2 * 64)  # truth over prediction

    truth, predicted, scores = predict_clip(bundle_dir, clip)
    assert truth.shape == (12, 3, 64, 64) and predicted.shape == (11, 3, 64, 64)
    assert scores[m.VAL_PSNR] == pytest.approx(
        scoring.psnr(predicted[1:], truth[2:]).mean().item())  # the 10 predicted frames


@pytest.mark.slow
def test_predict_refuses_what_it_cannot_use(video_study, tmp_path, capsys):
    bundle_dir = tmp_path / "bundle"
    assert cli.main(["export", "video-smoke", "--out", str(bundle_dir),
                     "--workdir", str(video_study)]) == 0
    clip = next((synthetic.default_dataset("pushing", 16, 0) / "validate").glob("*/0"))
    cases = [
        (["--clip", str(tmp_path / "nowhere"), "--out", str(tmp_path / "a.gif")],
         f"{tmp_path / 'nowhere'}: folder not found"),
        (["--clip", str(clip), "--out", str(tmp_path / "a.mp4")], "a.mp4: write a .gif or .png"),
        (["--clip", str(clip), "--start", "25", "--out", str(tmp_path / "a.gif")],
         "30 frames, a clip needs 37"),
    ]
    for extra, message in cases:
        code, _, err = _run(["predict", "--model", str(bundle_dir), *extra], capsys)
        assert code == 2 and message in err, err
    code, _, err = _run(["convert", "--model", str(bundle_dir), "walk", "--from", "sp",
                         "--to", "p"], capsys)
    assert code == 2 and f"{bundle_dir}: a video model; this command needs a text model" in err


@pytest.mark.slow
def test_bench_video_measures_both_presets_and_the_quality_targets(tmp_path, capsys):
    out = tmp_path / "bench.json"
    code, _, _ = _run(["bench", "video", "--steps", "1", "--quality", "dance", "--epochs", "1",
                       "--set", "data.sequences=4", "--set", "train.batch_size=2",
                       "--set", "eval.clips=2", "--out", str(out)], capsys)
    assert code == 0
    report = json.loads(out.read_text())
    speed = {row["preset"]: row for row in report["speed"]}
    assert set(speed) == {"cpu", "svg"} and speed["svg"]["parameters"] > speed["cpu"]["parameters"]
    assert all(row["train_clips_per_second"] > 0 for row in speed.values())
    (dance,) = report["quality"]
    assert dance["data"] == "dance" and dance["epochs"] == 1
    assert dance["gain_over_copy_db"] == pytest.approx(dance["psnr"] - dance["psnr_copy_last"],
                                                       abs=0.02)
