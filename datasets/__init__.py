"""Data: tense tables and their loaders."""
