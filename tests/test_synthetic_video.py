"""The synthetic video writers: read back by the loaders, what their scenes show, their
determinism and the cached default data set."""

import os
import re
import shutil

import pytest
import torch
from PIL import Image

from cvae_study.datasets import synthetic
from cvae_study.datasets.synthetic import (
    KINDS,
    data_root,
    default_dataset,
    write,
    write_dance,
    write_pushing,
)
from cvae_study.datasets.video import (
    BAIR_SPLITS,
    DANCE_SIZE,
    DANCE_SPLITS,
    VideoDataError,
    VideoSplit,
    geometry,
    load_bair,
    load_clip,
    load_dance,
    load_split,
)

FRAMES = 14  # two past and twelve future frames: the smallest clip worth testing


@pytest.fixture(scope="module")
def pushing_root(tmp_path_factory):
    return write_pushing(tmp_path_factory.mktemp("pushing"), 4, seed=0, frames=FRAMES)


@pytest.fixture(scope="module")
def dance_root(tmp_path_factory):
    return write_dance(tmp_path_factory.mktemp("dance"), 2, seed=0)


def first_sequence(root):
    return root / "train" / "traj_0_to_255" / "0"


def named(path):
    """A `match` pattern for a message that names `path`."""
    return re.escape(str(path))


# --- writers read back by the loaders ----------------------------------------------------------


def test_pushing_reads_back_with_seven_conditions(pushing_root):
    counts = {"train": 4, "validate": 2, "test": 2}
    for split in BAIR_SPLITS:
        data = load_bair(pushing_root, split, min_frames=12)
        assert isinstance(data, VideoSplit)
        assert len(data) == len(data.conditions) == len(data.names) == counts[split]
        assert data.frame_size == (64, 64)
        assert data.condition_shape == (7,)
        assert data.lengths == (FRAMES,) * counts[split]
        for video, condition in zip(data.frames, data.conditions, strict=True):
            assert video.shape == (FRAMES, 3, 64, 64) and video.dtype == torch.uint8
            assert condition.shape == (FRAMES, 7) and condition.dtype == torch.float32
            assert condition[:, 4:].abs().max() <= 1.0  # positions normalised
            assert set(condition[:, 3].tolist()) <= {-1.0, 1.0}  # gripper
            assert torch.all(condition[-1, :3] == 0)  # no move after the last frame
            assert video.float().std() > 10  # not a flat image
    names = load_bair(pushing_root, "train", 12).names
    assert names[0].endswith(os.path.join("traj_0_to_255", "0"))


def test_pushing_actions_are_the_moves_between_positions(pushing_root):
    condition = load_bair(pushing_root, "train", 12).conditions[0]
    moves = condition[1:, 4:] - condition[:-1, 4:]
    torch.testing.assert_close(condition[:-1, :3], moves, atol=3e-6, rtol=0)


def test_splits_hold_different_sequences(pushing_root):
    train = load_bair(pushing_root, "train", 12)
    validate = load_bair(pushing_root, "validate", 12)
    assert not torch.equal(train.frames[0], validate.frames[0])
    assert not torch.equal(train.frames[0], train.frames[1])


def test_dance_reads_back_resized_with_a_label_per_frame(dance_root):
    for split, frames in zip(DANCE_SPLITS, (32, 32), strict=True):
        data = load_dance(dance_root, split, min_frames=16)
        assert len(data) == 1
        (video,), (labels,) = data.frames, data.conditions
        assert video.shape == labels.shape == (frames, 3, *DANCE_SIZE)
        assert video.dtype == labels.dtype == torch.uint8
        assert data.frame_size == DANCE_SIZE and data.condition_shape == (3, *DANCE_SIZE)
        label_files = list((dance_root / split / f"{split}_label").glob("frame*.png"))
        assert len(label_files) == frames
        # Labels are a skeleton on black; frames are a figure on a coloured background.
        assert labels.float().mean() < 40 and video.float().min(dim=0).values.mean() > 40
    with Image.open(dance_root / "train" / "train_img" / "frame0.png") as image:
        assert image.size == (128, 64)  # written at twice DANCE_SIZE, so the resize runs


