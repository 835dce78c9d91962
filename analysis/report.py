"""`cvae-study report NAME`: one study's ablation report, as HTML and as Markdown.

Both are rendered from one list of blocks. The HTML page embeds its figures, so it opens
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
from cvae_study.analysis.ablation import ablation_table
from cvae_study.analysis.importance import MIN_TRIALS, param_importances
from cvae_study.analysis.runs import StudyTables, load_study
from cvae_study.study import names as n
from cvae_study.study.naming import check_folder
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
    searched = pd.DataFrame(
        [{"knob": key, "values": json.dumps(entry.get("choices", entry))}
         for key, entry in study.space.get("searched", {}).items()])
    blocks = [_heading("Summary"), Block("text", text)]
    if len(searched):
        blocks += [Block("text", "Search space:"), Block("table", searched)]
    return blocks


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


def build_blocks(study: StudyTables, client: MlflowClient, figures_dir: Path) -> list[Block]:
    blocks = [_heading(f"Study {study.name}", 1), *_summary(study)]
    if study.finished().empty:
        return blocks + [Block("text", "No trial has finished yet: nothing to compare. "
                                       "Run the report again when trials have ended.")]
    blocks += _best_trials(study)
    blocks += [_heading("Ablation"),
               Block("text", f"Mean final {study.metric} of completed trials per level of "
                             "each searched knob, with a 95% t-interval (blank for n < 2); "
                             "continuous knobs in tertiles."),
               Block("table", ablation_table(study))]
    importances = param_importances(study)
    blocks.append(_heading("Importance"))
    blocks.append(Block("table", importances.reset_index(names="knob"))
                  if importances is not None else
                  Block("text", f"Importances need at least {MIN_TRIALS} trials that ran "
                                "to the end; this study has fewer."))
    blocks.append(_heading("Figures"))
    figures_dir.mkdir(parents=True, exist_ok=True)
    for name, draw in plots.FIGURES.items():
        caption = (draw.__doc__ or name).strip().splitlines()[0]
        figure = draw(study)
        if figure is None:
            blocks.append(Block("missing", "no data in this study", caption))
            continue
        path = figures_dir / f"{name}.png"
        figure.savefig(path, dpi=90)
        blocks.append(Block("figure", path, caption))
    return blocks + _samples(client, study) + _reproduce(study)


def write_report(uri: str, name: str, out: Path, log_to_mlflow: bool = True) -> dict[str, Path]:
    """Write out/index.html, out/report.md and out/figures/; log them to the parent run."""
    check_folder(out, "--out")
    study = load_study(uri, name)
    client = MlflowClient(uri)
    out.mkdir(parents=True, exist_ok=True)
    blocks = build_blocks(study, client, out / "figures")
    paths = {"html": out / "index.html", "markdown": out / "report.md"}
    paths["html"].write_text(to_html(blocks, f"Study {name}"))
    paths["markdown"].write_text(to_markdown(blocks))
    if log_to_mlflow:
        client.log_artifacts(study.parent.info.run_id, str(out), artifact_path="report")
    return paths
