"""The ablation analysis on a real MLflow store holding planted per-seed values, written the
way `cvae-study ablate` records them, so every effect, interval and sentence is checked
number by number against a t-interval computed here."""

import math
import statistics

import pytest
from matplotlib.figure import Figure
from mlflow import MlflowClient
from mlflow.entities import Metric, Param
from scipy import stats
from test_analysis import write_study

from cvae_study.analysis.ablation import effects, load_ablation, noise, path_table, variant_means
from cvae_study.analysis.figure_data.ablation import forest_info, path_info
from cvae_study.analysis.figures.ablation import forest_plot, path_figure
from cvae_study.analysis.findings import what_mattered
from cvae_study.analysis.report import write_report
from cvae_study.study import names as m
from cvae_study.study.tracking.store import study_parent

SEEDS = [0, 1, 2]
TARGET = [0.60, 0.64, 0.62]  # the noise floor: sd 0.02
BASELINE_CHANGES = {"optim.lr": 0.005, "model.cell": "gru", "kl.schedule": "monotonic",
                    "kl.cycles": 4, "kl.ratio": 0.5}
KNOBS = {"optim.lr": ["optim.lr"], "model.cell": ["model.cell"],
         "kl.schedule": ["kl.schedule", "kl.cycles", "kl.ratio"]}
# variant -> val/score per seed, planted relative to the target
LEAVE_ONE_OUT = {
    "target": TARGET,
    "baseline": [0.30, 0.36, 0.99],  # seed 2 diverged: its 0.99 must not count
    "without optim.lr": [0.40, 0.45, 0.41],  # -0.20, -0.19, -0.21: large
    "without model.cell": TARGET,  # identical on every seed: no effect, no spread
    "without kl.schedule": [0.61, 0.625, 0.64],  # +0.01, -0.015, +0.02: within noise
}
DIVERGED = {("baseline", 2)}


def t_interval(differences):
    mean = statistics.fmean(differences)
    half = (stats.t.ppf(0.975, len(differences) - 1) * statistics.stdev(differences)
            / math.sqrt(len(differences)))
    return mean, mean - half, mean + half


def differences(variant, reference="target", seeds=SEEDS, values=LEAVE_ONE_OUT):
    return [values[variant][s] - values[reference][s] for s in seeds]


def variant_spec(role, knob=None, step=None, changes=None):
    return {"role": role, "knob": knob, "step": step, "changes": changes or {}}


def write_ablation(uri, study_name, plan, values, start_time, diverged=()):
    """An ablation parent with its plan, and one run per variant x seed as the runner
    logs them: a decoy value at epoch 1, the planted final at epoch 2."""
    client = MlflowClient(uri)
    study = study_parent(client, study_name)
    experiment = study.info.experiment_id
    parent = client.create_run(experiment, start_time=start_time,
                               run_name=f"{study_name}-ablation",
                               tags={m.ROLE: m.ABLATION_ROLE, m.ABLATION_OF: study.info.run_id})
    client.log_dict(parent.info.run_id, plan, m.ABLATION_PLAN)
    for variant, scores in values.items():
        for seed, score in zip(SEEDS, scores, strict=True):
            run = client.create_run(experiment, start_time=start_time + 1, tags={
                m.ROLE: m.ABLATION_RUN_ROLE, m.PARENT_RUN: parent.info.run_id,
                m.VARIANT: variant, m.SEED: str(seed),
                m.OUTCOME: m.DIVERGED if (variant, seed) in diverged else m.COMPLETED})
            finals = {m.VAL_SCORE: score, m.VAL_BLEU4: score + 0.1, m.VAL_GAUSSIAN: 1 - score}
            client.log_batch(run.info.run_id, params=[
                Param("optim.lr", "0.001"), Param("model.cell", "lstm"),
                Param("train.seed", str(seed))], metrics=[
                Metric(key, value, 0, epoch) for key, final in finals.items()
                for epoch, value in ((1, 0.0), (2, final))])
            client.set_terminated(run.info.run_id)
    return parent.info.run_id


def leave_one_out_plan():
    variants = {"target": variant_spec("target"),
                "baseline": variant_spec("baseline", changes=BASELINE_CHANGES)}
    for knob, keys in KNOBS.items():
        variants[f"without {knob}"] = variant_spec(
            "without", knob, changes={key: BASELINE_CHANGES[key] for key in keys})
    return {"design": "leave_one_out", "metric": m.VAL_SCORE, "mode": "max", "seeds": SEEDS,
            "epochs": 2, "baseline_trial": "default", "target_trial": "t_cyc_b",
            "knobs": KNOBS, "variants": variants}


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    uri = write_study(tmp_path_factory.mktemp("ablated"), "ablated")
    older = {name: [0.0] * 3 for name in LEAVE_ONE_OUT}  # an earlier ablation: superseded
    write_ablation(uri, "ablated", leave_one_out_plan(), older, start_time=1_000)
    newest = write_ablation(uri, "ablated", leave_one_out_plan(), LEAVE_ONE_OUT,
                            start_time=2_000, diverged=DIVERGED)
    return uri, newest


