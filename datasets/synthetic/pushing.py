"""The synthetic pushing scene in the BAIR layout: a robot arm over a table of blocks.

The arm wanders over the table and pushes blocks when it is low. Its moves and positions are
the CSV numbers, so a model given them knows where the arm goes next, which the first frames
alone cannot tell.
"""

import math
from pathlib import Path

import numpy as np

from cvae_study.datasets.synthetic.raster import (
    box,
    disc_coverage,
    paint,
    pixel_grid,
    save_png,
    segment_coverage,
    to_uint8,
    write_csv,
)
from cvae_study.datasets.synthetic.splits import check_counts, held_out, sequence_rng
from cvae_study.datasets.video import BAIR_SIZE, BAIR_SPLITS, VideoDataError

TRAJECTORY_FOLDER_SIZE = 256  # BAIR's traj_0_to_255/0..255 grouping

# Pushing scene, in pixels of the 64x64 frame.
_EFFECTOR_MARGIN = 7.0  # the effector's centre stays this far inside the image
_LOW = 0.35  # below this height (0..1) the effector pushes blocks it touches
_ARM_HALF_WIDTH = 2.5
_ARM_COLOUR = (150.0, 150.0, 158.0)
_EFFECTOR_COLOUR = (35.0, 35.0, 45.0)
_GRIPPER_OPEN_COLOUR = (235.0, 220.0, 90.0)
_BLOCK_COLOURS = (
    (200, 40, 40),
    (40, 160, 60),
    (40, 70, 200),
    (220, 190, 40),
    (230, 120, 30),
    (140, 50, 170),
    (40, 180, 190),
)


def write_pushing(out: str | Path, sequences: int, seed: int, frames: int = 30) -> Path:
    """A BAIR-layout data set: `sequences` in train, max(2, sequences // 8) in validate and test."""
    check_counts(sequences, seed)
    if frames < 2:
        raise VideoDataError(f"frames must be at least 2, got {frames}")
    out = Path(out)
    # One thread on purpose: the drawing holds the GIL, so a thread pool only adds overhead.
    for split_index, split in enumerate(BAIR_SPLITS):
        for index in range(sequences if split == "train" else held_out(sequences)):
            _write_pushing_sequence(out, seed, frames, split_index, split, index)
    return out


def _write_pushing_sequence(
    out: Path, seed: int, frames: int, split_index: int, split: str, index: int
) -> None:
    rng = sequence_rng("pushing", seed, split_index, index)
    video, actions, positions = _pushing_sequence(rng, frames)
    start = index // TRAJECTORY_FOLDER_SIZE * TRAJECTORY_FOLDER_SIZE
    trajectory = f"traj_{start}_to_{start + TRAJECTORY_FOLDER_SIZE - 1}"
    folder = out / split / trajectory / str(index % TRAJECTORY_FOLDER_SIZE)
    folder.mkdir(parents=True, exist_ok=True)
    for number, frame in enumerate(video):
        save_png(frame, folder / f"{number}.png")
    write_csv(folder / "actions.csv", actions)
    write_csv(folder / "endeffector_positions.csv", positions)


