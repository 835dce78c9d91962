"""`cvae-study report NAME`: one study's report, as HTML and as Markdown.

A study with an ablation (`cvae-study ablate NAME`) leads with what mattered, measured
over seeds; what the search sampled follows, labelled observational. Both formats are
rendered from one list of blocks. The HTML page embeds its figures, so it opens
offline as a single file; the Markdown links the same PNGs under figures/. The report is
logged to the study's parent MLflow run as well.
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

from cvae_study.analysis import plots
from cvae_study.analysis.ablation import (
    AblationTables,
    effects,
    load_ablation,
    path_table,
    variant_means,
)
from cvae_study.analysis.findings import (
    design_sentence,
    interval_text,
    noise_sentence,
    what_mattered,
)
from cvae_study.analysis.importance import MIN_TRIALS, param_importances
from cvae_study.analysis.observational import common_rung, sampled_levels_table
from cvae_study.analysis.runs import StudyTables, load_study
from cvae_study.study import names as n
from cvae_study.study.ablation_plan import PATH
from cvae_study.study.cost import StudyCost
from cvae_study.study.naming import check_folder
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
    text = (f"Task: {study.task}. Objective: {study.metric} ({study.mode}imised).\n"
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


def written_range(entry: dict) -> str:
    """A searched knob's values as a person writes them: `0.25 - 4, log`, `gru, lstm`."""
    if "choices" in entry:
        return ", ".join(map(str, entry["choices"]))
    return f"{entry['low']:g} - {entry['high']:g}" + (", log" if entry.get("log") else "")


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
    if samples is None:
        return [_heading("Samples of the best trial"), Block("text", f"No {path} logged.")]
    blocks = [_heading("Samples of the best trial"),
              Block("text", f"Trial {best['trial_id']}, epoch {int(best['epochs'])}.")]
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
        if draw is plots.worker_timeline and plots.packs_lanes(study):
            caption += plots.PACKED_NOTE
        blocks.append(_figure(draw(study), name, caption, figures_dir))
    return blocks


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
    text = (f"Mean {study.metric} of finished trials (completed and stopped early alike) per "
            f"level of each searched knob, all compared at epoch {common_rung(study)}, the "
            "last every finished trial reached; 95% t-interval (blank for n < 2); continuous "
            "knobs in tertiles. This is observational, not an experiment: TPE samples good "
            "regions more often, so a level's mean mixes its own effect with what the "
            "sampler paired it with; only an ablation isolates a knob.")
    if ablation is None:
        text += (f" This study has no ablation: run `cvae-study ablate {study.name}` to "
                 "measure each knob's effect over seeds.")
    return [_heading("What the search sampled (observational)"), Block("text", text),
            Block("table", sampled_levels_table(study))]


def build_blocks(study: StudyTables, client: MlflowClient, figures_dir: Path,
                 ablation: AblationTables | None = None) -> list[Block]:
    blocks = [_heading(f"Study {study.name}", 1), *_summary(study)]
    if ablation is not None:
        blocks += _what_mattered(ablation, figures_dir)
    blocks += _search_figures(study, figures_dir)  # a running study's too
    if study.finished().empty:
        return blocks + [Block("text", "No trial has finished yet: nothing to compare. "
                                       "Run the report again when trials have ended.")]
    blocks += _best_trials(study)
    blocks += _observational(study, ablation)
    importances = param_importances(study)
    blocks.append(_heading("Importance"))
    blocks.append(Block("table", importances.reset_index(names="knob"))
                  if importances is not None else
                  Block("text", f"Importances need at least {MIN_TRIALS} trials that ran "
                                "to the end; this study has fewer."))
    blocks.append(_heading("Figures"))
    for name, draw in plots.DETAIL_FIGURES.items():
        blocks.append(_figure(draw(study), name, _caption(draw), figures_dir))
    return blocks + _samples(client, study) + _reproduce(study)


def write_report(uri: str, name: str, out: Path, log_to_mlflow: bool = True) -> dict[str, Path]:
    """Write out/index.html, out/report.md and out/figures/; log them to the parent run."""
    check_folder(out, "--out")
    study = load_study(uri, name)
    client = MlflowClient(uri)
    out.mkdir(parents=True, exist_ok=True)
    blocks = build_blocks(study, client, out / "figures", load_ablation(uri, name))
    paths = {"html": out / "index.html", "markdown": out / "report.md"}
    paths["html"].write_text(to_html(blocks, f"Study {name}"))
    paths["markdown"].write_text(to_markdown(blocks))
    if log_to_mlflow:
        client.log_artifacts(study.parent.info.run_id, str(out), artifact_path="report")
    return paths
