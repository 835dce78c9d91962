"""What a study cost: the resources Ray held for each trial times its wall time, and the
epochs early stopping spared against running every trial to the end. No Ray here: the
sweep's callbacks and the report both use it."""

from collections.abc import Iterable
from dataclasses import dataclass

from cvae_study.study import names as n

HOUR = 3600.0


def held(cpus: float, gpus: float, seconds: float) -> dict[str, float]:
    """CPU- and GPU-seconds of a trial that held `cpus` and `gpus` for `seconds`."""
    return {n.CPU_SECONDS: cpus * seconds, n.GPU_SECONDS: gpus * seconds}


def trial_cost(trial) -> dict[str, float]:
    """A Tune trial's cost: the resources Ray assigned it x Tune's count of its running time
    (time_total_s, which a restored trial carries on from its checkpoint)."""
    resources = trial.placement_group_factory.required_resources
    seconds = (trial.last_result or {}).get("time_total_s", 0.0)
    return held(resources.get("CPU", 0.0), resources.get("GPU", 0.0), seconds)


@dataclass(frozen=True)
class FinishedTrial:
    outcome: str
    epochs: int
    cost: dict[str, float]  # held()'s CPU- and GPU-seconds


@dataclass(frozen=True)
class StudyCost:
    trials: int
    cpu_seconds: float
    gpu_seconds: float
    epochs_run: int
    epochs_saved: int  # by trials stopped early, against running them to max_epochs
    stopped_early: int

    def metrics(self) -> dict[str, float]:
        """The parent run's cost metrics."""
        return {n.CPU_HOURS: self.cpu_seconds / HOUR, n.GPU_HOURS: self.gpu_seconds / HOUR,
                n.EPOCHS_RUN: self.epochs_run, n.EPOCHS_SAVED: self.epochs_saved}

    @classmethod
    def from_metrics(cls, metrics: dict[str, float], trials: int,
                     stopped_early: int) -> "StudyCost":
        """A study's cost as its parent run recorded it (metrics())."""
        return cls(trials, metrics[n.CPU_HOURS] * HOUR, metrics[n.GPU_HOURS] * HOUR,
                   int(metrics[n.EPOCHS_RUN]), int(metrics[n.EPOCHS_SAVED]), stopped_early)

    def sentence(self) -> str:
        hours = f"{self.cpu_seconds / HOUR:.2f} CPU-hours"
        if self.gpu_seconds:
            hours += f" and {self.gpu_seconds / HOUR:.2f} GPU-hours"
        full = self.epochs_run + self.epochs_saved
        saved = (f"early stopping ended {self.stopped_early} of {self.trials} trials early, "
                 f"sparing {self.epochs_saved} of {full} epochs "
                 f"({self.epochs_saved / full:.0%})" if self.stopped_early and full
                 else "no trial was stopped early")
        return f"cost: {hours} held; {saved}"


def study_cost(trials: Iterable[FinishedTrial], max_epochs: int) -> StudyCost:
    trials = list(trials)
    stopped = [t for t in trials if t.outcome == n.STOPPED_EARLY]
    return StudyCost(
        trials=len(trials),
        cpu_seconds=sum(t.cost[n.CPU_SECONDS] for t in trials),
        gpu_seconds=sum(t.cost[n.GPU_SECONDS] for t in trials),
        epochs_run=sum(t.epochs for t in trials),
        epochs_saved=sum(max(0, max_epochs - t.epochs) for t in stopped),
        stopped_early=len(stopped))
