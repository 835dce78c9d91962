"""Where the machine's own failures become a message a person can act on.

A full disk, a damaged store, a folder that cannot be written: these come up from the OS,
sqlite (through SQLAlchemy and MLflow) or pyarrow, wrapped in each other's exceptions.
`explain` walks an exception's chain and names what failed, where, and what to do. It
imports none of those libraries, so it also serves `train` and `bench` on a torch-only
machine.
"""

import errno
import re
import sqlite3
from collections.abc import Iterator

from cvae_study.study.errors import SystemFailure

_ERRNO_IN_TEXT = re.compile(r"\[Errno (\d+)\]")
NO_SPACE = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG}
READ_ONLY = {errno.EROFS, errno.EACCES, errno.EPERM}
# sqlite's own words (as sqlite3, SQLAlchemy and MLflow pass them on)
SQLITE_FULL = ("database or disk is full",)
SQLITE_DAMAGED = ("file is not a database", "database disk image is malformed",
                  "file is encrypted or is not a database")
SQLITE_READ_ONLY = ("attempt to write a readonly database",)


def _chain(error: BaseException) -> Iterator[BaseException]:
    """The error, its causes and contexts, and SQLAlchemy's wrapped DBAPI error (`orig`)."""
    seen, pending = set(), [error]
    while pending:
        current = pending.pop(0)
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        pending += [current.__cause__, current.__context__, getattr(current, "orig", None)]


def _errno(error: BaseException) -> int | None:
    if isinstance(error, OSError) and error.errno:
        return error.errno
    found = _ERRNO_IN_TEXT.search(str(error))  # pyarrow and MLflow keep only the text
    return int(found.group(1)) if found else None


def _where(error: BaseException, store: str | None) -> str:
    filename = getattr(error, "filename", None)
    return str(filename) if filename else (store or "the workdir")


def explain(error: BaseException, store: str | None = None) -> SystemFailure | None:
    """A SystemFailure saying what failed and what to do, or None when `error` is not a
    failure of the machine or a store (a bug: its traceback is what helps).

    store: the sqlite file (or URI) the command was using, named where the error is not."""
    for link in _chain(error):
        text = str(link).lower()
        code = _errno(link)
        where = _where(link, store)
        if code in NO_SPACE or any(words in text for words in SQLITE_FULL):
            return SystemFailure(
                f"no space left on device writing {where}: free some space and run the "
                "command again (`cvae-study resume NAME` continues a study); what was "
                "recorded before stays readable")
        if any(words in text for words in SQLITE_DAMAGED) or (
                isinstance(link, sqlite3.DatabaseError) and "malformed" in text):
            return SystemFailure(
                f"the MLflow store {where} is damaged ({link}): restore it from a backup or "
                f"move it aside (a new store is then created); `sqlite3 {where} \"pragma "
                "integrity_check\"` says more. Nothing was written to it")
        if code in READ_ONLY or any(words in text for words in SQLITE_READ_ONLY):
            return SystemFailure(
                f"cannot write {where}: the folder is read-only or not yours; choose a "
                "--workdir you can write to")
        if code == errno.ENAMETOOLONG:
            return SystemFailure(
                f"a file name under {where} is too long for the filesystem: choose a shorter "
                "name or folder")
    return None
