"""The cvae-study command: parse, then one typed call per command.

Each command lives in one module of this package: its parser (`add_parser`, which sets the
handler that turns its flags into typed values), its typed function (what the demo, the
tests and a user's script call) and its printing. The flags several commands share are in
`flags`; the error boundary (exit 2 for bad input, 3 for a failing machine) in `boundary`.
Heavy stacks are imported inside the command that needs them: `train` and `bench` run on a
machine that has torch and nothing of Ray, MLflow or Optuna.
"""

import argparse
import sys

from cvae_study.study.cli import (
    ablate,
    bench,
    boundary,
    bundles,
    dashboard,
    data,
    demo,
    finish,
    report,
    sweep,
    train,
    ui,
)
from cvae_study.study.cli import config as config_command

# In the order `cvae-study --help` lists them.
COMMANDS = (train, bench, sweep, ablate, finish, report, bundles, ui, dashboard, config_command,
            data, demo)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="cvae-study", description="Hyperparameter studies "
                                     "of conditional VAEs. Bad input exits 2 with a message "
                                     "naming what is wrong; a failing disk or store exits 3.")
    parser.add_argument("--debug", action="store_true",
                        help="also print the traceback of an error (or CVAE_STUDY_DEBUG=1)")
    commands = parser.add_subparsers(dest="command", required=True)
    for command in COMMANDS:
        command.add_parser(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return boundary.guarded(args.run, args)


def entry_point() -> None:
    sys.exit(main())
