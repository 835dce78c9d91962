"""The cache of generated data sets, and `write`, the writer of either kind.

A data set is generated on first use into a folder under data_root() named by its kind,
sequence count, seed and DATA_VERSION, so a change to the generated data never reuses an
old copy.
"""

import os
import shutil
import uuid
from pathlib import Path

from cvae_study.datasets.synthetic.dance import write_dance
from cvae_study.datasets.synthetic.pushing import write_pushing
from cvae_study.datasets.video import KINDS, VideoDataError

DATA_VERSION = 2  # in the cache folder's name: bump it whenever the generated data changes
DATA_ENV = "CVAE_STUDY_DATA"


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


def _check_kind(kind: str) -> None:
    if kind not in KINDS:
        raise VideoDataError(f"unknown video kind {kind!r}; valid kinds: {', '.join(KINDS)}")
