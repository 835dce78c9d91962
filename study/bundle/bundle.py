"""A model bundle: the files it holds, the model each task rebuilds from it, loading it.

A bundle is a folder of model.safetensors, config.json (task, full flat config and what the
model's shape needs besides: the vocabulary and tense names, or the frame geometry and
preset), metrics.json and a model card README.md. Loading reads safetensors and JSON only:
nothing is unpickled, so a bundle can never run code.
"""

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file

from cvae_study.datasets import tense
from cvae_study.models.text_cvae import TextCVAE
from cvae_study.models.video_cvae import VideoCVAE
from cvae_study.study import config
from cvae_study.study.errors import UsageError
from cvae_study.study.names import CARD_FILE, CONFIG_FILE, METRICS_FILE, MODEL_FILE, TASKS

BUNDLE_FILES = (MODEL_FILE, CONFIG_FILE, METRICS_FILE, CARD_FILE)
# config.json keys each task's model needs beyond the config
SHAPE_KEYS = {"text": ("max_length",), "video": ("preset", "frame_size", "condition_shape")}


class BundleError(UsageError):
    """A bundle is incomplete or does not fit its config; the message names the file."""


@dataclass
class Bundle:
    task: str
    config: Any  # the task's frozen config
    model: torch.nn.Module
    meta: dict[str, Any]  # config.json as written


def build_model(task: str, cfg: Any, meta: dict[str, Any]) -> torch.nn.Module:
    """The task's model, untrained, in the shape config.json describes."""
    if task == "text":
        return TextCVAE(cfg.model, tense.VOCAB_SIZE, len(tense.TENSES))
    return VideoCVAE(cfg.model, meta["preset"], tuple(meta["frame_size"]),
                     tuple(meta["condition_shape"]))


def load_bundle(folder: str | Path, task_wanted: str | None = None) -> Bundle:
    """A bundle folder -> task, config and model; BundleError naming the file at fault, or
    the folder when its task is not `task_wanted`."""
    folder = Path(folder)
    for name in BUNDLE_FILES:
        if not (folder / name).is_file():
            raise BundleError(f"{folder / name}: missing from the bundle")
    where = folder / CONFIG_FILE
    try:
        meta = json.loads(where.read_text())
        task = meta["task"]
        flat = meta["config"]
    except (json.JSONDecodeError, KeyError, TypeError) as error:
        raise BundleError(f"{where}: not a bundle config ({error})") from None
    if task not in TASKS:
        raise BundleError(f"{where}: unknown task {task!r}; tasks: {', '.join(TASKS)}")
    if task_wanted and task != task_wanted:
        raise BundleError(f"{folder}: a {task} model; this command needs a {task_wanted} model")
    missing = [key for key in SHAPE_KEYS[task] if key not in meta]
    if missing:
        raise BundleError(f"{where}: a {task} bundle needs {', '.join(missing)}")
    try:
        cfg = config.build(task, flat)
        model = build_model(task, cfg, meta)
    except (config.ConfigError, KeyError, ValueError, TypeError) as error:
        raise BundleError(f"{where}: does not describe a {task} model ({error})") from None
    try:
        model.load_state_dict(load_file(folder / MODEL_FILE))
    except Exception as error:  # safetensors' header errors and torch's shape mismatches
        first = str(error).strip().splitlines()[0:3]
        raise BundleError(f"{folder / MODEL_FILE}: does not fit {CONFIG_FILE}: "
                          f"{' '.join(first)}") from None
    model.eval()
    return Bundle(task, cfg, model, meta)
