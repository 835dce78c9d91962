"""The task contract: train an epoch, evaluate, save and load state. No Ray, no MLflow.

A task trains, evaluates and samples; its caller (`train`, the trainable, `bench`) does the
tracking, so the same task runs on a machine that has only torch.
"""

import math
from abc import ABC, abstractmethod
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import torch

from cvae_study.models.schedules import kl_weight, learning_rate, teacher_forcing_ratio
from cvae_study.study import names as n
from cvae_study.study.errors import UsageError

SAMPLE_SEED = 1234  # the prior's draws are the same at every evaluation


class Diverged(RuntimeError):
    """The training loss became NaN or infinite; what was logged before stays valid."""


@dataclass
class Evaluation:
    metrics: dict[str, float]  # names.py's val/... metrics
    samples: dict[str, Any] = field(default_factory=dict)  # JSON-ready; images under IMAGES


class Task(ABC):
    """The epoch loop and checkpoint state of a task. A task sets config (with kl, tf, optim
    and train sections), device, model, optimizer, generator, steps_per_epoch, step and
    epoch, and defines batches(), training_loss() and evaluate()."""

    name: str
    config: Any
    device: torch.device
    model: torch.nn.Module
    optimizer: torch.optim.Optimizer
    generator: torch.Generator  # every random draw of training: batches, coin flips
    steps_per_epoch: int  # optimiser steps an epoch, for the schedules and their cycles
    step: int
    epoch: int  # epochs completed

    def __init__(self, config, device: torch.device, data=None):
        """What every task starts from. The global seed is set before a subclass builds its
        model, so the initial weights are the seed's; `generator` is training's own."""
        self.config = config
        self.device = device
        torch.manual_seed(config.train.seed)
        self.data = data if data is not None else self.load_data(config.data)
        self.generator = torch.Generator().manual_seed(config.train.seed)
        self.step = 0
        self.epoch = 0

    @staticmethod
    @abstractmethod
    def load_data(data_config) -> Any:
        """The task's data from its config's data section (registry.check_data calls it)."""

    @abstractmethod
    def batches(self) -> Iterable[Any]:
        """One epoch of batches, drawn with self.generator."""

    @abstractmethod
    def training_loss(self, batch, beta: float, teacher_forced: bool):
        """-> loss, recon, true KL (scalars) of one batch."""

    @abstractmethod
    def evaluate(self, exhaustive: bool = False) -> Evaluation:
        """Validation metrics and samples of the model as it is now."""

    def train_epoch(self) -> dict[str, float]:
        cfg = self.config
        self.model.train()
        tf_ratio = teacher_forcing_ratio(self.epoch, cfg.tf)
        total_steps = self.steps_per_epoch * cfg.train.epochs
        totals = {n.TRAIN_LOSS: 0.0, n.TRAIN_RECON: 0.0, n.TRAIN_KL: 0.0, n.TRAIN_KL_WEIGHT: 0.0}
        for batch in self.batches():
            beta = kl_weight(self.step, cfg.kl, total_steps)
            lr = learning_rate(self.step, cfg.optim, total_steps)
            for group in self.optimizer.param_groups:
                group["lr"] = lr
            teacher_forced = torch.rand((), generator=self.generator).item() < tf_ratio
            loss, recon, kl = self.train_step(batch, beta, teacher_forced)
            for key, value in ((n.TRAIN_LOSS, loss), (n.TRAIN_RECON, recon), (n.TRAIN_KL, kl)):
                totals[key] += value.item()
            totals[n.TRAIN_KL_WEIGHT] += beta
        self.epoch += 1
        metrics = {key: value / self.steps_per_epoch for key, value in totals.items()}
        metrics[n.TRAIN_TF_RATIO] = tf_ratio
        metrics[n.TRAIN_LR] = lr
        return metrics

    def train_step(self, batch, beta: float, teacher_forced: bool):
        """One optimiser step on a batch -> its loss, recon and KL."""
        with torch.autocast(self.device.type, dtype=torch.bfloat16,
                            enabled=self.config.train.precision == "bf16"):
            loss, recon, kl = self.training_loss(batch, beta, teacher_forced)
        check_finite(loss, self.step)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if self.config.optim.grad_clip > 0:
            torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.config.optim.grad_clip)
        self.optimizer.step()
        self.step += 1
        return loss, recon, kl

    def state(self) -> dict[str, Any]:
        return {
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "rng": {"torch": torch.get_rng_state(), "batches": self.generator.get_state()},
            "counters": {"step": self.step, "epoch": self.epoch},
        }

    def load_state(self, state: dict[str, Any]) -> None:
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        torch.set_rng_state(state["rng"]["torch"])
        self.generator.set_state(state["rng"]["batches"])
        self.step = state["counters"]["step"]
        self.epoch = state["counters"]["epoch"]


def resolve_device(name: str) -> torch.device:
    """auto -> cuda when a GPU is visible, else cpu; cuda without a GPU is an error."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise UsageError("--device cuda: no CUDA GPU is visible to torch on this machine")
    if name not in ("cpu", "cuda"):
        raise UsageError(f"--device {name!r}: expected auto, cpu or cuda")
    return torch.device(name)


def check_finite(loss: torch.Tensor, step: int) -> None:
    value = loss.item()
    if not math.isfinite(value):
        raise Diverged(f"training loss became {value} at step {step}; stopping this run")


def build_optimizer(name: str, parameters, lr: float) -> torch.optim.Optimizer:
    if name == "sgd":
        return torch.optim.SGD(parameters, lr=lr)
    return torch.optim.Adam(parameters, lr=lr)
