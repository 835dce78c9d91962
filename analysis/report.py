"""`cvae-study report NAME`: one study's report, as HTML and as Markdown.

A study with an ablation (`cvae-study ablate NAME`) leads with what mattered, measured
over seeds; a study of several objectives with its trade-off (the Pareto front, the knobs
along it, the hypervolume against a random baseline); what the search sampled follows,
labelled observational. Of a study of several objectives, what ranks trials by one (what
the search sampled, importances, samples of the best) is given per objective, and the
optimisation history and best trials of one objective are left out. Both formats are
rendered from one list of blocks. The HTML page embeds its figures, so it opens offline as
a single file; the Markdown links the same PNGs under figures/. The report is logged to the
study's parent MLflow run as well.
"""

import base64
import html
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
from mlflow import MlflowClient

from cvae_study.analysis import plots, tradeoff_plots
from cvae_study.analysis.ablation import (
    AblationTables,
    effects,
    load_ablation,
    path_table,
    variant_means,
)
from cvae_study.analysis.baseline import load_baseline
from cvae_study.analysis.findings import (
    design_sentence,
    interval_text,
    noise_sentence,
    what_mattered,
)
from cvae_study.analysis.importance import MIN_TRIALS, param_importances
from cvae_study.analysis.observational import common_rung, sampled_levels_table
from cvae_study.analysis.runs import StudyTables, read_study
from cvae_study.analysis.tradeoff import (
    NEAR_FRONT,
    Tradeoff,
    categorical_knobs,
    check_metrics,
    front_table,
    knob_correlations,
    ranked_outcome,
    tradeoff,
)
from cvae_study.study import names as n
from cvae_study.study.ablation_plan import PATH
from cvae_study.study.cost import StudyCost
from cvae_study.study.name_checks import check_folder
from cvae_study.study.statistics import Interval
from cvae_study.study.tracking.store import load_json_artifact

TOP_TRIALS = 5
SHOWN_CONVERSIONS, SHOWN_GENERATED = 12, 10


@dataclass
class Block:
    kind: str  # heading | text | table | figure | missing
    content: Any
    caption: str = ""
    level: int = 2  # of a heading


def _format(value: Any) -> str:
    if isinstance(value, float):
        return "" if pd.isna(value) else f"{value:.4g}"
    return str(value)


def _markdown_table(table: pd.DataFrame) -> str:
    lines = ["| " + " | ".join(map(str, table.columns)) + " |",
             "|" + "---|" * len(table.columns)]
    lines += ["| " + " | ".join(_format(v) for v in row) + " |"
              for row in table.itertuples(index=False)]
    return "\n".join(lines)


def to_markdown(blocks: list[Block]) -> str:
    parts = []
    for block in blocks:
        if block.kind == "heading":
            parts.append(f"{'#' * block.level} {block.content}")
        elif block.kind == "text":
            parts.append(block.content)
        elif block.kind == "table":
            parts.append(_markdown_table(block.content))
        elif block.kind == "figure":
            parts.append(f"![{block.caption}](figures/{block.content.name})\n\n*{block.caption}*")
        else:
            parts.append(f"*{block.caption}: not drawn ({block.content}).*")
    return "\n\n".join(parts) + "\n"


def to_html(blocks: list[Block], title: str) -> str:
    parts = [f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}"
             "</title><style>body{font-family:sans-serif;max-width:1200px;margin:auto}"
             "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:2px 6px}"
             "img{max-width:100%}</style></head><body>"]
    for block in blocks:
        if block.kind == "heading":
            parts.append(f"<h{block.level}>{html.escape(block.content)}</h{block.level}>")
        elif block.kind == "text":
            parts.append(f"<p>{html.escape(block.content)}</p>".replace("\n", "<br>"))
        elif block.kind == "table":
            table = block.content.map(_format)
            parts.append(table.to_html(index=False, escape=True))
        elif block.kind == "figure":
            data = base64.b64encode(block.content.read_bytes()).decode()
            parts.append(f"<figure><img src='data:image/png;base64,{data}' "
                         f"alt='{html.escape(block.caption)}'><figcaption>"
                         f"{html.escape(block.caption)}</figcaption></figure>")
        else:
            parts.append(f"<p><em>{html.escape(block.caption)}: not drawn "
                         f"({html.escape(block.content)}).</em></p>")
    return "\n".join(parts) + "</body></html>\n"


