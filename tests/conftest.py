"""Shared fixtures: small lab-format files and a tiny, fast text configuration."""

import os

import pytest
import torch

from cvae_study.datasets.synthetic import DATA_ENV
from cvae_study.datasets.tense import TenseData
from cvae_study.study.config import build
from cvae_study.study.tasks.text import TextTask

LAB_TRAIN = """abandon abandons abandoning abandoned
abet abets abetting abetted
begin begins beginning began
run runs running ran
walk walks walking walked
jump jumps jumping jumped
play plays playing played
carry carries carrying carried
"""
# Ten pairs in the lab's tense order: sp->p, sp->pg, sp->tp, sp->tp, p->tp, sp->pg,
# p->sp, pg->sp, pg->p, pg->tp.
LAB_TEST = """abandon abandoned
abet abetting
begin begins
run runs
walked walks
jump jumping
played play
carrying carry
beginning began
running runs
"""

# A model small enough to train a few epochs in seconds on 2 cores.
TINY = {
    "model.hidden_size": 16,
    "model.latent_size": 4,
    "model.embedding_size": 8,
    "train.batch_size": 3,
    "train.epochs": 2,
    "eval.verbs": 4,
    "eval.samples": 8,
}
TRAIN_ROWS = (
    ("walk", "walks", "walking", "walked"),
    ("talk", "talks", "talking", "talked"),
    ("jump", "jumps", "jumping", "jumped"),
    ("play", "plays", "playing", "played"),
    ("call", "calls", "calling", "called"),
    ("help", "helps", "helping", "helped"),
)
HELDOUT_ROWS = (
    ("look", "looks", "looking", "looked"),
    ("open", "opens", "opening", "opened"),
)


@pytest.fixture(autouse=True, scope="session")
def _synthetic_data_in_a_temporary_folder(tmp_path_factory):
    """Synthetic video data made by the tests goes to a temporary cache, not ~/.cache; Ray
    workers and CLI subprocesses inherit the variable."""
    previous = os.environ.get(DATA_ENV)
    os.environ[DATA_ENV] = str(tmp_path_factory.mktemp("video-data"))
    yield
    if previous is None:
        del os.environ[DATA_ENV]
    else:
        os.environ[DATA_ENV] = previous


@pytest.fixture(autouse=True)
def _one_thread():
    """Tiny models: one intra-op thread avoids fighting for busy cores."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture
def tiny_task():
    """Factory: a TextTask on six hand-made verbs, TINY config plus overrides."""

    def make(overrides=None, config=None):
        data = TenseData(train=TRAIN_ROWS, heldout=HELDOUT_ROWS, lab_test=(), source="test")
        config = config or build("text", {**TINY, **(overrides or {})})
        return TextTask(config, torch.device("cpu"), data=data)

    return make


@pytest.fixture
def lab_dir(tmp_path):
    folder = tmp_path / "lab"
    folder.mkdir()
    (folder / "train.txt").write_text(LAB_TRAIN)
    (folder / "test.txt").write_text(LAB_TEST)
    return folder


def tiny_flags() -> list[str]:
    """TINY as --set flags; the tests give --epochs themselves."""
    return [arg for key, value in TINY.items() if key != "train.epochs"
            for arg in ("--set", f"{key}={value}")]


@pytest.fixture
def tiny_args():
    return tiny_flags()


@pytest.fixture(scope="session")
def finished(tmp_path_factory):
    """A real tiny study of two trials, two epochs each: what export and ui tests read."""
    from test_sweep import new_study

    from cvae_study.study.tune import sweep

    tmp_path = tmp_path_factory.mktemp("export")
    lab = tmp_path / "lab"
    lab.mkdir()
    (lab / "train.txt").write_text(LAB_TRAIN)
    (lab / "test.txt").write_text(LAB_TEST)
    study = new_study(tmp_path, lab, tiny_flags(), "small", epochs=2, num_samples=2,
                      early_stopping=False)
    return study, sweep.run(study)