@pytest.fixture(scope="module")
def ablation(store):
    return load_ablation(store[0], "ablated")


def test_the_latest_ablation_is_read_with_its_completed_runs_only(store, ablation):
    assert ablation.parent.info.run_id == store[1]
    assert len(ablation.runs) == 15 and (ablation.runs["outcome"] == m.DIVERGED).sum() == 1
    assert ablation.values("baseline") == {0: 0.30, 1: 0.36}  # the diverged seed left out
    assert ablation.values("target", m.VAL_GAUSSIAN) == pytest.approx({0: 0.4, 1: 0.36, 2: 0.38})
    assert ablation.metrics() == [m.VAL_SCORE, m.VAL_BLEU4, m.VAL_GAUSSIAN]


def test_effects_are_paired_t_intervals_with_verdicts(ablation):
    table = effects(ablation)
    objective = table[table["metric"] == m.VAL_SCORE].set_index("variant")
    assert list(table["metric"].unique()) == [m.VAL_SCORE, m.VAL_BLEU4, m.VAL_GAUSSIAN]
    for variant, verdict in [("without optim.lr", "matters"),
                             ("without kl.schedule", "within seed noise"),
                             ("baseline", "matters")]:
        row = objective.loc[variant]
        seeds = [0, 1] if variant == "baseline" else SEEDS
        mean, low, high = t_interval(differences(variant, seeds=seeds))
        assert (row["effect"], row["ci95_low"], row["ci95_high"]) == pytest.approx(
            (mean, low, high)), variant
        assert row["verdict"] == verdict and row["n"] == len(seeds)
    # -0.2 with t(0.975, 2) = 4.303, sd 0.01: half-width 0.0248
    assert objective.loc["without optim.lr", "ci95_low"] == pytest.approx(-0.2248, abs=1e-4)
    same = objective.loc["without model.cell"]
    assert (same["effect"], same["spread"], same["verdict"]) == (0.0, 0.0, "no effect")
    assert same["knob"] == "model.cell" and same["role"] == "without"
    gaussian = table[table["metric"] == m.VAL_GAUSSIAN].set_index("variant")
    assert gaussian.loc["without optim.lr", "effect"] == pytest.approx(0.2)  # 1 - score


def test_noise_floor_is_the_targets_spread_over_seeds(ablation):
    found = noise(ablation)
    assert found.floor == pytest.approx(0.02)
    mean, low, high = t_interval(TARGET)
    assert (found.target.mean, found.target.low, found.target.high) == pytest.approx(
        (mean, low, high))
    means = variant_means(ablation).set_index(["variant", "metric"])
    assert means.loc[("target", m.VAL_GAUSSIAN), "mean"] == pytest.approx(0.38)
    assert means.loc[("baseline", m.VAL_SCORE), "n"] == 2


def test_what_mattered_says_it_largest_first_then_the_baseline(ablation):
    lines = what_mattered(ablation)
    assert len(lines) == 4
    _, low, high = t_interval(differences("without optim.lr"))
    assert lines[0] == (f"Setting optim.lr back to the default (0.005) lowers val/score by "
                        f"0.200 (95% CI {-high:.3f} to {-low:.3f}, 3 seeds): it matters.")
    mean, low, high = t_interval(differences("without kl.schedule"))
    assert lines[1] == (
        "Setting kl.schedule back to the default (kl.schedule=monotonic, kl.cycles=4, "
        f"kl.ratio=0.5) changes val/score by {mean:+.3f} (95% CI {low:.3f} to {high:.3f}, "
        "3 seeds): within seed noise (seeds alone move it by 0.020).")
    assert lines[2] == ("Setting model.cell back to the default (gru) changes val/score by "
                        "+0.000 (every one of the 3 seeds gave exactly the same difference): "
                        "no effect.")
    _, low, high = t_interval(differences("baseline", seeds=[0, 1]))
    assert lines[3] == (
        "Setting every knob back to the default (the baseline, 3 knobs) lowers val/score by "
        f"0.290 (95% CI {-high:.3f} to {-low:.3f}, 2 seeds): it matters, so the search paid off. "
        "With 2 seeds the t-interval has one degree of freedom (t = 12.7): it is very wide.")


def test_forest_plot_puts_the_largest_effect_on_top_inside_the_noise_band(ablation):
    figure = forest_plot(forest_info(ablation))
    assert isinstance(figure, Figure)
    axis = figure.axes[0]
    assert [label.get_text() for label in axis.get_yticklabels()] == [
        "without model.cell (n=3)", "without kl.schedule (n=3)", "without optim.lr (n=3)",
        "baseline (n=2)"]
    (band,) = axis.patches
    assert band.get_x() == pytest.approx(-0.02) and band.get_width() == pytest.approx(0.04)
    assert path_info(ablation) is None  # leave-one-out has no path


