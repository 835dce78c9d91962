"""Task names -> task classes, so callers build any task from its config."""

import importlib

import torch

from cvae_study.study.errors import UsageError
from cvae_study.study.tasks.base import Task

# Imported on demand: the text task does not need the video modules, nor the reverse.
MODULES = {"text": ("cvae_study.study.tasks.text", "TextTask"),
           "video": ("cvae_study.study.tasks.video", "VideoTask")}


def task_class(name: str) -> type[Task]:
    if name not in MODULES:
        raise UsageError(f"unknown task {name!r}; tasks: {', '.join(MODULES)}")
    module, cls = MODULES[name]
    return getattr(importlib.import_module(module), cls)


def make_task(name: str, config, device: torch.device) -> Task:
    return task_class(name)(config, device)


def check_data(name: str, config) -> None:
    """Load the task's data once, so bad data fails before a sweep starts any trial."""
    task_class(name).load_data(config.data)
