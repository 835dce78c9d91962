"""A bad world, made real: racing processes, a full disk, a damaged store, a read-only
workdir, names the filesystem refuses. Each gives one clear message, a non-zero exit, no
traceback, and loses nothing already recorded."""

import contextlib
import hashlib
import os
import resource
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from mlflow import MlflowClient

from cvae_study.study import cli
from cvae_study.study.tracking import store
from cvae_study.study.tracking.runs import RunLogger

CLI = [sys.executable, "-m", "cvae_study.study.cli"]


def cvae(*args, preexec_fn=None, timeout=300):
    return subprocess.run([*CLI, *map(str, args)], capture_output=True, text=True,
                          timeout=timeout, preexec_fn=preexec_fn)


def assert_one_clear_line(result, code, *words):
    assert result.returncode == code, result.stderr[-3000:]
    assert "Traceback" not in result.stderr, result.stderr[-3000:]
    for word in words:
        assert word in result.stderr, result.stderr[-3000:]


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@contextlib.contextmanager
def small_filesystem(folder: Path, size: str):
    """A tmpfs of `size` at `folder` (root only); None where it cannot be mounted."""
    folder.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs",
                              str(folder)], capture_output=True).returncode == 0
    try:
        yield folder if mounted else None
    finally:
        if mounted:
            subprocess.run(["umount", "-l", str(folder)], check=False)


def store_with_one_run(workdir: Path, epochs: int = 2) -> str:
    """A real sqlite store holding one finished run of `epochs` logged epochs."""
    workdir.mkdir(exist_ok=True)
    uri = f"sqlite:///{workdir / 'mlflow.db'}"
    logger = RunLogger(uri, "kept", "kept-run", {})
    for epoch in range(1, epochs + 1):
        logger.epoch(epoch, {"train/loss": 1.0 / epoch})
    logger.end("completed")
    return uri


# ---- two processes creating one store -------------------------------------------------------

RACER = """
import pathlib, sys, time
from cvae_study.study.tracking import store
from cvae_study.study.tracking.runs import RunLogger
uri, go, name = sys.argv[1], pathlib.Path(sys.argv[2]), sys.argv[3]
pathlib.Path(f"{go}.{name}").touch()  # imported: ready
while not go.exists():
    time.sleep(0.001)
logger = RunLogger(uri, "race", name, {})
logger.epoch(1, {"train/loss": 1.0})
logger.end("completed")
"""


