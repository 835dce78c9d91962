"""The What mattered section of a study with an ablation: each knob's paired effect over
seeds in words, the forest plot (and the path), the effects and every metric per variant."""

import pandas as pd

from cvae_study.analysis.ablation import AblationTables, effects, path_table, variant_means
from cvae_study.analysis.figures.registry import ABLATION_FIGURES
from cvae_study.analysis.findings import (
    design_sentence,
    interval_text,
    noise_sentence,
    what_mattered,
)
from cvae_study.analysis.report.document import Block, Heading, Paragraph, Table
from cvae_study.analysis.report.figure_blocks import figure_block
from cvae_study.study.ablation_plan import PATH
from cvae_study.study.statistics import Interval


def objective_effects(ablation: AblationTables) -> pd.DataFrame:
    """The objective's effects, largest first, as the sentences order them."""
    table = effects(ablation)
    table = table[table["metric"] == ablation.metric]
    table = table.assign(size=table["effect"].abs()).sort_values("size", ascending=False)
    return table[["variant", "knob", "effect", "ci95_low", "ci95_high", "n", "verdict"]]


def metrics_table(ablation: AblationTables) -> pd.DataFrame:
    """variant x metric: 'mean (95% CI low to high)' per cell, the objective first."""
    means = variant_means(ablation)
    means["value"] = [interval_text(Interval(*row)) for row in
                      means[["mean", "ci95_low", "ci95_high", "n"]].itertuples(index=False)]
    wide = means.pivot(index="variant", columns="metric", values="value")
    return wide.loc[means["variant"].unique(), ablation.metrics()].reset_index()


def _figures(ablation: AblationTables) -> list[Block]:
    return [figure_block(spec.of(ablation), name, spec.caption)
            for name, spec in ABLATION_FIGURES.items()
            if name != "ablation_path" or ablation.design == PATH]  # only a path has one


def _path_blocks(ablation: AblationTables) -> list[Block]:
    if ablation.design != PATH:
        return []
    return [Paragraph("The path step by step: the share of the total gain (target - baseline) "
                      "each step explains, and cumulatively:"),
            Table(path_table(ablation))]


def what_mattered_section(ablation: AblationTables) -> list[Block]:
    blocks = [Heading("What mattered"), Paragraph(design_sentence(ablation))]
    if ablation.finals.empty:
        return blocks + [Paragraph("No ablation run has completed yet.")]
    blocks += [Paragraph(line) for line in what_mattered(ablation)]
    return blocks + _figures(ablation) + _path_blocks(ablation) + [
        Paragraph(f"Effects on {ablation.metric} (variant - target, paired by seed):"),
        Table(objective_effects(ablation)),
        Paragraph(noise_sentence(ablation)),
        Paragraph("Every metric per variant (mean over seeds), to see what a variant trades "
                  "for the objective:"),
        Table(metrics_table(ablation))]
