"""Task names -> task classes, so callers build any task from its config."""

import torch

from cvae_study.study.tasks.base import Task


def make_task(name: str, config, device: torch.device) -> Task:
    if name == "text":
        from cvae_study.study.tasks.text import TextTask

        return TextTask(config, device)
    raise ValueError(f"unknown task {name!r}; tasks: text")


def check_data(name: str, config) -> None:
    """Load the task's data once, so bad data fails before a sweep starts any trial."""
    if name == "text":
        from cvae_study.study.tasks.text import load_data

        load_data(config.data)
        return
    raise ValueError(f"unknown task {name!r}; tasks: text")
