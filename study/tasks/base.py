"""What every task shares: the interface its callers use, device choice, divergence."""

import math
from typing import Any, Protocol

import torch


class Diverged(RuntimeError):
    """The training loss became NaN or infinite; what was logged before stays valid."""


class Task(Protocol):
    """A task trains, evaluates and samples; its caller (CLI, trainable, bench) tracks."""

    name: str
    epoch: int  # epochs completed
    steps_per_epoch: int  # optimiser steps an epoch, for the schedules and their cycles
    device: torch.device
    model: torch.nn.Module
    optimizer: torch.optim.Optimizer

    def train_epoch(self) -> dict[str, float]: ...
    def evaluate(self, exhaustive: bool = False) -> dict[str, float]: ...
    def samples(self) -> dict[str, Any]: ...
    def state(self) -> dict[str, Any]: ...
    def load_state(self, state: dict[str, Any]) -> None: ...


def resolve_device(name: str) -> torch.device:
    """auto -> cuda when a GPU is visible, else cpu; cuda without a GPU is an error."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise ValueError("--device cuda: no CUDA GPU is visible to torch on this machine")
    if name not in ("cpu", "cuda"):
        raise ValueError(f"--device {name!r}: expected auto, cpu or cuda")
    return torch.device(name)


def check_finite(loss: torch.Tensor, step: int) -> None:
    value = loss.item()
    if not math.isfinite(value):
        raise Diverged(f"training loss became {value} at step {step}; stopping this run")


def build_optimizer(name: str, parameters, lr: float) -> torch.optim.Optimizer:
    if name == "sgd":
        return torch.optim.SGD(parameters, lr=lr)
    return torch.optim.Adam(parameters, lr=lr)
