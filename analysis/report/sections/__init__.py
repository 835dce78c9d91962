"""The report's sections, each building its blocks from values already fetched
(report.inputs): figures are drawn here, nothing is read from MLflow."""
