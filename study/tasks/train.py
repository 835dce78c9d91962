"""`cvae-study train`'s loop: one run of a task, without Ray, recorded through the
`RunRecorder` its caller passes (the command gives it an MLflow run, tracking.runs).

The Ray Tune trainable runs the same task code; only the tracking differs. No MLflow here,
so the loop runs on a machine that has torch only.
"""

import contextlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from tqdm import tqdm

from cvae_study.study import config
from cvae_study.study import names as n
from cvae_study.study.tasks import checkpoint
from cvae_study.study.tasks.base import Diverged, Task

# Metrics shown on the progress bar.
SHOWN = (n.TRAIN_LOSS, n.TRAIN_KL, n.VAL_BLEU4, n.VAL_BLEU4_SEEN, n.VAL_GAUSSIAN, n.VAL_PSNR)


class RunRecorder(Protocol):
    """Where one run's params, epochs, samples and outcome go (tracking.runs.RunLogger)."""

    run_id: str
    experiment_id: str

    def params(self, flat_config: dict[str, Any]) -> None: ...
    def epoch(self, epoch: int, metrics: dict[str, float]) -> None: ...
    def samples(self, samples: dict[str, Any], epoch: int) -> None: ...
    def json(self, data: dict[str, Any], path: str) -> None: ...
    def artifacts(self, directory: Path, path: str) -> None: ...
    def end(self, outcome: str) -> None: ...


@dataclass
class RunResult:
    outcome: str  # completed | diverged
    run_id: str
    experiment_id: str
    epochs: int
    metrics: dict[str, float] = field(default_factory=dict)  # the last evaluation
    checkpoint: Path | None = None
    message: str = ""


def train(task: Task, logger: RunRecorder, checkpoints: Path, progress: bool = True
          ) -> RunResult:
    """Train the task's configured epochs, recording each through `logger`; at the end, a
    checkpoint in checkpoints/<run id>, recorded too."""
    flat = config.flatten(task.config)
    logger.params(flat)
    result = RunResult(n.COMPLETED, logger.run_id, logger.experiment_id, 0)
    epochs = tqdm(range(task.config.train.epochs), desc=f"train {task.name}", disable=not progress,
                  unit="epoch")
    try:
        for _ in epochs:
            metrics = task.train_epoch()
            evaluation = task.evaluate()
            metrics.update(evaluation.metrics)
            logger.epoch(task.epoch, metrics)  # step = epochs completed, as in a sweep
            logger.samples(evaluation.samples, task.epoch)
            result.metrics, result.epochs = metrics, task.epoch
            epochs.set_postfix({k.split("/")[1]: round(v, 3) for k, v in metrics.items()
                                if k in SHOWN})
    except Diverged as error:
        result.outcome, result.message = n.DIVERGED, str(error)
        logger.end(n.DIVERGED)
        return result
    except BaseException as error:
        # Best effort: on a full disk the store cannot take the tag either, and the error
        # that stopped the run is the one to report.
        with contextlib.suppress(Exception):
            logger.end(n.INTERRUPTED if isinstance(error, KeyboardInterrupt) else n.ERRORED)
        raise
    result.checkpoint = checkpoint.save(checkpoints / logger.run_id, task.state(), flat,
                                        task.name)
    logger.json(result.metrics, n.FINAL_METRICS_ARTIFACT)
    logger.artifacts(result.checkpoint, "checkpoint")
    logger.end(n.COMPLETED)
    return result
