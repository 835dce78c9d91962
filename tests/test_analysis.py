"""The analysis package on a real MLflow store written the way a sweep writes it, with
known values, so every table can be checked number by number."""

import pandas as pd
import pytest
from mlflow import MlflowClient

from cvae_study.analysis.figure_data.detail import psnr_info
from cvae_study.analysis.figures.detail import psnr_per_frame
from cvae_study.analysis.figures.registry import FIGURES
from cvae_study.analysis.importance import param_importances, rebuild_optuna_study
from cvae_study.analysis.observational import common_rung, factor_levels, sampled_levels_table
from cvae_study.analysis.report import write_report
from cvae_study.analysis.runs import read_study
from cvae_study.study import cli, spaces
from cvae_study.study import names as m
from cvae_study.study.errors import StudyNotFound
from cvae_study.study.statistics import mean_interval
from cvae_study.study.tracking.records import StudyRecords

# trial id -> (searched values, val/score per epoch, outcome)
TRIALS = {
    "t_mono_a": ({"kl.schedule": "monotonic", "optim.lr": 0.001, "model.cell": "gru"},
                 [0.2, 0.3, 0.4], "completed"),
    "t_mono_b": ({"kl.schedule": "monotonic", "optim.lr": 0.002, "model.cell": "lstm"},
                 [0.3, 0.5, 0.6], "completed"),
    "t_cyc_a": ({"kl.schedule": "cyclical", "kl.cycles": 2, "kl.ratio": 0.5, "optim.lr": 0.004,
                 "model.cell": "gru"}, [0.1, 0.6, 0.7], "completed"),
    "t_cyc_b": ({"kl.schedule": "cyclical", "kl.cycles": 3, "kl.ratio": 0.8, "optim.lr": 0.008,
                 "model.cell": "lstm"}, [0.1, 0.5, 0.9], "completed"),
    "t_none": ({"kl.schedule": "none", "optim.lr": 0.003, "model.cell": "gru"},
               [0.05, 0.1, 0.2], "completed"),
    "t_stopped": ({"kl.schedule": "none", "optim.lr": 0.0005, "model.cell": "gru"},
                  [0.01], "stopped_early"),
    "t_diverged": ({"kl.schedule": "none", "optim.lr": 0.009, "model.cell": "lstm"},
                   [0.02], "diverged"),
    "t_running": ({"kl.schedule": "monotonic", "optim.lr": 0.005, "model.cell": "gru"},
                  [0.3], None),
}
SPACE_FILE = "space:\n  model.latent_size: 32\n  model.hidden_size: 256\n  tf.start: 1.0\n" \
             "  tf.decay_step: 0.0\n  tf.floor: 0.0\n  kl.max_weight: 1.0\n"


def epoch_result(epoch: int, logged) -> dict[str, float]:
    """An epoch's metrics from `logged`: a val/score, which the others follow, or a dict of
    metric values over those of its val/score (0 if it has none)."""
    values = logged if isinstance(logged, dict) else {m.VAL_SCORE: logged}
    score = values.get(m.VAL_SCORE, 0.0)
    return {m.VAL_SCORE: score, m.TRAIN_LOSS: 10.0 / epoch, m.TRAIN_KL: 2.0,
            m.TRAIN_RECON: 8.0 / epoch, m.TRAIN_KL_WEIGHT: 0.5, m.TRAIN_TF_RATIO: 1.0,
            m.VAL_BLEU4: score, m.VAL_BLEU4_SEEN: score + 0.1, m.VAL_GAUSSIAN: 1 - score,
            m.VAL_ACTIVE_UNITS: 4.0, **values}


def write_study(tmp_path, name="known", trials=TRIALS, metric=m.VAL_SCORE, search="tpe",
                num_samples=10):
    """Parent and trial runs through StudyRecords, as the sweep's MLflow callback logs them.
    trials: id -> (searched values, per epoch a val/score or a dict of metrics, outcome)."""
    study_file = tmp_path / "study.yaml"
    study_file.write_text(SPACE_FILE)
    space = spaces.build_space("text", str(study_file))
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    records = StudyRecords(uri, name)
    parent = records.open_parent(
        {"study.task": "text", "study.metric": metric, "study.search": search,
         "study.num_samples": num_samples, "study.seed": 0, "train.seed": 0},
        {"study.command": "cvae-study sweep text", "study.git_commit": "abc123",
         "study.versions": '{"torch": "2.13.0"}'},
        {"study/space.json": spaces.describe(space)})
    for trial_id, (searched, epochs, outcome) in trials.items():
        records.trial_started(parent, trial_id, trial_id, space.trial_config(searched), {})
        for epoch, logged in enumerate(epochs, start=1):
            result = epoch_result(epoch, logged)
            samples = {"conversions": [{"source": "walk", "predicted": "walked"}],
                       "generated": [{"words": ["go", "goes", "going", "went"],
                                      "in_training_table": True}]}
            records.trial_result(trial_id, epoch, result, {}, samples)
        if outcome:
            records.trial_ended(trial_id, outcome, {})
    return uri


