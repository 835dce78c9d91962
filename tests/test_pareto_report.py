"""Studies of a trade-off: a hand-made study of two objectives (val/bleu4 and val/gaussian,
both maximised) in a real MLflow store, with random-search studies beside it, checked
against fronts, hypervolumes and rank correlations computed by hand."""


import numpy as np
import pandas as pd
import pytest
from mlflow import MlflowClient
from test_analysis import TRIALS, write_study

from cvae_study.analysis.baseline import load_baseline
from cvae_study.analysis.figure_data.tradeoff import front_info, hypervolume_info
from cvae_study.analysis.figures.tradeoff import FADED, front_figure, hypervolume_figure
from cvae_study.analysis.report import write_report
from cvae_study.analysis.runs import read_study
from cvae_study.analysis.tradeoff import (
    front_table,
    hypervolume_curve,
    key_knobs,
    knob_correlations,
    pareto_front,
    tradeoff,
)
from cvae_study.study import cli
from cvae_study.study import names as m
from cvae_study.study.tracking.store import study_parent

BLEU, GAUSSIAN = m.VAL_BLEU4, m.VAL_GAUSSIAN
TRADE_OFF = f"{BLEU},{GAUSSIAN}"


def epochs(bleu: float, gaussian: float, count: int = 3) -> list[dict[str, float]]:
    """`count` epochs ending at (bleu, gaussian), the ones before at half of it."""
    return [{BLEU: bleu / 2, GAUSSIAN: gaussian / 2}] * (count - 1) + [
        {BLEU: bleu, GAUSSIAN: gaussian}]


# In the order they start. Final values: the front (completed, none beats another on both)
# is 00000, 00001 and 00003; 00002 and 00007 make the next front, 00005 the one after.
# 00004 stopped early at values above all (not ranked: not final); 00006 diverged.
MO_TRIALS = {
    "mo_00000": ({"kl.schedule": "monotonic", "optim.lr": 0.001, "model.cell": "gru"},
                 epochs(0.2, 0.8), m.COMPLETED),
    "mo_00001": ({"kl.schedule": "cyclical", "kl.cycles": 2, "kl.ratio": 0.5, "optim.lr": 0.003,
                  "model.cell": "gru"}, epochs(0.5, 0.5), m.COMPLETED),
    "mo_00002": ({"kl.schedule": "cyclical", "kl.cycles": 3, "kl.ratio": 0.8, "optim.lr": 0.002,
                  "model.cell": "lstm"}, epochs(0.4, 0.4), m.COMPLETED),
    "mo_00003": ({"kl.schedule": "none", "optim.lr": 0.009, "model.cell": "gru"},
                 epochs(0.8, 0.2), m.COMPLETED),
    "mo_00004": ({"kl.schedule": "none", "optim.lr": 0.0004, "model.cell": "lstm"},
                 epochs(0.9, 0.9, 1), m.STOPPED_EARLY),
    "mo_00005": ({"kl.schedule": "monotonic", "optim.lr": 0.0006, "model.cell": "lstm"},
                 epochs(0.3, 0.3), m.COMPLETED),
    "mo_00006": ({"kl.schedule": "none", "optim.lr": 0.008, "model.cell": "lstm"},
                 epochs(0.05, 0.05, 1), m.DIVERGED),
    "mo_00007": ({"kl.schedule": "monotonic", "optim.lr": 0.0005, "model.cell": "gru"},
                 epochs(0.1, 0.6), m.COMPLETED),
}
FRONT = ["mo_00000", "mo_00001", "mo_00003"]
DOMINATED = ["mo_00002", "mo_00005", "mo_00007"]
FINAL = {trial_id: tuple(logged[-1].values()) for trial_id, (_, logged, _) in MO_TRIALS.items()}
# Against (0, 0), the completed trials so far: 0.2 x 0.8; + (0.5 - 0.2) x 0.5 for 00001;
# 00002 inside; + (0.8 - 0.5) x 0.2 for 00003; the rest inside or not completed.
HYPERVOLUME = [0.16, 0.31, 0.31, 0.37, 0.37, 0.37, 0.37, 0.37]
PLAIN = {"kl.schedule": "none", "optim.lr": 0.001, "model.cell": "gru"}
RANDOM_TRIALS = {"rnd_00000": (PLAIN, epochs(0.3, 0.3), m.COMPLETED),
                 "rnd_00001": (PLAIN, epochs(0.6, 0.1), m.COMPLETED),
                 "rnd_00002": (PLAIN, epochs(0.1, 0.1, 1), m.STOPPED_EARLY)}