def _heading(text: str, level: int = 2) -> Block:
    return Block("heading", text, level=level)


def _summary(study: StudyTables) -> list[Block]:
    parent = study.parent
    counts = study.trials["outcome"].value_counts() if len(study.trials) else pd.Series()
    end = parent.info.end_time or int(time.time() * 1000)
    status = ", ".join(f"{n} {outcome}" for outcome, n in counts.items()) or "none yet"
    text = (f"Task: {study.task}. {_objectives_text(study)}\n"
            f"Trials: {len(study.trials)} of "
            f"{parent.data.params.get(f'{n.STUDY_PREFIX}num_samples', '?')}"
            f" ({status}).\nWall time: {(end - parent.info.start_time) / 60000:.1f} min"
            f" (study run {parent.info.status}).")
    if n.CPU_HOURS in parent.data.metrics:  # recorded when the study ends
        cost = StudyCost.from_metrics(parent.data.metrics, len(study.trials),
                                      int(counts.get(n.STOPPED_EARLY, 0)))
        sentence = cost.sentence()
        text += f"\n{sentence[0].upper()}{sentence[1:]}."
    cyclical_only = study.space.get("cyclical_only", [])
    searched = pd.DataFrame(
        [{"knob": key, "values": written_range(entry)
          + (" (cyclical trials only)" if key in cyclical_only else "")}
         for key, entry in study.space.get("searched", {}).items()])
    blocks = [_heading("Summary"), Block("text", text)]
    if len(searched):
        blocks += [Block("text", "Search space:"), Block("table", searched)]
    return blocks


def _objectives_text(study: StudyTables) -> str:
    directions = ", ".join(f"{objective} ({mode}imised)"
                           for objective, mode in zip(study.objectives, study.modes, strict=True))
    if not study.multi_objective:
        return f"Objective: {directions}."
    return f"Objectives, traded off: {directions}; searched by {study.search}."


def written_range(entry: dict) -> str:
    """A searched knob's values as a person writes them: `0.25 - 4, log`, `gru, lstm`."""
    if "choices" in entry:
        return ", ".join(map(str, entry["choices"]))
    return f"{entry['low']:g} - {entry['high']:g}" + (", log" if entry.get("log") else "")


def _by_objective(study: StudyTables, text: str) -> str:
    """The heading of a section of one objective: which, for a study of several."""
    return f"{text} by {study.metric}" if study.multi_objective else text


def _best_trials(study: StudyTables) -> list[Block]:
    done = study.trials[study.trials["outcome"] == n.COMPLETED]
    if done.empty:
        return [_heading("Best trials"), Block("text", "No trial has completed yet.")]
    best = done.sort_values("final", ascending=study.mode == "min").head(TOP_TRIALS)
    columns = ["trial_id", "final", "best", "epochs", *study.searched]
    return [_heading("Best trials"),
            Block("text", f"Completed trials by final {study.metric}:"),
            Block("table", best[[c for c in columns if c in best]])]


def _samples(client: MlflowClient, study: StudyTables) -> list[Block]:
    done = study.trials[study.trials["outcome"] == n.COMPLETED]
    if done.empty:
        return []
    best = done.sort_values("final", ascending=study.mode == "min").iloc[0]
    path = n.samples_artifact(int(best["epochs"]))
    samples = load_json_artifact(client, best["run_id"], path)
    heading = _heading(_by_objective(study, "Samples of the best trial"))
    if samples is None:
        return [heading, Block("text", f"No {path} logged.")]
    blocks = [heading, Block("text", f"Trial {best['trial_id']}, epoch {int(best['epochs'])}.")]
    if samples.get("conversions"):
        blocks.append(Block("table", pd.DataFrame(samples["conversions"][:SHOWN_CONVERSIONS])))
    if samples.get("generated"):
        generated = pd.DataFrame([{"words": " / ".join(g["words"]),
                                   "in training table": g["in_training_table"]}
                                  for g in samples["generated"][:SHOWN_GENERATED]])
        blocks += [Block("text", "Generated from N(0, I), all four tenses from one z:"),
                   Block("table", generated)]
    return blocks


