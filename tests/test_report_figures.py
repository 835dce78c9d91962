"""The report's figures of how the search went (the optimisation history, the parallel
coordinates of the searched knobs, the workers' timeline), drawn from the hand-made MLflow
study of test_analysis and checked against its records, not against drawn numbers."""

import base64
import dataclasses
import math
import re

import numpy as np
import pandas as pd
import pytest
from mlflow import MlflowClient
from test_analysis import TRIALS, study_uri, write_study  # noqa: F401 (a fixture: by name)

from cvae_study.analysis.figure_data.lanes import packed_lanes
from cvae_study.analysis.figure_data.search import history_info, parallel_info, timeline_info
from cvae_study.analysis.figures.registry import SEARCH_FIGURES
from cvae_study.analysis.figures.search import (
    PACKED_NOTE,
    optimisation_history,
    parallel_coordinates,
    worker_timeline,
)
from cvae_study.analysis.report import write_report
from cvae_study.analysis.runs import read_study
from cvae_study.study import names as m

# A trial that errored before its first report: its run has neither a worker nor a host.
ERRORED = ({"kl.schedule": "none", "optim.lr": 0.001, "model.cell": "gru"}, [], "errored")
# trial id -> (host, Ray actor), as the trial's results tag its run; with reuse_actors one
# actor runs several trials (the fixture's trials run one after another).
WORKERS = {"t_mono_a": ("gpu-a", "9f3c01"), "t_mono_b": ("gpu-a", "9f3c01"),
           "t_cyc_a": ("gpu-a", "9f3c02"), "t_cyc_b": ("gpu-b", "4e1d01"),
           "t_none": ("gpu-b", "4e1d01"), "t_stopped": ("gpu-b", "4e1d02"),
           "t_diverged": ("gpu-a", "9f3c02"), "t_running": ("gpu-b", "4e1d02")}


@pytest.fixture(scope="module")
def untagged_uri(request):
    """test_analysis' known study, whose runs do not record their worker or host: as
    studies written before the tags."""
    return request.getfixturevalue("study_uri")


@pytest.fixture(scope="module")
def worker_uri(tmp_path_factory):
    """The known study with each run tagged with its worker and host (t_errored without)."""
    uri = write_study(tmp_path_factory.mktemp("workers"), trials={**TRIALS,
                                                                  "t_errored": ERRORED})
    client = MlflowClient(uri)
    for row in read_study(uri, "known").trials.itertuples():
        if row.trial_id in WORKERS:
            host, worker = WORKERS[row.trial_id]
            client.set_tag(row.run_id, m.HOST_NAME, host)
            client.set_tag(row.run_id, m.WORKER, worker)
    return uri


def runs_info(uri: str) -> dict[str, object]:
    """trial id -> its MLflow run's info, read from the store directly."""
    study = read_study(uri, "known")
    client = MlflowClient(uri)
    return {row.trial_id: client.get_run(row.run_id).info for row in study.trials.itertuples()}


def test_trials_table_holds_each_runs_times_worker_and_host(worker_uri):
    trials = read_study(worker_uri, "known").trials.set_index("trial_id")
    for trial_id, info in runs_info(worker_uri).items():
        row = trials.loc[trial_id]
        assert row["start_time"] == pd.to_datetime(info.start_time, unit="ms")
        if info.end_time:
            assert row["end_time"] == pd.to_datetime(info.end_time, unit="ms")
        else:
            assert pd.isna(row["end_time"]) and trial_id == "t_running"
        if trial_id in WORKERS:
            assert (row["host"], row["worker_id"]) == WORKERS[trial_id]
        else:
            assert pd.isna(row["host"]) and pd.isna(row["worker_id"])


def expected_best_so_far(trials: pd.DataFrame, better) -> list[float]:
    """Per trial in the order started: the best final value of the completed ones so far."""
    best, out = None, []
    for row in trials.sort_values("start_time").itertuples():
        if row.outcome == m.COMPLETED:
            best = row.final if best is None else better(best, row.final)
        out.append(math.nan if best is None else best)
    return out


