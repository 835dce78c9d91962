"""The CLI's error boundary. Bad input (UsageError, DataError) prints one line naming what
is wrong and exits 2; a failing machine or store (a full disk, a damaged store, a read-only
folder) one line saying what to do, and exits 3; anything else is a bug and shows its
traceback. --debug (or CVAE_STUDY_DEBUG=1) also prints the traceback of the first two."""

import argparse
import logging
import os
import sys
import traceback
from collections.abc import Callable

from cvae_study.study.errors import (
    BAD_INPUT,
    BAD_INPUT_EXIT,
    SYSTEM_FAILURE_EXIT,
    SystemFailure,
)
from cvae_study.study.failures import explain
from cvae_study.study.tracking.workdir import SQLITE, tracking_uri, workdir_path

DEBUG_ENV = "CVAE_STUDY_DEBUG"
# MLflow logs a store's SQL errors with their traceback before raising them; the boundary
# explains them instead (--debug shows both).
QUIETED_LOGGERS = ("mlflow.store.db.utils",)
# MLflow draws a progress bar for every artifact download (the report's, the export's).
ARTIFACT_BARS_ENV = "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR"


def _store(args: argparse.Namespace) -> str:
    """The store the command was using, to name it where an error does not."""
    uri = tracking_uri(getattr(args, "tracking_uri", None),
                       workdir_path(getattr(args, "workdir", None)))
    return uri.removeprefix(SQLITE)


def _debugging(args: argparse.Namespace) -> bool:
    return args.debug or os.environ.get(DEBUG_ENV, "") not in ("", "0")


def guarded(command: Callable[[argparse.Namespace], int], args: argparse.Namespace) -> int:
    """command(args) -> its exit status; bad input 2, a failing machine or store 3."""
    debug = _debugging(args)
    if not debug:
        for name in QUIETED_LOGGERS:
            logging.getLogger(name).setLevel(logging.CRITICAL)
    os.environ.setdefault(ARTIFACT_BARS_ENV, "false")
    try:
        return command(args)
    except Exception as error:
        if isinstance(error, BAD_INPUT):
            shown, status = error, BAD_INPUT_EXIT
        else:
            shown = error if isinstance(error, SystemFailure) else explain(error, _store(args))
            if shown is None:
                raise  # a bug: its traceback is what helps
            status = SYSTEM_FAILURE_EXIT
        if debug:
            traceback.print_exc()
        print(f"error: {shown}", file=sys.stderr)
        return status
