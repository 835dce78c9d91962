"""The synthetic dance scene in the dance layout: a figure dancing, and its skeleton.

An articulated figure whose joint angles are sums of sinusoids, in front of a wall and on a
floor; each label image is the figure's skeleton alone, each limb in its own colour.
"""

import math
from pathlib import Path

import numpy as np

from cvae_study.datasets.synthetic import raster
from cvae_study.datasets.synthetic.splits import check_counts, held_out, sequence_rng
from cvae_study.datasets.video import DANCE_SPLITS

DANCE_FRAME_SIZE = (64, 128)  # (H, W) written; twice DANCE_SIZE, so the loader's resize runs
DANCE_FRAMES_PER_SEQUENCE = 16  # one training clip of the dance lab

# Dance figure, in pixels of the 64x128 frame: segment lengths and the label colour of each
# limb (distinct, so a model can tell left from right in the pose image).
_TORSO, _UPPER_ARM, _FOREARM, _THIGH, _SHIN, _HEAD_RADIUS = 16.0, 11.0, 10.0, 13.0, 13.0, 6.0
_LIMBS = (
    "torso",
    "neck",
    "left_upper_arm",
    "left_forearm",
    "right_upper_arm",
    "right_forearm",
    "left_thigh",
    "left_shin",
    "right_thigh",
    "right_shin",
)
_LABEL_COLOURS = {
    "torso": (255, 255, 255),
    "neck": (255, 255, 0),
    "left_upper_arm": (255, 0, 0),
    "left_forearm": (255, 128, 0),
    "right_upper_arm": (0, 255, 0),
    "right_forearm": (0, 255, 255),
    "left_thigh": (0, 0, 255),
    "left_shin": (128, 0, 255),
    "right_thigh": (255, 0, 255),
    "right_shin": (255, 128, 160),
    "head": (160, 255, 128),
}


def write_dance(out: str | Path, sequences: int, seed: int) -> Path:
    """A dance-layout data set at 64x128 (HxW), each frame with its skeleton label.

    train is one dance of sequences * 16 frames, val one of max(2, sequences // 8) * 16: the
    same dancer in the same room, dancing other moves, as in the lab (a model of one person,
    judged on motion it has not seen).
    """
    check_counts(sequences, seed)
    out = Path(out)
    # Shared by the splits: one dancer in one room.
    colours = _dance_colours(sequence_rng("dance", seed, len(DANCE_SPLITS), 0))
    for split_index, split in enumerate(DANCE_SPLITS):
        count = sequences if split == "train" else held_out(sequences)
        rng = sequence_rng("dance", seed, split_index, 0)
        joints = _dance_joints(rng, count * DANCE_FRAMES_PER_SEQUENCE)
        image_dir, label_dir = out / split / f"{split}_img", out / split / f"{split}_label"
        image_dir.mkdir(parents=True, exist_ok=True)
        label_dir.mkdir(parents=True, exist_ok=True)
        # Chunks bound the memory of the (chunk, H, W) coverage masks on long dances.
        number = 0
        for chunk in _chunks(joints, DANCE_FRAMES_PER_SEQUENCE):
            frames, labels = _render_dance(colours, chunk)
            for frame, label in zip(frames, labels, strict=True):
                raster.save_png(frame, image_dir / f"frame{number}.png")
                raster.save_png(label, label_dir / f"frame{number}.png")
                number += 1
    return out


def _sinusoids(rng: np.random.Generator, t: np.ndarray, amplitude: float) -> np.ndarray:
    """A sum of 2-3 sinusoids of random frequency (0.04-0.14 cycles a frame) and phase."""
    count = int(rng.integers(2, 4))
    weights = rng.uniform(0.5, 1.0, size=count)
    weights *= amplitude / weights.sum()
    frequencies = rng.uniform(0.04, 0.14, size=count)
    phases = rng.uniform(0.0, 2 * math.pi, size=count)
    return (weights * np.sin(2 * math.pi * frequencies * t[:, None] + phases)).sum(axis=1)


def _direction(angle: np.ndarray) -> np.ndarray:
    """(T, 2) unit vectors, angle 0 pointing down the image and growing counter-clockwise."""
    return np.stack([np.sin(angle), np.cos(angle)], axis=1)


