"""Synthetic video data sets in the BAIR and dance layouts, generated on first use.

Pushing: a robot arm wanders over a table and pushes blocks when it is low. Its moves and
positions are the CSV numbers, so a model given them knows where the arm goes next, which the
first frames alone cannot tell. Dance: an articulated figure whose joint angles are sums of
sinusoids; each label image is the figure's skeleton alone. Everything is deterministic by
seed: the same call writes the same bytes.
"""

import math
import os
import shutil
import uuid
import zlib
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image

from cvae_study.datasets.video import BAIR_SIZE, BAIR_SPLITS, DANCE_SPLITS, KINDS

DATA_VERSION = 2  # in the cache folder's name: bump it whenever the generated data changes
DATA_ENV = "CVAE_STUDY_DATA"
DANCE_FRAME_SIZE = (64, 128)  # (H, W) written; twice DANCE_SIZE, so the loader's resize runs
DANCE_FRAMES_PER_SEQUENCE = 16  # one training clip of the dance lab
TRAJECTORY_FOLDER_SIZE = 256  # BAIR's traj_0_to_255/0..255 grouping

# Fast zlib: run-length matching encodes a third faster than level 1 alone, files as small.
_PNG_OPTIONS = {"compress_level": 1, "compress_type": zlib.Z_RLE}
_KIND_TAGS = {"pushing": 0, "dance": 1}  # keeps the two kinds' random streams apart

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


def data_root() -> Path:
    """Where generated data sets are cached: $CVAE_STUDY_DATA, else ~/.cache/cvae-study/data."""
    configured = os.environ.get(DATA_ENV)
    if configured:
        return Path(configured).expanduser()
    return Path.home() / ".cache" / "cvae-study" / "data"


def default_dataset(kind: str, sequences: int, seed: int) -> Path:
    """The synthetic data set of `kind` under data_root(), written on first use.

    It is written into a temporary sibling and renamed into place, so parallel trials that
    generate it at once never read a half-written set; the first rename wins and the others
    discard their (identical) copies.
    """
    _check_kind(kind)
    root = data_root()
    target = root / f"{kind}-n{sequences}-s{seed}-v{DATA_VERSION}"
    if target.is_dir():
        return target
    root.mkdir(parents=True, exist_ok=True)
    # A sibling, not a folder under /tmp: a rename is atomic only within one file system.
    temporary = root / f".{target.name}.{os.getpid()}-{uuid.uuid4().hex[:8]}.tmp"
    try:
        write(kind, temporary, sequences, seed)
        try:
            os.rename(temporary, target)
        except OSError:
            # Renaming onto a folder that exists fails; that folder is another process's copy.
            if not target.is_dir():
                raise
    finally:
        shutil.rmtree(temporary, ignore_errors=True)
    return target


def write(kind: str, out: str | Path, sequences: int, seed: int) -> Path:
    """`write_pushing` for kind "pushing", `write_dance` for kind "dance"."""
    _check_kind(kind)
    if kind == "pushing":
        return write_pushing(out, sequences, seed)
    return write_dance(out, sequences, seed)


def write_pushing(out: str | Path, sequences: int, seed: int, frames: int = 30) -> Path:
    """A BAIR-layout data set: `sequences` in train, max(2, sequences // 8) in validate and test."""
    _check_counts(sequences, seed)
    if frames < 2:
        raise ValueError(f"frames must be at least 2, got {frames}")
    out = Path(out)
    # One thread on purpose: a thread pool made it slower (the drawing holds the GIL).
    for split_index, split in enumerate(BAIR_SPLITS):
        for index in range(sequences if split == "train" else _held_out(sequences)):
            _write_pushing_sequence(out, seed, frames, split_index, split, index)
    return out


def _write_pushing_sequence(
    out: Path, seed: int, frames: int, split_index: int, split: str, index: int
) -> None:
    rng = _rng("pushing", seed, split_index, index)
    video, actions, positions = _pushing_sequence(rng, frames)
    start = index // TRAJECTORY_FOLDER_SIZE * TRAJECTORY_FOLDER_SIZE
    trajectory = f"traj_{start}_to_{start + TRAJECTORY_FOLDER_SIZE - 1}"
    folder = out / split / trajectory / str(index % TRAJECTORY_FOLDER_SIZE)
    folder.mkdir(parents=True, exist_ok=True)
    for number, frame in enumerate(video):
        _save_png(frame, folder / f"{number}.png")
    _write_csv(folder / "actions.csv", actions)
    _write_csv(folder / "endeffector_positions.csv", positions)


