"""Video sequences: the BAIR robot-pushing processed layout and the dance lab's layout.

BAIR (action-conditioned): `<root>/<split>/<trajectory>/<k>/{0..T-1}.png`, 64x64 RGB, with
`actions.csv` (4 columns) and `endeffector_positions.csv` (3 columns) beside them, one row per
frame; a frame's condition is its 7 numbers. Dance (pose-conditioned):
`<root>/<split>/<split>_img/frameN.png` with a pose image of the same name under
`<split>_label/`; one continuous sequence per split, resized to DANCE_SIZE, and a frame's
condition is its pose image. Frames are uint8 tensors (T, 3, H, W).
"""

import math
import os
import re
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from cvae_study.datasets.errors import DataError

BAIR_SPLITS = ("train", "validate", "test")
DANCE_SPLITS = ("train", "val")
KINDS = ("pushing", "dance")
BAIR_SIZE = (64, 64)  # (H, W)
DANCE_SIZE = (32, 64)  # (H, W) dance frames and labels are resized to
BAIR_CONDITION_SIZE = 7  # actions (4) ++ end-effector position (3)
_LOAD_THREADS = 8  # at most; never more than the machine's cores

_BAIR_FRAME = re.compile(r"(0|[1-9][0-9]*)\.png")  # no leading zeros: one name per index
_DANCE_FRAME = re.compile(r"frame(0|[1-9][0-9]*)\.png")
_SEQUENCE_FOLDER = re.compile(r"0|[1-9][0-9]*")
_NUMBER_RUNS = re.compile(r"([0-9]+)")


class VideoDataError(DataError):
    """A video data set is malformed, or a kind, split or count asked of one is bad; the
    message names the path (and line) or the value at fault."""


@dataclass(frozen=True)
class VideoSplit:
    """Sequences of one split; frame and condition tensors line up frame by frame."""

    frames: list[torch.Tensor]  # one per sequence: (T_i, 3, H, W) uint8
    # pushing: (T_i, 7) float32 = actions (4) ++ end-effector position (3);
    # dance: (T_i, 3, H, W) uint8 pose images
    conditions: list[torch.Tensor]
    names: tuple[str, ...]  # the folder of each sequence, for messages

    def __len__(self) -> int:
        return len(self.frames)

    @property
    def frame_size(self) -> tuple[int, int]:
        """(H, W) of every frame."""
        height, width = self.frames[0].shape[-2:]
        return int(height), int(width)

    @property
    def condition_shape(self) -> tuple[int, ...]:
        """Shape of one frame's condition: (7,) for pushing, (3, H, W) for dance."""
        return tuple(int(size) for size in self.conditions[0].shape[1:])

    @property
    def lengths(self) -> tuple[int, ...]:
        """Frame count of each sequence."""
        return tuple(int(video.shape[0]) for video in self.frames)


def load_split(kind: str, root: str | Path, split: str, min_frames: int) -> VideoSplit:
    """`load_bair` for kind "pushing", `load_dance` for kind "dance"."""
    loaders: dict[str, Callable[..., VideoSplit]] = {"pushing": load_bair, "dance": load_dance}
    if kind not in loaders:
        raise VideoDataError(f"unknown video kind {kind!r}; valid kinds: {', '.join(KINDS)}")
    return loaders[kind](root, split, min_frames)


def geometry(kind: str) -> tuple[tuple[int, int], tuple[int, ...]]:
    """(H, W) of a kind's frames and the shape of one frame's condition, as loaded."""
    if kind == "pushing":
        return BAIR_SIZE, (BAIR_CONDITION_SIZE,)
    if kind == "dance":
        return DANCE_SIZE, (3, *DANCE_SIZE)
    raise VideoDataError(f"unknown video kind {kind!r}; valid kinds: {', '.join(KINDS)}")


def load_clip(kind: str, path: str | Path, min_frames: int) -> tuple[torch.Tensor, torch.Tensor]:
    """One sequence -> frames (T, 3, H, W) uint8 and conditions. pushing: a BAIR sequence
    folder (`0.png ...`, actions.csv, endeffector_positions.csv); dance: a split folder
    (`<split>/<split>_img`, `<split>/<split>_label`)."""
    path = Path(path)
    geometry(kind)  # an unknown kind is named before the path is looked at
    if not path.is_dir():
        raise VideoDataError(f"{path}: folder not found")
    if kind == "pushing":
        return _bair_sequence(path, min_frames)
    if path.name not in DANCE_SPLITS:
        raise VideoDataError(f"{path}: a dance clip is a split folder, {' or '.join(DANCE_SPLITS)}"
                             f", holding <split>_img and <split>_label")
    split = load_dance(path.parent, path.name, min_frames)
    return split.frames[0], split.conditions[0]


