"""Shared fixtures: small lab-format files and a tiny, fast text configuration."""

import pytest

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
TINY = [
    "model.hidden_size=16", "model.latent_size=4", "model.embedding_size=8",
    "train.batch_size=4", "eval.verbs=4", "eval.samples=5",
]


@pytest.fixture
def lab_dir(tmp_path):
    folder = tmp_path / "lab"
    folder.mkdir()
    (folder / "train.txt").write_text(LAB_TRAIN)
    (folder / "test.txt").write_text(LAB_TEST)
    return folder


@pytest.fixture
def tiny_args():
    return [arg for item in TINY for arg in ("--set", item)]
