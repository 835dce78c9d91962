"""`cvae-study report NAME`: fetch, build, render, write, log.

Everything the report needs from MLflow is fetched first (inputs), the sections are built
from it (build), rendered as HTML and Markdown, and written: out/index.html (figures
embedded: it opens offline as one file), out/report.md and the PNGs it links under
out/figures/. The folder is logged to the study's parent run as well.
"""

from pathlib import Path

from cvae_study.analysis.report.build import build_blocks
from cvae_study.analysis.report.document import Block, Image, image_path
from cvae_study.analysis.report.html_page import to_html
from cvae_study.analysis.report.inputs import fetch_inputs
from cvae_study.analysis.report.markdown_page import to_markdown
from cvae_study.study.name_checks import check_folder
from cvae_study.study.tracking.store import open_client


def write_pages(blocks: list[Block], out: Path, title: str) -> dict[str, Path]:
    """The figures' PNGs, then the two pages; -> the pages' paths ("html", "markdown")."""
    out.mkdir(parents=True, exist_ok=True)
    for image in (block for block in blocks if isinstance(block, Image)):
        path = out / image_path(image)
        path.parent.mkdir(exist_ok=True)
        path.write_bytes(image.png)
    paths = {"html": out / "index.html", "markdown": out / "report.md"}
    paths["html"].write_text(to_html(blocks, title))
    paths["markdown"].write_text(to_markdown(blocks))
    return paths


def write_report(uri: str, name: str, out: Path, log_to_mlflow: bool = True,
                 pareto: str | None = None, baseline: str | None = None) -> dict[str, Path]:
    """Write out/index.html, out/report.md and out/figures/; log them to the parent run.
    pareto: `--pareto M1,M2`, metrics whose front to draw; baseline: `--baseline NAME`, the
    random-search study to compare a study of several objectives with (default: found).
    -> the pages' paths ("html", "markdown")."""
    check_folder(out, "--out")
    inputs = fetch_inputs(uri, name, pareto, baseline)
    paths = write_pages(build_blocks(inputs), out, f"Study {name}")
    if log_to_mlflow:
        open_client(uri).log_artifacts(inputs.study.parent.info.run_id, str(out),
                                       artifact_path="report")
    return paths