@pytest.fixture(scope="module")
def study_uri(tmp_path_factory):
    return write_study(tmp_path_factory.mktemp("store"))


def test_trials_table_holds_the_known_values(study_uri):
    study = read_study(study_uri, "known")
    trials = study.trials.set_index("trial_id")
    assert len(trials) == len(TRIALS)  # errored, diverged and running trials included
    assert trials.loc["t_running", "outcome"] == "running"
    assert trials.loc["t_diverged", "outcome"] == "diverged"
    assert trials.loc["t_cyc_b", "final"] == 0.9 and trials.loc["t_cyc_b", "best"] == 0.9
    assert trials.loc["t_mono_b", "epochs"] == 3 and trials.loc["t_stopped", "epochs"] == 1
    assert trials.loc["t_cyc_a", "kl.cycles"] == 2 and trials.loc["t_cyc_a", "optim.lr"] == 0.004
    assert trials["duration_s"].notna().sum() == len(TRIALS) - 1  # the running one has no end
    assert study.metric == m.VAL_SCORE and study.mode == "max"
    assert set(study.searched) == {"kl.schedule", "kl.cycles", "kl.ratio", "optim.lr",
                                   "model.cell"}


def test_history_has_every_epoch_of_every_metric(study_uri):
    history = read_study(study_uri, "known").history
    scores = history[(history["trial_id"] == "t_mono_b") & (history["metric"] == m.VAL_SCORE)]
    assert scores.sort_values("epoch")["value"].tolist() == [0.3, 0.5, 0.6]
    assert len(history) == sum(len(scores) for _, scores, _ in TRIALS.values()) * 10


def test_sampled_levels_compare_every_finished_trial_at_the_common_rung(study_uri):
    study = read_study(study_uri, "known")
    assert common_rung(study) == 1  # t_stopped was stopped after epoch 1
    table = sampled_levels_table(study).set_index(["knob", "level"])
    monotonic = table.loc[("kl.schedule", "monotonic")]  # epoch 1: 0.2 and 0.3
    assert monotonic["n"] == 2 and monotonic["mean"] == pytest.approx(0.25)
    # t(0.975, 1) = 12.706; sd of (0.2, 0.3) = 0.0707: half-width 12.706 * 0.0707 / sqrt 2
    assert monotonic["ci95_high"] - 0.25 == pytest.approx(0.6353, abs=1e-3)
    assert monotonic["note"] == "too few to read"
    none = table.loc[("kl.schedule", "none")]  # t_none and t_stopped; diverged does not count
    assert none["n"] == 2 and none["mean"] == pytest.approx(0.03)
    gru = table.loc[("model.cell", "gru")]  # 0.2, 0.1, 0.05, 0.01
    assert gru["n"] == 4 and gru["mean"] == pytest.approx(0.09) and gru["note"] == ""
    assert table.loc[("kl.cycles", "2"), "mean"] == pytest.approx(0.1)  # cyclical trials only
    assert set(table.index.get_level_values("knob")) == {
        "kl.schedule", "kl.cycles", "kl.ratio", "optim.lr", "model.cell"}
    single = mean_interval([1.0])
    assert single.mean == 1.0 and single.low != single.low and single.high != single.high


def test_optuna_study_is_rebuilt_with_each_outcome_as_the_search_told_it(study_uri):
    study = read_study(study_uri, "known")
    states = [trial.state.name for trial in rebuild_optuna_study(study).get_trials()]
    assert sorted(states) == ["COMPLETE"] * 6 + ["PRUNED"]
    importances = param_importances(study)
    assert set(importances.columns) == {"fANOVA", "PED-ANOVA"}
    assert {"kl.schedule", "optim.lr", "model.cell"} <= set(importances.index)


def test_every_figure_is_drawn_for_a_text_study(study_uri):
    study = read_study(study_uri, "known")
    for name, spec in FIGURES.items():
        figure = spec.of(study)
        assert (figure is None) == (name == "psnr_per_frame"), name


