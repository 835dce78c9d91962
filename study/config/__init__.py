"""A task's configuration: defaults, then a file, then overrides, validated once.

Nested frozen dataclasses inside (schema.py), flat dotted keys on the wire (engine.py):
`build("text", {"kl.cycles": 4})` is the one way in; `flatten(cfg)` the one way out.
"""

from pathlib import Path
from typing import Any

from cvae_study.study.config import engine
from cvae_study.study.config.engine import (
    ConfigError,
    Overrides,
    flatten,
    flatten_mapping,
    parse_assignments,
    read_file,
    read_mapping,
    set_flags,
    valid_keys,
)
from cvae_study.study.config.schema import CONFIGS, OptimConfig, TextConfig, VideoConfig

__all__ = ["ConfigError", "Overrides", "flatten", "flatten_mapping", "parse_assignments",
           "read_file", "read_mapping", "set_flags", "valid_keys", "CONFIGS", "OptimConfig",
           "TextConfig", "VideoConfig", "build", "load", "describe", "defaults_of"]


def _config_class(task: str):
    if task not in CONFIGS:
        raise ConfigError(f"unknown task {task!r}; tasks: {', '.join(CONFIGS)}")
    return CONFIGS[task]


def build(task: str, overrides: Overrides | None = None):
    """Defaults + flat dotted overrides -> a validated frozen config of the task."""
    return engine.build(_config_class(task), overrides)


def load(task: str, config_file: str | Path | None = None,
         overrides: Overrides | None = None):
    """Defaults, then the file's keys, then `overrides` (e.g. --set), validated once."""
    merged = read_file(config_file) if config_file else {}
    merged.update(overrides or {})
    return build(task, merged)


def describe(task: str) -> str:
    """Every key of a task's config as a Markdown table: type or choices, default, range."""
    return engine.describe(_config_class(task))


def defaults_of(task: str, keys) -> dict[str, Any]:
    """The task's default value of each key: pins keys a study would otherwise search."""
    defaults = flatten(build(task))
    return {key: defaults[key] for key in keys}