def _reproduce(study: StudyTables) -> list[Block]:
    tags, params = study.parent.data.tags, study.parent.data.params
    versions = json.loads(tags.get(n.VERSIONS, "{}"))
    text = (f"Command: {tags.get(n.COMMAND, '?')}\n"
            f"Git commit: {tags.get(n.GIT_COMMIT, 'unknown')}\n"
            f"Search seed: {params.get(f'{n.STUDY_PREFIX}seed', '?')}; training seed: "
            f"{params.get('train.seed', 'searched')}\n"
            "Versions: " + ", ".join(f"{k} {v}" for k, v in versions.items()))
    return [_heading("Reproduce"), Block("text", text)]


def _figure(figure, name: str, caption: str, figures_dir: Path) -> Block:
    if figure is None:
        return Block("missing", "no data in this study", caption)
    figures_dir.mkdir(parents=True, exist_ok=True)
    path = figures_dir / f"{name}.png"
    figure.savefig(path, dpi=90, bbox_inches="tight")  # no title cut where a layout misses it
    return Block("figure", path, caption)


def _caption(draw) -> str:
    """The first paragraph of the figure function's docstring, on one line: its first line
    alone cut a caption off mid-sentence."""
    return " ".join((draw.__doc__ or draw.__name__).strip().split("\n\n")[0].split())


def _search_figures(study: StudyTables, figures_dir: Path) -> list[Block]:
    blocks = [_heading("How the search went")]
    for name, draw in plots.SEARCH_FIGURES.items():
        caption = _caption(draw)
        if draw is plots.optimisation_history and study.multi_objective:
            blocks.append(Block("text", HISTORY_LEFT_OUT))
            continue
        if draw is plots.parallel_coordinates and study.multi_objective:
            caption += f" Coloured by the first objective, {study.metric}."
        if draw is plots.worker_timeline and plots.packs_lanes(study):
            caption += plots.PACKED_NOTE
        blocks.append(_figure(draw(study), name, caption, figures_dir))
    return blocks


HISTORY_LEFT_OUT = ("No optimisation history: the best so far of one objective does not say "
                    "how a search of a trade-off went; the hypervolume under Trade-off does.")
RANKING_TEXT = {
    n.COMPLETED: "The front ranks the completed trials by their final values, as the study "
                 "records its front when it ends; trials stopped early are drawn hollow at "
                 "their last value, not ranked, as that value is not final.",
    n.STOPPED_EARLY: "No trial has completed yet: the front ranks the trials stopped early, "
                     "by their last values.",
}


def _front_blocks(trade: Tradeoff, name: str, figures_dir: Path) -> list[Block]:
    """The front figure and its trials' table."""
    if trade.trials.empty:
        return [Block("text", "No trial has finished with a value of "
                              f"{' and '.join(trade.objectives)} yet: no front to draw.")]
    first = trade.objectives[0]
    return [Block("text", RANKING_TEXT[ranked_outcome(trade.trials)]),
            _figure(tradeoff_plots.front_figure(trade), name,
                    _caption(tradeoff_plots.front_figure), figures_dir),
            Block("text", f"The front's trials ({len(trade.front())}), best first by {first}:"),
            Block("table", front_table(trade))]


def _correlation_blocks(trade: Tradeoff) -> list[Block]:
    near = trade.ranked[trade.ranked["front"] <= NEAR_FRONT]
    text = (f"Which knobs move a trial along the front (observational, not an experiment): "
            f"Spearman's rank correlation of each numeric searched knob with each objective, "
            f"over the {len(near)} trials on the front or the next one (fronts 0 and 1); n: "
            "those that drew the knob. The search chose these trials, so a knob's "
            "correlation mixes its own effect with the knobs the sampler paired it with; only "
            "varying the knob alone, over seeds, would isolate it.")
    unordered = categorical_knobs(trade)
    if unordered:
        text += (f" Categorical knobs ({', '.join(unordered)}) have no order to rank: the "
                 "front's table shows their levels.")
    return [Block("text", text), Block("table", knob_correlations(trade))]


