"""The video CVAE task: future frames conditioned on robot actions or on poses. No Ray, no
MLflow.

A split's sequences are concatenated along time into one uint8 tensor (on the task's device),
so a batch of clips is a single gather of windows that never cross a sequence's end.
"""

import base64
import io
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image

from cvae_study.datasets import synthetic, video
from cvae_study.models.vae import gaussian_kl, kl_penalty
from cvae_study.models.video_cvae import VideoCVAE, resolve_preset
from cvae_study.study import names as n
from cvae_study.study import scoring
from cvae_study.study.config.schema import VideoConfig, VideoDataConfig
from cvae_study.study.tasks.base import SAMPLE_SEED, Evaluation, Task, build_optimizer

VALIDATION_SPLIT = {"pushing": "validate", "dance": "val"}


@dataclass(frozen=True)
class VideoData:
    train: video.VideoSplit
    val: video.VideoSplit
    root: Path


def data_root(cfg: VideoDataConfig) -> Path:
    """A real data set's folder, or the synthetic one (written on first use)."""
    if cfg.dir:
        return Path(cfg.dir).expanduser()
    return synthetic.default_dataset(cfg.kind, cfg.sequences, cfg.seed)


def load_data(cfg: VideoDataConfig) -> VideoData:
    root = data_root(cfg)
    clip = cfg.n_past + cfg.future_frames
    return VideoData(train=video.load_split(cfg.kind, root, "train", clip),
                     val=video.load_split(cfg.kind, root, VALIDATION_SPLIT[cfg.kind], clip),
                     root=root)


