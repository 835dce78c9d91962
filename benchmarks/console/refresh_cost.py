"""What the sweep's live view costs.

    python refresh_cost.py OUT.json [PAIRS]

1. One redraw of the terminal view (rich, 24 trials tracked), timed over 2000 redraws
   into a null console: at one redraw a second, its share of the driver's time.
2. The same small study (`sweep text --smoke --num-samples 4`, search seed 0) run PAIRS
   times (default 3) with the view and with `--quiet` (no view), alternating, both on a
   pseudo-terminal (`script`, so rich redraws in place); the wall time of each.
"""

import io
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from functools import partial
from pathlib import Path

from rich.console import Console

from cvae_study.study.tune.live import TERMINAL_EVERY, LiveView, keys_of

REDRAWS = 2000
TRIALS = 24


def redraw_seconds() -> float:
    view = LiveView("bench", ("val/score",), ("max",), TRIALS, 12, partial(keys_of, ("kl.cycles",)),
                    console=Console(file=io.StringIO(), force_terminal=True, width=120))
    view.setup()
    for i in range(TRIALS):
        view.progress.started_trial(str(i), {"kl.cycles": i % 4 + 1})
        view.progress.result(str(i), {"training_iteration": i % 12 + 1, "val/score": i / 100})
    started = time.perf_counter()
    for _ in range(REDRAWS):
        view.draw(force=True)
    elapsed = (time.perf_counter() - started) / REDRAWS
    view.live.stop()
    return elapsed


def study_seconds(workdir: Path, name: str, quiet: bool) -> float:
    command = [str(Path(sys.executable).with_name("cvae-study")), "sweep", "text", "--smoke",
               "--num-samples", "4", "--seed", "0", "--name", name, "--workdir", str(workdir)]
    if quiet:
        command.append("--quiet")
    # both on a pseudo-terminal: the view redraws in place, as a user sees it
    command = ["script", "-qec", " ".join(command), "/dev/null"]
    started = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                   env={**os.environ, "COLUMNS": "120"})
    return time.perf_counter() - started


def main(out: str, pairs: int = 3) -> None:
    if shutil.which("script") is None:
        sys.exit("needs `script` (util-linux) for a pseudo-terminal")
    one = redraw_seconds()
    runs = {"view": [], "quiet": []}
    with tempfile.TemporaryDirectory() as folder:
        for pair in range(pairs):
            for kind in ("view", "quiet"):
                runs[kind].append(round(study_seconds(Path(folder), f"{kind}{pair}",
                                                      kind == "quiet"), 2))
    medians = {kind: statistics.median(times) for kind, times in runs.items()}
    report = {
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs",
        "redraw_ms": round(one * 1000, 3), "redraws_per_second": 1 / TERMINAL_EVERY,
        "driver_share": round(one / TERMINAL_EVERY, 5),
        "study": "sweep text --smoke --num-samples 4 --seed 0 (4 trials x 2 epochs)",
        "wall_seconds": runs, "median_seconds": medians,
        "median_difference_seconds": round(medians["view"] - medians["quiet"], 2)}
    Path(out).write_text(json.dumps(report, indent=1) + "\n")
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main(sys.argv[1], *(int(a) for a in sys.argv[2:]))