def _baseline_text(study: StudyTables, baseline: StudyTables | None) -> str:
    if baseline is not None:
        return (f"Against study {baseline.name}: random search of the same task, objectives "
                f"and budget ({len(baseline.trials)} trials so far). One study of each, one "
                f"search seed: two runs compared, not the two methods (`bench search` "
                f"compares methods over seeds).")
    metric = n.OBJECTIVE_SEPARATOR.join(study.objectives)
    budget = study.parent.data.params.get(f"{n.STUDY_PREFIX}num_samples", "N")
    return (f"No random-search study of the same task, objectives and budget in this store "
            f"to compare with: `cvae-study sweep {study.task} --metric {metric} --search "
            f"random --num-samples {budget}` makes one (`report --baseline NAME` names one).")


def _tradeoff(study: StudyTables, baseline: StudyTables | None,
              figures_dir: Path) -> list[Block]:
    """The trade-off section of a study of several objectives."""
    trade = tradeoff(study, study.objectives)
    blocks = [_heading("Trade-off"), *_front_blocks(trade, "tradeoff_front", figures_dir)]
    if len(trade.ranked):
        blocks += _correlation_blocks(trade)
    draw = tradeoff_plots.hypervolume_figure
    return blocks + [_figure(draw(study, baseline), "hypervolume", _caption(draw),
                             figures_dir),
                     Block("text", _baseline_text(study, baseline))]


def _asked_front(study: StudyTables, metrics: tuple[str, ...],
                 figures_dir: Path) -> list[Block]:
    """`report --pareto M1,M2`: the front of any metrics of any study."""
    return [_heading(f"Trade-off of {' and '.join(metrics)} (--pareto)"),
            *_front_blocks(tradeoff(study, metrics), "pareto_front", figures_dir)]


def _objective_effects(ablation: AblationTables) -> pd.DataFrame:
    """The objective's effects, largest first, as the sentences order them."""
    table = effects(ablation)
    table = table[table["metric"] == ablation.metric]
    table = table.assign(size=table["effect"].abs()).sort_values("size", ascending=False)
    return table[["variant", "knob", "effect", "ci95_low", "ci95_high", "n", "verdict"]]


def _metrics_table(ablation: AblationTables) -> pd.DataFrame:
    """variant x metric: 'mean (95% CI low to high)' per cell, the objective first."""
    means = variant_means(ablation)
    means["value"] = [interval_text(Interval(*row)) for row in
                      means[["mean", "ci95_low", "ci95_high", "n"]].itertuples(index=False)]
    wide = means.pivot(index="variant", columns="metric", values="value")
    return wide.loc[means["variant"].unique(), ablation.metrics()].reset_index()


def _what_mattered(ablation: AblationTables, figures_dir: Path) -> list[Block]:
    blocks = [_heading("What mattered"), Block("text", design_sentence(ablation))]
    if ablation.finals.empty:
        return blocks + [Block("text", "No ablation run has completed yet.")]
    blocks += [Block("text", line) for line in what_mattered(ablation)]
    for name, draw in plots.ABLATION_FIGURES.items():
        if draw is plots.path_figure and ablation.design != PATH:
            continue  # leave-one-out has no path
        blocks.append(_figure(draw(ablation), name, _caption(draw), figures_dir))
    if ablation.design == PATH:
        blocks += [Block("text", "The path step by step: the share of the total gain "
                                 "(target - baseline) each step explains, and cumulatively:"),
                   Block("table", path_table(ablation))]
    return blocks + [
        Block("text", f"Effects on {ablation.metric} (variant - target, paired by seed):"),
        Block("table", _objective_effects(ablation)),
        Block("text", noise_sentence(ablation)),
        Block("text", "Every metric per variant (mean over seeds), to see what a variant "
                      "trades for the objective:"),
        Block("table", _metrics_table(ablation))]


def _observational(study: StudyTables, ablation: AblationTables | None) -> list[Block]:
    measured = (study.metric if not study.multi_objective
                else f"of each objective ({', '.join(study.objectives)})")
    text = (f"Mean {measured} of finished trials (completed and stopped early alike) per "
            f"level of each searched knob, all compared at epoch {common_rung(study)}, the "
            "last every finished trial reached; 95% t-interval (blank for n < 2); continuous "
            "knobs in tertiles. This is observational, not an experiment: TPE samples good "
            "regions more often, so a level's mean mixes its own effect with what the "
            "sampler paired it with; only an ablation isolates a knob.")
    if ablation is None:
        text += (f" This study has no ablation: run `cvae-study ablate {study.name}` to "
                 "measure each knob's effect over seeds.")
    blocks = [_heading("What the search sampled (observational)"), Block("text", text)]
    for view in study.each_objective():
        if study.multi_objective:
            blocks.append(Block("text", f"{view.metric}:"))
        blocks.append(Block("table", sampled_levels_table(view)))
    return blocks


