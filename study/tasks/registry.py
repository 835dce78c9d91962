"""Task names -> task classes, so callers build any task from its config."""

import importlib

import torch

from cvae_study.study.errors import UsageError
from cvae_study.study.tasks.base import Task

# Imported on demand: the text task does not need the video modules, nor the reverse.
MODULES = {"text": ("cvae_study.study.tasks.text", "TextTask"),
           "video": ("cvae_study.study.tasks.video", "VideoTask")}


def _module(name: str):
    if name not in MODULES:
        raise UsageError(f"unknown task {name!r}; tasks: {', '.join(MODULES)}")
    return importlib.import_module(MODULES[name][0])


def make_task(name: str, config, device: torch.device) -> Task:
    return getattr(_module(name), MODULES[name][1])(config, device)


def check_data(name: str, config) -> None:
    """Load the task's data once, so bad data fails before a sweep starts any trial."""
    _module(name).load_data(config.data)
