"""KL-weight, teacher-forcing and learning-rate schedules: pure functions of the step / epoch
and a config.

A resumed run needs only its step counter to pick up its schedules where it stopped.
"""

import math
from dataclasses import dataclass, field
from typing import Literal

# Field metadata "low" / "high" / "low_open" bounds are checked by study.config, naming the key.


@dataclass(frozen=True)
class KLConfig:
    # none: constant max_weight; monotonic: linear warm-up over warmup_steps then hold;
    # cyclical (Fu et al. 2019): `cycles` cycles over the run, rising over `ratio` of each.
    schedule: Literal["none", "monotonic", "cyclical"] = "monotonic"
    max_weight: float = field(default=2.0, metadata={"low": 0.0, "high": 10.0})
    warmup_steps: int = field(default=500, metadata={"low": 1})
    cycles: int = field(default=4, metadata={"low": 1, "high": 1000})
    ratio: float = field(default=0.5, metadata={"low": 0.0, "high": 1.0, "low_open": True})
    # Per-dimension KL floor in nats (free bits, Kingma et al. 2016); 0 disables it.
    free_bits: float = field(default=0.3, metadata={"low": 0.0, "high": 10.0})
    # KL capacity target in nats (Burgess et al. 2018): the loss pays |KL - capacity|
    # instead of the KL; 0 disables it.
    capacity: float = field(default=0.0, metadata={"low": 0.0, "high": 1000.0})


@dataclass(frozen=True)
class TeacherForcingConfig:
    # the ratio before decay_start
    start: float = field(default=1.0, metadata={"low": 0.0, "high": 1.0})
    decay_start: int = field(default=0, metadata={"low": 0})  # first epoch that decays
    # subtracted from the ratio once per epoch from decay_start on
    decay_step: float = field(default=0.0, metadata={"low": 0.0, "high": 1.0})
    floor: float = field(default=0.0, metadata={"low": 0.0, "high": 1.0})


def kl_weight(step: int, cfg: KLConfig, total_steps: int) -> float:
    """KL weight at optimiser step `step` (0-based) of a run of `total_steps` steps."""
    if cfg.schedule == "none":
        return cfg.max_weight
    if cfg.schedule == "monotonic":
        return cfg.max_weight * min(1.0, step / cfg.warmup_steps)
    # Position within the current cycle in [0, 1), in whole-step arithmetic so that a
    # cycle starting on a step starts at exactly 0 (float modulo drifts).
    position = (step * cfg.cycles) % total_steps / total_steps
    return cfg.max_weight * min(1.0, position / cfg.ratio)


def learning_rate(step: int, optim, total_steps: int) -> float:
    """The learning rate at optimiser step `step` (0-based): a pure function of the step,
    like the KL schedule, so a resumed run needs no scheduler state."""
    if optim.lr_decay == "none":
        return optim.lr
    progress = min(step, total_steps) / total_steps
    return 0.5 * optim.lr * (1.0 + math.cos(math.pi * progress))


def cycle_boundaries(cfg: KLConfig, total_steps: int) -> list[int]:
    """Steps at which each KL cycle ends (only the run's end when not cyclical)."""
    if cfg.schedule != "cyclical":
        return [total_steps]
    # Cycle k + 1 starts at the first step s with s * cycles >= (k + 1) * total_steps.
    return [-(-(k + 1) * total_steps // cfg.cycles) for k in range(cfg.cycles)]


def teacher_forcing_ratio(epoch: int, cfg: TeacherForcingConfig) -> float:
    """Probability of feeding the ground-truth token at epoch `epoch` (0-based)."""
    decayed = cfg.start - cfg.decay_step * max(0, epoch - cfg.decay_start + 1)
    return max(cfg.floor, min(cfg.start, decayed))


def comparison_epochs(cfg: KLConfig, steps_per_epoch: int, epochs: int) -> list[int]:
    """Epoch counts (1-based) after which a run may be compared with others: every epoch,
    or with a cyclical schedule only the epochs in which a KL cycle ends, because a score
    taken mid-cycle (at a low KL weight) is not comparable with one taken at full weight."""
    if cfg.schedule != "cyclical":
        return list(range(1, epochs + 1))
    boundaries = cycle_boundaries(cfg, steps_per_epoch * epochs)
    return sorted({-(-boundary // steps_per_epoch) for boundary in boundaries})  # ceil
