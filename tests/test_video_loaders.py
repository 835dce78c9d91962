"""The video loaders on malformed data: each error names the file, line or folder at fault;
and the frames they load are the files' pixels."""

import re

import numpy as np
import pytest
import torch
from PIL import Image

from cvae_study.datasets.synthetic import (
    write_dance,
    write_pushing,
)
from cvae_study.datasets.video import (
    VideoDataError,
    load_bair,
    load_dance,
)

FRAMES = 14  # two past and twelve future frames: the smallest clip worth testing


@pytest.fixture
def bair(tmp_path):
    """A small BAIR layout of its own, for a test to break."""
    return write_pushing(tmp_path / "bair", 2, seed=1, frames=FRAMES)


@pytest.fixture
def dance(tmp_path):
    return write_dance(tmp_path / "dance", 1, seed=1)


def first_sequence(root):
    return root / "train" / "traj_0_to_255" / "0"


def named(path):
    """A `match` pattern for a message that names `path`."""
    return re.escape(str(path))


# --- malformed BAIR data -----------------------------------------------------------------------


def test_missing_split_folder(tmp_path):
    with pytest.raises(VideoDataError, match=named(tmp_path / "validate") + ": split folder"):
        load_bair(tmp_path, "validate", 12)
    with pytest.raises(VideoDataError, match=named(tmp_path / "val")):
        load_dance(tmp_path, "val", 16)


def test_split_without_sequences(tmp_path):
    (tmp_path / "test").mkdir()
    with pytest.raises(VideoDataError, match=named(tmp_path / "test") + ": no sequences"):
        load_bair(tmp_path, "test", 12)


def test_missing_frame_names_the_gap(bair):
    missing = first_sequence(bair) / "6.png"
    missing.unlink()
    with pytest.raises(VideoDataError, match=named(missing) + ": frame missing"):
        load_bair(bair, "train", 12)


def test_csv_with_wrong_column_count(bair):
    path = first_sequence(bair) / "actions.csv"
    lines = path.read_text().splitlines()
    lines[2] = lines[2] + ",0.5"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(VideoDataError, match=named(path) + " line 3: expected 4 columns, got 5"):
        load_bair(bair, "train", 12)


def test_csv_with_non_numeric_value(bair):
    path = first_sequence(bair) / "endeffector_positions.csv"
    lines = path.read_text().splitlines()
    lines[4] = "0.1,up,0.3"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(VideoDataError, match=named(path) + " line 5: non-numeric"):
        load_bair(bair, "train", 12)


def test_csv_row_count_differs_from_frame_count(bair):
    path = first_sequence(bair) / "actions.csv"
    lines = path.read_text().splitlines()
    path.write_text("\n".join(lines[:-1]) + "\n")
    with pytest.raises(VideoDataError, match=named(path) + f": 13 rows, .* {FRAMES} frames"):
        load_bair(bair, "train", 12)


def test_missing_csv(bair):
    path = bair / "validate" / "traj_0_to_255" / "1" / "endeffector_positions.csv"
    path.unlink()
    with pytest.raises(VideoDataError, match=named(path) + ": file not found"):
        load_bair(bair, "validate", 12)


def test_bair_image_of_the_wrong_size(bair):
    path = first_sequence(bair) / "3.png"
    Image.new("RGB", (48, 64)).save(path)
    with pytest.raises(VideoDataError, match=named(path) + ": image is 64x48 .*expected 64x64"):
        load_bair(bair, "train", 12)


def test_unreadable_image(bair):
    path = first_sequence(bair) / "2.png"
    path.write_bytes(b"not a png")
    with pytest.raises(VideoDataError, match=named(path) + ": not a readable image"):
        load_bair(bair, "train", 12)


def test_sequence_shorter_than_a_clip(bair):
    with pytest.raises(
        VideoDataError, match=named(first_sequence(bair)) + f": {FRAMES} frames, a clip needs 20"
    ):
        load_bair(bair, "train", 20)


# --- malformed dance data ----------------------------------------------------------------------


def test_dance_label_missing(dance):
    label = dance / "train" / "train_label" / "frame9.png"
    label.unlink()
    with pytest.raises(VideoDataError, match=named(label) + ": label not found"):
        load_dance(dance, "train", 16)


def test_dance_label_of_another_size(dance):
    label = dance / "val" / "val_label" / "frame4.png"
    Image.new("RGB", (64, 32)).save(label)
    with pytest.raises(VideoDataError, match=named(label) + ": label is 32x64 .* frame is 64x128"):
        load_dance(dance, "val", 16)


def test_dance_frames_of_differing_sizes(dance):
    frame = dance / "train" / "train_img" / "frame5.png"
    Image.new("RGB", (64, 32)).save(frame)
    with pytest.raises(VideoDataError, match=named(frame) + ": frame is 32x64"):
        load_dance(dance, "train", 16)


def test_dance_missing_frame_and_short_split(dance):
    missing = dance / "train" / "train_img" / "frame3.png"
    missing.unlink()
    with pytest.raises(VideoDataError, match=named(missing) + ": frame missing"):
        load_dance(dance, "train", 16)
    with pytest.raises(
        VideoDataError, match=named(dance / "val" / "val_img") + ": 32 frames, a clip needs 40"
    ):
        load_dance(dance, "val", 40)


def test_loaded_frames_match_the_files(bair):
    """The (T, 3, H, W) layout keeps channels apart: compare one frame with PIL's pixels."""
    video = load_bair(bair, "train", 12).frames[0]
    with Image.open(first_sequence(bair) / "7.png") as image:
        pixels = np.asarray(image.convert("RGB"))
    assert torch.equal(video[7].permute(1, 2, 0), torch.tensor(pixels))