PATH_VALUES = {  # the baseline (0.30) -> +optim.lr (0.54) -> +model.cell = the target (0.60)
    "target": [0.59, 0.61, 0.60],
    "baseline": [0.29, 0.31, 0.30],
    "step 1: +optim.lr": [0.53, 0.56, 0.53],
    "step 1: +model.cell": [0.35, 0.36, 0.34],
}


def path_plan():
    knobs = {"optim.lr": ["optim.lr"], "model.cell": ["model.cell"]}
    return {"design": "path", "metric": m.VAL_SCORE, "mode": "max", "seeds": SEEDS,
            "epochs": 2, "baseline_trial": "default", "target_trial": "t_cyc_b",
            "knobs": knobs, "variants": {
                "target": variant_spec("target"),
                "baseline": variant_spec("baseline",
                                         changes={"optim.lr": 0.005, "model.cell": "gru"}),
                "step 1: +optim.lr": variant_spec("path", "optim.lr", 1, {"model.cell": "gru"}),
                "step 1: +model.cell": variant_spec("path", "model.cell", 1,
                                                    {"optim.lr": 0.005})},
            "path": [{"step": 1, "knob": "optim.lr", "variant": "step 1: +optim.lr",
                      "candidates": ["step 1: +optim.lr", "step 1: +model.cell"]},
                     {"step": 2, "knob": "model.cell", "variant": "target",
                      "candidates": ["step 2: +model.cell"]}]}


@pytest.fixture(scope="module")
def path_store(tmp_path_factory):
    uri = write_study(tmp_path_factory.mktemp("path"), "pathed")
    write_ablation(uri, "pathed", path_plan(), PATH_VALUES, start_time=1_000)
    return uri


def test_path_table_shares_the_total_gain_between_steps(path_store):
    table = path_table(load_ablation(path_store, "pathed")).set_index("step")
    assert table["variant"].tolist() == ["baseline", "step 1: +optim.lr", "target"]
    assert table["knob"].tolist()[1:] == ["optim.lr", "model.cell"]
    assert table["mean"].tolist() == pytest.approx([0.30, 0.54, 0.60])
    assert table.loc[1, "gain"] == pytest.approx(0.24)
    assert table["fraction"].tolist()[1:] == pytest.approx([0.8, 0.2])
    assert table["cumulative"].tolist() == pytest.approx([0.0, 0.8, 1.0])
    _, low, high = t_interval(PATH_VALUES["step 1: +optim.lr"])
    assert (table.loc[1, "ci95_low"], table.loc[1, "ci95_high"]) == pytest.approx((low, high))


def test_path_sentences_measure_each_step_against_the_one_before(path_store):
    ablation = load_ablation(path_store, "pathed")
    lines = what_mattered(ablation)
    step_one = differences("step 1: +optim.lr", "baseline", values=PATH_VALUES)
    _, low, high = t_interval(step_one)
    assert lines[0] == ("Step 1: setting optim.lr to the target's value (0.001) raises "
                        f"val/score by 0.240 (95% CI {low:.3f} to {high:.3f}, 3 seeds): "
                        "it matters.")
    assert lines[1].startswith("Step 2: setting model.cell to the target's value (lstm) "
                               "raises val/score by 0.060")
    assert "so the search paid off" in lines[2]
    figure = path_figure(path_info(ablation))
    assert figure.axes[0].lines[0].get_ydata().tolist() == pytest.approx([0.30, 0.54, 0.60])


def test_report_leads_with_what_mattered_and_draws_the_forest_plot(store, tmp_path):
    paths = write_report(store[0], "ablated", tmp_path / "report", log_to_mlflow=False)
    markdown = paths["markdown"].read_text()
    order = [markdown.index(heading) for heading in (
        "## Summary", "## What mattered", "## Best trials",
        "## What the search sampled (observational)", "## Importance")]
    assert order == sorted(order)
    assert "Setting optim.lr back to the default (0.005) lowers val/score" in markdown
    assert "| without optim.lr | optim.lr | -0.2 |" in markdown
    assert "cvae-study ablate" not in markdown  # it has one
    forest = tmp_path / "report" / "figures" / "forest_plot.png"
    assert forest.stat().st_size > 5000 and "figures/forest_plot.png" in markdown
    assert not (tmp_path / "report" / "figures" / "ablation_path.png").exists()
    assert "<h2>What mattered</h2>" in paths["html"].read_text()


def test_report_of_a_path_ablation_draws_the_path(path_store, tmp_path):
    paths = write_report(path_store, "pathed", tmp_path / "report", log_to_mlflow=False)
    assert (tmp_path / "report" / "figures" / "ablation_path.png").stat().st_size > 5000
    assert "share of the total gain" in paths["markdown"].read_text()


def test_a_study_without_ablation_is_told_how_to_get_one(tmp_path):
    uri = write_study(tmp_path, "plain")
    assert load_ablation(uri, "plain") is None
    paths = write_report(uri, "plain", tmp_path / "report", log_to_mlflow=False)
    markdown = paths["markdown"].read_text()
    assert "What mattered" not in markdown
    assert "run `cvae-study ablate plain` to measure each knob's effect over seeds" in markdown