class Clips:
    """Every sequence of a split end to end on one device; clips are windows of it."""

    def __init__(self, split: video.VideoSplit, length: int, device: torch.device):
        self.frames = torch.cat(split.frames).to(device)  # (F, 3, H, W) uint8
        self.conditions = torch.cat(split.conditions).to(device)  # (F, 7) or (F, 3, H, W)
        lengths = torch.tensor([len(f) for f in split.frames])
        self.offsets = torch.cumsum(lengths, 0) - lengths  # first frame of each sequence
        self.lengths = lengths
        self.length = length  # frames a clip

    def random_starts(self, generator: torch.Generator) -> torch.Tensor:
        """An epoch: each sequence gives T_i // length clips at random places in it."""
        sequence = torch.repeat_interleave(torch.arange(len(self.lengths)),
                                           self.lengths // self.length)
        room = (self.lengths - self.length + 1)[sequence]
        place = (torch.rand(len(sequence), generator=generator) * room).long()
        return (self.offsets[sequence] + place)[torch.randperm(len(sequence),
                                                               generator=generator)]

    def tiled_starts(self) -> torch.Tensor:
        """Non-overlapping clips from the start of each sequence: the validation clips."""
        return torch.cat([offset + torch.arange(0, int(n) - self.length + 1, self.length)
                          for offset, n in zip(self.offsets, self.lengths, strict=True)])

    def gather(self, starts: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """starts (B,) -> frames (B, T, 3, H, W) float in [0, 1], conditions (B, T, ...)."""
        index = starts.to(self.frames.device)[:, None] + torch.arange(
            self.length, device=self.frames.device)
        frames = self.frames[index].float() / 255
        conditions = self.conditions[index]
        if conditions.dtype == torch.uint8:  # pose images
            conditions = conditions.float() / 255
        return frames, conditions


def strip_png(truth: torch.Tensor, predicted: torch.Tensor) -> bytes:
    """Clips as rows of ground truth over their prediction: truth (K, T, 3, H, W), predicted
    (K, T - 1, 3, H, W) of x_1 .. x_{T-1}; the first frame's prediction cell stays black."""
    k, length, _, height, width = truth.shape
    blank = torch.zeros_like(truth[:, :1])
    rows = torch.stack([truth, torch.cat([blank, predicted], dim=1)], dim=1)  # (K, 2, T, ...)
    grid = rows.permute(0, 1, 4, 2, 5, 3).reshape(k * 2 * height, length * width, 3)
    pixels = (grid.clamp(0, 1) * 255).round().to(torch.uint8).cpu().numpy()
    buffer = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(pixels)).save(buffer, format="PNG")
    return buffer.getvalue()


@torch.no_grad()
def predict(model: VideoCVAE, frames: torch.Tensor, conditions: torch.Tensor,
            n_past: int) -> torch.Tensor:
    """Clips (B, T, ...) -> predicted frames x_1 .. x_{T-1} (B, T - 1, 3, H, W): the first
    n_past frames observed, the rest from the prior's draws, the same at every call."""
    model.eval()
    noise = torch.Generator().manual_seed(SAMPLE_SEED)
    return model.unroll(frames, conditions, n_past, from_prior=True, noise=noise).frames


class VideoTask(Task):
    name = "video"
    load_data = staticmethod(load_data)

    def __init__(self, config: VideoConfig, device: torch.device, data: VideoData = None):
        super().__init__(config, device, data)
        self.n_past = config.data.n_past
        length = self.n_past + config.data.future_frames
        self.train_clips = Clips(self.data.train, length, device)
        self.val_clips = Clips(self.data.val, length, device)
        self.preset = resolve_preset(config.model, device)
        frame_size = tuple(self.train_clips.frames.shape[-2:])
        condition_shape = tuple(self.train_clips.conditions.shape[1:])
        self.model = VideoCVAE(config.model, self.preset, frame_size, condition_shape).to(device)
        self.optimizer = build_optimizer(config.optim.name, self.model.parameters(),
                                         config.optim.lr)
        clips_per_epoch = int((self.train_clips.lengths // length).sum())
        self.steps_per_epoch = math.ceil(clips_per_epoch / config.train.batch_size)
        self._eval_starts = self._pick_eval_starts(config.eval.clips)

    def _pick_eval_starts(self, limit: int) -> torch.Tensor:
        """A fixed, seeded subset of `limit` validation clips (0 = all)."""
        starts = self.val_clips.tiled_starts()
        if not limit or len(starts) <= limit:
            return starts
        chosen = torch.Generator().manual_seed(self.config.train.seed)
        return starts[torch.randperm(len(starts), generator=chosen)[:limit]].sort().values

    # ---- training -------------------------------------------------------------------------

    def batches(self):
        return self.train_clips.random_starts(self.generator).split(self.config.train.batch_size)

    def training_loss(self, starts: torch.Tensor, beta: float, teacher_forced: bool):
        """starts (B,) clips -> loss, recon and true KL, each per clip (summed over time)."""
        frames, conditions = self.train_clips.gather(starts)
        rollout = self.model.unroll(frames, conditions, self.n_past, teacher_forced)
        # Squared error summed over pixels and frames: a Gaussian likelihood, up to constants.
        recon = (rollout.frames - frames[:, 1:]).pow(2).sum(dim=(1, 2, 3, 4)).mean()
        kl_per_dim = gaussian_kl(*rollout.posterior, *rollout.prior).sum(dim=1)  # (B, Z)
        cfg = self.config.kl
        loss = recon + beta * kl_penalty(kl_per_dim, cfg.free_bits, cfg.capacity)
        return loss, recon, kl_per_dim.sum(dim=1).mean()

    def state(self) -> dict[str, Any]:
        state = super().state()
        state["counters"]["preset"] = self.preset  # what "auto" became; export rebuilds it
        return state

    # ---- evaluation -----------------------------------------------------------------------

    def evaluate(self, exhaustive: bool = False) -> Evaluation:
        """PSNR of each predicted frame on the validation clips, against copying the last
        observed frame and against predicting with other clips' conditions."""
        starts = self.val_clips.tiled_starts() if exhaustive else self._eval_starts
        future = slice(self.n_past - 1, None)  # x_{n_past} .. in the predicted x_1 ..
        psnr, copy_last, other, strip = [], [], [], None
        batch = max(self.config.train.batch_size, 32)
        for chunk in starts.split(batch):
            frames, conditions = self.val_clips.gather(chunk)
            truth = frames[:, self.n_past:]
            predicted = predict(self.model, frames, conditions, self.n_past)
            psnr.append(scoring.psnr(predicted[:, future], truth))  # (B, n_future)
            copy_last.append(scoring.psnr(frames[:, self.n_past - 1 : self.n_past], truth))
            # Each clip with the conditions of the next clip in the batch: other sequences.
            other_conditions = conditions.roll(1, dims=0)
            other.append(scoring.psnr(predict(self.model, frames, other_conditions, self.n_past)
                                [:, future], truth))
            if strip is None:
                shown = self.config.eval.strip_clips
                strip = strip_png(frames[:shown], predicted[:shown]) if shown else None
        psnr_per_frame = torch.cat(psnr).mean(dim=0)  # (n_future,)
        results = {n.val_psnr_at(k + 1): value for k, value in enumerate(psnr_per_frame.tolist())}
        results[n.VAL_PSNR] = psnr_per_frame.mean().item()
        results[n.VAL_PSNR_COPY_LAST] = torch.cat(copy_last).mean().item()
        results[n.VAL_PSNR_OTHER_CONDITION] = torch.cat(other).mean().item()
        samples = {
            "clips": len(starts),
            "psnr_per_frame": [round(v, 3) for v in psnr_per_frame.tolist()],
            n.IMAGES: {"strip.png": base64.b64encode(strip).decode()} if strip else {},
        }
        return Evaluation(results, samples)
