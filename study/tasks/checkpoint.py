"""Checkpoints as safetensors + JSON: model and optimizer state, counters, RNG, config.

Nothing is pickled, so loading a checkpoint can never run code.
"""

import json
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file

from cvae_study.study.names import CONFIG_FILE, MODEL_FILE, OPTIMIZER_FILE, STATE_FILE


def _optimizer_tensors(optimizer_state: dict) -> tuple[dict[str, torch.Tensor], list]:
    tensors = {}
    for index, slots in optimizer_state["state"].items():
        for slot, value in slots.items():
            if isinstance(value, torch.Tensor):
                tensors[f"{index}.{slot}"] = value.contiguous()
    return tensors, optimizer_state["param_groups"]


def _optimizer_state(tensors: dict[str, torch.Tensor], param_groups: list) -> dict:
    state: dict[int, dict[str, torch.Tensor]] = {}
    for key, value in tensors.items():
        index, slot = key.split(".", 1)
        state.setdefault(int(index), {})[slot] = value
    return {"state": state, "param_groups": param_groups}


def save(directory: str | Path, task_state: dict[str, Any], config_flat: dict, task: str) -> Path:
    """task_state: the Task.state() dict (model, optimizer, rng tensors and JSON counters)."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    model = {k: v.detach().cpu().contiguous() for k, v in task_state["model"].items()}
    save_file(model, directory / MODEL_FILE)
    optimizer_tensors, param_groups = _optimizer_tensors(task_state["optimizer"])
    rng = {f"rng.{k}": v for k, v in task_state["rng"].items()}
    save_file({**{k: v.cpu() for k, v in optimizer_tensors.items()}, **rng},
              directory / OPTIMIZER_FILE)
    counters = {"counters": task_state["counters"], "param_groups": param_groups}
    (directory / STATE_FILE).write_text(json.dumps(counters, indent=2))
    meta = {"task": task, "config": config_flat}
    (directory / CONFIG_FILE).write_text(json.dumps(meta, indent=2))
    return directory


def load(directory: str | Path, device: torch.device | str = "cpu") -> dict[str, Any]:
    """-> {"task", "config" (flat), "state" (a Task.state()-shaped dict)}."""
    directory = Path(directory)
    for name in (MODEL_FILE, OPTIMIZER_FILE, STATE_FILE, CONFIG_FILE):
        if not (directory / name).is_file():
            raise FileNotFoundError(f"{directory / name}: checkpoint file missing")
    saved = json.loads((directory / STATE_FILE).read_text())
    meta = json.loads((directory / CONFIG_FILE).read_text())
    rest = load_file(directory / OPTIMIZER_FILE, device=str(device))
    rng = {k.removeprefix("rng."): v.cpu() for k, v in rest.items() if k.startswith("rng.")}
    optimizer = {k: v for k, v in rest.items() if not k.startswith("rng.")}
    state = {
        "model": load_file(directory / MODEL_FILE, device=str(device)),
        "optimizer": _optimizer_state(optimizer, saved["param_groups"]),
        "rng": rng,
        "counters": saved["counters"],
    }
    return {"task": meta["task"], "config": meta["config"], "state": state}