def load_bair(root: str | Path, split: str, min_frames: int) -> VideoSplit:
    """Every `<trajectory>/<k>` sequence of a BAIR split, sorted by trajectory then k."""
    split_dir = _split_dir(root, split, BAIR_SPLITS, min_frames)
    folders = _bair_sequence_dirs(split_dir)
    # PIL releases the GIL while it decodes, so threads overlap decoding with the Python
    # around it; map keeps the order and re-raises the first bad sequence's error.
    with ThreadPoolExecutor(max_workers=min(_LOAD_THREADS, os.cpu_count() or 1)) as pool:
        sequences = list(pool.map(lambda folder: _bair_sequence(folder, min_frames), folders))
    frames = [video for video, _ in sequences]
    conditions = [condition for _, condition in sequences]
    return VideoSplit(frames, conditions, tuple(str(folder) for folder in folders))


def _bair_sequence(folder: Path, min_frames: int) -> tuple[torch.Tensor, torch.Tensor]:
    paths = _numbered_frames(folder, _BAIR_FRAME, "{}.png")
    _check_length(folder, len(paths), min_frames)
    video = _read_video(paths, _check_bair_size)
    actions = _read_csv(folder / "actions.csv", 4, len(paths))
    positions = _read_csv(folder / "endeffector_positions.csv", 3, len(paths))
    return video, torch.from_numpy(np.concatenate([actions, positions], axis=1))


def load_dance(root: str | Path, split: str, min_frames: int) -> VideoSplit:
    """The one continuous sequence of a dance split, frames and pose labels at DANCE_SIZE.

    Frames are numbered without gaps from the lowest number present (frame0 in the lab's
    data); every frame needs a label of the same name and size.
    """
    split_dir = _split_dir(root, split, DANCE_SPLITS, min_frames)
    image_dir, label_dir = split_dir / f"{split}_img", split_dir / f"{split}_label"
    for folder in (image_dir, label_dir):
        if not folder.is_dir():
            raise VideoDataError(f"{folder}: folder not found")
    paths = _numbered_frames(image_dir, _DANCE_FRAME, "frame{}.png")
    _check_length(image_dir, len(paths), min_frames)
    label_paths = [label_dir / path.name for path in paths]
    for label_path in label_paths:
        if not label_path.is_file():
            raise VideoDataError(f"{label_path}: label not found (its frame exists)")

    sizes: dict[str, tuple[int, int]] = {}  # file name -> (W, H) of its frame, as PIL gives it
    first_size: list[tuple[int, int]] = []

    def check_frame(path: Path, size: tuple[int, int]) -> None:
        # All frames of a split share one size, so one resize means the same thing throughout.
        if not first_size:
            first_size.append(size)
        elif size != first_size[0]:
            raise VideoDataError(
                f"{path}: frame is {_hxw(size)} (HxW), but {paths[0].name} is "
                f"{_hxw(first_size[0])}; a split's frames share one size"
            )
        sizes[path.name] = size

    def check_label(path: Path, size: tuple[int, int]) -> None:
        expected = sizes[path.name]
        if size != expected:
            raise VideoDataError(
                f"{path}: label is {_hxw(size)} (HxW), but its frame is {_hxw(expected)}"
            )

    frames = _read_video(paths, check_frame, resize_to=DANCE_SIZE)
    labels = _read_video(label_paths, check_label, resize_to=DANCE_SIZE)
    return VideoSplit([frames], [labels], (str(image_dir),))


def _split_dir(root: str | Path, split: str, splits: Sequence[str], min_frames: int) -> Path:
    if split not in splits:
        raise VideoDataError(f"unknown split {split!r}; valid splits: {', '.join(splits)}")
    if min_frames < 1:
        raise VideoDataError(f"min_frames must be at least 1, got {min_frames}")
    split_dir = Path(root) / split
    if not split_dir.is_dir():
        raise VideoDataError(f"{split_dir}: split folder not found")
    return split_dir


def _natural_key(name: str) -> tuple:
    """Sort key that orders traj_256_to_511 before traj_1024_to_1279."""
    return tuple(int(part) if part.isdigit() else part for part in _NUMBER_RUNS.split(name))