RANDOM_HYPERVOLUME = [0.09, 0.09 + 0.3 * 0.1, 0.12]


def record_front(uri: str, name: str, trial_ids: list[str]) -> None:
    """What the sweep writes to a study's parent run when it ends (tune.results)."""
    client = MlflowClient(uri)
    parent = study_parent(client, name).info.run_id
    client.log_dict(parent, {"objectives": [BLEU, GAUSSIAN], "modes": ["max", "max"],
                             "trials": [{"trial_id": trial_id,
                                         "values": dict(zip((BLEU, GAUSSIAN), FINAL[trial_id],
                                                            strict=True))}
                                        for trial_id in trial_ids]}, m.PARETO_ARTIFACT)
    client.set_tag(parent, m.PARETO_TAG, ",".join(trial_ids))


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    return write_trade_off_store(tmp_path_factory.mktemp("pareto"))


def write_trade_off_store(folder) -> str:
    """One store: the study of two objectives (mo) with its recorded front; its random
    baseline (mo-random); a random study of a smaller budget (mo-small); test_analysis'
    single-objective study (known)."""
    uri = write_study(folder, "mo", MO_TRIALS, metric=TRADE_OFF, search="nsga2")
    record_front(uri, "mo", FRONT)
    write_study(folder, "mo-random", RANDOM_TRIALS, metric=TRADE_OFF, search="random")
    write_study(folder, "mo-small", RANDOM_TRIALS, metric=TRADE_OFF, search="random",
                num_samples=5)
    write_study(folder, "known", TRIALS)
    return uri


@pytest.fixture(scope="module")
def study(store):
    return read_study(store, "mo")


def workdir(uri: str) -> str:
    return uri.removeprefix("sqlite:///").removesuffix("/mlflow.db")


def run_cli(args, capsys):
    code = cli.main(args)
    out, err = capsys.readouterr()
    return code, out, err


def test_a_study_of_two_objectives_loads_with_each_objectives_final_value(study):
    assert study.objectives == (BLEU, GAUSSIAN) and study.modes == ("max", "max")
    assert study.metric == BLEU and study.mode == "max"  # the first, for one-objective code
    trials = study.trials.set_index("trial_id")
    for trial_id, (bleu, gaussian) in FINAL.items():
        assert (trials.loc[trial_id, BLEU], trials.loc[trial_id, GAUSSIAN]) == (bleu, gaussian)
        assert trials.loc[trial_id, "final"] == bleu
    by_gaussian = study.for_objective(GAUSSIAN).trials.set_index("trial_id")
    assert by_gaussian.loc["mo_00000", "final"] == 0.8
    assert by_gaussian.loc["mo_00000", "best"] == 0.8  # the best of 0.4, 0.4, 0.8
    assert [view.metric for view in study.each_objective()] == [BLEU, GAUSSIAN]


def collections_by_gid(axis) -> dict:
    return {collection.get_gid(): collection for collection in axis.collections}


def test_front_figure_draws_the_hand_computed_front_as_a_step_line(study):
    axis = front_figure(front_info(tradeoff(study, study.objectives))).axes[0]
    points = collections_by_gid(axis)
    front = {tuple(point) for point in points["front"].get_offsets().tolist()}
    assert front == {FINAL[trial_id] for trial_id in FRONT}
    dominated = {tuple(point) for point in points["dominated"].get_offsets().tolist()}
    assert dominated == {FINAL[trial_id] for trial_id in DOMINATED}
    assert points["stopped"].get_offsets().tolist() == [list(FINAL["mo_00004"])]
    assert points["dominated"].get_alpha() == FADED == points["stopped"].get_alpha()
    assert points["front"].get_alpha() in (None, 1.0)  # not faded
    assert points["stopped"].get_facecolor().size == 0 or \
        points["stopped"].get_facecolor()[0][3] == 0  # hollow
    (line,) = [line for line in axis.get_lines() if line.get_gid() == "front line"]
    # by BLEU-4: the corner between two trials is at the left one's BLEU-4 and the right
    # one's Gaussian score, the worse of each
    assert line.get_xdata().tolist() == [0.2, 0.5, 0.8]
    assert line.get_ydata().tolist() == [0.8, 0.5, 0.2]
    assert line.get_drawstyle() == "steps-pre"
    labels = {text.get_gid(): text.get_text() for text in axis.texts}
    assert sorted(labels) == FRONT  # front trials labelled, no other
    assert labels["mo_00001"] == "00001\nkl.schedule=cyclical, optim.lr=0.003"
    assert "labelled by id after mo_" in axis.get_title()