def test_dance_splits_show_one_dancer_in_one_room_dancing_differently(dance_root):
    """The lab's setting: validation is unseen motion of the person trained on."""
    train, val = (load_dance(dance_root, split, 16) for split in DANCE_SPLITS)
    first_train, first_val = train.frames[0][0], val.frames[0][0]  # (3, H, W)
    assert torch.equal(first_train[:, 0, 0], first_val[:, 0, 0])  # the wall
    assert torch.equal(first_train[:, -1, 0], first_val[:, -1, 0])  # the floor
    assert not torch.equal(train.conditions[0][:16], val.conditions[0][:16])


def test_load_split_dispatches_on_kind(pushing_root, dance_root):
    assert load_split("pushing", pushing_root, "test", 12).condition_shape == (7,)
    assert load_split("dance", dance_root, "val", 16).condition_shape == (3, *DANCE_SIZE)
    with pytest.raises(ValueError, match="valid kinds: pushing, dance"):
        load_split("kitchen", pushing_root, "test", 12)
    with pytest.raises(ValueError, match="valid splits: train, val"):
        load_dance(dance_root, "validate", 16)


def test_a_clip_is_one_sequence_in_the_shape_geometry_promises(pushing_root, dance_root):
    frames, conditions = load_clip("pushing", first_sequence(pushing_root), 12)
    assert frames.shape == (FRAMES, 3, *geometry("pushing")[0])
    assert conditions.shape == (FRAMES, *geometry("pushing")[1])
    frames, conditions = load_clip("dance", dance_root / "val", 16)
    split = load_dance(dance_root, "val", 16)
    assert torch.equal(frames, split.frames[0]) and torch.equal(conditions, split.conditions[0])
    assert conditions.shape[1:] == geometry("dance")[1]
    with pytest.raises(VideoDataError, match=named(dance_root / "val" / "val_img")):
        load_clip("dance", dance_root / "val" / "val_img", 16)
    with pytest.raises(VideoDataError, match=named(dance_root / "nowhere")):
        load_clip("dance", dance_root / "nowhere", 16)
    with pytest.raises(ValueError, match="valid kinds: pushing, dance"):
        geometry("kitchen")


def test_write_dispatches_on_kind(tmp_path):
    assert KINDS == ("pushing", "dance")
    out = write("dance", tmp_path / "d", 1, seed=0)
    assert load_split("dance", out, "train", 16).lengths == (16,)
    with pytest.raises(ValueError, match="kitchen"):
        write("kitchen", tmp_path / "k", 1, seed=0)


# --- what the synthetic data must show ----------------------------------------------------------


def test_pushing_frames_change_and_the_effector_moves(pushing_root):
    data = load_bair(pushing_root, "train", 12)
    for video, condition in zip(data.frames, data.conditions, strict=True):
        frames = video.float()
        change = (frames[1:] - frames[:-1]).abs().mean(dim=(1, 2, 3))
        assert change.mean() > 1.0 and change.min() > 0.2  # of 255
        steps = (condition[1:, 4:6] - condition[:-1, 4:6]).norm(dim=1) * 32  # pixels
        assert steps.mean() > 1.5
        assert condition[:, 6].max() - condition[:, 6].min() > 0.1  # height changes too


# --- determinism -------------------------------------------------------------------------------


def test_same_seed_writes_the_same_bytes(tmp_path, pushing_root, dance_root):
    again = write_pushing(tmp_path / "again", 4, seed=0, frames=FRAMES)
    other = write_pushing(tmp_path / "other", 4, seed=1, frames=FRAMES)
    for relative in (
        "train/traj_0_to_255/0/0.png",
        "train/traj_0_to_255/3/13.png",
        "test/traj_0_to_255/1/5.png",
        "train/traj_0_to_255/2/actions.csv",
        "validate/traj_0_to_255/0/endeffector_positions.csv",
    ):
        assert (again / relative).read_bytes() == (pushing_root / relative).read_bytes()
        assert (other / relative).read_bytes() != (pushing_root / relative).read_bytes()

    dance_again = write_dance(tmp_path / "dance_again", 2, seed=0)
    dance_other = write_dance(tmp_path / "dance_other", 2, seed=1)
    for relative in ("train/train_img/frame7.png", "val/val_label/frame31.png"):
        assert (dance_again / relative).read_bytes() == (dance_root / relative).read_bytes()
        assert (dance_other / relative).read_bytes() != (dance_root / relative).read_bytes()


