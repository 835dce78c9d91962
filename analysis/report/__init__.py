"""A study's report, as HTML and as Markdown: `write_report` (report.write), the entry of
`cvae-study report`.

inputs fetches what the report reads from MLflow; sections/ build the document's blocks
(document) from it, build puts them in order; html_page and markdown_page render them.
"""

from cvae_study.analysis.report.write import write_report

__all__ = ["write_report"]
