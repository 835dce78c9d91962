"""`cvae-study train text` end to end: a real (tiny) run, read back from a real MLflow store."""

import json
import subprocess
import sys
from pathlib import Path

import mlflow
import pytest
from mlflow.tracking import MlflowClient

from cvae_study.study import cli
from cvae_study.study import names as m
from cvae_study.study.tasks import checkpoint


def _run(args, capsys):
    code = cli.main(args)
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.slow
def test_train_on_lab_files_logs_every_epoch_to_mlflow(
    tmp_path, lab_dir, tiny_args, capsys, monkeypatch
):
    monkeypatch.chdir(tmp_path)  # to prove nothing is written to the current folder
    code, out, _ = _run(
        ["train", "text", "--data", "lab", "--data-dir", str(lab_dir), "--epochs", "3",
         "--workdir", str(tmp_path / "runs"), "--quiet", *tiny_args],
        capsys,
    )
    assert code == 0
    summary = json.loads(out)
    assert summary["outcome"] == "completed" and summary["epochs"] == 3
    client = MlflowClient(summary["mlflow"]["tracking_uri"])
    run = client.get_run(summary["mlflow"]["run_id"])
    assert run.info.status == "FINISHED"
    assert run.data.tags["outcome"] == "completed"
    assert run.data.params["data.source"] == "lab"
    assert run.data.params["model.hidden_size"] == "16"
    commit = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True,
                            cwd=Path(__file__).parent).stdout.strip()
    # MLflow's own source tags beside ours, the commit of the code that ran
    assert run.data.tags[m.MLFLOW_GIT_COMMIT] == run.data.tags[m.GIT_COMMIT] == commit
    assert run.data.tags[m.MLFLOW_USER] and run.data.tags[m.MLFLOW_SOURCE_TYPE] == "LOCAL"
    for key in (m.TRAIN_LOSS, m.TRAIN_KL_WEIGHT, m.VAL_BLEU4, m.VAL_BLEU4_SEEN, m.VAL_GAUSSIAN,
                m.VAL_SCORE, m.VAL_ACTIVE_UNITS, m.val_kl_dim(0)):
        history = client.get_metric_history(run.info.run_id, key)
        assert [point.step for point in history] == [1, 2, 3], key
    artifacts = {a.path for a in client.list_artifacts(run.info.run_id)}
    assert {"samples", "checkpoint", "results"} <= artifacts
    samples = json.loads(
        mlflow.artifacts.load_text(f"runs:/{run.info.run_id}/samples/epoch_003.json")
    )
    # With lab files the "seen" protocol is the lab's own ten test pairs.
    lab_rows = [row for row in samples["conversions"] if row["protocol"] == "lab_test"]
    assert len(lab_rows) == 10 and lab_rows[0]["source"] == "abandon"
    assert len(samples["generated"]) == 8
    assert sorted(p.name for p in tmp_path.iterdir()) == ["lab", "runs"]
    assert run.info.artifact_uri.startswith((tmp_path / "runs" / "artifacts").as_uri())
    saved = checkpoint.load(summary["checkpoint"])
    assert saved["task"] == "text" and saved["state"]["counters"]["epoch"] == 3


@pytest.mark.parametrize(
    "args, expected",
    [
        (["--set", "kl.cyclez=2"], "unknown config key 'kl.cyclez'"),
        (["--set", "kl.cycles=two"], "kl.cycles: expected an integer"),
        (["--set", "kl.ratio=1.5"], "kl.ratio: 1.5 is out of range"),
        (["--set", "kl.schedule=linear"], "not one of none, monotonic, cyclical"),
        (["--set", "model.cell"], "expected key=value"),
        (["--data", "lab"], "data.dir: required"),
        (["--device", "cuda"], "no CUDA GPU"),
    ],
)
def test_bad_input_fails_before_training(tmp_path, capsys, monkeypatch, args, expected):
    monkeypatch.setattr("torch.cuda.is_available", lambda: False)  # the same on a GPU machine
    code, _, err = _run(["train", "text", "--workdir", str(tmp_path), *args], capsys)
    assert code == 2
    assert expected in err
    assert not (tmp_path / "checkpoints").exists()


@pytest.mark.parametrize(
    "train_text, message",
    [
        ("run runs running\n", "train.txt line 1: expected 4 words"),
        ("run runs running ran\nwalk walks walking walk3d\n", "train.txt line 2"),
        ("", "no verbs"),
    ],
)
def test_bad_lab_files_name_file_and_line(tmp_path, lab_dir, capsys, train_text, message):
    (lab_dir / "train.txt").write_text(train_text)
    code, _, err = _run(["train", "text", "--data", "lab", "--data-dir", str(lab_dir),
                         "--workdir", str(tmp_path)], capsys)
    assert code == 2
    assert message in err


