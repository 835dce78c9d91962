"""Names a user gives (studies, registered models) and folders a command writes into,
checked before anything is created, each limit stated in its error."""

import os
import re
from pathlib import Path

from cvae_study.study.errors import UsageError

MAX_NAME = 100  # a study is a folder under --storage and an MLflow experiment of this name
NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")
RESERVED = {"default"}  # MLflow's own experiment, in any case
NAME_MAX_BYTES = 255  # one path component, on every filesystem we write to


class BadName(UsageError):
    """A name or a folder the filesystem or MLflow would refuse."""


def check_name(name: str, what: str) -> str:
    """A study or model name: letters, digits, '-', '_', '.'; at most MAX_NAME characters."""
    if not NAME_PATTERN.fullmatch(name) or not name.isprintable():
        raise BadName(f"{what} {name!r}: use letters, digits, '-', '_' and '.', starting "
                         "with a letter or digit; no path separators, spaces or control "
                         "characters")
    if len(name) > MAX_NAME:
        raise BadName(f"{what} {name[:20]}... is {len(name)} characters long; the limit "
                         f"is {MAX_NAME}")
    if name.lower() in RESERVED:
        raise BadName(f"{what} {name!r}: reserved by MLflow; choose another")
    return name


def check_folder(path: Path, flag: str) -> Path:
    """An output folder: every part of it a name the filesystem takes, and printable."""
    text = str(path)
    if not text.isprintable():
        raise BadName(f"{flag} {text!r}: contains control characters")
    too_long = [part for part in path.parts if len(os.fsencode(part)) > NAME_MAX_BYTES]
    if too_long:
        raise BadName(f"{flag} {text[:40]}...: the part {too_long[0][:20]}... is "
                         f"{len(os.fsencode(too_long[0]))} bytes long; the limit is "
                         f"{NAME_MAX_BYTES}")
    return path
