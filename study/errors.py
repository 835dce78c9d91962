"""The two kinds of error a user reads: bad input (exit 2) and a failing machine (exit 3).

Every check of a flag, a key, a name or a file raises a UsageError subclass naming the
thing at fault. Data errors come from cvae_study.datasets, which imports nothing of study,
as subclasses of its own DataError; the CLI treats both alike. A full disk, a damaged store
or a read-only folder is a SystemFailure (see failures.py). Anything else is a bug.
"""

from cvae_study.datasets.errors import DataError


class UsageError(ValueError):
    """Bad input; the message names the flag, key, name or file at fault."""


class SystemFailure(RuntimeError):
    """The machine or a store failed (full disk, damaged store, read-only folder); the
    message says where and what to do."""


class StudyNotFound(UsageError):
    """A name that names no study where it was looked for; the message lists those there."""

    def __init__(self, name: str, where: str, known, flag: str = ""):
        listed = ", ".join(sorted(known)) or "none"
        prefix = f"{flag} {name}: " if flag else ""
        super().__init__(f"{prefix}no study {name!r} in {where}; studies there: {listed}")


BAD_INPUT = (UsageError, DataError)
BAD_INPUT_EXIT, SYSTEM_FAILURE_EXIT = 2, 3
