"""`cvae-study bench search`: which search finds good configs soonest, over many seeds.

Studies are replayed (study.tune.replay) on the landscape `bench landscape` measured
(bench.landscape_curves: the surrogate's curves plus seed noise). Each method runs under
`replays` search seeds for 10 times the epochs of 12 full-length trials
(bench.search_replays); the best-so-far curves become ratios to random search at 1x, 3x
and 10x (bench.search_ratios); the surrogate and, given `bench sweep`'s JSON, real studies
are checked (bench.search_checks). The report is JSON, a Markdown table beside it and the
anytime figure (bench.search_figure).
"""

import dataclasses
import json
from pathlib import Path
from typing import Any

from cvae_study.study.bench import search_replays
from cvae_study.study.bench.search_checks import real_check, real_studies, surrogate_check
from cvae_study.study.bench.search_figure import plot_anytime
from cvae_study.study.bench.search_methods import DEFAULT, methods
from cvae_study.study.bench.search_ratios import BUDGETS, anytime, compare
from cvae_study.study.bench.study_curves import REACH, SEARCH_TRIALS
from cvae_study.study.errors import UsageError


def run_search_bench(path: Path, replays: int, workers: int | None = None,
                     real: Path | None = None) -> dict[str, Any]:
    source = search_replays.load_source(path)
    epochs = source.landscape.epochs
    if real is not None:
        if not real.exists():
            raise UsageError(f"--real {real}: no such file (a `bench sweep` JSON)")
        real_studies(json.loads(real.read_text()), epochs, str(real))  # before the replays
    budget = BUDGETS[-1] * SEARCH_TRIALS * epochs
    per_seed = search_replays.replay_seeds(path, replays, budget, workers)
    curves = anytime(per_seed)
    report = {"landscape": {"file": str(path), "configs": len(source.landscape.params),
                            "epochs": epochs, "fixed": source.landscape.header["fixed"]},
              "replays": replays, "workers_per_study": 2, "reach": REACH,
              "methods": {m.name: dataclasses.asdict(m) for m in methods()},
              "surrogate": surrogate_check(source), "budgets": compare(per_seed, epochs)}
    if real is not None:
        report["real_runs"] = real_check(per_seed, json.loads(real.read_text()), epochs,
                                         str(real))
    return {**report, "anytime": curves}


def write(report: dict[str, Any], out: Path) -> Path:
    """The JSON at `out`, its table beside it (OUT.md) and the anytime figure (OUT.png)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=1) + "\n")
    out.with_suffix(".md").write_text(markdown(report))
    figure = out.with_suffix(".png")
    plot_anytime(report, figure)
    return figure


def markdown(report: dict[str, Any]) -> str:
    """Each method's ratio to random search per budget, with its interval, as a table; then
    each variant of the default against the default."""
    budgets = report["budgets"]
    head = " | ".join(f"{factor} ({row['budget_epochs']} epochs)" for factor, row in
                      budgets.items())
    lines = [f"| method | {head} |", "|---|" + "---|" * len(budgets),
             "| random search's expected best | " + " | ".join(
                 f"{row['random_best']:.3f}" for row in budgets.values()) + " |"]
    for name in next(iter(budgets.values()))["methods"]:
        lines.append(f"| {name} | " + " | ".join(
            _cell(row["methods"][name]) for row in budgets.values()) + " |")
    variants = next(iter(budgets.values())).get("versus_default", {})
    if variants:
        lines += ["", f"| epochs over {DEFAULT}'s, paired | {head} |",
                  "|---|" + "---|" * len(budgets)]
        for name in variants:
            lines.append(f"| {name} | " + " | ".join(
                _relative_cell(row["versus_default"][name]) for row in budgets.values()) + " |")
    return "\n".join(lines) + "\n"


def _cell(found: dict[str, Any]) -> str:
    """`ratio (low to high)`; a bound is None where resamples never reach the target."""
    low, high = ("never" if bound is None else f"{bound:.2f}" for bound in found["interval"])
    shown = f"{found['ratio']:.2f}" if found["ratio"] is not None else f"> {found['at_least']:.2f}"
    return f"{shown} ({low} to {high})"


def _relative_cell(found: dict[str, Any]) -> str:
    low, high = ("never" if bound is None else f"{bound:.2f}" for bound in found["interval"])
    median = "never" if found["median"] is None else f"{found['median']:.2f}"
    return f"{median} ({low} to {high}); sooner in {found['sooner_share']:.0%}"
