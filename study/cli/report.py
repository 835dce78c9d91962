"""`cvae-study report NAME`: a study's report, HTML and Markdown, from its MLflow records
(analysis: read, computed, drawn, rendered; logged back to the study's parent run)."""

import argparse
from pathlib import Path

from cvae_study.study.cli import flags
from cvae_study.study.tracking.workdir import Workspace


def add_parser(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser("report", help="a study's ablation report (HTML + Markdown)")
    parser.add_argument("name")
    parser.add_argument("--out", type=Path, help="folder (default WORKDIR/reports/NAME)")
    parser.add_argument("--pareto", metavar="M1,M2", help="also the Pareto front of these "
                        "metrics (two or more of the task's, comma-separated), from the "
                        "trials' final values: val/bleu4,val/gaussian")
    parser.add_argument("--baseline", metavar="STUDY", help="a study of several objectives: "
                        "the random-search study of the same task, objectives and budget to "
                        "compare its hypervolume with (default: the latest in the store)")
    flags.add_store(parser)
    parser.set_defaults(run=_run)


def _run(args: argparse.Namespace) -> int:
    out = args.out.expanduser().resolve() if args.out else None
    paths = report(flags.workspace(args), args.name, out=out, pareto=args.pareto,
                   baseline=args.baseline)
    print(f"Report: {paths['html']}\nMarkdown: {paths['markdown']}")
    return 0


def report(where: Workspace, name: str, *, out: Path | None = None, pareto: str | None = None,
           baseline: str | None = None) -> dict[str, Path]:
    """Study `name`'s report -> its paths ("html", "markdown"). out: its folder (default
    WORKDIR/reports/NAME); pareto: --pareto M1,M2 (also the front of these metrics);
    baseline: --baseline STUDY (the random-search study a study of several objectives is
    compared with)."""
    from cvae_study.analysis.report import write_report

    return write_report(where.tracking_uri, name, out or where.workdir / "reports" / name,
                        pareto=pareto, baseline=baseline)
