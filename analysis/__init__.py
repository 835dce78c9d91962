"""MLflow records turned into tables, figures and ablation reports."""