@pytest.mark.slow
@pytest.mark.parametrize("round_", range(4))
def test_processes_starting_on_a_fresh_store_at_once_all_record(tmp_path, round_):
    """MLflow's schema migration raced here ('duplicate column name', alembic's 'expected to
    match one row'); the store is now created once, under a lock, and the others wait."""
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    go = tmp_path / "go"  # created once every racer has imported MLflow: all start at once
    racers = [subprocess.Popen([sys.executable, "-c", RACER, uri, str(go), f"r{i}"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
              for i in range(3)]
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not all(
            Path(f"{go}.r{i}").exists() or racers[i].poll() is not None for i in range(3)):
        time.sleep(0.05)
    go.touch()
    outcomes = [(racer.wait(timeout=120), racer.stderr.read()) for racer in racers]
    assert all(code == 0 for code, _ in outcomes), [err[-2000:] for _, err in outcomes]
    client = MlflowClient(uri)
    runs = client.search_runs([client.get_experiment_by_name("race").experiment_id])
    assert sorted(run.info.run_name for run in runs) == ["r0", "r1", "r2"]


# ---- a full disk -----------------------------------------------------------------------------


def _fill(folder: Path, leave: int) -> Path:
    filler = folder / "filler"
    stats = os.statvfs(folder)
    filler.write_bytes(b"\0" * max(0, stats.f_bavail * stats.f_frsize - leave))
    return filler


@pytest.mark.slow
def test_a_disk_that_fills_during_train_says_so_and_keeps_the_epochs(tmp_path, lab_dir,
                                                                     tiny_args):
    train = ["train", "text", "--data", "lab", "--data-dir", lab_dir, "--epochs", 400,
             "--quiet", *tiny_args]
    with small_filesystem(tmp_path / "disk", "8m") as disk:
        if disk is not None:
            uri = store_with_one_run(disk / "w")
            filler = _fill(disk, leave=256 * 1024)
            result = cvae(*train, "--workdir", disk / "w")
            filler.unlink()
        else:  # not root: a file-size limit stands in for the full disk
            uri = store_with_one_run(tmp_path / "w")
            limit = (tmp_path / "w" / "mlflow.db").stat().st_size + 256 * 1024

            def limited():
                signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
                resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

            result = cvae(*train, "--workdir", tmp_path / "w", preexec_fn=limited)
        assert_one_clear_line(result, 3, "no space left on device", "mlflow.db")
        client = MlflowClient(uri)
        [run] = client.search_runs([client.get_experiment_by_name("train-text").experiment_id])
        steps = [point.step for point in client.get_metric_history(run.info.run_id,
                                                                    "train/loss")]
        assert steps and steps == list(range(1, len(steps) + 1))  # every epoch it logged
        kept = client.get_metric_history(
            client.search_runs([client.get_experiment_by_name("kept").experiment_id])[0]
            .info.run_id, "train/loss")
        assert [point.step for point in kept] == [1, 2]
        path = uri.removeprefix("sqlite:///")
        with sqlite3.connect(path) as connection:
            assert connection.execute("pragma integrity_check").fetchone()[0] == "ok"


# ---- a damaged store -------------------------------------------------------------------------


@pytest.mark.parametrize("damage", ["truncated", "garbage"])
def test_a_damaged_store_is_named_and_never_written(tmp_path, damage, lab_dir, tiny_args):
    store_with_one_run(tmp_path)
    path = tmp_path / "mlflow.db"
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2] if damage == "truncated" else os.urandom(len(data)))
    before = digest(path)
    commands = [[*CLI, *map(str, [*argv, "--workdir", tmp_path])] for argv in (
        ["report", "kept"], ["export", "kept", "--out", tmp_path / "bundle"],
        ["train", "text", "--data", "lab", "--data-dir", lab_dir, "--epochs", 1, "--quiet",
         *tiny_args])]
    started = [subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True) for command in commands]  # at once: each refuses
    for process in started:
        out, err = process.communicate(timeout=300)
        result = subprocess.CompletedProcess(process.args, process.returncode, out, err)
        assert_one_clear_line(result, 3, f"the MLflow store {path} is damaged",
                              "pragma integrity_check")
    assert digest(path) == before
    assert not (tmp_path / "bundle").exists()


def test_a_store_whose_writer_was_killed_mid_write_opens_with_its_runs(tmp_path):
    uri = store_with_one_run(tmp_path)
    path = tmp_path / "mlflow.db"
    killed_mid_write = (
        "import os, signal, sqlite3, sys\n"
        "connection = sqlite3.connect(sys.argv[1], isolation_level=None)\n"
        "connection.execute('pragma cache_size=1')\n"  # spills pages to the file mid-write
        "connection.execute('begin')\n"
        "connection.execute('create table half(x)')\n"
        "connection.executemany('insert into half values (?)', [('x' * 500,)] * 5000)\n"
        "os.kill(os.getpid(), signal.SIGKILL)\n")
    subprocess.run([sys.executable, "-c", killed_mid_write, str(path)], check=False)
    assert Path(f"{path}-journal").stat().st_size > 0  # a hot journal, as a killed driver leaves
    store.open_store(uri)
    client = MlflowClient(uri)
    [run] = client.search_runs([client.get_experiment_by_name("kept").experiment_id])
    assert run.info.run_name == "kept-run"
    with sqlite3.connect(path) as connection:
        assert connection.execute("pragma integrity_check").fetchone()[0] == "ok"
        tables = {row[0] for row in connection.execute("select name from sqlite_master")}
    assert "half" not in tables and not Path(f"{path}-journal").exists()


def test_debug_shows_the_traceback_too(tmp_path, capsys):
    (tmp_path / "mlflow.db").write_bytes(b"not a database at all" * 100)
    assert cli.main(["--debug", "report", "x", "--workdir", str(tmp_path)]) == 3
    err = capsys.readouterr().err
    assert "Traceback" in err and "is damaged" in err