def _dance_joints(rng: np.random.Generator, frames: int) -> dict[str, np.ndarray]:
    """(T, 2) pixel positions of every joint of the figure over `frames` frames."""
    height, width = DANCE_FRAME_SIZE
    t = np.arange(frames, dtype=np.float64)
    # The figure drifts slowly across the floor and bobs a little.
    drift_frequency = rng.uniform(0.004, 0.012)
    hip_x = width / 2 + 0.3 * width * np.sin(
        2 * math.pi * drift_frequency * t + rng.uniform(0, 2 * math.pi)
    )
    hip_x = np.clip(hip_x + _sinusoids(rng, t, 6.0), 24.0, width - 24.0)
    hip_y = 0.5 * height + _sinusoids(rng, t, 1.5)
    hip = np.column_stack([hip_x, hip_y])

    torso_angle = math.pi + _sinusoids(rng, t, 0.25)
    neck = hip + _TORSO * _direction(torso_angle)
    head = neck + (_HEAD_RADIUS + 1.5) * _direction(torso_angle)
    joints = {"hip": hip, "neck": neck, "head": head}
    for side, sign in (("left", 1.0), ("right", -1.0)):
        # Arms hang out to their side and swing widely; elbows and knees bend one way mostly.
        upper = torso_angle + math.pi + sign * (0.7 + _sinusoids(rng, t, 1.3))
        elbow = neck + _UPPER_ARM * _direction(upper)
        forearm = upper + sign * (0.5 + _sinusoids(rng, t, 0.7))
        thigh = sign * (0.2 + _sinusoids(rng, t, 0.45))
        knee = hip + _THIGH * _direction(thigh)
        shin = thigh - sign * (0.25 + _sinusoids(rng, t, 0.4))
        joints[f"{side}_elbow"] = elbow
        joints[f"{side}_hand"] = elbow + _FOREARM * _direction(forearm)
        joints[f"{side}_knee"] = knee
        joints[f"{side}_foot"] = knee + _SHIN * _direction(shin)
    return joints


def _limb_ends(joints: dict[str, np.ndarray], limb: str) -> tuple[np.ndarray, np.ndarray]:
    if limb == "torso":
        return joints["hip"], joints["neck"]
    if limb == "neck":
        return joints["neck"], joints["head"]
    side, part = limb.split("_", 1)
    start, end = {
        "upper_arm": ("neck", "elbow"),
        "forearm": ("elbow", "hand"),
        "thigh": ("hip", "knee"),
        "shin": ("knee", "foot"),
    }[part]
    return (
        joints[start] if start in ("neck", "hip") else joints[f"{side}_{start}"],
        joints[f"{side}_{end}"],
    )


def _chunks(joints: dict[str, np.ndarray], size: int):
    frames = len(joints["hip"])
    for start in range(0, frames, size):
        yield {name: points[start : start + size] for name, points in joints.items()}


def _dance_colours(rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Wall, floor and the dancer's outfit, drawn once for the whole data set."""
    skin = rng.uniform(150, 230) * np.array([1.0, 0.8, 0.65])
    shirt, trousers = rng.uniform(30, 230, size=3), rng.uniform(20, 120, size=3)
    return {
        "wall": rng.uniform(150, 230, size=3),
        "floor": rng.uniform(60, 130, size=3),
        "head": skin,
        "torso": shirt,
        "neck": skin,
        "upper_arm": shirt,
        "forearm": skin,
        "thigh": trousers,
        "shin": trousers,
    }


def _render_dance(
    colours: dict[str, np.ndarray], joints: dict[str, np.ndarray]
) -> tuple[np.ndarray, np.ndarray]:
    """(N, H, W, 3) uint8 frames of the figure and label images of its skeleton."""
    height, width = DANCE_FRAME_SIZE
    xs, ys = raster.pixel_grid(height, width)
    frames = len(joints["hip"])
    above_floor = (ys < 0.8 * height)[..., None]
    background = np.where(above_floor, colours["wall"], colours["floor"]).astype(np.float32)
    canvas = np.repeat(np.broadcast_to(background, (height, width, 3))[None], frames, axis=0)
    labels = np.zeros_like(canvas)
    for limb in _LIMBS:
        start, end = (points.astype(np.float32) for points in _limb_ends(joints, limb))
        thick = 3.5 if limb == "torso" else 2.0
        part = limb.split("_", 1)[1] if limb.startswith(("left", "right")) else limb
        rows, columns = raster.box((start, end), thick + 1.0, height, width)
        cropped = xs[:, columns], ys[rows]
        coverage = raster.segment_coverage(*cropped, start, end, thick)
        raster.paint(canvas[:, rows, columns], coverage, colours[part])
        # Labels: one pixel wide after the loader halves the size.
        coverage = raster.segment_coverage(*cropped, start, end, 1.0)
        raster.paint(labels[:, rows, columns], coverage, _LABEL_COLOURS[limb])
    head = joints["head"].astype(np.float32)
    rows, columns = raster.box((head,), _HEAD_RADIUS + 1.0, height, width)
    cropped = xs[:, columns], ys[rows]
    raster.paint(canvas[:, rows, columns], raster.disc_coverage(*cropped, head, _HEAD_RADIUS),
                 colours["head"])
    raster.paint(labels[:, rows, columns], raster.disc_coverage(*cropped, head, 2.0),
                 _LABEL_COLOURS["head"])
    return raster.to_uint8(canvas), raster.to_uint8(labels)