def _pushing_sequence(
    rng: np.random.Generator, frames: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(T, 64, 64, 3) uint8 frames, (T, 4) actions and (T, 3) effector positions."""
    xy, height, gripper = _effector_path(rng, frames)
    corners, sizes, colours = _block_paths(rng, xy, height)

    size = BAIR_SIZE[0]
    centre = size / 2
    positions = np.column_stack([(xy - centre) / centre, 2.0 * height - 1.0])
    actions = np.zeros((frames, 4))
    # Row t is the command applied after frame t: the move to frame t + 1 and the gripper
    # state frame t + 1 shows; the last frame has no successor, so no move.
    actions[:-1, :3] = np.diff(positions, axis=0)
    actions[:-1, 3] = gripper[1:]
    actions[-1, 3] = gripper[-1]

    video = _render_pushing(rng, xy, height, gripper, corners, sizes, colours)
    return video, actions, positions


def _effector_path(
    rng: np.random.Generator, frames: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(T, 2) pixel positions, (T,) heights in [0, 1] and (T,) gripper states in {-1, 1}.

    Velocity with momentum chasing a target that changes every few frames: smooth, but the
    first frames do not tell where the effector goes next.
    """
    low, high = _EFFECTOR_MARGIN, BAIR_SIZE[0] - _EFFECTOR_MARGIN
    position = rng.uniform(low + 8, high - 8, size=2)
    heading = rng.uniform(0.0, 2 * math.pi)
    target = rng.uniform(2.0, 4.0) * np.array([math.cos(heading), math.sin(heading)])
    velocity = target.copy()
    height = rng.uniform(0.0, 1.0)
    height_target = rng.uniform(-0.12, 0.12)
    height_velocity = height_target
    countdown = int(rng.integers(2, 6))
    grip = float(rng.choice([-1.0, 1.0]))

    xy, heights, gripper = [position.copy()], [height], [grip]
    for _ in range(frames - 1):
        countdown -= 1
        if countdown == 0:
            heading += rng.normal(0.0, 1.5)
            target = rng.uniform(2.0, 4.0) * np.array([math.cos(heading), math.sin(heading)])
            height_target = rng.uniform(-0.15, 0.15)
            countdown = int(rng.integers(2, 6))
        velocity = 0.5 * velocity + 0.5 * target
        position = position + velocity
        for axis in range(2):  # bounce off the image's edges
            if not low <= position[axis] <= high:
                position[axis] = 2 * (low if position[axis] < low else high) - position[axis]
                velocity[axis], target[axis] = -velocity[axis], -target[axis]
        heading = math.atan2(target[1], target[0])
        height_velocity = 0.6 * height_velocity + 0.4 * height_target
        height += height_velocity
        if not 0.0 <= height <= 1.0:
            height = -height if height < 0.0 else 2.0 - height
            height_velocity, height_target = -height_velocity, -height_target
        if rng.random() < 0.1:
            grip = -grip
        xy.append(position.copy())
        heights.append(height)
        gripper.append(grip)
    return np.array(xy), np.array(heights), np.array(gripper)


def _effector_radius(height: np.ndarray) -> np.ndarray:
    return 3.0 + 3.0 * height  # nearer the camera looks bigger


def _block_paths(
    rng: np.random.Generator, xy: np.ndarray, height: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(T, B, 2) top-left corners of 2-3 blocks, their (B,) sizes and (B, 3) colours.

    A low effector that touches a block carries it along its move; blocks stay on the table.
    """
    count = int(rng.integers(2, 4))
    sizes = rng.integers(8, 13, size=count).astype(np.float64)
    palette = np.array(_BLOCK_COLOURS, dtype=np.float64)
    colours = palette[rng.choice(len(palette), size=count, replace=False)]
    colours = np.clip(colours + rng.uniform(-20, 20, size=colours.shape), 0, 255)
    corner = rng.uniform(0.0, 1.0, size=(count, 2)) * (BAIR_SIZE[0] - sizes)[:, None]
    radius = _effector_radius(height)

    corners = [corner.copy()]
    for t in range(1, len(xy)):
        if height[t] < _LOW:
            move = xy[t] - xy[t - 1]
            nearest = np.clip(xy[t], corner, corner + sizes[:, None])
            touching = np.hypot(*(nearest - xy[t]).T) < radius[t]
            corner[touching] += move
            corner = np.clip(corner, 0.0, (BAIR_SIZE[0] - sizes)[:, None])
        corners.append(corner.copy())
    return np.array(corners), sizes, colours


def _table(rng: np.random.Generator, xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
    """(H, W, 3) table: a per-sequence colour, a mild gradient, two faint waves and grain."""
    size = BAIR_SIZE[0]
    base = rng.uniform(110.0, 190.0, size=3)
    gradient_x, gradient_y = rng.uniform(-25.0, 25.0, size=(2, 3))
    table = (
        base
        + ((xs - size / 2) / size)[..., None] * gradient_x
        + ((ys - size / 2) / size)[..., None] * gradient_y
    )
    for _ in range(2):
        frequency = rng.uniform(0.1, 0.4, size=2)
        wave = np.sin(frequency[0] * xs + frequency[1] * ys + rng.uniform(0, 2 * math.pi))
        table = table + 5.0 * wave[..., None]
    table = table + rng.normal(0.0, 2.5, size=(size, size, 1))
    return table.astype(np.float32)


def _render_pushing(
    rng: np.random.Generator,
    xy: np.ndarray,
    height: np.ndarray,
    gripper: np.ndarray,
    corners: np.ndarray,
    sizes: np.ndarray,
    colours: np.ndarray,
) -> np.ndarray:
    size = BAIR_SIZE[0]
    xs, ys = pixel_grid(size, size)
    frames = len(xy)
    canvas = np.repeat(_table(rng, xs, ys)[None], frames, axis=0)  # (T, H, W, 3)

    # Exact box coverage per pixel, so a block moved by a fraction of a pixel shows it.
    for corner, side, colour in zip(corners.transpose(1, 0, 2), sizes, colours, strict=True):
        rows, columns = box((corner, corner + side), 1.0, size, size)
        left, top = corner[:, 0, None, None], corner[:, 1, None, None]  # (T, 1, 1)
        x, y = xs[:, columns], ys[rows]
        cover_x = np.clip(np.minimum(x + 0.5, left + side) - np.maximum(x - 0.5, left), 0, 1)
        cover_y = np.clip(np.minimum(y + 0.5, top + side) - np.maximum(y - 0.5, top), 0, 1)
        paint(canvas[:, rows, columns], (cover_x * cover_y).astype(np.float32), colour)

    # The arm hangs from a fixed point above the top edge, so it sweeps a large region.
    base = np.array([[rng.uniform(16.0, size - 16.0), -4.0]], dtype=np.float32)
    effector = xy.astype(np.float32)
    radius = _effector_radius(height).astype(np.float32)
    # Frame by frame in the box each shape covers: whole-frame blending was the slowest part.
    for t in range(frames):
        frame, point = canvas[t : t + 1], effector[t : t + 1]
        rows, columns = box((base, point), _ARM_HALF_WIDTH + 1.0, size, size)
        arm = segment_coverage(xs[:, columns], ys[rows], base, point, _ARM_HALF_WIDTH)
        paint(frame[:, rows, columns], arm, _ARM_COLOUR)
        rows, columns = box((point,), float(radius[t]) + 1.0, size, size)
        x, y = xs[:, columns], ys[rows]
        paint(frame[:, rows, columns], disc_coverage(x, y, point, radius[t]), _EFFECTOR_COLOUR)
        if gripper[t] > 0:  # an open gripper shows a light centre, so its state is visible
            opening = disc_coverage(x, y, point, 0.45 * radius[t])
            paint(frame[:, rows, columns], opening, _GRIPPER_OPEN_COLOUR)
    return to_uint8(canvas)
