"""Headless Chromium for the tests that look at a page as a browser draws it: its text once
its scripts have run, and a screenshot to look at when such a test fails."""

import html
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--no-first-run",
         # Chromium's own calls out (updates, sync) are refused by a closed network
         "--disable-background-networking", "--disable-component-update", "--disable-sync")
# Virtual time: the page's timers run as fast as it can go, up to this much page time; the
# MLflow UI's charts need more than its table to be drawn in the screenshot.
PAGE_TIME_MS = 60_000


def chromium() -> str:
    """Chromium's command, or the test is skipped saying why."""
    found = shutil.which("chromium")
    if found is None:
        pytest.skip("chromium is not installed (.ci/run installs it from Debian's packages)")
    return found


def _run(url: str, size: tuple[int, int], *args: str) -> str:
    # A new profile each time: no view or setting that the UI saved in a run before.
    with tempfile.TemporaryDirectory() as profile:
        return subprocess.run(
            [chromium(), *FLAGS, f"--user-data-dir={profile}", f"--window-size={size[0]},"
             f"{size[1]}", f"--virtual-time-budget={PAGE_TIME_MS}", *args, url],
            capture_output=True, text=True, timeout=180, check=True).stdout


def page_text(dom: str) -> str:
    """What a page shows in words: its markup, scripts and styles gone, spaces collapsed."""
    dom = re.sub(r"<(script|style)\b.*?</\1>", " ", dom, flags=re.S)
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", dom))).strip()


def render(url: str, screenshot: Path, size: tuple[int, int] = (1400, 900)) -> str:
    """The text of the page at `url` as headless Chromium draws it; its screenshot saved."""
    text = page_text(_run(url, size, "--dump-dom"))
    _run(url, size, f"--screenshot={screenshot}")
    return text