def write_dance(out: str | Path, sequences: int, seed: int) -> Path:
    """A dance-layout data set at 64x128 (HxW), each frame with its skeleton label.

    train is one dance of sequences * 16 frames, val one of max(2, sequences // 8) * 16: the
    same dancer in the same room, dancing other moves, as in the lab (a model of one person,
    judged on motion it has not seen).
    """
    _check_counts(sequences, seed)
    out = Path(out)
    colours = _dance_colours(_rng("dance", seed, len(DANCE_SPLITS), 0))  # shared by the splits
    for split_index, split in enumerate(DANCE_SPLITS):
        count = sequences if split == "train" else _held_out(sequences)
        rng = _rng("dance", seed, split_index, 0)
        joints = _dance_joints(rng, count * DANCE_FRAMES_PER_SEQUENCE)
        image_dir, label_dir = out / split / f"{split}_img", out / split / f"{split}_label"
        image_dir.mkdir(parents=True, exist_ok=True)
        label_dir.mkdir(parents=True, exist_ok=True)
        # Chunks bound the memory of the (chunk, H, W) coverage masks on long dances.
        number = 0
        for chunk in _chunks(joints, DANCE_FRAMES_PER_SEQUENCE):
            frames, labels = _render_dance(colours, chunk)
            for frame, label in zip(frames, labels, strict=True):
                _save_png(frame, image_dir / f"frame{number}.png")
                _save_png(label, label_dir / f"frame{number}.png")
                number += 1
    return out


def _check_kind(kind: str) -> None:
    if kind not in KINDS:
        raise ValueError(f"unknown video kind {kind!r}; valid kinds: {', '.join(KINDS)}")


def _check_counts(sequences: int, seed: int) -> None:
    if sequences < 1:
        raise ValueError(f"sequences must be at least 1, got {sequences}")
    if seed < 0:
        raise ValueError(f"seed must be non-negative, got {seed}")