def test_missing_lab_folder_is_named(tmp_path, capsys):
    missing = tmp_path / "nowhere"
    code, _, err = _run(["train", "text", "--data", "lab", "--data-dir", str(missing),
                         "--workdir", str(tmp_path)], capsys)
    assert code == 2 and str(missing / "train.txt") in err


def test_unreachable_tracking_server_fails_before_training(tmp_path, capsys):
    code, _, err = _run(["train", "text", "--tracking-uri", "http://127.0.0.1:9",
                         "--workdir", str(tmp_path)], capsys)
    assert code == 2 and "cannot be reached" in err


@pytest.mark.slow
def test_diverging_run_stops_and_keeps_its_logged_epochs(tmp_path, lab_dir, tiny_args, capsys):
    # SGD at an absurd learning rate without clipping: with this seed and batch size the
    # loss overflows in the second epoch.
    code, out, err = _run(
        ["train", "text", "--data", "lab", "--data-dir", str(lab_dir), "--epochs", "30",
         "--workdir", str(tmp_path), "--quiet", *tiny_args, "--set", "optim.name=sgd",
         "--set", "optim.lr=10", "--set", "optim.grad_clip=0", "--set", "kl.schedule=none",
         "--set", "train.batch_size=4", "--set", "optim.lr_decay=none"],
        capsys,
    )
    assert code == 1
    assert "training loss became" in err
    summary = json.loads(out)
    assert summary["outcome"] == "diverged"
    assert summary["epochs"] >= 1  # it diverged after logging at least one whole epoch
    client = MlflowClient(summary["mlflow"]["tracking_uri"])
    run = client.get_run(summary["mlflow"]["run_id"])
    assert run.data.tags["outcome"] == "diverged" and run.info.status == "FAILED"
    logged = client.get_metric_history(run.info.run_id, m.TRAIN_LOSS)
    assert len(logged) == summary["epochs"]


def _main_with_imports_blocked(blocked, argv):
    """`cvae-study ARGV` in a fresh interpreter where importing any of `blocked` fails."""
    script = ("import sys\n"
              f"for name in {tuple(blocked)!r}:\n"
              "    sys.modules[name] = None  # any import of it now fails\n"
              "from cvae_study.study.cli import main\n"
              f"sys.exit(main({argv!r}))\n")
    return subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=300)


def test_bench_runs_where_neither_ray_mlflow_nor_optuna_is_installed(tmp_path, lab_dir,
                                                                     tiny_args):
    """A GPU machine may have torch and nothing else: `bench` and the tasks must not need
    the sweep and tracking stack. Their imports are blocked in a fresh interpreter."""
    out = tmp_path / "bench.json"
    argv = ["bench", "text", "--data", "lab", "--data-dir", str(lab_dir), "--epochs", "1",
            "--device", "cpu", "--out", str(out), *tiny_args]
    result = _main_with_imports_blocked(("ray", "mlflow", "optuna"), argv)
    assert result.returncode == 0, result.stderr
    report = json.loads(out.read_text())
    assert report["epochs"] == 1 and report["device"] == "cpu"


def test_train_runs_where_neither_ray_nor_optuna_is_installed(tmp_path, lab_dir, tiny_args):
    """`train` tracks in MLflow itself: it needs neither the sweep's Ray nor its Optuna."""
    argv = ["train", "text", "--data", "lab", "--data-dir", str(lab_dir), "--epochs", "1",
            "--device", "cpu", "--workdir", str(tmp_path), "--quiet", *tiny_args]
    result = _main_with_imports_blocked(("ray", "optuna"), argv)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["outcome"] == "completed"


def test_a_crash_of_train_is_recorded_as_errored(tmp_path, lab_dir, tiny_args, capsys,
                                                 monkeypatch):
    """An exception in the middle of a run is a crash, not an interruption: the run is
    tagged errored and FAILED, and the exception reaches the caller."""
    from cvae_study.study.tasks.text import TextTask

    def crash(self, exhaustive=False):
        raise RuntimeError("evaluation crashed")

    monkeypatch.setattr(TextTask, "evaluate", crash)
    with pytest.raises(RuntimeError, match="evaluation crashed"):
        cli.main(["train", "text", "--data", "lab", "--data-dir", str(lab_dir), "--epochs", "2",
                  "--workdir", str(tmp_path), "--quiet", *tiny_args])
    client = MlflowClient(f"sqlite:///{tmp_path / 'mlflow.db'}")
    [run] = client.search_runs([client.get_experiment_by_name("train-text").experiment_id])
    assert run.data.tags["outcome"] == "errored" and run.info.status == "FAILED"
