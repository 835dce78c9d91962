"""Seeds and split sizes the synthetic writers share.

One random stream per (kind, seed, split, sequence), so the splits never share a sequence and
the same call writes the same bytes; the held-out splits' size; the checks of the counts.
"""

import numpy as np

from cvae_study.datasets.video import VideoDataError

_KIND_TAGS = {"pushing": 0, "dance": 1}  # keeps the two kinds' random streams apart


def check_counts(sequences: int, seed: int) -> None:
    if sequences < 1:
        raise VideoDataError(f"sequences must be at least 1, got {sequences}")
    if seed < 0:
        raise VideoDataError(f"seed must be non-negative, got {seed}")


def held_out(sequences: int) -> int:
    return max(2, sequences // 8)


def sequence_rng(kind: str, seed: int, split_index: int, index: int) -> np.random.Generator:
    """One stream per (kind, seed, split, sequence): splits never share a sequence."""
    return np.random.default_rng([seed, _KIND_TAGS[kind], split_index, index])