# ---- a read-only workdir ---------------------------------------------------------------------


def test_a_read_only_workdir_is_named(tmp_path, lab_dir, tiny_args):
    with small_filesystem(tmp_path / "ro", "4m") as disk:
        if disk is None:
            if os.geteuid() == 0:
                pytest.skip("root without mount: no way to make a folder read-only for root")
            disk = tmp_path / "ro"
            disk.chmod(0o555)
        else:
            subprocess.run(["mount", "-o", "remount,ro", str(disk)], check=True)
        for workdir in (disk, disk / "new"):  # an existing folder, and one to create
            result = cvae("train", "text", "--data", "lab", "--data-dir", lab_dir,
                          "--epochs", 1, "--quiet", *tiny_args, "--workdir", workdir)
            assert_one_clear_line(result, 3, "cannot write", str(disk))


# ---- names the filesystem or MLflow would refuse ---------------------------------------------


@pytest.mark.parametrize(("name", "message"), [
    ("a" * 300, "is 300 characters long; the limit is 100"),
    ("bell\x07name", "control characters"),
    ("two words", "no path separators, spaces"),
    ("Default", "reserved by MLflow"),
])
def test_study_names_are_checked_before_anything_is_created(tmp_path, capsys, name, message):
    code = cli.main(["sweep", "text", "--name", name, "--workdir", str(tmp_path)])
    assert code == 2 and message in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == []  # no store, no Ray results


def test_an_over_long_output_folder_is_refused(tmp_path, capsys):
    out = tmp_path / ("x" * 300)
    assert cli.main(["report", "any", "--out", str(out), "--workdir", str(tmp_path)]) == 2
    assert "the limit is 255" in capsys.readouterr().err


def test_a_bad_model_name_is_refused_before_export_writes(tmp_path, capsys):
    out = tmp_path / "bundle"
    code = cli.main(["export", "any", "--out", str(out), "--register", "a/b",
                     "--workdir", str(tmp_path)])
    assert code == 2 and "--register 'a/b'" in capsys.readouterr().err
    assert not out.exists() and not (tmp_path / "mlflow.db").exists()


# ---- two drivers of one study ----------------------------------------------------------------


@pytest.mark.slow
def test_two_drivers_starting_one_study_name_at_once_make_one_study(tmp_path, lab_dir,
                                                                    tiny_args):
    sweep = ["sweep", "text", "--name", "same", "--workdir", tmp_path / "w",
             "--num-samples", 1, "--epochs", 1, "--no-early-stopping", "--data", "lab",
             "--data-dir", lab_dir, *tiny_args]
    drivers = [subprocess.Popen([*CLI, *map(str, sweep)], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True) for _ in range(2)]
    results = sorted((driver.wait(timeout=300), driver.stderr.read()) for driver in drivers)
    (won, _), (lost, message) = results
    assert (won, lost) == (0, 2), results
    assert "already" in message and "Traceback" not in message
    client = MlflowClient(f"sqlite:///{tmp_path / 'w' / 'mlflow.db'}")
    experiment = client.get_experiment_by_name("same")
    assert len(client.search_runs([experiment.experiment_id], "tags.`study.role` = 'parent'")) == 1


# ---- the boundary's reading of wrapped errors ------------------------------------------------


def test_explain_reads_errors_wrapped_in_other_libraries_and_leaves_bugs_alone():
    from cvae_study.study.failures import explain

    def wrapped(inner: BaseException) -> Exception:
        try:
            try:
                raise inner
            except BaseException as error:
                raise RuntimeError("a library's own wrapper") from error
        except RuntimeError as outer:
            return outer

    full = wrapped(OSError(28, "No space left on device", "/data/ray_results/x"))
    assert "no space left on device writing /data/ray_results/x" in str(explain(full))
    arrow = OSError("[Errno 30] Read-only file system (pyarrow's words)")
    assert "cannot write the workdir" in str(explain(arrow))
    long = wrapped(OSError(36, "File name too long", "/s/" + "a" * 300))
    assert "too long" in str(explain(long, "/w/mlflow.db"))
    assert explain(wrapped(KeyError("a bug"))) is None
    assert explain(ValueError("something else")) is None
