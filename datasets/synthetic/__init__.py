"""Synthetic video data sets in the BAIR and dance layouts, generated on first use.

Pushing (pushing.py): a robot arm wanders over a table and pushes blocks when it is low; its
moves and positions are the CSV numbers. Dance (dance.py): an articulated figure whose joint
angles are sums of sinusoids; each label image is the figure's skeleton alone. cache.py keeps
the generated sets under data_root(); raster.py and splits.py hold what the scenes share.
Everything is deterministic by seed: the same call writes the same bytes.
"""

from cvae_study.datasets.synthetic.cache import (
    DATA_ENV,
    DATA_VERSION,
    data_root,
    default_dataset,
    write,
)
from cvae_study.datasets.synthetic.dance import write_dance
from cvae_study.datasets.synthetic.pushing import write_pushing
from cvae_study.datasets.video import KINDS

__all__ = [
    "DATA_ENV",
    "DATA_VERSION",
    "KINDS",
    "data_root",
    "default_dataset",
    "write",
    "write_dance",
    "write_pushing",
]
