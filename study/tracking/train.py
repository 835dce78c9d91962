"""`cvae-study train`: one run of a task, without Ray, tracked in MLflow by this process.

The Ray Tune trainable runs the same task code; only the tracking differs.
"""

import contextlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tqdm import tqdm

from cvae_study.study import config
from cvae_study.study import names as n
from cvae_study.study.bundle import checkpoint
from cvae_study.study.tasks.base import Diverged, resolve_device
from cvae_study.study.tasks.registry import make_task
from cvae_study.study.tracking.runs import RunLogger, host_tags, provenance_tags

# Metrics shown on the progress bar.
SHOWN = (n.TRAIN_LOSS, n.TRAIN_KL, n.VAL_BLEU4, n.VAL_BLEU4_SEEN, n.VAL_GAUSSIAN, n.VAL_PSNR)


@dataclass
class RunResult:
    outcome: str  # completed | diverged
    run_id: str
    experiment_id: str
    epochs: int
    metrics: dict[str, float] = field(default_factory=dict)  # the last evaluation
    checkpoint: Path | None = None
    message: str = ""


def train(task_name: str, cfg, device_name: str, uri: str, checkpoints: Path,
          experiment: str | None = None, progress: bool = True) -> RunResult:
    """Train cfg.train.epochs epochs, logging each to one MLflow run; at the end, a
    checkpoint in checkpoints/<run id>, logged to the run too."""
    device = resolve_device(device_name)
    task = make_task(task_name, cfg, device)
    flat = config.flatten(cfg)
    logger = RunLogger(uri, experiment or f"train-{task_name}", f"{task_name}-train",
                       {n.TASK: task_name, **host_tags(str(device)), **provenance_tags()})
    logger.params(flat)
    result = RunResult(n.COMPLETED, logger.run_id, logger.experiment_id, 0)
    epochs = tqdm(range(cfg.train.epochs), desc=f"train {task_name}", disable=not progress,
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
                                        task_name)
    logger.json(result.metrics, n.FINAL_METRICS_ARTIFACT)
    logger.artifacts(result.checkpoint, "checkpoint")
    logger.end(n.COMPLETED)
    return result


def summary(result: RunResult, uri: str) -> dict[str, Any]:
    return {
        "outcome": result.outcome,
        "epochs": result.epochs,
        "metrics": {k: round(v, 4) for k, v in result.metrics.items() if not n.is_kl_dim(k)},
        "checkpoint": str(result.checkpoint) if result.checkpoint else None,
        "mlflow": {"tracking_uri": uri, "experiment_id": result.experiment_id,
                   "run_id": result.run_id},
    }
