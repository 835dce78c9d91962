"""`cvae-study bench video`: training speed of both presets, and the quality targets.

Speed: training clips per second of the svg and cpu presets on this device (on a GPU also
with bf16 mixed precision), and what that makes one epoch of a BAIR-sized data set (44,000
sequences of 30 frames). Quality: the
default `train video` configuration on each synthetic data set, trained for its epochs and
judged on every validation clip against copying the last observed frame (target: at least
3 dB better) and against predicting with other clips' conditions (at least 1 dB better).
"""

import time
from typing import Any

import torch

from cvae_study.study import config
from cvae_study.study import names as n
from cvae_study.study.bench.timing import machine, sync
from cvae_study.study.config import Overrides
from cvae_study.study.tasks.base import resolve_device
from cvae_study.study.tasks.video import VideoTask

BAIR_SEQUENCES = 44_000
GAIN_OVER_COPY_DB = 3.0
CONDITION_GAIN_DB = 1.0


def training_speed(preset: str, precision: str, device: torch.device, steps: int,
                   overrides: Overrides) -> dict[str, Any]:
    """Clips per second over `steps` timed optimiser steps, after two warm-up steps."""
    cfg = config.build("video", {**overrides, "model.preset": preset,
                                 "train.precision": precision})
    task = VideoTask(cfg, device)
    batches = iter(task.batches())
    for _ in range(2):
        task.train_step(next(batches), 1.0, True)
    sync(device)
    start = time.perf_counter()
    clips = 0
    for _ in range(steps):
        batch = next(batches)
        task.train_step(batch, 1.0, True)
        clips += len(batch)
    sync(device)
    seconds = time.perf_counter() - start
    per_sequence = 30 // (cfg.data.n_past + cfg.data.future_frames)  # clips of a sequence
    return {
        "preset": preset,
        "precision": precision,
        "parameters": sum(p.numel() for p in task.model.parameters()),
        "batch_size": cfg.train.batch_size,
        "clip_frames": cfg.data.n_past + cfg.data.future_frames,
        "train_clips_per_second": round(clips / seconds, 2),
        "bair_epoch_minutes": round(BAIR_SEQUENCES * per_sequence / (clips / seconds) / 60, 1),
    }


def quality(kind: str, device: torch.device, overrides: Overrides) -> dict[str, Any]:
    """The default configuration on the kind's synthetic data, its epochs, then every clip."""
    cfg = config.build("video", {**overrides, "data.kind": kind})
    started = time.perf_counter()
    task = VideoTask(cfg, device)
    history = []
    for _ in range(cfg.train.epochs):
        metrics = task.train_epoch()
        metrics.update(task.evaluate().metrics)
        row = {"epoch": task.epoch, "wall_s": round(time.perf_counter() - started, 1),
               **{k: round(metrics[k], 3) for k in (n.TRAIN_LOSS, n.TRAIN_KL, n.VAL_PSNR,
                                                     n.VAL_PSNR_COPY_LAST,
                                                     n.VAL_PSNR_OTHER_CONDITION)}}
        history.append(row)
        print(row, flush=True)
    evaluation = task.evaluate(exhaustive=True)
    final = evaluation.metrics
    gain = final[n.VAL_PSNR] - final[n.VAL_PSNR_COPY_LAST]
    condition_gain = final[n.VAL_PSNR] - final[n.VAL_PSNR_OTHER_CONDITION]
    return {
        "data": kind,
        "preset": task.preset,
        "epochs": task.epoch,
        "wall_s": round(time.perf_counter() - started, 1),
        "validation_clips": evaluation.samples["clips"],
        "psnr": round(final[n.VAL_PSNR], 2),
        "psnr_copy_last": round(final[n.VAL_PSNR_COPY_LAST], 2),
        "psnr_other_condition": round(final[n.VAL_PSNR_OTHER_CONDITION], 2),
        "gain_over_copy_db": round(gain, 2),
        "condition_gain_db": round(condition_gain, 2),
        "meets_targets": gain >= GAIN_OVER_COPY_DB and condition_gain >= CONDITION_GAIN_DB,
        "psnr_per_frame": evaluation.samples["psnr_per_frame"],
        "history": history,
    }


def run_video_bench(device_name: str, overrides: Overrides, steps: int,
                    kinds: list[str]) -> dict[str, Any]:
    device = resolve_device(device_name)
    # bf16 autocast pays on a GPU's tensor cores; on a CPU without them it only adds casts.
    precisions = ("fp32", "bf16") if device.type == "cuda" else ("fp32",)
    return {
        "task": "video",
        **machine(device),
        "speed": [training_speed(preset, precision, device, steps, overrides)
                  for preset in ("cpu", "svg") for precision in precisions],
        "quality": [quality(kind, device, overrides) for kind in kinds],
    }
