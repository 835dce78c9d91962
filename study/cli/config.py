"""`cvae-study config TASK`: every config key of a task, its type, default and range."""

import argparse

from cvae_study.study import config
from cvae_study.study import names as n


def add_parser(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser("config", help="list a task's config keys and defaults")
    parser.add_argument("task", choices=n.TASKS)
    parser.set_defaults(run=lambda args: show_config(args.task))


def show_config(task: str) -> int:
    print(config.describe(task))
    return 0