@pytest.mark.parametrize(("mode", "better"), [("max", max), ("min", min)])
def test_history_best_so_far_is_the_running_best_of_completed_trials(untagged_uri, mode, better):
    study = dataclasses.replace(read_study(untagged_uri, "known"), mode=mode)
    info = history_info(study)
    np.testing.assert_allclose(info.best_so_far, expected_best_so_far(study.trials, better))
    axis = optimisation_history(info).axes[0]
    (line,) = [line for line in axis.get_lines()
               if line.get_label().startswith("best so far")]
    assert line.get_xdata().tolist() == list(range(1, len(study.trials) + 1))
    expected = expected_best_so_far(study.trials, better)
    np.testing.assert_allclose(line.get_ydata(), expected)  # NaN before the first completed
    assert line.get_drawstyle() == "steps-post"


def test_history_marks_each_outcome_apart_stopped_trials_hollow_at_their_last_value(untagged_uri):
    study = read_study(untagged_uri, "known")
    axis = optimisation_history(history_info(study)).axes[0]
    points = {collection.get_label().split(" ")[0].rstrip(","): collection
              for collection in axis.collections}
    assert set(points) == set(study.trials["outcome"])
    stopped = points[m.STOPPED_EARLY]
    history = study.history[(study.history["trial_id"] == "t_stopped")
                            & (study.history["metric"] == study.metric)]
    last = history.sort_values("epoch")["value"].iloc[-1]
    assert stopped.get_offsets()[0][1] == pytest.approx(last)
    assert stopped.get_facecolor().size == 0 or stopped.get_facecolor()[0][3] == 0  # hollow
    assert points[m.COMPLETED].get_facecolor()[0][3] > 0
    assert "no score" in points[m.DIVERGED].get_label()


def test_parallel_coordinates_have_one_line_per_trial_and_an_axis_per_knob(untagged_uri):
    study = read_study(untagged_uri, "known")
    axis = parallel_coordinates(parallel_info(study)).axes[0]
    lines = {line.get_gid(): line for line in axis.get_lines() if line.get_gid()}
    assert sorted(lines) == sorted(study.trials["trial_id"])
    assert len(axis.get_lines()) == len(lines) + len(study.searched)  # + one axis per knob
    assert [label.get_text() for label in axis.get_xticklabels()] == study.searched
    assert all(len(line.get_ydata()) == len(study.searched) for line in lines.values())
    heights = pd.DataFrame({trial_id: line.get_ydata() for trial_id, line in lines.items()},
                           index=study.searched).T
    trials = study.trials.set_index("trial_id").loc[heights.index]
    lr = study.space["searched"]["optim.lr"]  # log-sampled: its axis is log-scaled
    log_height = ((np.log10(trials["optim.lr"]) - math.log10(lr["low"]))
                  / (math.log10(lr["high"]) - math.log10(lr["low"])))
    np.testing.assert_allclose(heights["optim.lr"], log_height)
    # a categorical knob at its levels: one height per level, in the order of the choices
    levels = heights.groupby(trials["kl.schedule"])["kl.schedule"].agg(["min", "max"])
    assert (levels["min"] == levels["max"]).all()
    choices = study.space["searched"]["kl.schedule"]["choices"]
    assert levels.loc[choices, "min"].is_monotonic_increasing and levels["min"].is_unique
    # a cycle knob is not drawn by trials of other schedules: below the drawn range
    not_cyclical = trials["kl.schedule"] != "cyclical"
    assert (heights.loc[not_cyclical, "kl.cycles"] < 0).all()
    assert heights.loc[~not_cyclical, "kl.cycles"].between(0, 1).all()


def bars_of(figure) -> dict[str, object]:
    """trial id -> its bar in the timeline."""
    return {bar.get_gid(): bar for bar in figure.axes[0].patches if bar.get_gid()}


def lane_of(bar) -> int:
    return round(bar.get_y() + bar.get_height() / 2)  # lanes are at whole heights


def minutes(milliseconds: float) -> float:
    return milliseconds / 60_000


