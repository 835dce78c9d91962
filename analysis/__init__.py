"""MLflow records turned into tables, figures and ablation reports.

For a notebook: `list_studies` and `load_study` (analysis.notebook).
"""

from cvae_study.analysis.notebook import list_studies, load_study

__all__ = ["list_studies", "load_study"]