def test_trajectory_folders_group_256_sequences(tmp_path, monkeypatch):
    monkeypatch.setattr(synthetic.pushing, "TRAJECTORY_FOLDER_SIZE", 2)
    root = write_pushing(tmp_path, 3, seed=0, frames=FRAMES)
    assert (root / "train" / "traj_2_to_3" / "0" / "0.png").is_file()
    names = load_bair(root, "train", 12).names
    assert [name.split(os.sep)[-2:] for name in names] == [
        ["traj_0_to_1", "0"],
        ["traj_0_to_1", "1"],
        ["traj_2_to_3", "0"],
    ]


# --- the cached default data set ---------------------------------------------------------------


def test_data_root_follows_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("CVAE_STUDY_DATA", str(tmp_path))
    assert data_root() == tmp_path
    monkeypatch.delenv("CVAE_STUDY_DATA")
    assert data_root().parts[-3:] == (".cache", "cvae-study", "data")


def test_default_dataset_is_written_once_and_reused(tmp_path, monkeypatch):
    monkeypatch.setenv("CVAE_STUDY_DATA", str(tmp_path))
    path = default_dataset("dance", 1, seed=2)
    assert path == tmp_path / f"dance-n1-s2-v{synthetic.DATA_VERSION}"
    assert load_dance(path, "val", 16).lengths == (32,)
    frame = path / "train" / "train_img" / "frame0.png"
    written = frame.stat().st_mtime_ns

    def no_writing(*args, **kwargs):
        raise AssertionError("the cached data set was written again")

    monkeypatch.setattr(synthetic.cache, "write", no_writing)
    assert default_dataset("dance", 1, seed=2) == path
    assert frame.stat().st_mtime_ns == written
    assert os.listdir(tmp_path) == [path.name]  # no temporary folder left


def test_default_dataset_keeps_the_copy_that_was_renamed_first(tmp_path, monkeypatch):
    """Another process finishing while this one writes: its copy stays, ours is discarded."""
    monkeypatch.setenv("CVAE_STUDY_DATA", str(tmp_path))
    target = tmp_path / f"dance-n1-s0-v{synthetic.DATA_VERSION}"
    real_write = synthetic.write

    def racing_write(kind, out, sequences, seed):
        real_write(kind, out, sequences, seed)
        shutil.copytree(out, target)  # the other process wins the rename
        (target / "winner").touch()
        return out

    monkeypatch.setattr(synthetic.cache, "write", racing_write)
    assert default_dataset("dance", 1, seed=0) == target
    assert (target / "winner").is_file()
    assert os.listdir(tmp_path) == [target.name]


def test_default_dataset_cleans_up_after_a_failed_write(tmp_path, monkeypatch):
    monkeypatch.setenv("CVAE_STUDY_DATA", str(tmp_path))

    def failing_write(kind, out, sequences, seed):
        (out / "half").mkdir(parents=True)
        raise OSError("disk full")

    monkeypatch.setattr(synthetic.cache, "write", failing_write)
    with pytest.raises(OSError, match="disk full"):
        default_dataset("pushing", 1, seed=0)
    assert os.listdir(tmp_path) == []




def test_the_cli_offers_the_kinds_the_datasets_know():
    """names.VIDEO_KINDS restates datasets.video.KINDS: datasets may not import study, and
    the CLI's parser must not import torch to list them."""
    from cvae_study.study import names

    assert names.VIDEO_KINDS == KINDS