def _bair_sequence_dirs(split_dir: Path) -> list[Path]:
    trajectories = sorted(
        (path for path in split_dir.iterdir() if path.is_dir() and not path.name.startswith(".")),
        key=lambda path: _natural_key(path.name),
    )
    sequences = []
    for trajectory in trajectories:
        numbered = [
            path
            for path in trajectory.iterdir()
            if path.is_dir() and _SEQUENCE_FOLDER.fullmatch(path.name)
        ]
        if not numbered:
            raise VideoDataError(f"{trajectory}: no sequence folders (0, 1, ...) in trajectory")
        sequences.extend(sorted(numbered, key=lambda path: int(path.name)))
    if not sequences:
        raise VideoDataError(f"{split_dir}: no sequences (expected <trajectory>/<k>/ folders)")
    return sequences


def _numbered_frames(folder: Path, pattern: re.Pattern, template: str) -> list[Path]:
    """Frame files of `folder` in order; a gap in the numbering is an error naming the gap."""
    numbers = set()
    for path in folder.iterdir():
        match = pattern.fullmatch(path.name)
        if match:
            numbers.add(int(match.group(1)))
    if not numbers:
        raise VideoDataError(f"{folder}: no frames (expected {template.format('0')}, ...)")
    first, last = min(numbers), max(numbers)
    if len(numbers) != last - first + 1:
        missing = min(set(range(first, last + 1)) - numbers)
        raise VideoDataError(f"{folder / template.format(missing)}: frame missing")
    return [folder / template.format(number) for number in range(first, last + 1)]


def _check_length(folder: Path, frames: int, min_frames: int) -> None:
    if frames < min_frames:
        raise VideoDataError(f"{folder}: {frames} frames, a clip needs {min_frames}")


def _hxw(size: tuple[int, int]) -> str:
    width, height = size
    return f"{height}x{width}"


def _check_bair_size(path: Path, size: tuple[int, int]) -> None:
    if size != BAIR_SIZE[::-1]:
        raise VideoDataError(
            f"{path}: image is {_hxw(size)} (HxW), expected {BAIR_SIZE[0]}x{BAIR_SIZE[1]}"
        )


def _read_video(
    paths: Sequence[Path],
    check_size: Callable[[Path, tuple[int, int]], None],
    resize_to: tuple[int, int] | None = None,
) -> torch.Tensor:
    """Images as one (T, 3, H, W) uint8 tensor; `check_size` sees each (W, H) before resizing."""
    arrays = []
    for path in paths:
        try:
            with Image.open(path) as image:
                check_size(path, image.size)
                image = image.convert("RGB")
                if resize_to is not None and image.size != resize_to[::-1]:
                    image = image.resize(resize_to[::-1], Image.Resampling.BILINEAR)
                arrays.append(np.asarray(image))
        except VideoDataError:
            raise
        # PIL reports unreadable files as OSError (UnidentifiedImageError), truncated data as
        # OSError or SyntaxError, and decompression bombs as ValueError.
        except (OSError, SyntaxError, ValueError) as error:
            raise VideoDataError(f"{path}: not a readable image ({error})") from None
    video = np.ascontiguousarray(np.stack(arrays).transpose(0, 3, 1, 2))  # (T, 3, H, W)
    return torch.from_numpy(video)


def _read_csv(path: Path, columns: int, rows: int) -> np.ndarray:
    """A headerless CSV of `columns` numbers per line and `rows` non-blank lines, as float32."""
    try:
        text = path.read_text(encoding="utf-8-sig")  # tolerates a spreadsheet's byte-order mark
    except FileNotFoundError:
        raise VideoDataError(f"{path}: file not found") from None
    except (OSError, UnicodeDecodeError) as error:
        raise VideoDataError(f"{path}: unreadable ({error})") from None
    values = []
    for line_number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        cells = line.split(",")
        where = f"{path} line {line_number}"
        if len(cells) != columns:
            raise VideoDataError(f"{where}: expected {columns} columns, got {len(cells)}")
        try:
            row = [float(cell) for cell in cells]
        except ValueError:
            raise VideoDataError(f"{where}: non-numeric value in {line.strip()!r}") from None
        if not all(math.isfinite(value) for value in row):
            raise VideoDataError(f"{where}: non-finite value in {line.strip()!r}")
        values.append(row)
    if len(values) != rows:
        raise VideoDataError(f"{path}: {len(values)} rows, but the folder has {rows} frames")
    return np.asarray(values, dtype=np.float32).reshape(rows, columns)