def _held_out(sequences: int) -> int:
    return max(2, sequences // 8)


def _rng(kind: str, seed: int, split_index: int, index: int) -> np.random.Generator:
    """One stream per (kind, seed, split, sequence): splits never share a sequence."""
    return np.random.default_rng([seed, _KIND_TAGS[kind], split_index, index])


def _save_png(image: np.ndarray, path: Path) -> None:
    Image.fromarray(image).save(path, **_PNG_OPTIONS)


def _write_csv(path: Path, rows: np.ndarray) -> None:
    text = "".join(",".join(f"{value:.6f}" for value in row) + "\n" for row in rows.tolist())
    path.write_text(text, encoding="utf-8")


def _to_uint8(canvas: np.ndarray) -> np.ndarray:
    return np.rint(np.clip(canvas, 0.0, 255.0)).astype(np.uint8)


def _pixel_grid(height: int, width: int) -> tuple[np.ndarray, np.ndarray]:
    """x and y of pixel centres, shapes (1, W) and (H, 1), for broadcasting."""
    xs = np.arange(width, dtype=np.float32)[None, :] + 0.5
    ys = np.arange(height, dtype=np.float32)[:, None] + 0.5
    return xs, ys


def _segment_coverage(
    xs: np.ndarray, ys: np.ndarray, start: np.ndarray, end: np.ndarray, half_width: float
) -> np.ndarray:
    """(N, H, W) soft masks of thick segments start[n] -> end[n] ((N, 2) each, x then y).

    The one-pixel soft edge keeps sub-pixel motion visible instead of jumping a pixel at a time.
    """
    ax, ay = start[:, 0, None, None], start[:, 1, None, None]
    dx, dy = end[:, 0, None, None] - ax, end[:, 1, None, None] - ay
    length2 = np.maximum(dx * dx + dy * dy, 1e-6)
    along = np.clip(((xs - ax) * dx + (ys - ay) * dy) / length2, 0.0, 1.0)
    distance = np.hypot(xs - ax - along * dx, ys - ay - along * dy)
    return np.clip(half_width + 0.5 - distance, 0.0, 1.0)


def _disc_coverage(
    xs: np.ndarray, ys: np.ndarray, centre: np.ndarray, radius: np.ndarray | float
) -> np.ndarray:
    """(N, H, W) soft masks of discs at centre[n] ((N, 2)) with radius (N,) or a scalar."""
    radius = np.broadcast_to(np.asarray(radius, dtype=np.float32), centre.shape[:1])
    distance = np.hypot(xs - centre[:, 0, None, None], ys - centre[:, 1, None, None])
    return np.clip(radius[:, None, None] + 0.5 - distance, 0.0, 1.0)


def _box(points: Sequence[np.ndarray], pad: float, height: int, width: int) -> tuple[slice, slice]:
    """(rows, columns) of the box around (N, 2) `points`, widened by `pad` pixels.

    Shapes drawn around those points with reach up to `pad` are zero outside it, so painting
    only the box gives the same pixels as painting the frame, several times faster.
    """
    joined = np.concatenate(points)
    (left, top), (right, bottom) = joined.min(axis=0), joined.max(axis=0)
    rows = slice(max(0, math.floor(top - pad)), min(height, math.ceil(bottom + pad) + 1))
    columns = slice(max(0, math.floor(left - pad)), min(width, math.ceil(right + pad) + 1))
    return rows, columns


def _paint(canvas: np.ndarray, coverage: np.ndarray, colour: Sequence[float]) -> None:
    """Blend `colour` into (N, H, W, 3) `canvas` where (N, H, W) `coverage` is above 0."""
    canvas += coverage[..., None] * (np.asarray(colour, dtype=np.float32) - canvas)


# --- pushing ---------------------------------------------------------------------------------


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
    xs, ys = _pixel_grid(size, size)
    frames = len(xy)
    canvas = np.repeat(_table(rng, xs, ys)[None], frames, axis=0)  # (T, H, W, 3)

    # Exact box coverage per pixel, so a block moved by a fraction of a pixel shows it.
    for corner, side, colour in zip(corners.transpose(1, 0, 2), sizes, colours, strict=True):
        rows, columns = _box((corner, corner + side), 1.0, size, size)
        left, top = corner[:, 0, None, None], corner[:, 1, None, None]  # (T, 1, 1)
        x, y = xs[:, columns], ys[rows]
        cover_x = np.clip(np.minimum(x + 0.5, left + side) - np.maximum(x - 0.5, left), 0, 1)
        cover_y = np.clip(np.minimum(y + 0.5, top + side) - np.maximum(y - 0.5, top), 0, 1)
        _paint(canvas[:, rows, columns], (cover_x * cover_y).astype(np.float32), colour)

    # The arm hangs from a fixed point above the top edge, so it sweeps a large region.
    base = np.array([[rng.uniform(16.0, size - 16.0), -4.0]], dtype=np.float32)
    effector = xy.astype(np.float32)
    radius = _effector_radius(height).astype(np.float32)
    # Frame by frame in the box each shape covers: whole-frame blending was the slowest part.
    for t in range(frames):
        frame, point = canvas[t : t + 1], effector[t : t + 1]
        rows, columns = _box((base, point), _ARM_HALF_WIDTH + 1.0, size, size)
        arm = _segment_coverage(xs[:, columns], ys[rows], base, point, _ARM_HALF_WIDTH)
        _paint(frame[:, rows, columns], arm, _ARM_COLOUR)
        rows, columns = _box((point,), float(radius[t]) + 1.0, size, size)
        x, y = xs[:, columns], ys[rows]
        _paint(frame[:, rows, columns], _disc_coverage(x, y, point, radius[t]), _EFFECTOR_COLOUR)
        if gripper[t] > 0:  # an open gripper shows a light centre, so its state is visible
            opening = _disc_coverage(x, y, point, 0.45 * radius[t])
            _paint(frame[:, rows, columns], opening, _GRIPPER_OPEN_COLOUR)
    return _to_uint8(canvas)


# --- dance -----------------------------------------------------------------------------------


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
    xs, ys = _pixel_grid(height, width)
    frames = len(joints["hip"])
    above_floor = (ys < 0.8 * height)[..., None]
    background = np.where(above_floor, colours["wall"], colours["floor"]).astype(np.float32)
    canvas = np.repeat(np.broadcast_to(background, (height, width, 3))[None], frames, axis=0)
    labels = np.zeros_like(canvas)
    for limb in _LIMBS:
        start, end = (points.astype(np.float32) for points in _limb_ends(joints, limb))
        thick = 3.5 if limb == "torso" else 2.0
        part = limb.split("_", 1)[1] if limb.startswith(("left", "right")) else limb
        rows, columns = _box((start, end), thick + 1.0, height, width)
        cropped = xs[:, columns], ys[rows]
        coverage = _segment_coverage(*cropped, start, end, thick)
        _paint(canvas[:, rows, columns], coverage, colours[part])
        # Labels: one pixel wide after the loader halves the size.
        coverage = _segment_coverage(*cropped, start, end, 1.0)
        _paint(labels[:, rows, columns], coverage, _LABEL_COLOURS[limb])
    head = joints["head"].astype(np.float32)
    rows, columns = _box((head,), _HEAD_RADIUS + 1.0, height, width)
    cropped = xs[:, columns], ys[rows]
    _paint(canvas[:, rows, columns], _disc_coverage(*cropped, head, _HEAD_RADIUS), colours["head"])
    _paint(labels[:, rows, columns], _disc_coverage(*cropped, head, 2.0), _LABEL_COLOURS["head"])
    return _to_uint8(canvas), _to_uint8(labels)