def test_report_writes_html_markdown_and_figures_and_logs_them(study_uri, tmp_path):
    paths = write_report(study_uri, "known", tmp_path / "report")
    markdown = paths["markdown"].read_text()
    for knob in ("kl.schedule", "kl.cycles", "kl.ratio", "optim.lr", "model.cell"):
        assert f"| {knob} |" in markdown
    assert "| optim.lr | 0.0003 - 0.01, log |" in markdown  # as a person writes a range
    assert "| kl.cycles | 1 - 8 (cyclical trials only) |" in markdown
    assert "| model.cell | gru, lstm |" in markdown
    assert "t_cyc_b" in markdown and "go / goes / going / went" in markdown
    assert "abc123" in markdown and "1 running" in markdown
    figures = list((tmp_path / "report" / "figures").glob("*.png"))
    assert len(figures) == len(FIGURES) - 1 and all(f.stat().st_size > 5000 for f in figures)
    page = paths["html"].read_text()
    assert page.count("data:image/png;base64,") == len(figures) and "<table" in page
    client = MlflowClient(study_uri)
    parent = read_study(study_uri, "known").parent.info.run_id
    logged = {a.path for a in client.list_artifacts(parent, "report")}
    assert {"report/index.html", "report/report.md", "report/figures"} <= logged


def test_a_study_without_finished_trials_gets_a_report_saying_so(tmp_path):
    uri = write_study(tmp_path, "fresh", {"t_running": TRIALS["t_running"]})
    paths = write_report(uri, "fresh", tmp_path / "report", log_to_mlflow=False)
    assert "No trial has finished yet" in paths["markdown"].read_text()


def test_unknown_study_lists_the_studies_there_are(study_uri):
    with pytest.raises(StudyNotFound, match="studies there: known"):
        read_study(study_uri, "nope")


def test_report_command_errors_exit_2(tmp_path, capsys, study_uri):
    workdir = study_uri.removeprefix("sqlite:///").removesuffix("/mlflow.db")
    assert cli.main(["report", "nope", "--workdir", workdir]) == 2
    assert "studies there: known" in capsys.readouterr().err
    assert cli.main(["report", "known", "--tracking-uri", "http://127.0.0.1:9",
                     "--workdir", str(tmp_path)]) == 2
    assert "cannot be reached" in capsys.readouterr().err


@pytest.mark.slow
def test_report_page_renders_in_headless_chromium(study_uri, tmp_path):
    import matplotlib.image
    from browser import chromium, render

    chromium()  # skipped here, before the report is written, where there is none
    paths = write_report(study_uri, "known", tmp_path / "report", log_to_mlflow=False)
    shot = tmp_path / "report.png"
    text = render(paths["html"].as_uri(), shot, size=(1200, 3000))
    for heading in ("Study known", "Summary", "Best trials", "Samples of the best trial",
                    "Figures"):
        assert heading in text
    assert "Trial t_cyc_b, epoch 3." in text  # the best trial (0.9), its samples
    pixels = matplotlib.image.imread(shot)
    assert pixels.shape[:2] == (3000, 1200)
    # Text, tables and figures drawn: far from a blank page (std of a white page is 0).
    assert pixels[..., :3].std() > 0.1
    assert (pixels[..., :3].mean(axis=2) < 0.5).mean() > 0.01  # dark pixels: text and lines


def test_psnr_per_frame_is_drawn_when_a_study_has_frame_metrics(study_uri):
    study = read_study(study_uri, "known")
    frames = pd.DataFrame([{"trial_id": trial_id, "epoch": 1, "metric": m.val_psnr_at(k),
                            "value": 30.0 - k} for trial_id in TRIALS for k in range(1, 4)])
    study.history = pd.concat([study.history, frames], ignore_index=True)
    figure = psnr_per_frame(psnr_info(study))
    (axis,) = [a for a in figure.axes if a.get_visible()]
    plotted = [y for line in axis.get_lines() for y in line.get_ydata()]
    assert {29.0, 28.0, 27.0} <= set(plotted)


def test_tertile_labels_are_rounded_as_a_person_reads_them():
    trials = pd.DataFrame({"optim.lr": [0.00771, 0.00771 + 1e-18, 0.0099, 0.021, 0.03, 0.05]})
    # the tertiles' edges as drawn (min, 1/3 and 2/3 quantiles, max), 3 significant digits:
    # not 0.009170000000000001, nor pandas' lowest edge moved down to 0.00671
    assert set(factor_levels(trials, "optim.lr")) == {
        "[0.00771, 0.00917]", "(0.00917, 0.024]", "(0.024, 0.05]"}