def test_pareto_front_keeps_only_undominated_points():
    points = pd.DataFrame({"x": [0.1, 0.5, 0.4, 0.9], "y": [0.9, 0.5, 0.4, 0.1]})
    assert pareto_front(points, "x", "y").index.tolist() == [0, 1, 3]


def test_the_key_knobs_are_those_that_vary_most_along_the_front(study):
    # along the front: kl.schedule takes all 3 levels (1); optim.lr 0.001 to 0.009 of its
    # log range 0.0003 to 0.01 (0.63); model.cell one level, the cycle knobs one trial (0)
    assert key_knobs(tradeoff(study, study.objectives)) == ["kl.schedule", "optim.lr"]


def test_front_table_lists_the_front_best_first_by_the_first_objective(study):
    table = front_table(tradeoff(study, study.objectives))
    assert table["trial_id"].tolist() == ["mo_00003", "mo_00001", "mo_00000"]
    assert table[BLEU].tolist() == [0.8, 0.5, 0.2] and table[GAUSSIAN].tolist() == [0.2, 0.5, 0.8]
    assert table["epochs"].tolist() == [3, 3, 3]
    assert table["optim.lr"].tolist() == [0.009, 0.003, 0.001]


def test_knob_correlations_are_spearmans_over_fronts_0_and_1(study):
    table = knob_correlations(tradeoff(study, study.objectives)).set_index("knob")
    assert set(table.index) == {"kl.cycles", "kl.ratio", "optim.lr"}  # numeric knobs only
    # fronts 0 and 1: 00000, 00001, 00003, 00002, 00007. By optim.lr (0.0005, 0.001, 0.002,
    # 0.003, 0.009) BLEU-4 ranks 1 2 3 4 5; Gaussian 4 5 2 3 1: 1 - 6 x 36 / (5 x 24)
    lr = table.loc["optim.lr"]
    assert lr["n"] == 5 and lr["note"] == ""
    assert lr[f"spearman {BLEU}"] == pytest.approx(1.0)
    assert lr[f"spearman {GAUSSIAN}"] == pytest.approx(-0.8)
    cycles = table.loc["kl.cycles"]  # drawn by the two cyclical trials: 2 -> 0.5, 3 -> 0.4
    assert cycles["n"] == 2 and cycles["note"] == "too few to read"
    assert cycles[f"spearman {BLEU}"] == pytest.approx(-1.0)


def test_hypervolume_after_each_trial_is_the_hand_computed_one(study, store):
    np.testing.assert_allclose(hypervolume_curve(study, study.objectives), HYPERVOLUME)
    baseline = load_baseline(store, study, None)
    assert baseline.name == "mo-random"  # not mo-small, of another budget
    axis = hypervolume_figure(hypervolume_info(study, baseline)).axes[0]
    lines = {line.get_gid(): line for line in axis.get_lines()}
    np.testing.assert_allclose(lines["mo"].get_ydata(), HYPERVOLUME)
    np.testing.assert_allclose(lines["mo-random"].get_ydata(), RANDOM_HYPERVOLUME)
    assert lines["mo"].get_xdata().tolist() == list(range(1, len(MO_TRIALS) + 1))


@pytest.mark.parametrize(("baseline", "why"), [
    ("mo-small", "not a random-search baseline of study 'mo': its budget is 5 trials, not 10"),
    ("known", "its search is tpe, not random; its objectives are val/score, not "
              "val/bleu4,val/gaussian"),
    ("mo", "that is the study itself"),
    ("nope", "no study 'nope'")])
def test_a_baseline_that_is_not_a_random_search_of_the_same_budget_is_refused(
        store, tmp_path, capsys, baseline, why):
    out = tmp_path / "report"
    code, _, err = run_cli(["report", "mo", "--baseline", baseline, "--workdir",
                            workdir(store), "--out", str(out)], capsys)
    assert code == 2 and f"--baseline {baseline}: " in err and why in err
    assert not out.exists()