def test_timeline_has_a_bar_per_trial_in_its_workers_lane_from_start_to_end(worker_uri):
    study = read_study(worker_uri, "known")
    figure = worker_timeline(timeline_info(study))
    bars = bars_of(figure)
    assert sorted(bars) == sorted(study.trials["trial_id"])
    workers = pd.Series({trial_id: "/".join(where) for trial_id, where in WORKERS.items()})
    lanes = pd.Series({trial_id: lane_of(bar) for trial_id, bar in bars.items()})
    per_worker = lanes[workers.index].groupby(workers)
    assert (per_worker.nunique() == 1).all()  # two trials of one actor: one lane
    assert per_worker.first().is_unique  # and one lane per actor
    assert lanes["t_errored"] not in set(lanes.drop("t_errored"))  # no worker: packed apart
    axis = figure.axes[0]
    labels = {round(tick): label.get_text()
              for tick, label in zip(axis.get_yticks(), axis.get_yticklabels(), strict=True)}
    assert {labels[lanes[trial_id]] for trial_id in WORKERS} == {
        f"worker {k}" for k in range(1, len(set(WORKERS.values())) + 1)}
    assert labels[lanes["t_errored"]] == "lane 1"
    for host in ("gpu-a", "gpu-b"):  # a host's lanes side by side
        rows = sorted({lanes[t] for t, (h, _) in WORKERS.items() if h == host})
        assert rows == list(np.arange(rows[0], rows[-1] + 1))
    hosts = [label.get_text() for label in axis.child_axes[0].get_yticklabels()]
    assert sorted(hosts) == ["gpu-a", "gpu-b", "host not recorded"]
    info = runs_info(worker_uri)
    origin = min(run.start_time for run in info.values())
    for trial_id, run in info.items():
        bar = bars[trial_id]
        assert bar.get_x() == pytest.approx(minutes(run.start_time - origin))
        if run.end_time:
            assert bar.get_x() + bar.get_width() == pytest.approx(minutes(run.end_time - origin))
    last_end = max(run.end_time or 0 for run in info.values())
    assert bars["t_running"].get_x() + bars["t_running"].get_width() > minutes(last_end - origin)


def overlapping(a, b) -> bool:
    return a.start_time < b.end_time and b.start_time < a.end_time


@pytest.mark.parametrize("seed", range(5))
def test_packing_never_puts_overlapping_trials_in_one_lane(seed):
    rng = np.random.default_rng(seed)
    starts = rng.integers(0, 60, 40)  # whole minutes: some trials start as others end
    spans = pd.DataFrame({"start_time": pd.to_datetime(starts, unit="m"),
                          "end_time": pd.to_datetime(starts + rng.integers(1, 15, 40),
                                                     unit="m")})
    lanes = packed_lanes(spans)
    for _, lane in spans.groupby(lanes):
        rows = list(lane.itertuples())
        assert not any(overlapping(a, b) for i, a in enumerate(rows) for b in rows[i + 1:])
    at_once = max(((spans["start_time"] <= row.start_time) & (spans["end_time"] > row.start_time)
                   ).sum() for row in spans.itertuples())
    assert lanes.nunique() == at_once  # as few lanes as the most trials running at once


def test_timeline_of_runs_without_worker_tags_packs_them_and_the_caption_says_so(untagged_uri,
                                                                                 tmp_path):
    study = read_study(untagged_uri, "known")
    assert study.trials["worker_id"].isna().all()  # written before the tag
    figure = worker_timeline(timeline_info(study))
    bars = list(bars_of(figure).values())
    assert len(bars) == len(study.trials)
    for i, a in enumerate(bars):
        for b in bars[i + 1:]:
            if lane_of(a) == lane_of(b):
                assert a.get_x() + a.get_width() <= b.get_x() or \
                    b.get_x() + b.get_width() <= a.get_x()
    assert all(label.get_text().startswith("lane ")
               for label in figure.axes[0].get_yticklabels())
    page = write_report(untagged_uri, "known", tmp_path / "report", log_to_mlflow=False)["html"]
    assert PACKED_NOTE.strip() in page.read_text()


def test_report_shows_the_three_figures_between_the_overview_and_the_knobs(worker_uri,
                                                                           tmp_path):
    paths = write_report(worker_uri, "known", tmp_path / "report", log_to_mlflow=False)
    page, markdown = paths["html"].read_text(), paths["markdown"].read_text()
    figures = tmp_path / "report" / "figures"
    for name in SEARCH_FIGURES:
        png = figures / f"{name}.png"
        assert png.stat().st_size > 5000 and f"figures/{name}.png" in markdown
        assert base64.b64encode(png.read_bytes()).decode() in page  # embedded
    captions = re.findall(r"<figcaption>(.*?)</figcaption>", page)
    assert any("one line per trial" in caption for caption in captions)
    assert any("one lane per worker" in caption for caption in captions)
    assert all(caption.endswith(".") for caption in captions)  # none cut mid-sentence
    order = [markdown.index(text) for text in (
        "## Summary", "## How the search went", "figures/optimisation_history.png",
        "figures/parallel_coordinates.png", "figures/worker_timeline.png",
        "## What the search sampled (observational)")]
    assert order == sorted(order)
