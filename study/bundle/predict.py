"""`cvae-study predict`: an exported video model's frames for one clip, as a GIF or PNG strip.

The clip's first n_past frames are observed; the model predicts the next n_future from them
and the clip's conditions (actions and end-effector positions, or pose images).
"""

import io
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from cvae_study.datasets import video
from cvae_study.study import names as n
from cvae_study.study import scoring
from cvae_study.study.bundle.bundle import load_bundle
from cvae_study.study.errors import UsageError
from cvae_study.study.tasks.video import predict, strip_png

FORMATS = (".gif", ".png")
GIF_FRAME_MS = 200


def predict_clip(model_dir: str | Path, clip: str | Path, start: int = 0):
    """-> truth (T, 3, H, W) of the clip's frames [start, start + n_past + n_future) in [0, 1],
    predicted (T - 1, 3, H, W) of its frames 1 .., and the PSNR of the predicted future
    beside that of copying the last observed frame."""
    if start < 0:
        raise UsageError(f"--start {start}: must be at least 0")
    bundle = load_bundle(model_dir, task_wanted="video")
    n_past, length = bundle.meta["n_past"], bundle.meta["n_past"] + bundle.meta["n_future"]
    frames, conditions = video.load_clip(bundle.config.data.kind, clip, start + length)
    frames = frames[start:start + length].float() / 255  # (T, 3, H, W)
    conditions = conditions[start:start + length]
    if conditions.dtype == torch.uint8:  # pose images
        conditions = conditions.float() / 255
    predicted = predict(bundle.model, frames[None], conditions[None], n_past)[0]
    truth = frames[n_past:]
    scores = {n.VAL_PSNR: scoring.psnr(predicted[n_past - 1:], truth).mean().item(),
              n.VAL_PSNR_COPY_LAST: scoring.psnr(frames[n_past - 1], truth).mean().item()}
    return frames, predicted, scores


def _gif(truth: torch.Tensor, predicted: torch.Tensor) -> bytes:
    """Ground truth beside the prediction, one GIF frame per time step (observed frames on
    both sides)."""
    shown = torch.cat([truth[:1], predicted])  # (T, 3, H, W)
    pairs = torch.cat([truth, shown], dim=-1)  # (T, 3, H, 2W)
    pixels = (pairs.clamp(0, 1) * 255).round().to(torch.uint8).permute(0, 2, 3, 1).numpy()
    images = [Image.fromarray(np.ascontiguousarray(frame)) for frame in pixels]
    buffer = io.BytesIO()
    images[0].save(buffer, format="GIF", save_all=True, append_images=images[1:],
                   duration=GIF_FRAME_MS, loop=0)
    return buffer.getvalue()


def write_prediction(out: str | Path, truth: torch.Tensor, predicted: torch.Tensor) -> Path:
    """A .gif (truth beside prediction, animated) or a .png strip (truth over prediction)."""
    out = Path(out)
    if out.suffix.lower() not in FORMATS:
        raise UsageError(f"--out {out}: write a {' or '.join(FORMATS)} file")
    data = (_gif(truth, predicted) if out.suffix.lower() == ".gif"
            else strip_png(truth[None], predicted[None]))
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(data)
    return out