def _importance(study: StudyTables) -> list[Block]:
    blocks = [_heading("Importance")]
    for view in study.each_objective():
        importances = param_importances(view)
        if study.multi_objective:
            blocks.append(Block("text", f"For {view.metric}:"))
        blocks.append(Block("table", importances.reset_index(names="knob"))
                      if importances is not None else
                      Block("text", f"Importances need at least {MIN_TRIALS} trials that ran "
                                    "to the end; this study has fewer."))
    return blocks


def _detail_figures(study: StudyTables, figures_dir: Path,
                    fronts: list[frozenset[str]]) -> list[Block]:
    """DETAIL_FIGURES; those of one objective once per objective of a study of several.
    BLEU-4 against Gaussian is left out where a trade-off section drew that front."""
    blocks = [_heading("Figures")]
    for name, draw in plots.DETAIL_FIGURES.items():
        if draw is plots.bleu_against_gaussian and {n.VAL_BLEU4, n.VAL_GAUSSIAN} in fronts:
            continue
        if name not in plots.OBJECTIVE_FIGURES or not study.multi_objective:
            blocks.append(_figure(draw(study), name, _caption(draw), figures_dir))
            continue
        for view in study.each_objective():
            blocks.append(_figure(draw(view), f"{name}-{view.metric.replace('/', '-')}",
                                  f"{_caption(draw)} For {view.metric}.", figures_dir))
    return blocks


def build_blocks(study: StudyTables, client: MlflowClient, figures_dir: Path,
                 ablation: AblationTables | None = None, pareto: tuple[str, ...] = (),
                 baseline: StudyTables | None = None) -> list[Block]:
    """The report's blocks. pareto: metrics whose front to draw too (--pareto); baseline:
    the random-search study a study of several objectives is compared with."""
    blocks = [_heading(f"Study {study.name}", 1), *_summary(study)]
    fronts = []  # the pairs of objectives a front figure draws
    if study.multi_objective:
        blocks += _tradeoff(study, baseline, figures_dir)
        fronts.append(frozenset(study.objectives[:2]))
    if pareto:
        blocks += _asked_front(study, pareto, figures_dir)
        fronts.append(frozenset(pareto[:2]))
    if ablation is not None:
        blocks += _what_mattered(ablation, figures_dir)
    blocks += _search_figures(study, figures_dir)  # a running study's too
    if study.finished().empty:
        return blocks + [Block("text", "No trial has finished yet: nothing to compare. "
                                       "Run the report again when trials have ended.")]
    if not study.multi_objective:  # the trade-off's front is what is best of several
        blocks += _best_trials(study)
    blocks += _observational(study, ablation)
    blocks += _importance(study)
    blocks += _detail_figures(study, figures_dir, fronts)
    for view in study.each_objective():
        blocks += _samples(client, view)
    return blocks + _reproduce(study)


def write_report(uri: str, name: str, out: Path, log_to_mlflow: bool = True,
                 pareto: str | None = None, baseline: str | None = None) -> dict[str, Path]:
    """Write out/index.html, out/report.md and out/figures/; log them to the parent run.
    pareto: `--pareto M1,M2`, metrics whose front to draw; baseline: `--baseline NAME`, the
    random-search study to compare a study of several objectives with (default: found)."""
    check_folder(out, "--out")
    study = read_study(uri, name)
    metrics = check_metrics(study, pareto) if pareto is not None else ()
    compared = load_baseline(uri, study, baseline)
    client = MlflowClient(uri)
    out.mkdir(parents=True, exist_ok=True)
    blocks = build_blocks(study, client, out / "figures", load_ablation(uri, name), metrics,
                          compared)
    paths = {"html": out / "index.html", "markdown": out / "report.md"}
    paths["html"].write_text(to_html(blocks, f"Study {name}"))
    paths["markdown"].write_text(to_markdown(blocks))
    if log_to_mlflow:
        client.log_artifacts(study.parent.info.run_id, str(out), artifact_path="report")
    return paths
