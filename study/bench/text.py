"""`cvae-study bench text`: speed and time to quality of a configuration on this machine.

Speed: seconds per epoch, training words per second, and the model FLOP/s the training
step achieves against the FLOP/s of a plain fp32 matmul measured in the same process.
Quality: wall time until one checkpoint passes the quality bar on the lab's protocol.
"""

import time
from typing import Any

from torch.utils.flop_counter import FlopCounterMode

from cvae_study.study import names as n
from cvae_study.study.bench.timing import machine, matmul_flops_per_second, sync
from cvae_study.study.tasks.base import resolve_device
from cvae_study.study.tasks.registry import make_task

# The default configuration must beat the best lab reports: BLEU-4 0.93 / Gaussian 0.32
# and 0.85 / 0.40, at one checkpoint.
QUALITY_BAR = {n.VAL_BLEU4_SEEN: 0.90, n.VAL_GAUSSIAN: 0.40}


def flops_per_training_step(task) -> int:
    """FLOPs of one teacher-forced training step (forward + backward), counted by torch."""
    batch = next(iter(task.batches()))
    with FlopCounterMode(display=False) as counter:
        loss, _, _ = task.training_loss(batch, beta=1.0, teacher_forced=True)
        loss.backward()
    task.optimizer.zero_grad(set_to_none=True)
    return counter.get_total_flops()


def meets_bar(metrics: dict[str, float]) -> bool:
    return all(metrics[key] >= bar for key, bar in QUALITY_BAR.items())


def run_text_bench(task_name: str, cfg, device_name: str, minutes: float) -> dict[str, Any]:
    device = resolve_device(device_name)
    step_flops = flops_per_training_step(make_task(task_name, cfg, device))
    peak = matmul_flops_per_second(device)
    task = make_task(task_name, cfg, device)
    started = time.perf_counter()
    history, train_seconds, reached = train_timed(task, device, cfg.train.epochs, minutes,
                                                  started)
    epochs = len(history)
    words = len(task.data.train) * 4 * epochs
    model_flops = step_flops * task.steps_per_epoch * epochs / train_seconds
    # The last checkpoint on every verb, with a tighter Gaussian-score estimate.
    final = {k: round(v, 4) for k, v in task.evaluate(exhaustive=True).metrics.items()
             if not n.is_kl_dim(k)}
    return {
        "task": task_name,
        **machine(device),
        "epochs": epochs,
        "seconds_per_epoch": round(train_seconds / epochs, 2),
        "train_words_per_second": round(words / train_seconds),
        "model_gflops_per_second": round(model_flops / 1e9, 2),
        "matmul_gflops_per_second": round(peak / 1e9, 2),
        "flops_ratio": round(model_flops / peak, 4),
        "quality_bar": QUALITY_BAR,
        "time_to_quality": reached,
        "total_wall_s": round(time.perf_counter() - started, 1),
        "final": final,
        "history": history,
    }


def train_timed(task, device, epochs: int, minutes: float,
                started: float) -> tuple[list[dict], float, dict | None]:
    """Train and evaluate epoch by epoch until `epochs` or `minutes` -> (each epoch's row,
    the seconds spent training alone, the first epoch past the quality bar or None)."""
    history, train_seconds, reached = [], 0.0, None
    for epoch in range(epochs):
        tick = time.perf_counter()
        metrics = task.train_epoch()
        sync(device)  # the device's queued work belongs to this epoch's training time
        train_seconds += time.perf_counter() - tick
        metrics.update(task.evaluate().metrics)
        wall = time.perf_counter() - started
        row = {"epoch": epoch + 1, "wall_s": round(wall, 1)}
        row.update({k: round(v, 4) for k, v in metrics.items() if not n.is_kl_dim(k)})
        history.append(row)
        print(row, flush=True)
        if reached is None and meets_bar(metrics):
            reached = {"epoch": epoch + 1, "wall_s": round(wall, 1), **{
                k: round(metrics[k], 4) for k in (*QUALITY_BAR, n.VAL_BLEU4, n.VAL_MORPH)}}
        if wall > minutes * 60:
            break
    return history, train_seconds, reached