def test_a_baseline_for_a_study_of_one_objective_is_refused(store, tmp_path, capsys):
    code, _, err = run_cli(["report", "known", "--baseline", "mo-random", "--workdir",
                            workdir(store), "--out", str(tmp_path / "r")], capsys)
    assert code == 2 and "--baseline mo-random: study 'known' has one objective" in err


def figure_names(out) -> set[str]:
    return {path.stem for path in (out / "figures").glob("*.png")}


def test_report_of_a_trade_off_opens_on_it_and_ranks_by_each_objective(store, tmp_path):
    out = tmp_path / "report"
    markdown = write_report(store, "mo", out, log_to_mlflow=False)["markdown"].read_text()
    order = [markdown.index(text) for text in (
        "## Summary", "## Trade-off", "figures/tradeoff_front.png", "| mo_00003 | 0.8 | 0.2 |",
        "observational, not an experiment", "figures/hypervolume.png",
        "Against study mo-random", "## How the search went",
        "## What the search sampled (observational)", "## Importance", "## Figures",
        f"## Samples of the best trial by {BLEU}", f"## Samples of the best trial by {GAUSSIAN}",
        "## Reproduce")]
    assert order == sorted(order)
    assert "Objectives, traded off: val/bleu4 (maximised), val/gaussian (maximised)" in markdown
    assert "No optimisation history" in markdown and "## Best trials" not in markdown
    assert "Trial mo_00003, epoch 3." in markdown and "Trial mo_00000, epoch 3." in markdown
    figures = figure_names(out)
    assert {"tradeoff_front", "hypervolume", f"factor_effects-{BLEU.replace('/', '-')}",
            f"factor_effects-{GAUSSIAN.replace('/', '-')}"} <= figures
    # the front of the same pair is drawn once; one objective's history is not drawn
    assert not {"bleu_against_gaussian", "optimisation_history", "factor_effects"} & figures


def test_report_without_a_baseline_says_how_to_make_one(tmp_path):
    uri = write_study(tmp_path, "alone", MO_TRIALS, metric=TRADE_OFF, search="tpe")
    markdown = write_report(uri, "alone", tmp_path / "report",
                            log_to_mlflow=False)["markdown"].read_text()
    assert (f"`cvae-study sweep text --metric {TRADE_OFF} --search random --num-samples 10`"
            in markdown)


def test_report_pareto_draws_the_front_of_a_single_objective_study(store, tmp_path, capsys):
    out = tmp_path / "report"
    code, _, _ = run_cli(["report", "known", "--pareto", TRADE_OFF, "--workdir",
                          workdir(store), "--out", str(out)], capsys)
    assert code == 0
    markdown = (out / "report.md").read_text()
    assert f"## Trade-off of {BLEU} and {GAUSSIAN} (--pareto)" in markdown
    assert "pareto_front" in figure_names(out) and "bleu_against_gaussian" not in figure_names(out)
    # test_analysis' trials: BLEU-4 is the score, Gaussian 1 - score: every completed trial
    # is on the front, best first by BLEU-4; the one stopped early is not ranked
    section = markdown[markdown.index("(--pareto)"):markdown.index("## How the search went")]
    rows = [line.split(" | ")[0].removeprefix("| ") for line in section.splitlines()
            if line.startswith("| t_")]
    assert rows == ["t_cyc_b", "t_cyc_a", "t_mono_b", "t_mono_a", "t_none"]
    assert "## Best trials" in markdown  # its own sections as before


@pytest.mark.parametrize(("metrics", "why"), [
    (BLEU, "a front needs two metrics or more"),
    (f"{BLEU},{BLEU}", f"{BLEU} is named twice"),
    (f"{BLEU},{m.VAL_PSNR}", f"'{m.VAL_PSNR}' is not a metric of the text task"),
    ("", "'' is not a metric of the text task")])
def test_report_pareto_refuses_what_is_no_front(store, tmp_path, capsys, metrics, why):
    out = tmp_path / "report"
    code, _, err = run_cli(["report", "known", "--pareto", metrics, "--workdir",
                            workdir(store), "--out", str(out)], capsys)
    assert code == 2 and f"--pareto {metrics!r}: {why}" in err
    assert not out.exists()
