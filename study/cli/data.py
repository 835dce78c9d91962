"""`cvae-study data video`: a synthetic data set written in a lab's layout
(datasets.synthetic)."""

import argparse
from pathlib import Path

from cvae_study.study import names as n
from cvae_study.study.cli import flags
from cvae_study.study.errors import UsageError


def add_parser(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser("data", help="write a synthetic data set in a lab's layout")
    parser.add_argument("task", choices=("video",))
    parser.add_argument("--kind", choices=n.VIDEO_KINDS, default=n.PUSHING,
                        help="pushing: BAIR layout, robot actions; dance: frames and pose "
                        "labels")
    parser.add_argument("--out", required=True, type=Path,
                        help="the data set's folder (must not exist)")
    parser.add_argument("--sequences", type=flags.at_least(1), default=1000,
                        help="training sequences (validation and test get an eighth)")
    parser.add_argument("--seed", type=int, default=0)
    parser.set_defaults(run=lambda args: data(args.kind, args.out.expanduser(),
                                              sequences=args.sequences, seed=args.seed))


def data(kind: str, out: Path, *, sequences: int = 1000, seed: int = 0) -> int:
    """A synthetic video data set of `kind` written to `out`, a new folder."""
    from cvae_study.datasets import synthetic

    if out.exists():
        raise UsageError(f"--out {out}: already exists; choose a new folder")
    synthetic.write(kind, out, sequences, seed)
    print(f"wrote {kind} data ({sequences} training sequences) to {out}")
    return 0
